"""The ledger as the server holds it (Ledger.held): a small ledger's text in Python string storage, the same
values and the same figures on every page's tables; a large one unchanged."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pandas.testing import assert_frame_equal

from kongchuo_metrics import compare, metrics
from kongchuo_metrics.ingest import ledger as ledger_module
from kongchuo_metrics.settings import load_settings
from tests.conftest import SAMPLE_DIR

TABLES = ("cases", "followups", "special_ed", "schools", "villages")


def _as_objects(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: object for c, d in frame.dtypes.items() if isinstance(d, pd.StringDtype)})


def test_a_small_ledger_is_held_with_python_strings_and_the_same_values(sample_ledger):
    held = sample_ledger.held()
    assert held.cases["township"].dtype.storage == "python"
    assert sample_ledger.cases["township"].dtype.storage == "pyarrow"  # the loaded ledger is left as it is
    for name in TABLES:
        before, after = getattr(sample_ledger, name), getattr(held, name)
        assert list(after.dtypes.astype(str)) == list(before.dtypes.astype(str))  # still str, Int64, …
        assert_frame_equal(_as_objects(after), _as_objects(before))


def test_the_figures_of_a_held_ledger_are_the_loaded_ledgers(sample_ledger):
    held, settings = sample_ledger.held(), load_settings(SAMPLE_DIR)
    day = dt.date(2019, 6, 25)
    for places in [(), ("三里镇",), ("樟木乡",)]:
        sel = metrics.Selection(townships=places, as_of=day)
        assert compare.headline(held, sel, settings) == compare.headline(sample_ledger, sel, settings)
        cases = [metrics.select_cases(led.cases, sel) for led in (held, sample_ledger)]
        status = [
            metrics.followup_status(c, led.followups, day, 14)
            for c, led in zip(cases, (held, sample_ledger), strict=True)
        ]
        for make in (
            lambda c, s, led: metrics.townships_table(c, led.schools, day),
            lambda c, s, led: metrics.schools_table(c, day),
            lambda c, s, led: metrics.village_counts(s, led.villages),
            lambda c, s, led: metrics.owners_table(s, "gov"),
            lambda c, s, led: metrics.ladder_counts(s),
            lambda c, s, led: metrics.trend(c, led.report_dates),
        ):
            a = make(cases[0], status[0], held)
            b = make(cases[1], status[1], sample_ledger)
            assert_frame_equal(_as_objects(a), _as_objects(b))


def test_a_large_ledger_keeps_pyarrow_strings(sample_ledger, monkeypatch):
    monkeypatch.setattr(ledger_module, "PYTHON_TEXT_BELOW", len(sample_ledger.cases))
    assert sample_ledger.held() is sample_ledger
