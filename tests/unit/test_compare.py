"""环比 and 同比 on hand-made ledgers, the sentences built from them, and the headline on the sample."""

import datetime as dt

import pandas as pd
import pytest

from kongchuo_metrics import compare as C
from kongchuo_metrics import metrics as M
from kongchuo_metrics.ingest import load_ledger
from tests.conftest import case_row, write_csv


@pytest.fixture
def two_years(tmp_path):
    rows = [
        # last school year: two open on 2018-06-25 (one poor), one returned before it
        case_row(name="甲", registered="2018.3.1", returned="是", closed="2018.5.10", outcome="已返校"),
        case_row(
            name="乙", registered="2018.4.1", returned="是", closed="2018.8.1", outcome="已返校", poor="是"
        ),
        case_row(
            name="丙", registered="2018.4.2", closed="2018.7.1", outcome="核实在外地就读", township="乙乡"
        ),
        # this year: three registered, one back before 5-23, one back between 5-23 and 6-25
        case_row(name="丁", registered="2018.10.1"),
        case_row(name="戊", registered="2018.11.1", returned="是", closed="2019.4.1", outcome="已返校"),
        case_row(name="己", registered="2019.1.5", returned="是", closed="2019.6.1", outcome="返校复学"),
    ]
    write_csv(tmp_path / "台账.csv", rows)
    return load_ledger(tmp_path).cases


def test_previous_and_last_year_figures(two_years):
    start = C.history_start(two_years)
    c = C.compare(two_years, ["2019-05-23", "2019-06-25"], "2019-06-25", start)
    assert c.current.as_dict() == {"date": "2019-06-25", "open": 1, "returned_total": 2, "open_poor": 0}
    assert c.previous.as_dict() == {"date": "2019-05-23", "open": 2, "returned_total": 1, "open_poor": 0}
    assert c.last_year.as_dict() == {"date": "2018-06-25", "open": 2, "returned_total": 1, "open_poor": 1}
    assert (c.change("open"), c.change("open", "last_year")) == (-1, -1)
    assert c.change("returned_total", "last_year") == 1
    assert c.previous_label == "较5月23日"


def test_unknown_history_is_none_not_zero(two_years):
    this_year = two_years[two_years["registered"] >= pd.Timestamp("2018-09-01")]
    c = C.compare(this_year, ["2019-06-25"], "2019-06-25", C.history_start(this_year))
    assert not c.last_year.known and c.last_year.open is None
    assert c.change("open", "last_year") is None
    assert not c.previous.known and c.previous_label == ""
    assert (
        C.last_year_line(this_year, ["2019-06-25"], C.history_start(this_year))["open_last_year"].isna().all()
    )


def test_weekly_and_monthly_previous(two_years):
    start = C.history_start(two_years)
    w = C.compare(two_years, [], "2019-06-25", start, mode="weekly")
    m = C.compare(two_years, [], "2019-06-25", start, mode="monthly")
    assert (w.previous.date, w.previous_label) == (pd.Timestamp("2019-06-18"), "较上周")
    assert (m.previous.date, m.previous.open, m.previous_label) == (pd.Timestamp("2019-05-25"), 2, "较上月")
    assert C.last_year_date("2020-02-29") == pd.Timestamp("2019-02-28")


def test_sentences(two_years):
    start = C.history_start(two_years)
    c = C.compare(two_years, ["2019-05-23"], "2019-06-25", start)
    s = C.sentences(c, "全区")
    assert s[0] == "截至2019年6月25日，全区在册辍学学生1人，较5月23日减少1人，较上年同期减少1人。"
    assert s[1] == "本学年累计劝返2人，较5月23日增加1人，较上年同期增加1人。"
    assert s[2] == "建档立卡家庭学生辍学人数为0，守住了红线（上年同期为1人）。"
    unknown = C.compare(two_years, [], "2018-06-25", start)
    assert C.sentences(unknown, "甲镇")[0] == "截至2018年6月25日，甲镇在册辍学学生2人，台账不含上年同期数据。"
    assert "建档立卡家庭学生仍有1人未返校，台账不含上年同期数据，须立即清零。" in C.sentences(unknown, "甲镇")
    assert [C.change_words(x) for x in (3, -2, 0, None)] == ["增加3人", "减少2人", "持平", ""]
    assert [C.arrow(x) for x in (3, -2, 0, None)] == ["↑3", "↓2", "0", "—"]


def test_township_change_columns(two_years):
    start = C.history_start(two_years)
    c = C.compare(two_years, ["2019-05-23"], "2019-06-25", start)

    def build(day):
        return M.townships_table(
            two_years, pd.DataFrame(columns=["township", "enrol_primary", "enrol_junior"]), day
        )

    t = C.with_changes(build("2019-06-25"), "township", build, c)
    row = t.set_index("township").loc["甲镇"]
    assert (row["open"], row["change_prev"], row["change_last_year"]) == (1, "↓1", "0")
    other = t.set_index("township").loc["乙乡"]  # its only case (last year) was closed in July 2018
    assert (other["open"], other["change_prev"], other["change_last_year"]) == (0, "0", "↓1")


def test_headline_on_the_sample_matches_the_reference(sample_ledger):
    from kongchuo_metrics.settings import load_settings
    from tests.conftest import SAMPLE_DIR

    h = C.headline(sample_ledger, M.Selection(as_of=dt.date(2019, 6, 25)), load_settings(SAMPLE_DIR))
    assert (h.open, h.returned_total, h.open_poor, h.schools_open) == (25, 77, 0, 25)
    assert h.comparison.previous.as_dict() == {
        "date": "2019-05-23",
        "open": 28,
        "returned_total": 74,
        "open_poor": 0,
    }
    assert h.comparison.last_year.as_dict() == {
        "date": "2018-06-25",
        "open": 31,
        "returned_total": 88,
        "open_poor": 1,
    }
    assert C.sentences(h.comparison, h.place)[0] == (
        "截至2019年6月25日，全区在册辍学学生25人，较5月23日减少3人，较上年同期减少6人。"
    )
