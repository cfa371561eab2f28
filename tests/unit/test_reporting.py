"""The reporting calendar: periods, deadlines and the on-time / late / missing / due states at their edges."""

import datetime as dt

import pytest

from kongchuo_metrics import reporting
from kongchuo_metrics.settings import load_settings
from tests.conftest import SAMPLE_DIR

D = dt.date
WEEKLY = reporting.Rhythm("weekly", 4)  # 周报 every Thursday
MONTHLY = reporting.Rhythm("monthly", 22)  # 月报 by the 22nd


@pytest.mark.parametrize(
    ("submitted", "today", "expected"),
    [
        ([D(2026, 11, 22)], D(2026, 11, 30), "on_time"),  # on the deadline day
        ([D(2026, 11, 23)], D(2026, 11, 30), "late"),  # the day after
        ([], D(2026, 11, 22), "due"),  # deadline day, nothing yet: still due
        ([], D(2026, 11, 23), "missing"),  # the day after: missing
        ([D(2026, 10, 30)], D(2026, 11, 1), "due"),  # last month's report does not count for this one
        ([D(2026, 10, 30)], D(2026, 11, 23), "missing"),
        (
            [D(2026, 11, 1), D(2026, 11, 25)],
            D(2026, 11, 30),
            "on_time",
        ),  # a later correction keeps it on time
        ([D(2026, 12, 1)], D(2026, 11, 30), "missing"),  # a date after today is not a submission yet
    ],
)
def test_monthly_states_at_the_edges(submitted, today, expected):
    assert reporting.state(MONTHLY, submitted, today)[0] == expected


@pytest.mark.parametrize(
    ("rhythm", "submitted", "today", "expected"),
    [
        (MONTHLY, [D(2026, 9, 20)], D(2026, 11, 10), "due_missed"),  # reported in September, not in October
        (MONTHLY, [D(2026, 9, 20), D(2026, 10, 21)], D(2026, 11, 10), "due"),  # October was reported
        (
            MONTHLY,
            [D(2026, 10, 30)],
            D(2026, 11, 10),
            "due",
        ),  # a late October report still counts for October
        (
            MONTHLY,
            [],
            D(2026, 11, 10),
            "due",
        ),  # never reported (a township new to the ledger): no period skipped
        (MONTHLY, [D(2026, 9, 20)], D(2026, 11, 23), "missing"),  # past this period's deadline: missing wins
        (WEEKLY, [D(2026, 11, 12)], D(2026, 11, 23), "due_missed"),  # reported two weeks ago, not last week
        (WEEKLY, [D(2026, 11, 19)], D(2026, 11, 23), "due"),
    ],
)
def test_a_period_not_due_yet_says_when_the_previous_one_was_skipped(rhythm, submitted, today, expected):
    assert reporting.state(rhythm, submitted, today)[0] == expected
    table = reporting.calendar_table({"甲镇": submitted}, [rhythm], today)
    words = {"due": "待报", "due_missed": "待报（上期未报）", "missing": "未报（已过截止日）"}
    assert table["state"].tolist() == [words[expected]]
    assert reporting.not_reported(table) == (["甲镇"] if expected == "missing" else [])


def test_a_short_month_moves_the_deadline_to_its_last_day():
    feb = reporting.Rhythm("monthly", 30)
    assert feb.period(D(2026, 2, 10)) == (D(2026, 2, 1), D(2026, 2, 28), D(2026, 2, 28))
    assert reporting.state(feb, [D(2026, 2, 28)], D(2026, 3, 1))[0] == "due"  # March is a new period
    assert reporting.state(feb, [], D(2026, 2, 28))[0] == "due"


@pytest.mark.parametrize(
    ("submitted", "today", "expected"),
    [
        ([D(2026, 11, 26)], D(2026, 11, 29), "on_time"),  # Thursday itself
        ([D(2026, 11, 27)], D(2026, 11, 29), "late"),  # Friday
        ([], D(2026, 11, 26), "due"),
        ([], D(2026, 11, 27), "missing"),
        (
            [D(2026, 11, 29)],
            D(2026, 11, 30),
            "due",
        ),  # Sunday's report belongs to last week; Monday starts anew
        ([D(2026, 11, 23)], D(2026, 11, 29), "on_time"),  # Monday of the same week
    ],
)
def test_weekly_states_at_the_edges(submitted, today, expected):
    assert reporting.state(WEEKLY, submitted, today)[0] == expected


def test_calendar_table_per_township_and_rhythm():
    dates = {"甲镇": [D(2026, 11, 20)], "乙镇": [D(2026, 11, 24)], "丙镇": []}
    t = reporting.calendar_table(dates, [WEEKLY, MONTHLY], D(2026, 11, 27))
    monthly = t[t["rhythm"] == "月报（每月 22 日前）"].set_index("township")
    assert monthly["state"].to_dict() == {"丙镇": "未报（已过截止日）", "乙镇": "迟报", "甲镇": "按时报送"}
    assert monthly.loc["丙镇", "last_submission"] == "从未报送"
    weekly = t[t["rhythm"] == "周报（每周四）"].set_index("township")
    assert weekly.loc["乙镇", "state"] == "按时报送" and weekly.loc["甲镇", "state"] == "未报（已过截止日）"
    assert reporting.not_reported(t) == ["丙镇", "甲镇"]


def test_submissions_from_ledger_meta_with_history_and_fallback():
    meta = {
        "submissions": {"甲镇": {"history": ["2026-10-20"], "filled": "2026-11-20", "imported": "2026-11-21"}}
    }
    got = reporting.submissions(meta, ["甲镇", "乙镇"], fallback="2026-11-01")
    assert got == {"甲镇": [D(2026, 10, 20), D(2026, 11, 20)], "乙镇": [D(2026, 11, 1)]}


def test_the_sample_settings_name_thursday_and_the_22nd():
    s = load_settings(SAMPLE_DIR)
    assert [r.label for r in reporting.rhythms(s.weekly_day, s.monthly_day)] == [
        "周报（每周四）",
        "月报（每月 22 日前）",
    ]


def _reported(ledger, late_town="黄练镇"):
    """The sample as if every township last reported on 25 June and one of them again on 20 July."""
    import dataclasses

    towns = sorted(set(ledger.cases["township"].dropna()))
    subs = {t: {"filled": "2019-07-20" if t == late_town else "2019-06-25"} for t in towns}
    return dataclasses.replace(ledger, meta={**ledger.meta, "submissions": subs}), towns


def test_the_pack_and_the_word_report_name_the_townships_that_have_not_reported(sample_ledger):
    import io

    from docx import Document

    from kongchuo_metrics import metrics, pack
    from kongchuo_metrics.documents import report

    ledger, towns = _reported(sample_ledger)
    settings = load_settings(SAMPLE_DIR)
    # Friday 26 July 2019: this week's 周报 (Thursday) is missing everywhere, July's 月报 (22nd) but for 黄练镇
    words = reporting.not_reported_words(reporting.for_ledger(ledger, 4, 22, D(2019, 7, 26)))
    others = "、".join(t for t in towns if t != "黄练镇")
    assert words == (
        f"本期有10个乡镇未按时报送台账：周报（每周四）截至7月25日未报送的有{'、'.join(towns)}；"
        f"月报（每月 22 日前）截至7月22日未报送的有{others}。"
    )
    sel = metrics.Selection(as_of=D(2019, 7, 26))
    c = pack.content(ledger, sel, settings, None)
    html = pack.build_html(ledger, sel, settings, None, c=c)
    cover, quality = html.split("</section>")[0], html.split("七、口径说明与数据质量")[1]
    assert words in cover and words in quality
    doc = Document(io.BytesIO(report.build(ledger, sel, settings, "通报").docx))
    text = [p.text for p in doc.paragraphs]
    problems = text[text.index("三、存在的问题") : text.index("四、下一步工作")]
    assert any(words in t for t in problems)
    # a township filter names only that township; a period everyone reported in names nobody
    one = metrics.Selection(as_of=D(2019, 7, 26), townships=("黄练镇",))
    assert "黄练镇" in pack.content(ledger, one, settings, None).not_reported
    assert "樟木乡" not in pack.content(ledger, one, settings, None).not_reported
    assert (
        pack.content(sample_ledger, metrics.Selection(as_of=D(2019, 6, 25)), settings, None).not_reported
        == ""
    )
