"""The selection object: one filter for cases and roster, the report dates up to the as-of date, its places,
one type for the as-of date, and its Chinese description."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from kongchuo_metrics.selection import Selection
from tests.conftest import REFERENCE_DATES


def test_the_mask_is_the_filter_for_cases_and_the_roster(sample_ledger):
    cases, roster = sample_ledger.cases, sample_ledger.special_ed
    sel = Selection(townships=("三里镇",), stage="junior", poor_only=False)
    kept = cases[sel.mask(cases)]
    assert len(kept) and set(kept["township"]) == {"三里镇"} and set(kept["stage"]) == {"junior"}
    expected = cases[(cases["township"] == "三里镇") & (cases["stage"] == "junior")]
    assert kept.index.equals(expected.index)
    # the roster has no stage: only its place filter applies
    assert sel.apply(roster).index.equals(roster[roster["township"] == "三里镇"].index)
    poor = Selection(poor_only=True).apply(cases)
    assert len(poor) and poor["poor"].eq(True).all()
    assert Selection().apply(cases) is cases


def test_dates_upto_and_one_type_for_the_as_of_date(sample_ledger):
    for as_of in (dt.date(2019, 5, 30), pd.Timestamp("2019-05-30 17:00"), "2019-05-30"):
        sel = Selection(as_of=as_of)
        assert sel.as_of == dt.date(2019, 5, 30) and sel.day == pd.Timestamp("2019-05-30")
        assert [d.date().isoformat() for d in sel.dates_upto(sample_ledger.report_dates)] == REFERENCE_DATES[
            :5
        ]
    early = Selection(as_of=dt.date(2019, 1, 1)).dates_upto(
        [d for d in sample_ledger.report_dates if d.year == 2019]
    )
    assert early == [pd.Timestamp("2019-01-01")]


def test_places_describe_and_slug(sample_ledger):
    sel = Selection(townships=("三里镇",), as_of=dt.date(2019, 6, 25))
    towns, schools = sel.places(sample_ledger)
    assert towns == ["三里镇"] and {"三里一中", "三里二中"} <= set(schools)
    assert all(s.startswith("三里") for s in schools)
    assert sel.describe() == "乡镇：三里镇；统计日期：2019年6月25日"
    assert sel.slug() == "三里镇_20190625"
