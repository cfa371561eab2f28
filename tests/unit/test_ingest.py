import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from kongchuo_metrics import ingest
from kongchuo_metrics.ingest import LedgerError, load_ledger
from tests.conftest import CASE_HEADER, case_row, valid_id, write_csv, write_xlsx


def _accounted(ledger):
    r = ledger.report
    assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_excluded
    return r


ROWS = [
    case_row(name="张小三"),
    case_row(
        name="李四",
        sex="女",
        idn=valid_id("20070101", "222"),
        registered="2019/3/5",
        returned="是",
        closed="2019年3月20日",
        outcome="已返校就读",
    ),
    case_row(
        name="王五",
        idn=valid_id("20050101", "111"),
        township="乙乡",
        school="乙乡中学",
        registered="20190301",
    ),
]


@pytest.mark.parametrize(
    "encoding, sep",
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),
        ("gbk", ","),
        ("gb18030", ","),
        ("utf-16", "\t"),
    ],
)
def test_csv_encodings(tmp_path, encoding, sep):
    path = write_csv(tmp_path / "台账.csv", ROWS, encoding=encoding, sep=sep)
    ledger = load_ledger(path)
    assert ledger.cases["name"].tolist() == ["张小三", "王五", "李四"]  # by registration, then file row
    assert _accounted(ledger).rows_loaded == 3


def test_gb18030_rare_character_survives(tmp_path):
    rows = [case_row(name="王䶮")]
    path = write_csv(tmp_path / "台账.csv", rows, encoding="gb18030")
    assert load_ledger(path).cases["name"].tolist() == ["王䶮"]


@pytest.mark.parametrize("encoding", ["big5", "shift_jis"])
def test_big5_and_shift_jis_are_rejected_not_mojibake(tmp_path, encoding):
    if encoding == "big5":
        text = "姓名,學校,輟學時間\n陳大文,學校,2019.3.1\n"
    else:
        text = "氏名,学校名,退学日\n山田太郎,東京第一中学校,2019.3.1\n"
    path = tmp_path / "台账.csv"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(LedgerError, match="Big5"):
        load_ledger(path)


def test_xlsx_with_title_rows_two_row_header_merged_cells_total_and_blank_rows(tmp_path):
    header_top = [
        "序号",
        "乡镇（街道）",
        "学生\n姓名",
        "身份证号",
        "就读学校",
        "辍学日期",
        "劝返责任人",
        None,
    ]
    header_sub = [None, None, None, None, None, None, "政府线", "教育线"]
    rows = [
        ["XX区2019年控辍保学台账"],
        ["填报单位：XX区教育局    统计日期：2019年6月25日"],
        header_top,
        header_sub,
        [1, "甲镇", "张 三", valid_id("20060101", "111"), "甲一中", dt.date(2019, 3, 1), "王镇长", "李校长"],
        [2, None, "李四", valid_id("20060202", "121"), "甲一中", "2019.3.2", "王镇长", "李校长"],
        [None] * 8,
        [3, "乙乡", "赵六", valid_id("20060303", "131"), "乙中", "2019年3月3日", "钱乡长", "孙校长"],
        ["合计", None, "3人"],
    ]
    path = write_xlsx(
        tmp_path / "ledger.xlsx",
        {"台账": rows},
        merges={"台账": [(0, 0, 0, 7, rows[0][0]), (4, 1, 5, 1, "甲镇"), (2, 6, 2, 7, "劝返责任人")]},
    )
    ledger = load_ledger(path)
    r = _accounted(ledger)
    assert r.rows_read == 5 and r.rows_loaded == 3 and r.excluded["blank"] == 1 and r.excluded["total"] == 1
    assert r.merged_filled == 1
    c = ledger.cases.set_index("name")
    assert c.loc["李四", "township"] == "甲镇"  # forward-filled from the merged cell
    assert c.loc["张三", "gov_owner"] == "王镇长" and c.loc["张三", "edu_owner"] == "李校长"
    assert ledger.meta["district"] == "XX区" and ledger.meta["stat_date"] == "2019-06-25"
    assert r.sheets[0].header_row == 4


def test_repeated_header_rows_are_excluded(tmp_path):
    rows = ROWS[:1] + [CASE_HEADER] + ROWS[1:]
    r = _accounted(load_ledger(write_csv(tmp_path / "a.csv", rows)))
    assert r.excluded["header"] == 1 and r.rows_loaded == 3


def test_workbook_recognises_tables_by_sheet_name_and_lists_hidden_and_ignored_sheets(tmp_path):
    sheets = {
        "台账": [CASE_HEADER, *ROWS],
        "残疾儿童": [
            ["乡镇", "姓名", "残疾类别", "安置方式", "未安置原因"],
            ["甲镇", "孙七", "智力残疾", "随班就读", ""],
            ["甲镇", "周八", "肢体残疾", "未入学", "超龄"],
        ],
        "学校": [["学校名称", "乡镇", "小学在校生数", "初中在校生数"], ["甲镇一中", "甲镇", 0, 800]],
        "村屯": [["乡镇", "村", "经度", "纬度"], ["甲镇", "一村", 109.3, 23.1]],
        "说明": [["这里是填表说明"]],
        "隐藏": [["x"]],
    }
    ledger = load_ledger(write_xlsx(tmp_path / "wb.xlsx", sheets, hidden=("隐藏",)))
    r = _accounted(ledger)
    assert (
        r.tables["cases"] == 3
        and r.tables["special_ed"] == 2
        and r.tables["schools"] == 1
        and r.tables["villages"] == 1
    )
    status = {s.sheet: s.status for s in r.sheets}
    assert status["说明"] == "已忽略" and status["隐藏"] == "隐藏（已忽略）"


def test_table_recognised_by_header_when_sheet_name_says_nothing(tmp_path):
    ledger = load_ledger(
        write_xlsx(
            tmp_path / "wb.xlsx",
            {
                "Sheet1": [CASE_HEADER, *ROWS],
                "Sheet2": [["学校名称", "乡镇", "初中在校生数"], ["甲镇一中", "甲镇", 500]],
            },
        )
    )
    assert ledger.report.tables["cases"] == 3 and ledger.report.tables["schools"] == 1


def test_folder_of_files_one_table_each_and_township_files_concatenate(tmp_path):
    write_csv(tmp_path / "甲镇台账.csv", ROWS[:2])
    write_csv(tmp_path / "乙乡台账.csv", ROWS[2:])
    write_csv(
        tmp_path / "学校.csv", [["甲镇一中", "甲镇", "900"]], header=["学校名称", "乡镇", "初中在校生数"]
    )
    ledger = load_ledger(tmp_path)
    assert len(ledger.cases) == 3 and len(ledger.schools) == 1
    assert _accounted(ledger).rows_read == 4


def test_parquet_with_chinese_or_english_headers(tmp_path):
    df = pd.DataFrame([r for r in ROWS], columns=CASE_HEADER)
    df.to_parquet(tmp_path / "cases.parquet")
    assert len(load_ledger(tmp_path / "cases.parquet").cases) == 3
    en = pd.DataFrame(
        {
            "township": ["甲镇"],
            "school": ["甲一中"],
            "name": ["张三"],
            "registered": pd.to_datetime(["2019-03-01"]),
        }
    )
    en.to_parquet(tmp_path / "en.parquet")
    assert load_ledger(tmp_path / "en.parquet").cases["registered"].iloc[0] == pd.Timestamp("2019-03-01")


def test_legacy_xls(tmp_path):
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("台账")
    for r, row in enumerate([CASE_HEADER, *ROWS]):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    wb.save(str(tmp_path / "old.xls"))
    assert len(load_ledger(tmp_path / "old.xls").cases) == 3


def test_csv_renamed_xlsx_and_xlsx_renamed_csv(tmp_path):
    csv_path = write_csv(tmp_path / "a.csv", ROWS)
    renamed = tmp_path / "really_csv.xlsx"
    renamed.write_bytes(csv_path.read_bytes())
    assert len(load_ledger(renamed).cases) == 3
    x = write_xlsx(tmp_path / "b.xlsx", {"台账": [CASE_HEADER, *ROWS]})
    other = tmp_path / "really_xlsx.csv"
    other.write_bytes(x.read_bytes())
    assert len(load_ledger(other).cases) == 3


# --- hostile and broken files: a clear Chinese message, no traceback ------------------------------------------


def test_empty_file(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(b"")
    with pytest.raises(LedgerError, match="空的"):
        load_ledger(tmp_path / "a.xlsx")


def test_random_bytes_named_xlsx(tmp_path):
    import random

    rnd = random.Random(1)
    (tmp_path / "a.xlsx").write_bytes(bytes(rnd.randrange(256) for _ in range(5000)))
    with pytest.raises(LedgerError, match="不是有效的 Excel 文件|二进制"):
        load_ledger(tmp_path / "a.xlsx")


def test_truncated_xlsx(tmp_path):
    x = write_xlsx(tmp_path / "b.xlsx", {"台账": [CASE_HEADER, *ROWS]})
    data = x.read_bytes()
    x.write_bytes(data[: len(data) // 2])
    with pytest.raises(LedgerError, match="损坏或不完整"):
        load_ledger(x)


def test_password_protected_xlsx_is_an_ole2_container(tmp_path):
    ole = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048)
    ole[1024 : 1024 + 28] = "EncryptionInfo".encode("utf-16-le")
    (tmp_path / "locked.xlsx").write_bytes(bytes(ole))
    with pytest.raises(LedgerError, match="密码"):
        load_ledger(tmp_path / "locked.xlsx")


def test_html_saved_as_xls(tmp_path):
    (tmp_path / "t.xls").write_text(
        "<html><body><table><tr><td>姓名</td></tr></table></body></html>", encoding="utf-8"
    )
    with pytest.raises(LedgerError, match="网页"):
        load_ledger(tmp_path / "t.xls")


def test_zip_bomb_is_refused_before_opening(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (30 * 1024 * 1024))
    assert path.stat().st_size < 200_000
    with pytest.raises(LedgerError, match="压缩"):
        load_ledger(path)


def test_xml_entity_bomb(tmp_path):
    x = write_xlsx(tmp_path / "b.xlsx", {"台账": [CASE_HEADER, *ROWS]})
    out = tmp_path / "ent.xlsx"
    with zipfile.ZipFile(x) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>', 1
                )
            zout.writestr(info, data)
    with pytest.raises(LedgerError, match="XML"):
        load_ledger(out)


def test_sheet_declaring_a_million_rows(tmp_path):
    import resource

    import xlsxwriter

    path = tmp_path / "million.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("台账")
    for c, h in enumerate(CASE_HEADER):
        ws.write(0, c, h)
    ws.write(1_040_000, 25, "x")
    wb.close()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(LedgerError, match="超过上限"):
        load_ledger(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: no dense 1M-row grid


def test_header_only_file(tmp_path):
    with pytest.raises(LedgerError, match="只有表头"):
        load_ledger(write_csv(tmp_path / "a.csv", []))


def test_no_recognisable_header(tmp_path):
    (tmp_path / "a.csv").write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(LedgerError, match="没有找到辍学台账"):
        load_ledger(tmp_path / "a.csv")


# --- bad values: kept with a warning, or quarantined with a reason ---------------------------------------------


def _problems(ledger, text):
    p = ledger.report.problems
    return p[p["problem"].str.contains(text, regex=False)]


def test_quarantine_rules_and_warnings(tmp_path):
    good = valid_id("20060512", "321")
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows = [
        case_row(name="甲", township="", school=""),  # cannot be placed
        case_row(name="乙", registered="2019.2.30"),  # impossible date
        case_row(name="丙", registered=""),  # cannot be dated
        case_row(name="丁", idn=bad_check),  # warning only
        case_row(name="戊", idn=valid_id("20150101", "111")),  # age 4 at registration: warning only
        case_row(name="己", sex="女", idn=valid_id("20060101", "111")),  # sex disagrees with the ID: warning
        case_row(name="庚", poor="是（脱贫户）"),
        case_row(name="辛", registered="2019年3月"),
        case_row(name="壬", village='=HYPERLINK("x")'),
        case_row(name="癸", outcome="去了火星", closed="2019.4.1"),
    ]
    ledger = load_ledger(write_csv(tmp_path / "a.csv", rows))
    r = _accounted(ledger)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (10, 7, 3)
    q = r.problems[r.problems["severity"] == "错误"].sort_values("row")
    assert q["row"].tolist() == [2, 3, 4]
    assert q["problem"].tolist() == [
        "缺少乡镇和学校，无法归属",
        "日期不存在",
        "缺少辍学（登记）日期，无法确定统计时点",
    ]
    assert len(_problems(ledger, "校验位错误")) == 1
    assert len(_problems(ledger, "6–15")) == 1
    assert len(_problems(ledger, "性别与身份证号不一致")) == 1
    assert len(_problems(ledger, "附加文字")) == 1
    assert len(_problems(ledger, "月精度")) == 1
    assert len(_problems(ledger, "公式")) == 1
    assert len(_problems(ledger, "无法识别的处置情况")) == 1
    c = ledger.cases.set_index("name")
    assert bool(c.loc["庚", "poor"]) is True
    assert (
        c.loc["癸", "outcome"] == "去了火星" and c.loc["癸", "outcome_category"] == "open"
    )  # unknown texts stay open (issue 11)
    assert c.loc["辛", "registered_precision"] == "month"


def test_personal_values_are_masked_in_the_problem_report(tmp_path):
    good = valid_id("20060512", "321")
    ledger = load_ledger(
        write_csv(
            tmp_path / "a.csv",
            [case_row(name="欧阳小明", idn=good[:-1] + "0" if good[-1] != "0" else good[:-1] + "1")],
        )
    )
    values = ledger.report.problems["value"].astype("str").tolist()
    assert not any(good[:10] in v for v in values)
    assert any(v.startswith("450804") and "*" in v for v in values)


def test_episodes_duplicates_and_conflicts(tmp_path):
    idn = valid_id("20060512", "321")
    first = case_row(
        name="张三", idn=idn, registered="2019.1.5", returned="是", closed="2019.2.1", outcome="已返校"
    )
    again = case_row(name="张三", idn=idn, registered="2019.4.1")  # dropped out again: a second episode
    conflict = case_row(
        name="张三", idn=idn, registered="2019.4.1", school="别的中学"
    )  # same date, other school
    rows = [first, again, list(again), conflict]
    ledger = load_ledger(write_csv(tmp_path / "a.csv", rows))
    r = _accounted(ledger)
    assert len(ledger.cases) == 2 and r.excluded["duplicate"] == 1 and r.rows_quarantined == 1
    msg = _problems(ledger, "同一儿童")["problem"].iloc[0]
    # only the field that differs is named
    assert msg.startswith("与第 3 行为同一儿童") and msg.endswith("字段不一致：就读学校")


def test_outcomes_map_to_closing_categories(tmp_path):
    rows = [
        case_row(name="甲", closed="2019.4.1", outcome="已返校就读"),
        case_row(name="乙", closed="2019.4.1", outcome="进入中职学校"),
        case_row(name="丙", closed="2019.4.1", outcome="送教上门"),
        case_row(name="丁", closed="2019.4.1", outcome="核实在外地就读"),
        case_row(name="戊", closed="2019.4.1", outcome="超龄"),
        case_row(name="己", closed="", outcome="未返校"),
        case_row(name="庚", closed="2019.4.1", returned="是", outcome=""),
    ]
    c = load_ledger(write_csv(tmp_path / "a.csv", rows)).cases.set_index("name")["outcome_category"]
    assert c.to_dict() == {
        "甲": "returned",
        "乙": "vocational",
        "丙": "special",
        "丁": "verified",
        "戊": "other",
        "己": "open",
        "庚": "returned",
    }


def test_validate_json_report_keys(tmp_path):
    ledger = load_ledger(write_csv(tmp_path / "a.csv", ROWS))
    d = ledger.report.as_dict()
    assert {"rows_read", "rows_loaded", "rows_quarantined", "rows_excluded", "tables", "problems"} <= set(d)
    json.dumps(d, ensure_ascii=False)


def test_gcj02_setting_converts_village_coordinates(tmp_path):
    from kongchuo_metrics import geo

    lon, lat = geo.wgs84_to_gcj02(pd.Series([109.3]), pd.Series([23.1]))
    write_csv(tmp_path / "台账.csv", ROWS)
    write_csv(
        tmp_path / "村屯.csv",
        [["甲镇", "一村", f"{lon.iloc[0]:.7f}", f"{lat.iloc[0]:.7f}"]],
        header=["乡镇", "村", "经度", "纬度"],
    )
    v = load_ledger(tmp_path, coords="gcj02").villages.iloc[0]
    assert abs(v["lon"] - 109.3) < 1e-5 and abs(v["lat"] - 23.1) < 1e-5


def test_grids_keep_excel_row_numbers_with_offset(tmp_path):
    rows = [[None], [None], CASE_HEADER, case_row(township="", school="")]
    ledger = load_ledger(write_xlsx(tmp_path / "a.xlsx", {"台账": [*rows, ROWS[0]]}))
    assert ledger.report.problems.query("severity == '错误'")["row"].tolist() == [4]


def test_csv_decoding_order():
    assert ingest._decode("姓名".encode("gbk"), "x") == "姓名"
    assert ingest._decode(b"\xef\xbb\xbf" + "姓名".encode(), "x") == "姓名"
    assert ingest._decode("姓名".encode("utf-16"), "x") == "姓名"
    with pytest.raises(LedgerError):
        ingest._decode(b"\x00\x01\x02", "x")
    assert io  # keep import for readers of failures


def test_visits_link_to_the_right_episode_by_id_or_by_name_and_school(tmp_path):
    idn = valid_id("20070301", "451")
    rows = [
        # one child with two episodes: dropped out, returned, dropped out again
        case_row(
            name="韦一", idn=idn, registered="2019.3.1", returned="是", closed="2019.3.20", outcome="已返校"
        ),
        case_row(name="韦一", idn=idn, registered="2019.5.1"),
        case_row(name="黄二", idn="", school="乙镇中学", registered="2019.3.10"),
    ]
    write_csv(tmp_path / "台账.csv", rows)
    visits = [
        ["韦壹", idn, "", "2019.3.5"],  # by ID although the name is misspelt: the first episode
        ["", idn, "", "2019.5.6"],  # by ID, after the second registration: the second episode
        ["黄二", "", "乙镇中学", "2019.3.8"],  # no ID, by name + school, two days before registration
        ["黄二", "", "别的学校", "2019.3.12"],  # no ID and another school: nobody
    ]
    # a bare log (who and when, no step or method column) is still recognised as the follow-up log
    write_csv(tmp_path / "劝返记录.csv", visits, header=["学生姓名", "身份证号", "就读学校", "劝返日期"])
    ledger = load_ledger(tmp_path)
    r = _accounted(ledger)
    cases = ledger.cases.set_index(["name", "registered"])["case_id"]
    fu = ledger.followups.set_index("visit_date")["case_id"]
    assert fu[pd.Timestamp("2019-03-05")] == cases[("韦一", pd.Timestamp("2019-03-01"))]
    assert fu[pd.Timestamp("2019-05-06")] == cases[("韦一", pd.Timestamp("2019-05-01"))]
    assert fu[pd.Timestamp("2019-03-08")] == cases[("黄二", pd.Timestamp("2019-03-10"))]
    assert len(ledger.followups) == 3 and r.rows_quarantined == 1
    assert set(ledger.followups["step_level"]) == {"school_visit"}
    assert len(_problems(ledger, "找不到对应的个案")) == 1


def test_loaded_tables_carry_no_working_columns():
    ledger = load_ledger(Path(__file__).resolve().parents[2] / "data")
    for table in ("cases", "followups", "special_ed", "schools", "villages"):
        assert not [c for c in getattr(ledger, table).columns if c.startswith("_")], table
