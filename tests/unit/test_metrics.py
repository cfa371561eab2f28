import datetime as dt

import pandas as pd
import pytest

from kongchuo_metrics import metrics as M
from kongchuo_metrics.ingest import load_ledger
from kongchuo_metrics.settings import Targets
from tests.conftest import case_row, write_csv


@pytest.fixture
def small(tmp_path):
    rows = [
        # A: registered 3-01, returned 3-10 (closed on the report date itself)
        case_row(name="甲", registered="2019.3.1", returned="是", closed="2019.3.10", outcome="已返校"),
        # B: poor, registered 3-05, still open
        case_row(name="乙", registered="2019.3.5", poor="是"),
        # C: returned, then dropped out again (same ID, two episodes)
        case_row(name="丙", registered="2019.2.1", returned="是", closed="2019.2.20", outcome="已返校"),
        # D: verified studying elsewhere: closed, not a return
        case_row(
            name="丁",
            registered="2019.3.1",
            closed="2019.3.15",
            outcome="核实在外地就读",
            township="乙乡",
            school="乙乡小学",
            grade="三年级",
        ),
        # E: month-only registration and a month-only return (counts at month end)
        case_row(name="戊", registered="2019年2月", returned="是", closed="2019年3月", outcome="返校复学"),
        # F: vocational, a return
        case_row(
            name="己", registered="2019.1.10", closed="2019.3.20", outcome="进入中职学校", ctype="疑似辍学"
        ),
    ]
    again = case_row(name="丙", registered="2019.3.12")
    rows.append(again)
    write_csv(tmp_path / "台账.csv", rows)
    write_csv(
        tmp_path / "学校.csv",
        [["甲镇一中", "甲镇", "0", "1000", "", "", "", ""], ["乙乡小学", "乙乡", "", "", "", "", "", ""]],
        header=[
            "学校名称",
            "乡镇",
            "小学在校生数",
            "初中在校生数",
            "入学年级人数",
            "转入人数",
            "转出人数",
            "毕业生数",
        ],
    )
    return load_ledger(tmp_path)


def test_trend_counting_rule_on_hand_made_ledger(small):
    dates = ["2019-02-20", "2019-03-10", "2019-03-15", "2019-03-31"]
    t = M.trend(small.cases, dates)
    # 2-20: C closed that very day -> not open; open = E(2-01 month), F(1-10) = 2; returns on or before = C
    # 3-10: + A(3-01, closed 3-10), B, D, E, F; A closed on the date -> open B D E F = 4; returns (2-20, 3-10]: A
    # 3-15: D closed (verified, not a return), C again on 3-12 -> B E F C2 = 4; returns 0
    # 3-31: F returned 3-20, E returned at month end 3-31 -> B C2 = 2; returns 2
    assert t["open"].tolist() == [2, 4, 4, 2]
    assert t["returned"].tolist() == [1, 1, 0, 2]
    assert t["returned_total"].tolist() == [1, 2, 2, 4]
    assert t["open_poor"].tolist() == [0, 1, 1, 1]


def test_open_at_and_first_date_counts_all_earlier_returns(small):
    t = M.trend(small.cases, ["2019-03-31"])
    assert t.iloc[0].tolist()[1:] == [2, 1, 4, 4]
    assert set(M.open_at(small.cases, "2019-03-31")["name"]) == {"乙", "丙"}


def test_trend_split_by_stage_and_township_adds_up(small):
    dates = ["2019-03-10", "2019-03-31"]
    by = M.trend(small.cases, dates, by="township")
    total = M.trend(small.cases, dates)
    assert by.groupby("date")["open"].sum().tolist() == total["open"].tolist()
    assert set(by["township"]) == {"甲镇", "乙乡"}
    st = M.trend(small.cases, dates, by="stage")
    assert st[st["stage"] == "primary"]["open"].tolist() == [1, 0]


def test_selection_filters_and_empty_selection(small):
    sel = M.Selection(townships=("乙乡",))
    assert M.select_cases(small.cases, sel)["name"].tolist() == ["丁"]
    empty = M.select_cases(small.cases, M.Selection(townships=("不存在",)))
    t = M.trend(empty, ["2019-03-10"])
    assert t["open"].tolist() == [0]
    assert M.schools_table(empty, "2019-03-10").empty
    assert (
        M.Selection(townships=("甲镇",), stage="junior", as_of=dt.date(2019, 6, 25)).describe()
        == "乡镇：甲镇；学段：初中；统计日期：2019年6月25日"
    )
    assert M.Selection(case_types=("suspected",), poor_only=True).slug() == "疑似辍学_建档立卡"
    assert M.select_cases(small.cases, M.Selection(case_types=("suspected",)))["name"].tolist() == ["己"]
    assert M.select_cases(small.cases, M.Selection(poor_only=True))["name"].tolist() == ["乙"]


def test_schools_table_masks_names_and_reports_freshness(small):
    t = M.schools_table(small.cases, "2019-03-31")
    row = t.set_index("school").loc["甲镇一中"]
    assert row["open"] == 2 and row["open_poor"] == 1
    assert set(row["names"].split("、")) == {"乙*", "丙*"}
    assert row["oldest_days"] == 26  # 乙 since 3-05
    assert row["latest_entry"] == pd.Timestamp("2019-03-31")  # 戊's month-end return


def test_rates_targets_and_missing_enrolment(small):
    rates = {
        r.key: r for r in M.rates(small.cases, small.schools, M.Selection(as_of="2019-03-31"), Targets())
    }
    junior = rates["dropout_junior"]
    assert (junior.numerator, junior.denominator, junior.value, junior.met) == (2, 1000, 0.2, True)
    primary = rates["dropout_primary"]
    assert primary.value is None and primary.met is None and "无法计算" in primary.note
    assert rates["consolidation"].value is None
    assert rates["poor_open"].value == 1 and rates["poor_open"].met is False


def test_township_without_enrolment_has_no_rate(small):
    t = M.townships_table(small.cases, small.schools, "2019-03-12").set_index("township")
    assert pd.isna(t.loc["乙乡", "dropout_rate"])
    assert t.loc["甲镇", "red_line"]


def test_consolidation_rate():
    schools = pd.DataFrame(
        {
            "school": ["a", "b"],
            "township": ["t", "t"],
            "enrol_primary": [0, 0],
            "enrol_junior": [300, 300],
            "cohort_intake": [100, 100],
            "transfers_in": [5, 5],
            "transfers_out": [5, 5],
            "graduates": [97, 95],
        }
    )
    cases = pd.DataFrame({c: pd.Series(dtype="str") for c in ("stage", "case_type", "case_id")})
    cases["registered"] = pd.Series(dtype="datetime64[s]")
    cases["closed"] = pd.Series(dtype="datetime64[s]")
    cases["poor"] = pd.Series(dtype="boolean")
    r = {x.key: x for x in M.rates(cases, schools, M.Selection(as_of="2019-06-25"), Targets())}[
        "consolidation"
    ]
    assert (r.value, r.met) == (96.0, True)


def test_followups_ladder_overdue_and_owners(tmp_path):
    rows = [
        case_row(name="甲", registered="2019.3.1", gov="王镇长"),
        case_row(name="乙", registered="2019.3.1", gov="王镇长"),
        case_row(name="丙", registered="2019.3.1", gov="赵乡长"),
    ]
    write_csv(tmp_path / "台账.csv", rows)
    fu = [
        ["甲", "甲镇一中", "2019.3.5", "学校劝返", "", ""],
        ["甲", "甲镇一中", "2019.3.20", "限期复学通知书", "", "2019.4.5"],
        ["乙", "甲镇一中", "2019.4.8", "联合家访", "", ""],
        ["丙", "甲镇一中", "2019.3.3", "学校劝返", "", ""],
    ]
    write_csv(
        tmp_path / "劝返记录.csv",
        fu,
        header=["学生姓名", "就读学校", "劝返日期", "劝返环节", "劝返方式", "复学期限"],
    )
    ledger = load_ledger(tmp_path)
    st = M.followup_status(ledger.cases, ledger.followups, "2019-04-10", days=30).set_index("name")
    assert (
        st.loc["甲", "step"] == "notice" and st.loc["甲", "overdue_reason"] == "限期复学通知书已到期仍未返校"
    )
    assert st.loc["乙", "step"] == "joint_visit" and not st.loc["乙", "overdue"]
    assert st.loc["丙", "days_since"] == 38 and st.loc["丙", "overdue_reason"] == "超过30天未跟进"
    ladder = M.ladder_counts(st.reset_index()).set_index("step")
    assert ladder.loc["notice", "open"] == 1 and ladder.loc["judicial", "open"] == 0
    owners = M.owners_table(st.reset_index(), "gov").set_index("owner")
    assert owners.loc["王镇长", "open"] == 2 and owners.loc["王镇长", "overdue"] == 1
    assert owners.loc["赵乡长", "overdue"] == 1
    tl = M.timeline(st.loc["甲", "case_id"], ledger.cases, ledger.followups)
    assert tl["event"].tolist() == ["登记辍学", "学校劝返", "限期复学通知书"]
    assert "复学期限 2019-04-05" in tl["detail"].iloc[2]


def test_special_ed_summary_and_breakdowns(tmp_path):
    rows = [
        ["甲镇", "a", "智力残疾", "随班就读", "", "", "否"],
        ["甲镇", "b", "肢体残疾", "送教上门", "", "20", "是"],
        ["乙乡", "c", "智力残疾", "送教上门", "", "12", "否"],
        ["乙乡", "d", "听力残疾", "未安置", "超龄", "", "否"],
        ["乙乡", "e", "听力残疾", "办理免学", "", "", ""],
        ["乙乡", "f", "精神残疾", "特殊教育学校", "", "", "否"],
    ]
    write_csv(tmp_path / "台账.csv", [case_row()])
    write_csv(
        tmp_path / "残疾儿童.csv",
        rows,
        header=["乡镇", "姓名", "残疾类别", "安置方式", "未安置原因", "送教次数", "是否建档立卡"],
    )
    sp = load_ledger(tmp_path).special_ed
    s = M.special_ed_summary(sp)
    assert s == {
        "total": 6,
        "mainstream": 1,
        "special_school": 1,
        "home_teaching": 2,
        "exempt": 1,
        "unplaced": 1,
        "home_teaching_poor": 1,
        "home_lessons": 32,
        "unplaced_reasons": {"超龄": 1},
    }
    by = M.special_ed_by(sp, "township").set_index("township")
    assert by.loc["乙乡", "total"] == 4 and by.loc["甲镇", "home_teaching"] == 1
    assert M.special_ed_by(sp, "poor").set_index("poor").loc["建档立卡", "total"] == 1


def test_village_table_counts_colours_and_missing_coordinates(tmp_path):
    rows = [
        case_row(name="甲", village="一村", poor="是"),
        case_row(name="乙", village="一村"),
        case_row(name="丙", village="二村"),
        case_row(name="丁", village="无坐标村"),
    ]
    write_csv(tmp_path / "台账.csv", rows)
    write_csv(
        tmp_path / "村屯.csv",
        [["甲镇", "一村", "109.1", "23.1"], ["甲镇", "二村", "109.2", "23.2"], ["甲镇", "无坐标村", "", ""]],
        header=["乡镇", "村", "经度", "纬度"],
    )
    ledger = load_ledger(tmp_path)
    st = M.followup_status(ledger.cases, ledger.followups, "2019-03-05", days=14)
    v, missing = M.village_table(st, ledger.villages)
    v = v.set_index("village")
    assert (
        v.loc["一村", "open"] == 2 and v.loc["一村", "state"] == "poor" and v.loc["二村", "state"] == "open"
    )
    assert missing["name"].tolist() == ["丁"]
    assert v["open"].sum() + len(missing) == len(st)
    late = M.followup_status(ledger.cases, ledger.followups, "2019-04-30", days=14)
    v2, _ = M.village_table(late, ledger.villages)
    assert v2.set_index("village").loc["二村", "state"] == "overdue"


def test_report_dates_modes(small):
    assert M.report_dates(small.cases, (), "monthly")[-1] == pd.Timestamp("2019-03-31")
    weekly = M.report_dates(small.cases, (), "weekly", end=dt.date(2019, 3, 31))
    assert weekly[-1] == pd.Timestamp("2019-03-31") and (weekly[-1] - weekly[-2]).days == 7
    own = (pd.Timestamp("2019-03-10"), pd.Timestamp("2019-03-20"))
    assert M.report_dates(small.cases, own, "ledger") == list(own)


def test_trend_is_vectorised_at_scale():
    import numpy as np

    n = 200_000
    rng = np.random.default_rng(0)
    reg = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    closed = reg + pd.to_timedelta(rng.integers(1, 200, n), unit="D")
    cases = pd.DataFrame(
        {
            "registered": reg.astype("datetime64[s]"),
            "closed": pd.Series(closed).where(rng.random(n) < 0.7),
            "outcome_category": "returned",
            "poor": pd.array([False] * n, dtype="boolean"),
        }
    )
    cases["closed"] = cases["closed"].astype("datetime64[s]")
    dates = list(pd.date_range("2019-01-06", periods=52, freq="7D"))
    t = M.trend(cases, dates)
    brute = [int(((cases["registered"] <= d) & ~(cases["closed"] <= d)).sum()) for d in dates[:5]]
    assert t["open"].tolist()[:5] == brute


def test_cumulative_returns_restart_each_school_year(tmp_path):
    rows = [
        case_row(name="甲", registered="2018.3.1", returned="是", closed="2018.6.1", outcome="已返校"),
        case_row(name="乙", registered="2018.5.1", returned="是", closed="2018.8.20", outcome="已返校"),
        case_row(name="丙", registered="2018.10.1", returned="是", closed="2019.3.20", outcome="已返校"),
    ]
    write_csv(tmp_path / "台账.csv", rows)
    cases = load_ledger(tmp_path).cases
    t = M.trend(cases, ["2018-06-25", "2018-08-25", "2018-09-30", "2019-03-31"])
    # 8-20 belongs to the 2017-18 school year; a new year starts on 9-01 from zero
    assert t["returned_total"].tolist() == [1, 2, 0, 1]
    assert t["returned"].tolist() == [1, 1, 0, 1]
    first = M.trend(cases, ["2019-03-31"])
    assert first["returned"].tolist() == [1] and first["returned_total"].tolist() == [1]
