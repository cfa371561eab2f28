"""Comparisons: 环比 (against the previous report date, week or month) and 同比 (the same date a year earlier).

Both come from the ledger's own case histories (a case counts at a date when it was registered on or before it
and not yet closed). 同比 is known only when the ledger reaches back that far — its first registration is on or
before the date a year earlier; otherwise every 同比 figure is None and the wording says "台账不含上年同期数据"
instead of showing 0. `headline` gives the figures every page, the pack and the Word report quote.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import metrics
from .settings import Settings

NO_HISTORY = "台账不含上年同期数据"
FIELDS = ("open", "returned_total", "open_poor")


@dataclass(frozen=True)
class Point:
    """The headline counts at one date; every count is None when the ledger has no data for that date."""

    date: pd.Timestamp | None
    open: int | None = None
    returned_total: int | None = None
    open_poor: int | None = None

    @property
    def known(self) -> bool:
        return self.date is not None and self.open is not None

    def as_dict(self) -> dict:
        """{date: YYYY-MM-DD | None, open, returned_total, open_poor} for JSON."""
        return {
            "date": self.date.date().isoformat() if self.date is not None else None,
            "open": self.open,
            "returned_total": self.returned_total,
            "open_poor": self.open_poor,
        }


@dataclass(frozen=True)
class Comparison:
    """Now, the previous point (环比) and the same date last year (同比), with the words for each."""

    current: Point
    previous: Point
    last_year: Point
    previous_label: str  # 较5月23日 / 较上周 / 较上月 ("" when there is no previous point)

    def change(self, field: str, against: str = "previous") -> int | None:
        """current − previous (or − last_year) for one of FIELDS; None when the other point is unknown."""
        other = self.previous if against == "previous" else self.last_year
        a, b = getattr(self.current, field), getattr(other, field)
        return None if a is None or b is None else int(a) - int(b)


def last_year_date(day) -> pd.Timestamp:
    """The same calendar date a year earlier (29 February falls back to the 28th)."""
    return pd.Timestamp(day).normalize() - pd.DateOffset(years=1)


def previous_date(day, dates: list, mode: str = "ledger") -> tuple[pd.Timestamp | None, str]:
    """The 环比 date and its label: the previous report date (ledger), 7 days (weekly) or a month (monthly)."""
    day = pd.Timestamp(day).normalize()
    if mode == "weekly":
        return day - pd.Timedelta(days=7), "较上周"
    if mode == "monthly":
        return day - pd.DateOffset(months=1), "较上月"
    prior = [pd.Timestamp(d).normalize() for d in dates if pd.Timestamp(d).normalize() < day]
    if not prior:
        return None, ""
    p = max(prior)
    return p, f"较{p.month}月{p.day}日"


def history_start(cases: pd.DataFrame) -> pd.Timestamp | None:
    """The first registration in the ledger (use the whole scoped ledger, not a selection)."""
    return (
        pd.Timestamp(cases["registered"].min()) if len(cases) and cases["registered"].notna().any() else None
    )


def covers(start: pd.Timestamp | None, day) -> bool:
    """True when a ledger whose first registration is `start` holds the cases open at `day`."""
    return start is not None and start <= pd.Timestamp(day)


def points(cases: pd.DataFrame, dates: list) -> list[Point]:
    """Point per date (vectorised through metrics.trend); dates may be None (unknown) and repeat."""
    known = sorted({pd.Timestamp(d).normalize() for d in dates if d is not None})
    tr = metrics.trend(cases, known).set_index("date") if known else None
    out = []
    for d in dates:
        if d is None:
            out.append(Point(None))
            continue
        row = tr.loc[pd.Timestamp(d).normalize()]
        out.append(
            Point(
                pd.Timestamp(d).normalize(),
                int(row["open"]),
                int(row["returned_total"]),
                int(row["open_poor"]),
            )
        )
    return out


def compare(
    cases: pd.DataFrame, dates: list, as_of, start: pd.Timestamp | None, mode: str = "ledger"
) -> Comparison:
    """环比 and 同比 of the headline counts of `cases` at as_of; `start` is history_start of the whole ledger."""
    day = pd.Timestamp(as_of).normalize()
    prev, label = previous_date(day, dates, mode)
    if prev is not None and not covers(start, prev):
        prev, label = None, ""
    ly = last_year_date(day)
    now, before, year = points(cases, [day, prev, ly if covers(start, ly) else None])
    if year.date is None:
        year = Point(ly)  # the date is known, the counts are not
    return Comparison(now, before, year, label)


# --- words ---------------------------------------------------------------------------------------------------


def change_words(delta: int | None, unit: str = "人") -> str:
    """增加3人 / 减少3人 / 持平; "" when unknown."""
    if delta is None:
        return ""
    if delta > 0:
        return f"增加{delta}{unit}"
    if delta < 0:
        return f"减少{-delta}{unit}"
    return "持平"


def arrow(delta: int | None) -> str:
    """↑3 / ↓3 / 0 for a table cell; — when unknown."""
    if delta is None or pd.isna(delta):
        return "—"
    delta = int(delta)
    return f"↑{delta}" if delta > 0 else (f"↓{-delta}" if delta < 0 else "0")


def comparison_clause(c: Comparison, field: str, unit: str = "人") -> str:
    """The comparisons of one figure: 较5月23日减少3人，较上年同期减少6人 (or …，台账不含上年同期数据)."""
    parts = []
    if c.previous.known:
        parts.append(c.previous_label + change_words(c.change(field, "previous"), unit))
    if c.last_year.known:
        parts.append("较上年同期" + change_words(c.change(field, "last_year"), unit))
    else:
        parts.append(NO_HISTORY)
    return "，".join(parts)


def sentences(c: Comparison, place: str) -> list[str]:
    """The 基本情况 sentences: open, cumulative returns and the 建档立卡 red line, each with its comparisons."""
    day = metrics.cn_date(c.current.date)
    out = [
        f"截至{day}，{place}在册辍学学生{c.current.open}人，{comparison_clause(c, 'open')}。",
        f"本学年累计劝返{c.current.returned_total}人，{comparison_clause(c, 'returned_total')}。",
    ]
    poor = c.current.open_poor
    if poor:
        out.append(f"建档立卡家庭学生仍有{poor}人未返校，{comparison_clause(c, 'open_poor')}，须立即清零。")
    else:
        tail = f"上年同期为{c.last_year.open_poor}人" if c.last_year.known else NO_HISTORY
        out.append(f"建档立卡家庭学生辍学人数为0，守住了红线（{tail}）。")
    return out


# --- per-row changes for the township, school and trend tables ---------------------------------------------


def with_changes(
    table: pd.DataFrame,
    key: str,
    build,
    c: Comparison,
    value: str = "open",
) -> pd.DataFrame:
    """`table` plus change_prev and change_last_year columns (arrow text) of `value` per `key`.

    `build(day)` returns the same table at another date; rows missing there count as 0, and the 同比 column
    says — throughout when the ledger has no history that far back.
    """
    out = table.copy()
    for col, point in (("change_prev", c.previous), ("change_last_year", c.last_year)):
        if not point.known:
            out[col] = "—"
            continue
        before = build(point.date)
        old = before.set_index(key)[value] if len(before) else pd.Series(dtype="int64")
        delta = out[value].astype("int64") - out[key].map(old).fillna(0).astype("int64")
        out[col] = [arrow(x) for x in delta.to_numpy()]
    return out


def open_by(cases: pd.DataFrame, keys: dict[str, str], days: list) -> pd.DataFrame:
    """Open cases per combination of `keys` (column → label for a missing value) at each of `days`.

    One factorisation of the key columns, then one comparison and one bincount per day: the frame has the key
    columns and one count column per day (named by the day), a row per combination that has any case.
    """
    if not len(cases):
        return pd.DataFrame(columns=[*keys, *days])
    codes = np.zeros(len(cases), dtype=np.int64)
    uniques = []
    for col, missing in keys.items():
        c, u = pd.factorize(cases[col].fillna(missing))
        codes = codes * max(len(u), 1) + c
        uniques.append((col, c, u))
    combo, _ = pd.factorize(codes)
    g = int(combo.max()) + 1
    first = np.zeros(g, dtype=np.int64)
    first[combo[::-1]] = np.arange(len(combo))[::-1]
    out = pd.DataFrame({col: u.take(c[first]) for col, c, u in uniques})
    for day in days:
        d = pd.Timestamp(day)
        is_open = ((cases["registered"] <= d) & ~(cases["closed"] <= d)).to_numpy(dtype=bool)
        out[day] = np.bincount(combo[is_open], minlength=g).astype("int64")
    return out


def _open_changes(
    table: pd.DataFrame, cases: pd.DataFrame, keys: dict[str, str], c: Comparison
) -> pd.DataFrame:
    """`table` plus change_prev and change_last_year (arrow text) of its open column, rows matched on `keys`;
    a row with no case at the other date counts 0 there, and a point the ledger cannot reach is — throughout."""
    out = table.copy()
    known = [p.date for p in (c.previous, c.last_year) if p.known]
    counts = open_by(cases, keys, known) if known and len(out) else None
    for col, point in (("change_prev", c.previous), ("change_last_year", c.last_year)):
        if not point.known:
            out[col] = "—"
            continue
        if counts is None:
            out[col] = pd.Series(dtype="object")
            continue
        before = out[list(keys)].merge(counts[[*keys, point.date]], on=list(keys), how="left")[point.date]
        delta = out["open"].astype("int64").to_numpy() - before.fillna(0).astype("int64").to_numpy()
        out[col] = [arrow(x) for x in delta]
    return out


def township_changes(cases: pd.DataFrame, schools: pd.DataFrame, as_of, c: Comparison) -> pd.DataFrame:
    """metrics.townships_table at as_of with change_prev and change_last_year (arrow text) of open cases."""
    table = metrics.townships_table(cases, schools, as_of)
    return _open_changes(table, cases, {"township": "（未填乡镇）"}, c)


def school_changes(
    cases: pd.DataFrame,
    as_of,
    c: Comparison,
    mode: str = "list",
    include_zero: bool = False,
    table: pd.DataFrame | None = None,
):
    """metrics.schools_table (表二) at as_of with change_prev and change_last_year of open cases per school
    (rows matched on school and township, so that a school name shared by two townships stays apart).
    `table` is that schools table (include_zero=True) when the caller has it already."""
    if table is None:
        table = metrics.schools_table(cases, as_of, mode=mode, include_zero=True)
    out = _open_changes(table, cases, {"school": "（未填学校）", "township": "（未填乡镇）"}, c)
    return out if include_zero else out[out["open"] > 0].reset_index(drop=True)


def last_year_caption(c: Comparison, field: str) -> str:
    """同比 under a card: 较上年同期（2018年6月25日）减少6人, or 台账不含上年同期数据."""
    if not c.last_year.known:
        return NO_HISTORY
    return f"较上年同期（{metrics.cn_date(c.last_year.date)}）{change_words(c.change(field, 'last_year'))}"


def last_year_line(cases: pd.DataFrame, dates: list, start: pd.Timestamp | None) -> pd.DataFrame:
    """For each report date: date, open_last_year (open cases a year earlier; NA where the ledger has none)."""
    days = [pd.Timestamp(d).normalize() for d in dates]
    earlier = [last_year_date(d) for d in days]
    usable = [e for e in earlier if covers(start, e)]
    values = pd.Series(pd.NA, index=range(len(days)), dtype="Int64")
    if usable:
        tr = metrics.trend(cases, usable).set_index("date")["open"]
        for i, e in enumerate(earlier):
            if covers(start, e):
                values.iloc[i] = int(tr.loc[e])
    return pd.DataFrame({"date": np.array(days, dtype="datetime64[s]"), "open_last_year": values})


# --- the headline ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The figures every view quotes for a selection and date: counts, comparisons, rates, overdue cases."""

    as_of: pd.Timestamp
    open: int
    open_poor: int
    returned_total: int
    previous_date: pd.Timestamp | None  # the report date before as_of (None at the first)
    change: int | None  # open now minus open at previous_date
    comparison: Comparison
    rates: tuple  # metrics.Rate, in metrics.rates order
    overdue: int | None  # None when the caller did not ask for it (the follow-up log is not read)
    place: str  # 全区 / 黄练镇 / 黄练镇、三里镇


def place_name(selection: metrics.Selection, district: str = "") -> str:
    """How a document names the selection's area: 全区 (or 全县), or the townships/schools."""
    if selection.schools:
        return "、".join(selection.schools)
    if selection.townships:
        return "、".join(selection.townships)
    return "全县" if district.endswith("县") else "全区"


def headline(
    ledger,
    selection: metrics.Selection,
    settings: Settings,
    mode: str = "ledger",
    status: pd.DataFrame | None = None,
    overdue: bool = True,
    cases: pd.DataFrame | None = None,
) -> Headline:
    """The headline figures for `selection` at its as-of date: the one query behind the overview's cards, the
    pack's KPI page, the Word report's sentences and `summary` on the command line.

    `status` may pass metrics.followup_status of the selection at that date, and `cases` the selection's cases
    (metrics.select_cases of the ledger), when the caller has them already; `overdue=False` leaves the overdue
    count out (and the follow-up log unread).
    """
    as_of = pd.Timestamp(selection.as_of or dt.date.today())
    if cases is None:
        cases = metrics.select_cases(ledger.cases, selection)
    dates = selection.dates_upto(ledger.report_dates) if selection.as_of else [as_of]
    s = metrics.summary(
        cases, ledger.schools, dates, dataclasses.replace(selection, as_of=as_of.date()), settings.targets
    )
    c = compare(cases, dates, as_of, history_start(ledger.cases), mode)
    if status is None and overdue:
        status = metrics.followup_status(cases, ledger.followups, as_of, settings.overdue_days)
    district = ledger.meta.get("district") or settings.district or ""
    return Headline(
        as_of=as_of,
        open=s["open"],
        open_poor=s["open_poor"],
        returned_total=s["returned_total"],
        previous_date=s["previous_date"],
        change=s["change"],
        comparison=c,
        rates=tuple(s["rates"]),
        overdue=int(status["overdue"].sum()) if status is not None else None,
        place=place_name(selection.named(ledger), district),
    )
