"""Downloads: CSV for Excel (UTF-8 with BOM, Chinese headers, formula-safe) and government-format xlsx."""

from __future__ import annotations

import io
import numbers
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


def subject(title: str, sel) -> str:
    """The title of a table about one township or school: 辍学情况 for 三里镇, never 三里镇各乡镇辍学情况."""
    if title.startswith("各乡镇") and (sel.schools or len(sel.townships) == 1):
        return title[len("各乡镇") :]
    return title


def scope_title(title: str, sel, district: str = "") -> str:
    """An export's title naming what it covers: 三里镇初中未返校学生分校统计表, 覃塘区… only for the whole county.

    `sel` is a metrics.Selection (schools, townships, stage, case types, 建档立卡 only).
    """
    from . import schema

    place = "、".join(sel.schools) or "、".join(sel.townships) or district
    title = subject(title, sel)
    stage = schema.STAGES.get(sel.stage, "") if sel.stage else ""
    kinds = "、".join(schema.CASE_TYPES.get(t, t) for t in sel.case_types)
    extra = "；".join(
        x for x in (f"类型：{kinds}" if kinds else "", "仅建档立卡" if sel.poor_only else "") if x
    )
    return f"{place}{stage}{title}" + (f"（{extra}）" if extra else "")


def csv_bytes(frame: pd.DataFrame, title: str | None = None) -> bytes:
    """The table as Excel-friendly CSV bytes: Chinese headers and values, UTF-8 with BOM, formula-safe.

    With `title` (the scope title and filters), the first line is that title alone, a text cell Excel shows in
    A1; the header follows on line 2.
    """
    shown = neutralise(for_display(frame))
    body = shown.to_csv(index=False, lineterminator="\r\n")
    if title:
        head = neutralise(pd.DataFrame({"t": [title]}))["t"].iloc[0]
        body = pd.DataFrame({head: []}).to_csv(index=False, lineterminator="\r\n") + body
    return body.encode("utf-8-sig")


SONGTI = "宋体"


def workbook(buf):
    """An in-memory xlsxwriter workbook that stores every text as text: never a formula, number or link (a
    ledger cell such as =HYPERLINK(...) or 0012 stays what it was)."""
    import xlsxwriter

    options = {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    return xlsxwriter.Workbook(buf, options)


def gov_xlsx(
    frame: pd.DataFrame,
    title: str,
    unit: str,
    stat_date: str,
    sum_columns: list[str],
    scope: str = "",
) -> bytes:
    """A government-style workbook: merged title row, 填报单位, 范围 and 统计日期 rows, 序号 column, 合计 row,
    制表人/审核人 line; 宋体 throughout; numbers stored as numbers; A4 landscape, fit to width, header repeated.

    Written with xlsxwriter and strings_to_formulas off, so no cell text is ever stored as a formula.
    """
    shown = neutralise(for_display(frame))
    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet("Sheet1")
    ncols = len(shown.columns) + 1

    def fmt(**kw):
        return wb.add_format({"font_name": SONGTI, "font_size": 11, **kw})

    title_fmt = fmt(bold=True, font_size=16, align="center", valign="vcenter")
    head = fmt(bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color="#DDEBF7")
    cell = fmt(border=1, valign="vcenter")
    num = fmt(border=1, num_format="#,##0", valign="vcenter")
    dec = fmt(border=1, num_format="#,##0.00", valign="vcenter")
    bold = fmt(border=1, bold=True)
    bold_num = fmt(border=1, bold=True, num_format="#,##0")
    left = fmt(align="left")
    ws.merge_range(0, 0, 0, ncols - 1, title, title_fmt)
    ws.set_row(0, 30)
    lines = [f"填报单位：{unit}"] + ([f"范围：{scope}"] if scope else []) + [f"统计日期：{stat_date}"]
    for r, text in enumerate(lines, start=1):
        ws.merge_range(r, 0, r, ncols - 1, text, left)
    header_row = 1 + len(lines)
    ws.write_row(header_row, 0, ["序号", *shown.columns], head)
    first = header_row + 1
    for r, rec in enumerate(shown.itertuples(index=False), start=first):
        ws.write_number(r, 0, r - header_row, cell)
        for c, v in enumerate(rec, start=1):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                ws.write_blank(r, c, None, cell)
            elif isinstance(v, numbers.Number) and not isinstance(v, bool):  # numpy integers too
                ws.write_number(r, c, float(v), num if float(v).is_integer() else dec)
            else:
                ws.write_string(r, c, str(v), cell)
    total_row = first + len(shown)
    ws.write_string(total_row, 0, "合计", bold)
    for c, col in enumerate(frame.columns, start=1):
        if col in sum_columns:
            ws.write_number(total_row, c, float(pd.to_numeric(frame[col], errors="coerce").sum()), bold_num)
        else:
            ws.write_blank(total_row, c, None, bold)
    sign = total_row + 2
    ws.merge_range(
        sign, 0, sign, ncols - 1, "制表人：　　　　　　　　审核人：　　　　　　　　填报日期：", left
    )
    widths = [6] + [
        min(40, max(8, 2 + max([len(str(h)) * 2] + [len(str(v)) * 2 for v in shown[h].head(200)])))
        for h in shown.columns
    ]
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.fit_to_pages(1, 0)  # one page wide, as many long as needed
    ws.repeat_rows(header_row)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")
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
    from .labels import TEMPLATE_SHEETS

    for table, sheet in TEMPLATE_SHEETS.items():
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
