"""Issue 16: instant after a restart. The results a server computed for a ledger version are kept on disk
(ui.persist); a restarted server shows every page it had computed without computing it again, writes no row
about a child, and ignores a file that was altered or that another user could write."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import pandas as pd
import pytest

import ui
from kongchuo_metrics import compare, figures, privacy
from tests.app.conftest import metric, open_page


@pytest.fixture
def computed(monkeypatch):
    """Every headline and trend chart built, by name."""
    calls = []
    for module, name in ((compare, "headline"), (figures, "trend_chart")):
        real = getattr(module, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    return calls


def first_run(isolated, monkeypatch) -> list:
    """A server's start: its preload computes the opening views and warms every township, then keeps them on
    disk. Returns the results files."""
    from ui import serve

    monkeypatch.setenv("KONGCHUO_WARM", "1")
    serve.preload()
    monkeypatch.setenv("KONGCHUO_WARM", "0")
    return sorted((isolated / "store" / "results").glob("*.pkl"))


def restart() -> None:
    """What a new server process has: no result in memory, only the files."""
    ui.data.forget_results()


def test_a_restarted_server_shows_every_warmed_page_without_computing_it(isolated, monkeypatch, computed):
    files = first_run(isolated, monkeypatch)
    assert len(files) == 1 and files[0].stat().st_mode & 0o077 == 0  # the server's user alone reads it
    restart()
    computed.clear()
    at = open_page("overview")
    assert metric(at, "在册辍学人数") == "25"
    town = open_page("overview", {"tsp": "三里镇"})
    assert metric(town, "在册辍学人数") == "6"
    trend = open_page("trend", {"tsp": "五里镇"})
    assert not trend.exception and trend.get("plotly_chart")
    assert computed == []  # the county's and the townships' figures came from the file


def test_the_file_holds_no_row_about_a_child(isolated, monkeypatch, sample_ledger):
    [path] = first_run(isolated, monkeypatch)
    data = path.read_bytes()
    entries = pickle.loads(data[32:])
    names = {key[1] for key, _ in entries}
    assert {"overview", "headline", "table_one", "placements_by", "followup"} <= names
    assert not names & ui.persist.SKIPPED
    # the special-education roster, the map's cases without coordinates, the schools table's 未返校学生 and the
    # follow-up page's choice of a case list children: each is built from a kept result without them
    assert not names & {"roster", "village_map", "table_two", "fu_options"}
    assert {"table_two_counts", "village_counts", "placements"} <= names
    # no child's name, full or masked as on screen (张*三) or in 汇报模式 (张**), in the file or in any entry
    names = sample_ledger.cases["name"].dropna().drop_duplicates()
    shown = pd.concat([names, privacy.mask_names(names, "list"), privacy.mask_names(names, "briefing")])
    for name in shown.unique():
        assert str(name).encode("utf-8") not in data, name
        assert all(str(name).encode("utf-8") not in blob for _, blob in entries), name


def test_an_altered_file_is_ignored_and_the_figures_computed_again(isolated, monkeypatch, computed):
    [path] = first_run(isolated, monkeypatch)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    restart()
    computed.clear()
    at = open_page("overview")
    assert metric(at, "在册辍学人数") == "25"
    assert "headline" in computed


def test_a_file_another_user_may_write_is_ignored(isolated, monkeypatch, computed):
    [path] = first_run(isolated, monkeypatch)
    os.chmod(path, 0o666)
    restart()
    computed.clear()
    at = open_page("overview", {"tsp": "三里镇"})
    assert metric(at, "在册辍学人数") == "6"
    assert "headline" in computed


def test_a_changed_settings_file_is_another_set_of_results(isolated, monkeypatch):
    """Even when the edit keeps the file's size and modification time (a tool that preserves timestamps)."""
    data = isolated / "data"
    shutil.copytree(ui.session.ROOT / "data", data)
    monkeypatch.setenv("KONGCHUO_DATA", str(data))
    first_run(isolated, monkeypatch)
    at = open_page("overview")
    assert any("目标 ≤1.5%" in (m.delta or "") for m in at.metric)
    settings = data / "settings.toml"
    before = settings.stat()
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        text.replace("dropout_rate_junior_max = 1.5", "dropout_rate_junior_max = 0.5"), "utf-8"
    )
    os.utime(settings, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert settings.stat().st_size == before.st_size and settings.stat().st_mtime_ns == before.st_mtime_ns
    restart()
    again = open_page("overview")
    assert metric(again, "在册辍学人数") == "25"
    assert any("目标 ≤0.5%" in (m.delta or "") for m in again.metric)  # the new target, not the kept one


def test_a_kept_figure_is_the_figure_that_was_computed(sample_ledger):
    from kongchuo_metrics import metrics

    trend = metrics.trend(sample_ledger.cases, sample_ledger.report_dates)
    for fig in (
        figures.trend_chart(trend, target=40),
        figures.trend_chart(trend, big=True, last_year=trend[["date"]].assign(open_last_year=3)),
        figures.split_trend_chart(
            metrics.trend(sample_ledger.cases, sample_ledger.report_dates, by="township"), "township"
        ),
        figures.bar_chart(
            metrics.townships_table(sample_ledger.cases, sample_ledger.schools, "2019-06-25"),
            "township",
            "open",
        ),
        figures.placements_chart(metrics.special_ed_summary(sample_ledger.special_ed)),
        figures.ladder_chart(
            metrics.ladder_counts(
                metrics.followup_status(sample_ledger.cases, sample_ledger.followups, "2019-06-25", 14)
            )
        ),
    ):
        again = pickle.loads(ui.persist._dumps({"chart": fig}))["chart"]
        # data, layout and plotly's default template, as the browser receives them
        assert json.loads(again.to_json()) == json.loads(fig.to_json())
