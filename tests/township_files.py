"""Township ledgers made in code from loaded case rows: the file a township sends the county each month."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kongchuo_metrics import schema

HEADER = {
    "township": "乡镇",
    "village": "村（社区）",
    "name": "学生姓名",
    "sex": "性别",
    "id_number": "身份证号码",
    "student_no": "学籍号",
    "school": "就读学校",
    "grade": "年级",
    "poor": "是否建档立卡户",
    "case_type": "类型",
    "registered": "辍学时间",
    "reason": "辍学原因",
    "returned": "是否返校",
    "closed": "返校时间",
    "outcome": "处置情况/去向",
    "gov_owner": "劝返责任人（政府线）",
    "edu_owner": "劝返责任人（教育线）",
}
FOLLOWUP_HEADER = {
    "id_number": "身份证号",
    "name": "姓名",
    "school": "就读学校",
    "visit_date": "劝返日期",
    "step": "劝返环节",
    "method": "劝返方式",
    "person": "劝返人员",
    "result": "劝返结果",
}


def _text(frame: pd.DataFrame, columns: dict) -> list[list[str]]:
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        v = frame[col] if col in frame else pd.Series(pd.NA, index=frame.index)
        if pd.api.types.is_datetime64_any_dtype(v.dtype):
            v = v.dt.strftime("%Y-%m-%d")
        elif col in ("poor", "returned"):
            v = v.map({True: "是", False: "否"})
        elif col == "case_type":
            v = v.map(schema.CASE_TYPES)
        elif col == "grade":
            v = v.astype("str") + "年级"
        out[col] = v.astype("object").where(v.notna(), "")
    return out.astype("str").replace({"<NA>": "", "nan": "", "NaT": ""}).values.tolist()


def township_workbook(
    path: Path,
    cases: pd.DataFrame,
    unit: str,
    filled: str = "2019年7月20日",
    followups: pd.DataFrame | None = None,
    header: dict = HEADER,
) -> Path:
    """An xlsx with a title row, a 填报单位/填报时间 line, the header and one row per case (and a 劝返记录
    sheet when `followups` is given)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    ws = wb.add_worksheet("控辍保学台账")
    ws.write_string(0, 0, f"{unit}控辍保学工作台账")
    ws.write_string(1, 0, f"填报单位：{unit}　　填报时间：{filled}")
    for c, label in enumerate(header.values()):
        ws.write_string(2, c, label)
    for r, row in enumerate(_text(cases, header), start=3):
        for c, v in enumerate(row):
            if v:
                ws.write_string(r, c, v)
    if followups is not None and len(followups):
        fs = wb.add_worksheet("劝返记录")
        for c, label in enumerate(FOLLOWUP_HEADER.values()):
            fs.write_string(0, c, label)
        for r, row in enumerate(_text(followups, FOLLOWUP_HEADER), start=1):
            for c, v in enumerate(row):
                if v:
                    fs.write_string(r, c, v)
    wb.close()
    return path


def township_file(folder: Path, ledger, township: str, filled: str = "2019年7月20日", change=None) -> Path:
    """The township's cases of `ledger` as its own workbook, optionally changed by `change(cases)`."""
    cases = ledger.cases[ledger.cases["township"] == township]
    if change is not None:
        cases = change(cases)
    return township_workbook(Path(folder) / f"{township}.xlsx", cases, township, filled)
