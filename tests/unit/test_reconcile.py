"""三比对: list reading, ID keys, every pushed status and its precedence, the findings, the feedback sheet."""

from __future__ import annotations

import pandas as pd
import pytest

from kongchuo_metrics import ingest, reconcile, schema
from kongchuo_metrics.ingest import LedgerError, load_ledger
from kongchuo_metrics.reconcile import lists as list_io
from kongchuo_metrics.reconcile.feedback import feedback_xlsx
from tests.conftest import case_row, valid_id, write_csv, write_xlsx
from tests.reconcile_data import AS_OF, EXPECTED, make_lists

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
XUEJI = ["姓名", "身份证件号", "全国学籍号", "学校名称", "年级", "学生状态"]
PUSHED = ["序号", "姓名", "身份证件号", "推送原因", "核查结果"]
SPECIAL = ["姓名", "身份证号", "残疾类别", "安置方式"]
HUJI = ["姓名", "公民身份号码", "户籍地乡镇"]
POVERTY = ["乡镇", "村", "户主姓名", "成员姓名", "与户主关系", "身份证号", "脱贫属性"]

CHILD_A = valid_id("20060512", "111")  # a ledger case, open
CHILD_R = valid_id("20060613", "121")  # a ledger case, returned
OUT_1, OUT_2, OUT_3, OUT_4 = (valid_id("20070101", f"{n}31", region="450821") for n in (1, 2, 3, 4))


def _id_ending_in_x() -> str:
    for seq in range(100, 999):
        idn = valid_id("20070808", str(seq), region="450821")
        if idn.endswith("X"):
            return idn
    raise AssertionError


OUT_X = _id_ending_in_x()


@pytest.fixture
def ledger(tmp_path):
    rows = [
        case_row(name="甲一", idn=CHILD_A, registered="2019.3.1"),
        case_row(
            name="乙二",
            idn=CHILD_R,
            registered="2019.3.1",
            returned="是",
            closed="2019.4.1",
            outcome="返校复学",
            township="乙镇",
            school="乙镇中学",
        ),
    ]
    return load_ledger(write_csv(tmp_path / "台账.csv", rows))


def _list(tmp_path, kind, header, rows, name=None):
    path = write_csv(tmp_path / (name or f"{kind}.csv"), rows, header=header)
    return reconcile.read_list(path, kind)


def _status_of(result, idn_position=0) -> str:
    return result.pushed["status"].iloc[idn_position]


# --- the shipped sample with a full set of invented lists --------------------------------------------------------


def test_sample_lists_give_the_hand_counted_figures(tmp_path, sample_ledger):
    paths = make_lists(tmp_path)
    lists = {k: reconcile.read_list(p, k) for k, p in paths.items()}
    result = reconcile.reconcile(sample_ledger, lists, AS_OF)
    assert result.summary() == EXPECTED
    assert result.open_poor_ledger == 0
    assert list(result.summary()) == [
        "pushed",
        "poverty_unflagged",
        "open_poor_corrected",
        "returned_not_enrolled",
        "ledger_no_xueji",
        "school_age_no_xueji",
        "unmatchable",
    ]
    table = reconcile.township_table(result)
    total = table[table["township"] == "合计"].iloc[0]
    assert total["pushed"] == 12 and total["visit"] == 3 and total["resolved_rate"] == 75.0
    assert table["township"].iloc[-2] == "未知乡镇"


def test_a_key_is_null_when_its_list_was_not_given(ledger):
    summary = reconcile.reconcile(ledger, {}, AS_OF).summary()
    assert summary == {
        "pushed": None,
        "poverty_unflagged": None,
        "open_poor_corrected": None,
        "returned_not_enrolled": None,
        "ledger_no_xueji": None,
        "school_age_no_xueji": None,
        "unmatchable": {"ledger": 0},
    }


# --- pushed statuses and their precedence ------------------------------------------------------------------------


def test_every_pushed_status_and_the_precedence(tmp_path, ledger):
    pushed = _list(
        tmp_path,
        "pushed",
        PUSHED,
        [
            [1, "甲一", CHILD_A, "学籍异动", ""],  # ledger case, also 在读 and placed: 已在台账
            [2, "丙三", OUT_1, "学籍异动", ""],  # 在读 and placed: 核实在读
            [3, "丁四", OUT_2, "未注册", ""],  # placed only: 残疾已安置
            [4, "戊五", OUT_3, "未注册", ""],  # unplaced in the register: 需入户核查
            [5, "己六", OUT_4, "未注册", ""],  # 学籍 休学: 需入户核查
        ],
    )
    xueji = _list(
        tmp_path,
        "xueji",
        XUEJI,
        [
            ["甲一", CHILD_A, "", "甲镇一中", "初二", "在读"],
            ["丙三", OUT_1, "", "甲镇一中", "初一", "在读"],
            ["己六", OUT_4, "", "甲镇一中", "初一", "休学"],
        ],
    )
    special = _list(
        tmp_path,
        "special",
        SPECIAL,
        [
            ["甲一", CHILD_A, "肢体", "送教上门"],
            ["丙三", OUT_1, "听力", "随班就读"],
            ["丁四", OUT_2, "智力", "特殊教育学校"],
            ["戊五", OUT_3, "多重", "未安置"],
        ],
    )
    result = reconcile.reconcile(ledger, {"pushed": pushed, "xueji": xueji, "special": special}, AS_OF)
    assert result.pushed["status"].tolist() == ["in_ledger", "enrolled", "special_placed", "visit", "visit"]
    assert result.pushed_counts() == {"已在台账": 1, "核实在读": 1, "残疾已安置": 1, "需入户核查": 2}
    assert (
        result.pushed["case_id"].iloc[0]
        == ledger.cases.loc[ledger.cases["id_number"] == CHILD_A, "case_id"].iloc[0]
    )
    # without the 学籍 list nobody can be 核实在读: the placed child falls to 残疾已安置
    no_xueji = reconcile.reconcile(ledger, {"pushed": pushed, "special": special}, AS_OF)
    assert no_xueji.pushed["status"].tolist()[:3] == ["in_ledger", "special_placed", "special_placed"]


def test_the_ledgers_own_special_ed_table_counts_as_the_register(tmp_path, sample_ledger):
    placed = sample_ledger.special_ed[sample_ledger.special_ed["placement_category"] == "home_teaching"].iloc[
        0
    ]
    unplaced = sample_ledger.special_ed[sample_ledger.special_ed["placement_category"] == "unplaced"].iloc[0]
    pushed = _list(
        tmp_path,
        "pushed",
        PUSHED,
        [
            [1, placed["name"], placed["id_number"], "", ""],
            [2, unplaced["name"], unplaced["id_number"], "", ""],
        ],
    )
    result = reconcile.reconcile(sample_ledger, {"pushed": pushed}, AS_OF)
    assert result.pushed["status"].tolist() == ["special_placed", "visit"]
    assert result.pushed["township"].tolist() == [placed["township"], unplaced["township"]]


# --- ID numbers ----------------------------------------------------------------------------------------------------


def test_ids_with_lowercase_x_or_full_width_digits_match(tmp_path, ledger):
    xueji = _list(tmp_path, "xueji", XUEJI, [["庚七", OUT_X, "", "甲镇一中", "初一", "在读"]])
    pushed = _list(
        tmp_path,
        "pushed",
        PUSHED,
        [[1, "庚七", OUT_X.lower(), "", ""], [2, "甲一", CHILD_A.translate(FULL_WIDTH), "", ""]],
    )
    assert OUT_X.lower() != OUT_X
    result = reconcile.reconcile(ledger, {"pushed": pushed, "xueji": xueji}, AS_OF)
    assert result.pushed["status"].tolist() == ["enrolled", "in_ledger"]
    assert result.unmatchable == {"pushed": 0, "xueji": 0, "ledger": 0}


def test_a_g_prefixed_student_number_counts_as_the_id(tmp_path, ledger):
    xueji = _list(
        tmp_path,
        "xueji",
        XUEJI,
        [
            ["丙三", "", "G" + OUT_1, "甲镇一中", "初一", "在读"],  # no ID column value: the 学籍号 stands in
            ["丁四", "无", "g" + OUT_2.lower(), "甲镇一中", "初一", "在读"],
            ["戊五", "", "G4508212007010199", "甲镇一中", "初一", "在读"],  # G + a broken ID
            ["己六", "", "L" + OUT_4, "甲镇一中", "初一", "在读"],  # a temporary number is not an ID
        ],
    )
    assert xueji.frame["id_state"].tolist() == ["ok", "ok", "invalid", "invalid"]
    pushed = _list(
        tmp_path,
        "pushed",
        PUSHED,
        [[i, "", idn, "", ""] for i, idn in enumerate((OUT_1, OUT_2, OUT_3, OUT_4))],
    )
    result = reconcile.reconcile(ledger, {"pushed": pushed, "xueji": xueji}, AS_OF)
    assert result.pushed["status"].tolist() == ["enrolled", "enrolled", "visit", "visit"]
    assert result.unmatchable["xueji"] == 2


def test_fifteen_digit_ids_match_their_eighteen_digit_form(tmp_path, ledger):
    idn18 = valid_id("19990101", "123", region="450821")
    idn15 = idn18[:6] + idn18[8:17]
    keys, state, birth, _ = list_io.id_keys(pd.Series([idn18, idn15]))
    assert keys[0] == keys[1] and state.tolist() == ["ok", "ok"]
    assert birth.dt.strftime("%Y-%m-%d").tolist() == ["1999-01-01", "1999-01-01"]


def test_rows_without_a_valid_id_are_unmatchable_never_matched_by_name(tmp_path, ledger):
    pushed = _list(
        tmp_path,
        "pushed",
        PUSHED,
        [
            [1, "甲一", "", "学籍异动", ""],  # the ledger child's name, no ID
            [2, "甲一", CHILD_A[:-1] + ("0" if CHILD_A[-1] != "0" else "1"), "", ""],  # wrong check digit
            [3, "甲一", CHILD_A, "", ""],
        ],
    )
    result = reconcile.reconcile(ledger, {"pushed": pushed}, AS_OF)
    assert result.pushed["status"].tolist() == ["visit", "visit", "in_ledger"]
    assert result.pushed["id_state"].tolist() == ["missing", "invalid", "ok"]
    assert result.unmatchable["pushed"] == 2
    assert result.unmatchable_rows["source_row"].tolist() == [2, 3]
    assert "无法比对" in result.pushed["detail"].iloc[0]
    problems = pushed.problems
    assert problems["row"].tolist() == [2, 3] and problems["problem"].str.contains("无法比对").all()
    assert CHILD_A not in problems.to_string()  # the shown value is masked


# --- the findings ----------------------------------------------------------------------------------------------


def test_returned_not_enrolled_and_ledger_without_xueji(tmp_path, ledger):
    xueji = _list(tmp_path, "xueji", XUEJI, [["乙二", CHILD_R, "", "乙镇中学", "初二", "转出"]])
    result = reconcile.reconcile(ledger, {"xueji": xueji}, AS_OF)
    assert result.findings["returned_not_enrolled"]["case_id"].tolist() == ["C000002"]
    assert "转出" in result.findings["returned_not_enrolled"]["detail"].iloc[0]
    assert result.findings["ledger_no_xueji"]["case_id"].tolist() == ["C000001"]
    # back at school: no longer a finding; before the return date it is not a return yet
    at_school = _list(tmp_path, "xueji", XUEJI, [["乙二", CHILD_R, "", "乙镇中学", "初二", "在读"]], "x2.csv")
    assert reconcile.reconcile(ledger, {"xueji": at_school}, AS_OF).count("returned_not_enrolled") == 0
    assert reconcile.reconcile(ledger, {"xueji": xueji}, "2019-03-31").count("returned_not_enrolled") == 0


def test_poverty_list_corrects_the_red_line(tmp_path, ledger):
    poverty = _list(
        tmp_path,
        "poverty",
        POVERTY,
        [
            ["甲镇", "一村", "甲父", "甲一", "之子", CHILD_A.lower(), "脱贫不稳定户"],
            ["乙镇", "二村", "乙父", "乙二", "之女", CHILD_R, "脱贫户"],
            ["乙镇", "二村", "乙父", "乙父", "户主", valid_id("19800101", "331"), "脱贫户"],
        ],
    )
    result = reconcile.reconcile(ledger, {"poverty": poverty}, AS_OF)
    assert result.open_poor_ledger == 0
    assert result.open_poor_corrected == 1  # the open case; the returned one is not open
    assert result.count("poverty_unflagged") == 2
    red = result.red_line.set_index("township")
    assert red.loc["甲镇", "open_poor_corrected"] == 1 and red.loc["甲镇", "open_poor"] == 0


@pytest.mark.parametrize(
    ("as_of", "y"),
    [("2019-08-31", 2018), ("2019-09-01", 2019), ("2019-06-25", 2018), ("2020-01-15", 2019)],
)
def test_school_year_turns_on_the_first_of_september(as_of, y):
    assert reconcile.school_year(as_of) == y
    assert reconcile.school_age_window(as_of) == (pd.Timestamp(y - 15, 9, 1), pd.Timestamp(y - 6, 8, 31))


def test_school_age_window_at_its_edges(tmp_path, ledger):
    births = {
        "太大": "20030831",  # Y=2018: one day too old
        "最大": "20030901",
        "最小": "20120831",
        "太小": "20120901",  # one day too young
    }
    huji = _list(
        tmp_path,
        "huji",
        HUJI,
        [[n, valid_id(b, f"{i}11", region="450821"), "甲镇"] for i, (n, b) in enumerate(births.items())]
        + [["无号", "", "甲镇"], ["甲一", CHILD_A, "甲镇"]],
    )
    xueji = _list(tmp_path, "xueji", XUEJI, [["某", OUT_1, "", "甲镇一中", "初一", "在读"]])
    found = reconcile.reconcile(ledger, {"huji": huji, "xueji": xueji}, "2019-06-25").findings[
        "school_age_no_xueji"
    ]
    assert found["name"].tolist() == ["最大", "最小"]
    # on 1 September 2019 the year turns: the 2012-09-01 child comes of age, the 2003-09-01 one leaves
    found = reconcile.reconcile(ledger, {"huji": huji, "xueji": xueji}, "2019-09-01").findings[
        "school_age_no_xueji"
    ]
    assert found["name"].tolist() == ["最小", "太小"]
    # the 户籍 check needs the 学籍 list
    assert reconcile.reconcile(ledger, {"huji": huji}, AS_OF).summary()["school_age_no_xueji"] is None


# --- reading lists ---------------------------------------------------------------------------------------------


def test_list_rows_are_accounted_for(tmp_path):
    rows = [
        [1, "甲", OUT_1, "", ""],
        ["", "", "", "", ""],
        ["合计", "", "", "", ""],
        [2, "乙", OUT_2, "", ""],
    ]
    table = _list(tmp_path, "pushed", PUSHED, rows)
    assert table.rows_read == 4 and table.rows_loaded == 2
    assert table.excluded["blank"] == 1 and table.excluded["total"] == 1


def test_gbk_csv_and_the_fast_reader_agree_with_the_grid_reader(tmp_path, monkeypatch):
    rows = [["甲一", CHILD_A, "G" + CHILD_A, "甲镇一中", "初二", "在读"], ["", "", "", "", "", ""]]
    rows += [["乙二", "", "G" + OUT_1, "乙镇中学", "初一", "转出"], ["合计", "", "", "", "", ""]]
    path = write_csv(tmp_path / "学籍.csv", rows, header=XUEJI, encoding="gbk", title="某县学籍导出")
    slow = reconcile.read_list(path, "xueji")
    monkeypatch.setattr(list_io, "FAST_TEXT_BYTES", 0)
    fast = reconcile.read_list(path, "xueji")
    assert fast.sheets[0].header_row == slow.sheets[0].header_row == 2
    cols = ["name", "school", "enrol_status", "id_key", "id_state", "source_row"]
    pd.testing.assert_frame_equal(fast.frame[cols], slow.frame[cols], check_dtype=False)
    assert (fast.rows_read, fast.rows_loaded) == (slow.rows_read, slow.rows_loaded) == (4, 2)
    assert fast.excluded["blank"] == slow.excluded["blank"] == 1
    assert fast.excluded["total"] == slow.excluded["total"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "0 字节"), (b"\x00\x01garbage" * 50, "无法"), ("姓名,学校\n张三,甲校\n".encode(), "身份证")],
)
def test_unusable_lists_get_a_chinese_reason(tmp_path, content, message):
    path = tmp_path / "名单.xlsx"
    path.write_bytes(content)
    with pytest.raises(LedgerError, match=message):
        reconcile.read_list(path, "pushed")


def test_list_kinds_never_change_how_a_ledger_sheet_is_recognised():
    header = [["序号", "姓名", "身份证件号", "全国学籍号", "学校名称", "学生状态"]]
    assert ingest.find_header(header, None) is None
    assert ingest.find_header(header, None, tables=("xueji",)).table == "xueji"
    assert set(schema.FIELDS) == set(schema.TABLES)
    assert {"head_name", "id_key", "student_no"} <= schema.PERSONAL_FIELDS


# --- the feedback sheet ------------------------------------------------------------------------------------------


def test_feedback_sheet_keeps_the_received_rows_and_order(tmp_path, ledger):
    import python_calamine as pc

    title = "某区疑似辍学学生核查名单（第1批）"
    received = [
        [title, None, None, None, None, None],
        ["推送日期：2019年6月20日", None, None, None, None, "备用"],
        ["序号", "姓名", "身份证件号", "推送原因", "核查结果", "备注"],
        [3, "丙三", OUT_1, "学籍异动", None, "=1+1"],
        [1, "甲一", CHILD_A, "未注册", None, None],
        [None, None, None, None, None, None],
        [2, "无号", None, "未注册", None, "已电话联系"],
        ["合计", None, None, None, None, None],
        ["填表人：张某", None, None, None, None, None],
    ]
    path = write_xlsx(
        tmp_path / "推送.xlsx",
        {"名单": received, "说明": [["本名单仅供核查"]]},
        {"名单": [(0, 0, 0, 5, title)]},
    )
    pushed = reconcile.read_list(path, "pushed")
    assert pushed.rows_loaded == 3 and pushed.excluded["blank"] == 1 and pushed.excluded["total"] == 1
    result = reconcile.reconcile(ledger, {"pushed": pushed}, AS_OF)
    out = tmp_path / "反馈.xlsx"
    out.write_bytes(feedback_xlsx(pushed, result, checker="王老师"))
    wb = pc.CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == ["名单", "说明"]
    back = wb.get_sheet_by_name("名单")
    rows = back.to_python()
    assert back.merged_cell_ranges == [((0, 0), (0, 5))]
    # every received cell is where it was; only the result cells and two new columns are filled
    for r, row in enumerate(received):
        for c, value in enumerate(row):
            if c == 4 and 3 <= r <= 6:
                continue
            got = rows[r][c]
            assert (got in ("", None) and value in ("", None)) or got == value, (r, c, got, value)
    assert rows[2][4:] == ["核查结果", "备注", "核查日期", "核查人"]
    assert [rows[r][4] for r in (3, 4, 6)] == [
        "需入户核查",
        "已在台账（台账个案 C000001，未销号）",
        "需入户核查（缺少身份证号，无法比对）",
    ]
    assert [rows[r][6:8] for r in (3, 4, 6)] == [["2019-06-25", "王老师"]] * 3
    assert rows[5][4] in ("", None) and rows[7][4] in ("", None) and rows[8][0] == "填表人：张某"
    assert len(rows) == len(received)
    assert wb.get_sheet_by_name("说明").to_python() == [["本名单仅供核查"]]
    # the formula-like cell came back as text
    import zipfile

    sheet_xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml


def test_a_xueji_list_without_a_status_column_is_not_guessed(tmp_path, ledger):
    xueji = _list(tmp_path, "xueji", ["姓名", "身份证件号", "学校名称"], [["乙二", CHILD_R, "乙镇中学"]])
    pushed = _list(tmp_path, "pushed", PUSHED, [[1, "乙二", OUT_1, "", ""]])
    result = reconcile.reconcile(ledger, {"xueji": xueji, "pushed": pushed}, AS_OF)
    assert result.summary()["returned_not_enrolled"] is None  # not "everyone is not 在读"
    assert result.summary()["ledger_no_xueji"] == 1
    assert result.notes and "学生状态" in result.notes[0]
