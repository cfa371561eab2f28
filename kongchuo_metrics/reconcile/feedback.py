"""The feedback sheet: the pushed list returned as received, with 核查结果 filled, 核查日期 and 核查人 added.

Every sheet, row, column and merged cell of the received workbook is written back where it was (title rows,
the header, 合计 and footer rows included); only the result cells are filled. xlsxwriter with
strings_to_formulas off: no cell text, received or written, is ever stored as a formula.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd

from .. import header_match
from ..exports import workbook
from ..ingest import LedgerError
from .checks import Reconciliation, feedback_text
from .lists import ListTable

RESULT, DATE, CHECKER = "核查结果", "核查日期", "核查人"


def _column(header: list, names: tuple[str, ...]) -> int | None:
    keys = {header_match.normalize_header(n) for n in names}
    for i, cell in enumerate(header):
        if isinstance(cell, str) and header_match.normalize_header(cell) in keys:
            return i
    return None


def feedback_xlsx(pushed: ListTable, result: Reconciliation, checker: str = "", checked_on=None) -> bytes:
    """The received pushed list as xlsx bytes with the check's result per child (unmasked: for the sender)."""

    if result.pushed is None:
        raise ValueError("the check ran without a pushed list")
    if not pushed.grids:
        raise LedgerError(
            f"{pushed.source}：文件过大（按列读取），无法原样写回反馈表；请按乡镇拆分后再比对。"
        )
    day = pd.Timestamp(checked_on if checked_on is not None else result.as_of).strftime("%Y-%m-%d")
    res = result.pushed.assign(
        text=feedback_text(result.pushed["status"], result.pushed["detail"].fillna(""))
    )
    buf = io.BytesIO()
    wb = workbook(buf)
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    head_fmt = wb.add_format({"bold": True, "border": 1, "align": "center", "bg_color": "#FFF2CC"})
    used: set[str] = set()
    for grid, match in pushed.grids:
        name = (grid.sheet or "Sheet1")[:31]
        while name in used:
            name = name[:28] + f"_{len(used)}"
        used.add(name)
        ws = wb.add_worksheet(name)
        if grid.hidden:
            ws.hide()
        r0, c0 = grid.row_offset, grid.col_offset
        for r, row in enumerate(grid.rows):
            for c, value in enumerate(row):
                _write(ws, r0 + r, c0 + c, value, date_fmt)
        for (mr0, mc0), (mr1, mc1) in grid.merged:
            top = grid.rows[mr0 - r0][mc0 - c0] if 0 <= mr0 - r0 < len(grid.rows) else None
            if (mr0, mc0) != (mr1, mc1):
                ws.merge_range(mr0, mc0, mr1, mc1, "" if top is None else top)
                if top is not None and not isinstance(top, str):
                    _write(ws, mr0, mc0, top, date_fmt)
        if match is None:
            continue
        header = list(grid.rows[match.row])
        width = max(len(header), max((len(r) for r in grid.rows), default=0))
        cols = {}
        for label, names in (
            (RESULT, ("核查结果", "核查情况", "核实情况", "核查结论")),
            (DATE, (DATE,)),
            (CHECKER, (CHECKER,)),
        ):
            i = _column(header, names)
            if i is None:
                i = width
                width += 1
                ws.write_string(r0 + match.row, c0 + i, label, head_fmt)
            cols[label] = c0 + i
        mine = res[res["sheet"] == grid.sheet]
        for row, text in zip(mine["source_row"].to_numpy(), mine["text"].to_numpy(), strict=True):
            sheet_row = int(row) - 1  # source_row is the 1-based Excel row
            ws.write_string(sheet_row, cols[RESULT], str(text))
            ws.write_string(sheet_row, cols[DATE], day)
            ws.write_string(sheet_row, cols[CHECKER], checker)
        ws.set_column(cols[RESULT], cols[RESULT], 36)
    wb.close()
    return buf.getvalue()


def _write(ws, r: int, c: int, value, date_fmt) -> None:
    if value is None or (isinstance(value, str) and value == ""):
        return
    if isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, (int, float)):
        if value == value:  # NaN stays empty
            ws.write_number(r, c, value)
    elif isinstance(value, dt.datetime):
        ws.write_datetime(r, c, value, date_fmt)
    elif isinstance(value, dt.date):
        ws.write_datetime(r, c, dt.datetime(value.year, value.month, value.day), date_fmt)
    else:
        ws.write_string(r, c, str(value))
