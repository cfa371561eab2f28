"""Truth on ledgers nobody here designed: case identity, resolution texts, long school tables, blocking problems,
the bureau's own mappings, signature lines and sheets that are not data."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from kongchuo_metrics import parsers, settings
from kongchuo_metrics.ingest import LedgerError, load_ledger
from tests.conftest import CASE_HEADER, ROOT, SAMPLE_DIR, case_row, write_csv, write_xlsx


def _no_id(**kw) -> list:
    return case_row(idn="", **kw)


# --- identity -----------------------------------------------------------------------------------------------


def test_twins_without_ids_differing_in_sex_are_two_children(tmp_path):
    header = [*CASE_HEADER, "出生日期"]
    rows = [
        [*_no_id(name="韦小龙", sex="男"), "2007-05-01"],
        [*_no_id(name="韦小龙", sex="女"), "2007-05-01"],  # same name, school and date: the other twin
        [*_no_id(name="覃一", sex="男"), "2007-05-01"],
        [*_no_id(name="覃一", sex="男"), "2007-06-09"],  # another birth date: another child
    ]
    ledger = load_ledger(write_csv(tmp_path / "a.csv", rows, header=header))
    assert len(ledger.cases) == 4 and ledger.report.rows_quarantined == 0
    assert ledger.cases["child_key"].nunique() == 4


def test_rows_agreeing_on_every_identifying_field_but_not_elsewhere_conflict(tmp_path):
    rows = [_no_id(name="韦小龙", reason="厌学"), _no_id(name="韦小龙", reason="外出打工")]
    ledger = load_ledger(write_csv(tmp_path / "a.csv", rows))
    assert len(ledger.cases) == 1 and ledger.report.rows_quarantined == 1
    assert ledger.report.problems["problem"].str.contains("字段不一致：辍学原因").any()


@pytest.mark.parametrize("header", ["个案编号", "编号", "台账编号"])
def test_case_numbers_make_distinct_cases(tmp_path, header):
    same = case_row(name="张三")  # one child, one registration date, two episodes by number
    rows = [[*same, "A-001"], [*same, "A-002"], [*same, "A-002"]]
    ledger = load_ledger(write_csv(tmp_path / "a.csv", rows, header=[*CASE_HEADER, header]))
    assert sorted(ledger.cases["case_no"]) == ["A-001", "A-002"]
    assert ledger.report.excluded["duplicate"] == 1 and ledger.report.rows_quarantined == 0


def test_seq_restarting_is_not_a_case_number(tmp_path):
    rows = [["1", *case_row(name="甲")], ["1", *case_row(name="乙")]]
    ledger = load_ledger(write_csv(tmp_path / "a.csv", rows, header=["序号", *CASE_HEADER]))
    assert len(ledger.cases) == 2 and ledger.cases["case_no"].isna().all()


# --- resolution texts ------------------------------------------------------------------------------------------

OPEN_TEXTS = ["未返校", "正在劝返", "拒不返校", "劝返中", "暂未复学", "家长不愿送返校", "仍未到校就读"]
RETURNED_TEXTS = ["已劝返复学", "返校就读", "已返校", "劝返成功、已复学"]


@pytest.mark.parametrize("text", OPEN_TEXTS)
def test_negated_or_unfinished_returns_are_open(text):
    assert parsers.classify_outcomes(pd.Series([text]), {}).iloc[0] == "open"


@pytest.mark.parametrize("text", RETURNED_TEXTS)
def test_returns_are_returned(text):
    assert parsers.classify_outcomes(pd.Series([text]), {}).iloc[0] == "returned"


def test_negation_wins_in_the_ledger_even_with_a_closing_date(tmp_path):
    rows = [_no_id(name=f"生{i}", closed="2019.4.1", outcome=t) for i, t in enumerate(OPEN_TEXTS)]
    rows += [_no_id(name=f"返{i}", closed="2019.4.1", outcome=t) for i, t in enumerate(RETURNED_TEXTS)]
    cases = load_ledger(write_csv(tmp_path / "a.csv", rows)).cases
    assert (cases["outcome_category"] == "open").sum() == len(OPEN_TEXTS)
    assert (cases["outcome_category"] == "returned").sum() == len(RETURNED_TEXTS)


def test_unknown_texts_stay_open_are_counted_and_block(tmp_path):
    rows = [case_row(name=f"甲{i}", closed="2019.4.1", outcome="转去亲戚家") for i in range(3)]
    rows += [case_row(name=f"乙{i}") for i in range(5)]
    ledger = load_ledger(write_csv(tmp_path / "a.csv", rows))
    assert ledger.report.unknown_outcomes == {"转去亲戚家": 3}
    assert (ledger.cases["outcome_category"] == "open").all()
    assert "cases:outcome:unknown" in {b.code for b in ledger.report.open_blocking}
    # the bureau classifies the text: it counts as verified, the problem is gone
    mapping = settings.Mapping(outcomes=(("转去亲戚家", "verified"),))
    ledger = load_ledger(tmp_path / "a.csv", mapping=mapping)
    assert (ledger.cases["outcome_category"] == "verified").sum() == 3
    assert "cases:outcome:unknown" not in {b.code for b in ledger.report.open_blocking}


# --- blocking in the CLI ---------------------------------------------------------------------------------------


def _cli(*args):
    p = subprocess.run(
        [sys.executable, "-m", "kongchuo_metrics", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    return p.returncode, p.stdout, p.stderr


def _undated_returns(folder: Path) -> Path:
    """A ledger whose closing-date column is called something nobody could guess."""
    header = [h if h != "返校时间" else "K栏" for h in CASE_HEADER]
    rows = [case_row(name=f"甲{i}", returned="是", closed="2019.4.1", outcome="已返校") for i in range(4)]
    rows += [case_row(name=f"乙{i}") for i in range(6)]
    folder.mkdir(parents=True, exist_ok=True)
    return write_csv(folder / "ledger.csv", rows, header=header)


def test_validate_lists_blocking_and_exits_2_until_mapped(tmp_path):
    path = _undated_returns(tmp_path / "d")
    code, out, err = _cli("validate", str(path), "--format", "json")
    report = json.loads(out)
    assert code == 2 and "阻断问题" in err
    assert "cases:closed:undated" in {b["code"] for b in report["blocking"]}
    col = next(c for c in report["columns"] if c["header"] == "K栏")
    assert col["field"] is None and col["samples"] == ["2019.4.1"]
    # the bureau names the column in settings.toml beside the ledger: returns are counted, no blocking left
    settings.save_mapping(tmp_path / "d", columns={"K栏": "返校时间"})
    code, out, _ = _cli("validate", str(path), "--format", "json")
    report = json.loads(out)
    assert "cases:closed:undated" not in {b["code"] for b in report["blocking"]}
    assert load_ledger(path, mapping=settings.load_settings(path).mapping).cases["closed"].notna().sum() == 4


def test_accepting_a_blocking_problem_is_recorded_and_lets_validate_pass(tmp_path):
    path = _undated_returns(tmp_path / "d")
    settings.save_mapping(
        tmp_path / "d",
        accepted={
            "cases:closed:undated": "局长同意按未销号统计",
            "schools:enrolment:missing": "本次不看辍学率",
        },
    )
    code, out, _ = _cli("validate", str(path), "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["blocking"] == []
    assert {b["code"] for b in report["accepted"]} == {"cases:closed:undated", "schools:enrolment:missing"}


def test_sample_has_no_blocking_problem():
    ledger = load_ledger(SAMPLE_DIR)
    assert ledger.report.blocking == []


# --- schools in long format ---------------------------------------------------------------------------------


def _long_schools(tmp_path: Path, rows: list[list]) -> Path:
    cases = [
        CASE_HEADER,
        case_row(school="甲镇一中"),
        case_row(name="李四", school="甲镇中心小学", grade="三年级"),
    ]
    return write_xlsx(
        tmp_path / "l.xlsx", {"台账": cases, "学校": [["学校名称", "乡镇", "学段", "学生人数"], *rows]}
    )


def test_long_format_school_table_splits_enrolment_by_stage(tmp_path):
    rows = [
        ["甲镇一中", "甲镇", "初中", 800],
        ["甲镇中心小学", "甲镇", "小学", 600],
        ["甲镇九年制学校", "甲镇", "小学", 300],  # 九年一贯制 given one row per stage
        ["甲镇九年制学校", "甲镇", "初中", 200],
    ]
    ledger = load_ledger(_long_schools(tmp_path, rows))
    s = ledger.schools
    assert s["enrol_primary"].sum() == 900 and s["enrol_junior"].sum() == 1000
    nine = s[s["school"] == "甲镇九年制学校"]
    assert nine["enrol_primary"].sum() == 300 and nine["enrol_junior"].sum() == 200
    assert not [b for b in ledger.report.open_blocking if b.code.startswith("schools")]


def test_a_nine_year_school_with_one_count_is_blocking(tmp_path):
    rows = [["甲镇一中", "甲镇", "初中", 800], ["甲镇九年制学校", "甲镇", "九年一贯制", 500]]
    ledger = load_ledger(_long_schools(tmp_path, rows))
    assert ledger.schools["enrol_primary"].isna().all() and ledger.schools["enrol_junior"].sum() == 800
    assert "schools:enrolment:stage" in {b.code for b in ledger.report.open_blocking}


# --- every sheet and row accounted for ----------------------------------------------------------------------


def test_signature_lines_anywhere_in_a_row_are_footers(tmp_path):
    rows = [CASE_HEADER, case_row(name="甲"), case_row(name="乙")]
    rows.append(["", "", "填表人：黄某某", "", "", "审核人：韦某", "", "", "", "联系电话：0775-1234567"])
    rows.append(["", "", "", "", "", "", "", "", "", "", "", "", "填报日期：2019年6月25日"])
    ledger = load_ledger(write_xlsx(tmp_path / "a.xlsx", {"台账": rows}))
    assert len(ledger.cases) == 2 and ledger.report.excluded["footer"] == 2
    assert ledger.report.rows_quarantined == 0


def test_notes_and_unrecognised_data_sheets_are_listed(tmp_path):
    sheets = {
        "台账": [CASE_HEADER, case_row(name="甲")],
        "填表说明": [["1. 请按要求填写"], ["2. 日期写成 2019-03-01"]],
        "Sheet3": [["甲", "乙", "丙"], ["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"]],
    }
    ledger = load_ledger(write_xlsx(tmp_path / "a.xlsx", sheets))
    by = {s.sheet: s for s in ledger.report.sheets}
    assert by["填表说明"].note == "说明，不是数据表" and by["填表说明"].rows_read == 2
    assert by["Sheet3"].rows_read == 4 and "隔离" in by["Sheet3"].status
    r = ledger.report
    assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_excluded and r.rows_quarantined == 4
    assert "sheet:a.xlsx/Sheet3:unrecognised" in {b.code for b in r.open_blocking}


# --- file safety -------------------------------------------------------------------------------------------------


def test_zip_whose_central_directory_lies_about_sizes_is_refused_in_chinese(tmp_path):
    data = bytearray((SAMPLE_DIR / "sample_ledger.xlsx").read_bytes())
    target = next(
        i
        for i in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()
        if i.filename.startswith("xl/worksheets/")
    )
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        n = struct.unpack("<H", data[pos + 28 : pos + 30])[0]
        if bytes(data[pos + 46 : pos + 46 + n]) == target.filename.encode():
            struct.pack_into("<I", data, pos + 24, 1000)  # claims 1,000 bytes uncompressed
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    path = tmp_path / "lie.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerError, match="已损坏"):
        load_ledger(path)


def test_a_ledger_without_a_nameable_registration_column_loads_for_mapping(tmp_path):
    header = [h if h != "辍学时间" else "第十栏" for h in CASE_HEADER]
    path = write_csv(tmp_path / "a.csv", [case_row(name="甲"), case_row(name="乙")], header=header)
    ledger = load_ledger(path)
    assert ledger.cases.empty and ledger.report.rows_quarantined == 2
    assert "cases:registered:missing" in {b.code for b in ledger.report.open_blocking}
    mapped = load_ledger(path, mapping=settings.Mapping(columns=(("第十栏", "辍学时间"),)))
    assert len(mapped.cases) == 2
    assert "cases:registered:missing" not in {b.code for b in mapped.report.blocking}


def test_a_ledger_without_a_type_column_says_every_case_counts_as_a_dropout(tmp_path):
    """Without 类型 every case is a 辍学 case in the dropout rate: said before import, never silently."""
    header = [h for h in CASE_HEADER if h != "类型"]
    rows = [
        [v for h, v in zip(CASE_HEADER, case_row(name=f"甲{i}"), strict=True) if h != "类型"]
        for i in range(3)
    ]
    path = write_csv(tmp_path / "ledger.csv", rows, header=header)
    blocking = {b.code: b for b in load_ledger(path).report.blocking}
    assert "cases:case_type:missing" in blocking
    assert "全部 3 个个案按“辍学”计入辍学率" in blocking["cases:case_type:missing"].message
    # with the column, nothing is said
    typed = write_csv(tmp_path / "typed.csv", [case_row(name=f"甲{i}") for i in range(3)], header=CASE_HEADER)
    assert "cases:case_type:missing" not in {b.code for b in load_ledger(typed).report.blocking}


def test_a_status_column_nobody_recognised_blocks_the_import_until_it_is_mapped(tmp_path):
    """QA's township file headed its 处置情况 column 目前状态: the column went unrecognised and every case with
    a 复学日期 counted as 劝返, 核实在外就读 included, with no more than a line in the column list."""
    header = [h if h != "处置情况/去向" else "目前状态" for h in CASE_HEADER]
    rows = [case_row(name=f"甲{i}", returned="是", closed="2019.4.1", outcome="返校复学") for i in range(3)]
    rows += [case_row(name="乙", returned="", closed="2019.4.2", outcome="核实在外地就读")]
    rows += [case_row(name="丙")]
    path = write_csv(tmp_path / "黄练镇.csv", rows, header=header)
    ledger = load_ledger(path)
    blocking = {b.code: b for b in ledger.report.open_blocking}
    problem = blocking["cases:outcome:missing"]
    assert problem.fix == "map" and "“目前状态”" in problem.message and "4 个" in problem.message
    mapped = load_ledger(path, mapping=settings.Mapping(columns=(("目前状态", "处置情况"),)))
    assert "cases:outcome:missing" not in {b.code for b in mapped.report.blocking}
    categories = mapped.cases.set_index("name")["outcome_category"]
    assert categories[[f"甲{i}" for i in range(3)]].eq("returned").all()
    assert categories["乙"] not in ("returned", "vocational") and categories["丙"] == "open"
    # a ledger that has no status column at all: the consequence is stated and may be accepted
    bare = [h for h in CASE_HEADER if h != "处置情况/去向"]
    plain = [[v for h, v in zip(CASE_HEADER, r, strict=True) if h != "处置情况/去向"] for r in rows[:3]]
    without = load_ledger(write_csv(tmp_path / "bare.csv", plain, header=bare)).report.open_blocking
    assert [b.fix for b in without if b.code == "cases:outcome:missing"] == ["accept"]


def test_a_birth_month_without_its_day_agrees_with_the_id_born_in_that_month(tmp_path):
    """QA: 出生年月 written 2005-03 beside an ID born 20050313 gave a false 出生日期与身份证号不一致 on every
    row, which buried the real ones. The ID gives the day; another month is still reported."""
    header = [*CASE_HEADER, "出生年月"]
    rows = [
        [*case_row(name="甲"), "2006-05"],
        [*case_row(name="乙"), "2006-07"],
        [*case_row(name="丙"), "2006.5"],
    ]
    ledger = load_ledger(write_csv(tmp_path / "a.csv", rows, header=header))
    problems = ledger.report.problems
    wrong = problems[problems["problem"] == "出生日期与身份证号不一致"]
    assert wrong["row"].tolist() == [3]  # 乙 alone (its value masked: a birth date is personal)
    births = ledger.cases.set_index("name")["birth_date"].dt.strftime("%Y-%m-%d")
    assert births["甲"] == births["丙"] == "2006-05-12" and births["乙"] == "2006-07-01"
