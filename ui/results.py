"""What each page shows, computed from a view (and the page's own choices) once for all sessions: every
function here returns a shared result (ui.shared), so a page rerun that changes nothing the page depends on,
or that another session made first, does no work. `warm` computes the likely views of a scope ahead of the
first visitors: the whole scope and each township, at the opening date, with each page's default choices.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from typing import NamedTuple

import pandas as pd

from kongchuo_metrics import compare, figures, labels, metrics, privacy, schema

from . import persist, serve, turns
from .data import _RESULTS, date_bounds, followup_stamp, followup_status, reporting_calendar, shared
from .view import View


def headline(view: View) -> compare.Headline:
    """The overview's cards (the first figures a visitor sees: computed before its charts)."""
    return shared(
        view, "headline", lambda: compare.headline(view.ledger, view.selection, view.settings, overdue=False)
    )


class Overview(NamedTuple):
    trend: object  # the trend chart
    towns: pd.DataFrame  # every township; 建档立卡 with small counts hidden
    bars: object | None  # the chart of the townships with open cases (None when there is none)


def overview(view: View) -> Overview:
    """The overview's trend chart and township table."""

    def make() -> Overview:
        big = view.mode == "briefing"
        head = headline(view)
        trend = figures.trend_chart(
            metrics.trend(view.cases, view.dates),
            height=330,
            big=big,
            last_year=compare.last_year_line(
                view.cases, view.dates, compare.history_start(view.ledger.cases)
            ),
        )
        towns = compare.township_changes(view.cases, view.ledger.schools, view.as_of, head.comparison)
        with_open = towns[towns["open"] > 0]
        bars = figures.bar_chart(with_open, "township", "open", big=big) if len(with_open) else None
        return Overview(trend, privacy.published_poor(towns), bars)

    return shared(view, "overview", make)


class TableOne(NamedTuple):
    dates: list
    table: pd.DataFrame  # 表一 with a year earlier beside it
    chart: object
    split: object | None  # the chart per township or stage (None for 不分组)


def table_one(view: View, mode: str, split: str) -> TableOne:
    """表一 at the chosen report dates (labels.DATE_MODES) and its charts, split per labels.TREND_SPLITS."""

    def make() -> TableOne:
        big = view.mode == "briefing"
        dates = metrics.report_dates(view.ledger.cases, view.ledger.report_dates, mode, end=view.as_of.date())
        trend = metrics.trend(view.cases, dates)
        last_year = compare.last_year_line(view.cases, dates, compare.history_start(view.ledger.cases))
        ceiling = metrics.target_ceiling(view.ledger.schools, view.settings.targets, view.selection)
        chart = figures.trend_chart(
            trend, target=ceiling, target_label="辍学率目标对应人数上限", big=big, last_year=last_year
        )
        by = None
        if split != "none":
            by = figures.split_trend_chart(metrics.trend(view.cases, dates, by=split), split, big=big)
        return TableOne(dates, trend.merge(last_year, on="date", how="left"), chart, by)

    return shared(view, "table_one", make, mode, split)


class TableTwo(NamedTuple):
    table: pd.DataFrame  # 建档立卡 per school with small counts hidden, with the masked names
    total: int
    bars: object


# A result holding a row about a child (a masked name, a case row) is never kept on disk (ui.persist): each
# result below that shows one is built from a result without it (kept, so a restarted server has it at once)
# and the part about children, which is cheap to compute again.


def table_two(view: View, include_zero: bool) -> TableTwo:
    """表二: open cases per school (every school of the selection with `include_zero`)."""

    def make() -> TableTwo:
        # the schools table with its names: on a first computation also the counts' source, after a restart
        # (the counts kept on disk) only the names' one
        names = metrics.schools_table(view.cases, view.as_of, mode=view.mode, include_zero=True)

        def counts() -> TableTwo:  # without the names column
            history = compare.history_start(view.ledger.cases)
            cmp = compare.compare(view.cases, view.dates, view.as_of, history)
            table = compare.school_changes(
                view.cases, view.as_of, cmp, mode=view.mode, include_zero=include_zero, table=names
            )
            bars = figures.bar_chart(table[table["open"] > 0], "school", "open", big=view.mode == "briefing")
            table = table.drop(columns=[c for c in schema.NAME_LIST_COLUMNS if c in table])
            return TableTwo(privacy.published_poor(table), int(table["open"].sum()), bars)

        core = shared(view, "table_two_counts", counts, include_zero)
        column = next(c for c in names if c in schema.NAME_LIST_COLUMNS)
        keys = ["school", "township"]
        listed = core.table[keys].merge(names[[*keys, column]], on=keys, how="left")[column]
        table = core.table.copy()
        table.insert(
            list(names.columns).index(column), column, listed.fillna("").astype(names[column].dtype).array
        )
        return core._replace(table=table)

    return shared(view, "table_two", make, include_zero)


class VillageMap(NamedTuple):
    villages: pd.DataFrame  # 建档立卡 per village with small counts hidden, on the map too
    missing: pd.DataFrame  # open cases without coordinates
    deck: object


def village_map(view: View, status: pd.DataFrame, stamp: tuple) -> VillageMap:
    """Open cases per village and the map, from the view's follow-up status (followup_status(view, stamp))."""

    def placed() -> tuple[pd.DataFrame, object]:
        from .session import data_dir

        villages = privacy.published_poor(metrics.village_counts(status, view.ledger.villages))
        boundaries = figures.load_boundaries(data_dir())
        return villages, figures.village_deck(villages, boundaries, view.selection.townships)

    def make() -> VillageMap:
        villages, deck = shared(view, "village_counts", placed, stamp)
        return VillageMap(villages, metrics.unplaced(status, villages), deck)

    return shared(view, "village_map", make, stamp)


class Placements(NamedTuple):
    summary: dict  # published: for a place finer than the county, the one small-count rule
    chart: object


def roster(view: View) -> pd.DataFrame:
    """The special-education roster rows of the selection."""
    return shared(view, "roster", lambda: metrics.select_special(view.ledger.special_ed, view.selection))


def placements(view: View) -> Placements:
    def make() -> Placements:
        summary = privacy.published_special(metrics.special_ed_summary(roster(view)), _local(view))
        return Placements(summary, figures.placements_chart(summary, big=view.mode == "briefing"))

    return shared(view, "placements", make)


def placements_by(view: View, by: str) -> tuple[pd.DataFrame, object]:
    """The placements per labels.SPECIAL_ED_SPLITS `by`, published, and their stacked chart."""

    def make() -> tuple[pd.DataFrame, object]:
        table = metrics.special_ed_by(roster(view), by)
        table = privacy.published_placements(table, by, _local(view))
        return table, figures.stacked_placements(table, by, big=view.mode == "briefing")

    return shared(view, "placements_by", make, by)


def _local(view: View) -> bool:
    return privacy.finer_than_county(view.ledger, view.selection)


class Followup(NamedTuple):
    ladder: object  # the ladder chart
    gov: pd.DataFrame  # 政府线责任人
    edu: pd.DataFrame  # 教育线责任人


def followup(view: View, status: pd.DataFrame, stamp: tuple) -> Followup:
    def make() -> Followup:
        ladder = figures.ladder_chart(metrics.ladder_counts(status), big=view.mode == "briefing")
        return Followup(ladder, metrics.owners_table(status, "gov"), metrics.owners_table(status, "edu"))

    return shared(view, "followup", make, stamp)


def listed(status: pd.DataFrame, only_overdue: bool) -> pd.DataFrame:
    """The follow-up page's list of cases: every open case, or the overdue ones (只看超期个案)."""
    return status[status["overdue"]] if only_overdue else status


def case_choices(view: View, status: pd.DataFrame, stamp: tuple, only_overdue: bool) -> pd.DataFrame:
    """The follow-up page's choice of one case: the first SCREEN_ROWS listed, masked, by case_id."""
    from .widgets import SCREEN_ROWS

    def make() -> pd.DataFrame:
        rows = listed(status, only_overdue)
        shown = privacy.public_view(rows.head(SCREEN_ROWS)[["case_id", "name", "school"]], view.mode)
        return shown.set_index("case_id")

    return shared(view, "fu_options", make, stamp, only_overdue)


# --- ahead of the first visitors -------------------------------------------------------------------------

_ACTIVE = [0]  # script runs in progress (view.run_app counts them): warming waits while there are any
_QUIET_UNTIL = [0.0]  # warming waits until then (time.monotonic): set when a script run ends
# after a run ends, the server still has to send what it drew: warming keeps off the interpreter for this long
QUIET = 0.5
# after a new visitor's first run: their browser is still loading the page's scripts and building it on the
# machine's cores (on 2 cores, a warming step beside it delayed a new visitor's first figures by up to 1 s)
VISITOR_QUIET = 2.0
# after a browser's last request for the dashboard's files (a new visitor's page is still being built on the
# machine's cores): warming keeps off for this long
HTTP_QUIET = 1.0
_ACTIVE_LOCK = threading.Lock()
_WARMED: set = set()
WARM_DONE = threading.Event()  # set when the last warming started has finished (benchmarks wait for it)


def run_started() -> None:
    """A session's script run begins: the warming keeps off, and the run waits for its turn (ui.turns)."""
    with _ACTIVE_LOCK:
        _ACTIVE[0] += 1
    turns.take()
    serve.first("run_started")


def run_ended(new_visitor: bool = False) -> None:
    turns.give()
    with _ACTIVE_LOCK:
        _ACTIVE[0] -= 1
        quiet = time.monotonic() + (VISITOR_QUIET if new_visitor else QUIET)
        _QUIET_UNTIL[0] = max(_QUIET_UNTIL[0], quiet)
    serve.first("run_ended")


def opening(scope) -> View:
    """At the server's start (ui.serve), before anyone connects: load the current ledger version and compute
    the page the view `scope` opens at (the overview of the scope as a whole at the opening date), so that the
    first visitor's figures are already there. Returns that view (warm_townships takes it from there: the
    scope's other pages, then its townships)."""
    from .data import _ledger_key, _options, _scoped, selected_cases
    from .session import settings

    key = _ledger_key(scope)
    led = _scoped(*key)
    _, day = date_bounds(led, key)
    _options(*key, None), _options(*key, ())  # the sidebar's townships and schools
    sel = metrics.Selection(as_of=day)
    base = View(
        led,
        sel,
        selected_cases(led, key, sel),
        sel.dates_upto(led.report_dates),
        "list",
        settings(),
        scope,
        (),
        (key, sel, "list"),
    )
    headline(base), overview(base)  # the overview page; the other pages wait for the warming
    return base


def warm_townships(base: View) -> None:
    """The other pages of `base`'s scope, then each township's views, on this thread (the start's preload),
    once per version; like warm(), each step waits while a session's script runs."""
    from .data import _options

    if _claim(base.key[0]):
        _warm(base, _options(*base.key[0], None))


def warm(view: View, townships: list[str]) -> None:
    """Compute, in the background, what each page shows for the scope as a whole and for each of its
    `townships` at the view's opening date, masked as in the list mode: the views a joint meeting and the
    townships open first. Once per ledger version and scope; each step waits while any session's script is
    running, so visitors never wait for it. Results land in the shared cache under exactly the keys the
    pages ask for."""
    if _claim(view.key[0]):
        threading.Thread(target=_warm, args=(view, townships), name="kongchuo-warm", daemon=True).start()


def forget_warming() -> None:
    """Forget which ledgers were warmed (ui.data.forget_results: tests start from nothing)."""
    with _ACTIVE_LOCK:
        _WARMED.clear()


def _claim(ledger_key: tuple) -> bool:
    """True for the one caller that is to warm this ledger version and scope (warming switched on)."""
    if os.environ.get("KONGCHUO_WARM", "1") == "0":
        return False
    with _ACTIVE_LOCK:
        if ledger_key in _WARMED:
            return False
        _WARMED.add(ledger_key)
        WARM_DONE.clear()
    return True


def _warm(base: View, townships: list[str]) -> None:
    from .data import _options

    try:
        ledger_key = base.key[0]
        led = base.ledger
        _, day = date_bounds(led, ledger_key)
        for places in [(), *((t,) for t in townships)]:
            _when_idle()
            _options(*ledger_key, places)  # the sidebar's school choices for the township
            sel = metrics.Selection(townships=places, as_of=day)
            cases = metrics.select_cases(led.cases, sel)  # not kept: only the small results are
            view = dataclasses.replace(
                base,
                selection=sel,
                cases=cases,
                dates=sel.dates_upto(led.report_dates),
                mode="list",
                notices=(),
                key=(ledger_key, sel, "list"),
            )
            for step in _pages(view):
                _when_idle()
                if _RESULTS.full():
                    return
                serve.first("warm_step", times=10_000)  # each step's start, for the log and its test
                step()
        _when_idle()
        persist.save(ledger_key)  # the next start shows all of this at once
    except Exception:  # noqa: BLE001 - warming is an optimisation: a visitor computes what it could not
        logging.getLogger(__name__).exception("warming the shared results stopped")
    finally:
        WARM_DONE.set()


def _pages(view: View) -> list:
    """What each page computes for the view with its default choices (labels: the first of each)."""
    return [
        lambda: headline(view),
        lambda: overview(view),
        lambda: reporting_calendar(view, view.as_of.date()),  # the overview's 报送情况
        lambda: table_one(view, next(iter(labels.DATE_MODES)), next(iter(labels.TREND_SPLITS))),
        lambda: table_two(view, False),
        lambda: placements(view),
        lambda: placements_by(view, next(iter(labels.SPECIAL_ED_SPLITS))),
        lambda: _followup_pages(view),
    ]


def _followup_pages(view: View) -> None:
    stamp = followup_stamp(view)
    status = followup_status(view, stamp=stamp)
    if len(status):
        village_map(view, status, stamp)
        followup(view, status, stamp)
        case_choices(view, status, stamp, False)


def _when_idle(poll: float = 0.05) -> None:
    """Return once no script is running and none has ended in the last QUIET seconds (its page is being sent:
    a warming step holds the interpreter for up to a second at a million cases, which the sending waits for;
    VISITOR_QUIET after a new visitor's first run), and no browser has fetched a file in the last HTTP_QUIET
    seconds (app.py's middleware)."""
    while _ACTIVE[0] > 0 or time.monotonic() < _QUIET_UNTIL[0] or not serve.http_quiet(HTTP_QUIET):
        time.sleep(poll)
