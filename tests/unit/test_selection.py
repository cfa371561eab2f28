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


def test_url_parameters_that_were_dropped_are_said_in_chinese():
    from kongchuo_metrics.selection import dropped_params

    first, last = dt.date(2019, 3, 1), dt.date(2019, 6, 25)
    asked = {"tsp": ["三里镇", "火星镇"], "sch": ["无名小学"], "asof": ["2020-01-01"]}
    notes = dropped_params(asked, ["三里镇"], ["三里一中"], first, last)
    assert notes[0] == "网址中的乡镇「火星镇」不存在或不在您的查看范围内，已忽略。"
    assert notes[1] == "网址中的学校「无名小学」不在所选范围内，已忽略。"
    assert "超出台账范围（2019年3月1日至2019年6月25日）" in notes[2]
    assert dropped_params({"asof": ["6月25日"]}, [], [], first, last) == (
        "网址中的统计日期「6月25日」无法识别，已改用默认日期。",
    )
    assert dropped_params({"tsp": ["三里镇"], "asof": ["2019-06-25"]}, ["三里镇"], [], first, last) == ()


def test_a_view_opens_at_the_ledgers_fill_in_date(sample_ledger):
    import dataclasses

    from kongchuo_metrics.selection import default_as_of

    assert default_as_of(sample_ledger) == dt.date.fromisoformat(sample_ledger.meta["stat_date"][:10])
    bare = dataclasses.replace(sample_ledger, meta={})
    assert default_as_of(bare) == max(sample_ledger.report_dates).date()


def test_a_date_after_the_ledgers_fill_in_date_is_said():
    from kongchuo_metrics.selection import after_filled

    assert after_filled(dt.date(2019, 6, 25), dt.date(2019, 6, 25)) == ()
    [note] = after_filled(dt.date(2019, 9, 30), dt.date(2019, 6, 25))
    assert note.startswith("统计日期 2019年9月30日 晚于台账的填报时间（2019年6月25日）")
