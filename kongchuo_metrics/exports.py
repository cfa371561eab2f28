"""Downloads: CSV for Excel (UTF-8 with BOM, Chinese headers, formula-safe) and government-format xlsx."""

from __future__ import annotations

import io
import re

import pandas as pd

from .labels import for_display

_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells beginning with = + - @ tab or CR get a leading ' so Excel/WPS never run them as formulas."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            s = out[col]
            is_text = s.map(lambda v: isinstance(v, str))
            risky = is_text & s.astype("str").str.match(_FORMULA_START).fillna(False).astype(bool)
            out[col] = s.mask(risky, "'" + s.astype("str"))
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The table as Excel-friendly CSV bytes: Chinese headers and values, UTF-8 with BOM, formula-safe."""
    shown = neutralise(for_display(frame))
    return shown.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def gov_xlsx(frame: pd.DataFrame, title: str, unit: str, stat_date: str, sum_columns: list[str]) -> bytes:
    """A government-style workbook: merged title row, 填报单位 and 统计日期 rows, 序号 column, 合计 row.

    Written with xlsxwriter and strings_to_formulas off, so no cell text is ever stored as a formula.
    """
    import xlsxwriter

    shown = neutralise(for_display(frame))
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    ws = wb.add_worksheet("Sheet1")
    ncols = len(shown.columns) + 1
    title_fmt = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    head = wb.add_format(
        {
            "bold": True,
            "border": 1,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
            "bg_color": "#DDEBF7",
        }
    )
    cell = wb.add_format({"border": 1, "valign": "vcenter"})
    num = wb.add_format({"border": 1, "num_format": "#,##0"})
    bold = wb.add_format({"border": 1, "bold": True})
    ws.merge_range(0, 0, 0, ncols - 1, title, title_fmt)
    ws.merge_range(1, 0, 1, ncols - 1, f"填报单位：{unit}", wb.add_format({"align": "left"}))
    ws.merge_range(2, 0, 2, ncols - 1, f"统计日期：{stat_date}", wb.add_format({"align": "left"}))
    ws.write_row(3, 0, ["序号", *shown.columns], head)
    for r, rec in enumerate(shown.itertuples(index=False), start=4):
        ws.write_number(r, 0, r - 3, cell)
        for c, v in enumerate(rec, start=1):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                ws.write_blank(r, c, None, cell)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(r, c, v, num)
            else:
                ws.write_string(r, c, str(v), cell)
    total_row = 4 + len(shown)
    ws.write_string(total_row, 0, "合计", bold)
    labels = list(frame.columns)
    for c, col in enumerate(labels, start=1):
        if col in sum_columns:
            ws.write_number(total_row, c, float(pd.to_numeric(frame[col], errors="coerce").sum()), bold)
        else:
            ws.write_blank(total_row, c, None, bold)
    ws.set_column(0, 0, 6)
    ws.set_column(1, ncols, 16)
    wb.close()
    return buf.getvalue()


def template_xlsx() -> bytes:
    """A blank ledger workbook with the canonical Chinese headers, one sheet per table."""
    import xlsxwriter

    from . import schema

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    head = wb.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True})
    text = wb.add_format({"num_format": "@"})
    names = {
        "cases": "台账",
        "special_ed": "残疾儿童",
        "schools": "学校",
        "villages": "村屯",
        "followups": "劝返记录",
        "reports": "统计节点",
    }
    for table, sheet in names.items():
        ws = wb.add_worksheet(sheet)
        fields = [f for f in schema.FIELDS[table]]
        ws.merge_range(
            0, 0, 0, max(len(fields) - 1, 1), f"{schema.TABLE_LABELS[table]}（请从第3行起填写，勿改表头）"
        )
        for c, f in enumerate(fields):
            ws.write(1, c, f.label, head)
            ws.set_column(c, c, 14, text if f.kind == "id" else None)
    wb.close()
    return buf.getvalue()
