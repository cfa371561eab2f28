import io

import pandas as pd

from kongchuo_metrics import exports, privacy
from kongchuo_metrics.schema import PERSONAL_FIELDS


def test_name_masks():
    names = pd.Series(["张三", "张小三", "欧阳小明", None])
    assert privacy.mask_names(names).tolist()[:3] == ["张*", "张*三", "欧**明"]
    assert privacy.mask_names(names, "briefing").tolist()[:3] == ["张**", "张**", "欧**"]
    assert pd.isna(privacy.mask_names(names).iloc[3])


def test_guardian_phone_and_id_masks():
    assert privacy.mask_people(pd.Series(["王五", "欧阳娜娜"])).tolist() == ["王*", "欧***"]
    assert privacy.mask_phones(pd.Series(["13812341234"])).tolist() == ["138****1234"]
    assert privacy.mask_ids(pd.Series(["45080420060512321X"])).tolist() == ["450804***********X"]


def test_public_view_drops_or_masks_every_personal_column():
    full = pd.DataFrame({c: ["张小三"] for c in PERSONAL_FIELDS} | {"township": ["甲镇"]})
    full["guardian_phone"] = "13812341234"
    listed = privacy.public_view(full, "list")
    privacy.assert_public(listed, "list")
    assert listed["name"].iloc[0] == "张*三" and listed["guardian_phone"].iloc[0] == "138****1234"
    assert "id_number" not in listed and "birth_date" not in listed and "note" not in listed
    brief = privacy.public_view(full, "briefing")
    assert list(brief.columns) == ["name", "township"] and brief["name"].iloc[0] == "张**"
    detail = privacy.public_view(full.assign(id_number="45080420060512321X"), "list", detail=True)
    assert detail["id_number"].iloc[0] == "450804***********X"


def test_suppression_of_small_counts():
    t = pd.DataFrame({"township": ["a", "b", "c"], "n": [0, 3, 7]})
    # the 3 is hidden, and the 7 with it: the column's total (10) would give the 3 back
    assert privacy.suppress(t, ["n"], total=None)["n"].tolist() == [0, privacy.SUPPRESSED, privacy.SUPPRESSED]


def test_csv_golden_bytes_with_bom_chinese_headers_and_formula_guard():
    t = pd.DataFrame(
        {"school": ["=cmd|'/c calc'!A1", "甲一中"], "open": [1, -2], "stage": ["junior", "primary"]}
    )
    data = exports.csv_bytes(t)
    assert data == ("\ufeff学校,在册辍学人数,学段\r\n'=cmd|'/c calc'!A1,1,初中\r\n甲一中,-2,小学\r\n").encode(
        "utf-8"
    )


def test_gov_xlsx_layout_and_no_formulas():
    import openpyxl

    t = pd.DataFrame(
        {"school": ["甲一中", "+SUM(A1)"], "township": ["甲镇", "乙乡"], "open": [2, 3], "open_poor": [0, 1]}
    )
    data = exports.gov_xlsx(t, "XX区未返校学生统计表", "XX区教育局", "2019年6月25日", ["open", "open_poor"])
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws["A1"].value == "XX区未返校学生统计表" and "A1:E1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A2"].value == "填报单位：XX区教育局" and ws["A3"].value == "统计日期：2019年6月25日"
    assert [c.value for c in ws[4]] == ["序号", "学校", "乡镇", "在册辍学人数", "其中建档立卡"]
    assert [c.value for c in ws[5]] == [1, "甲一中", "甲镇", 2, 0]
    assert ws["B6"].value == "'+SUM(A1)" and ws["B6"].data_type == "s"
    assert [c.value for c in ws[7]] == ["合计", None, None, 5, 1]
