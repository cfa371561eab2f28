"""Ledger files -> typed tables, with a report in which every input row is accounted for.

Every data row ends in exactly one of three places: loaded, quarantined (with Excel row, column, raw value
and a Chinese reason) or excluded (blank, 合计/小计 total, repeated header, exact duplicate). Problems that do not
stop a row being counted are warnings on kept rows: a child never vanishes from a count because of a typo.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import geo, parsers, privacy, schema
from .parsers import as_text

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 600 * 1024 * 1024
MAX_COMPRESSION_RATIO = 150
MAX_ROWS = 1_100_000  # CSV / Parquet
MAX_SHEET_ROWS = 500_000  # one worksheet of an xlsx
MAX_COLS = 300
MAX_SHEET_CELLS = 25_000_000  # rows x columns: calamine holds a sheet as a dense grid
HEADER_SCAN_ROWS = 15
MAX_CELL_CHARS = 500

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
TABLE_SUFFIXES = (*EXCEL_SUFFIXES, ".csv", ".txt", ".tsv", ".parquet")

PROBLEM_COLUMNS = ["table", "sheet", "row", "column", "value", "problem", "severity"]


class LedgerError(Exception):
    """A ledger that cannot be used at all; the message is Chinese and meant for the user."""


@dataclass(frozen=True)
class SheetReport:
    """What happened to one sheet or file."""

    source: str
    sheet: str
    table: str | None
    status: str  # 已读取 / 已忽略 / 隐藏（已忽略）
    header_row: int | None = None
    rows_read: int = 0
    note: str = ""


@dataclass
class IngestReport:
    """Counts and problems of one load; rows_read == rows_loaded + rows_quarantined + rows_excluded."""

    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_excluded: int = 0
    excluded: dict[str, int] = field(
        default_factory=lambda: {"blank": 0, "total": 0, "footer": 0, "header": 0, "duplicate": 0}
    )
    tables: dict[str, int] = field(default_factory=dict)
    sheets: list[SheetReport] = field(default_factory=list)
    merged_filled: int = 0
    unmapped_columns: dict[str, list[str]] = field(default_factory=dict)
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))

    def as_dict(self) -> dict:
        """The report as JSON-ready data (problem values are already masked)."""
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_excluded": self.rows_excluded,
            "excluded": dict(self.excluded),
            "tables": dict(self.tables),
            "merged_cells_filled": self.merged_filled,
            "sheets": [s.__dict__ for s in self.sheets],
            "unmapped_columns": self.unmapped_columns,
            "problems": [
                {k: (None if pd.isna(v) else (int(v) if k == "row" else str(v))) for k, v in rec.items()}
                for rec in self.problems[PROBLEM_COLUMNS].to_dict("records")
            ],
        }


@dataclass(frozen=True)
class Ledger:
    """A loaded ledger: canonical tables (English column names), ledger-level facts and the ingest report."""

    cases: pd.DataFrame
    followups: pd.DataFrame
    special_ed: pd.DataFrame
    schools: pd.DataFrame
    villages: pd.DataFrame
    report_dates: tuple[pd.Timestamp, ...]
    report: IngestReport
    meta: dict


# --- reading files into grids ---------------------------------------------------------------------------------


@dataclass
class Grid:
    """One sheet or CSV as raw cells, with where it sits in the file."""

    source: str
    sheet: str
    rows: list[list]
    row_offset: int = 0  # 0-based sheet row of rows[0]
    col_offset: int = 0
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    hidden: bool = False
    frame: pd.DataFrame | None = None  # typed frame (Parquet): header = column names


def _sniff(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole2"
    if head.startswith(b"PAR1"):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    if stripped[:1] == b"<":
        return "markup"
    return "text"


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise LedgerError(
            f"{path.name}：Excel 文件已损坏或不完整，无法打开。请在 Excel/WPS 中重新保存后再导入。"
        ) from exc
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        raise LedgerError(f"{path.name}：这是一个压缩包而不是 Excel 工作簿（缺少 xl/workbook.xml）。")
    if "xl/workbook.bin" in names:
        raise LedgerError(f"{path.name}：暂不支持 .xlsb 二进制工作簿，请另存为 .xlsx。")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise LedgerError(f"{path.name}：解压后体积 {total / 1e6:.0f} MB，超过上限，疑似压缩炸弹，已拒绝。")
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise LedgerError(
                f"{path.name}：文件内 {info.filename} 的压缩比异常（{info.file_size // max(info.compress_size, 1)} 倍），"
                "疑似压缩炸弹，已拒绝。"
            )
    with zipfile.ZipFile(path) as zf:
        for info in infos:
            if info.filename.endswith((".xml", ".rels")):
                with zf.open(info) as fh:
                    head = fh.read(4096)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise LedgerError(
                        f"{path.name}：文件内 {info.filename} 含有 XML 实体定义（可能是“XML 炸弹”），已拒绝。"
                    )
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                _scan_sheet(zf, info, path.name)


_ROW_RE = re.compile(rb'<row[^>]*?\sr="(\d+)"')
_SPANS_RE = re.compile(rb'spans="\d+:(\d+)"')
_CELL_COL_RE = re.compile(rb'<c r="([A-Z]{1,3})\d')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _max_number(digits: list[bytes]) -> int:
    """The largest of many digit strings, converted in numpy (not one int() each); absurd lengths saturate."""
    arr = np.array(digits)
    if arr.dtype.itemsize > 9:
        return 10**9
    return int(arr.astype(np.int64).max())


def _scan_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> None:
    """Stream one worksheet's XML and refuse it before calamine builds a dense grid of a million rows."""
    max_row = max_col = 0
    tail = b""
    with zf.open(info) as fh:
        while chunk := fh.read(1 << 20):
            buf = tail + chunk
            if rows := _ROW_RE.findall(buf):
                max_row = max(max_row, _max_number(rows))
            if spans := _SPANS_RE.findall(buf):
                max_col = max(max_col, _max_number(spans))
            elif cols := _CELL_COL_RE.findall(buf):
                max_col = max(max_col, max(_col_number(c) for c in set(cols)))
            tail = buf[-256:]
            if max_row > MAX_SHEET_ROWS or max_col > MAX_COLS or max_row * max(max_col, 1) > MAX_SHEET_CELLS:
                raise LedgerError(
                    f"{label}：工作表 {info.filename.rsplit('/', 1)[-1]} 声明了至少 {max_row:,} 行 × {max_col} 列，"
                    f"超过上限（{MAX_SHEET_ROWS:,} 行、{MAX_COLS} 列）。请删除多余的空行空列后再导入。"
                )


def _is_encrypted_ole(data: bytes) -> bool:
    return "EncryptionInfo".encode("utf-16-le") in data or "EncryptedPackage".encode("utf-16-le") in data


def _read_excel(path: Path) -> list[Grid]:
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except pc.PasswordError as exc:
        raise LedgerError(
            f"{path.name}：文件设有打开密码，请在 Excel/WPS 中取消密码后另存为 .xlsx 再导入。"
        ) from exc
    except Exception as exc:  # calamine raises several types for broken files
        raise LedgerError(
            f"{path.name}：无法读取该 Excel 文件（{type(exc).__name__}），文件可能已损坏。"
        ) from exc
    grids: list[Grid] = []
    try:
        for meta in wb.sheets_metadata:
            if str(meta.typ) != "SheetTypeEnum.WorkSheet":
                continue
            hidden = str(meta.visible) != "SheetVisibleEnum.Visible"
            if hidden:
                grids.append(Grid(path.name, meta.name, [], hidden=True))
                continue
            sheet = wb.get_sheet_by_name(meta.name)
            if sheet.height > MAX_SHEET_ROWS or sheet.width > MAX_COLS:
                raise LedgerError(
                    f"{path.name}：工作表“{meta.name}”声明了 {sheet.height} 行 × {sheet.width} 列，超过上限"
                    f"（{MAX_SHEET_ROWS} 行、{MAX_COLS} 列）。请删除多余的空行空列后再导入。"
                )
            start = sheet.start or (0, 0)
            rows = sheet.to_python()
            merged = list(sheet.merged_cell_ranges or [])
            grids.append(Grid(path.name, meta.name, rows, start[0], start[1], merged))
    except LedgerError:
        raise
    except Exception as exc:
        raise LedgerError(
            f"{path.name}：读取工作表时出错（{type(exc).__name__}），文件可能已损坏或格式异常。"
        ) from exc
    finally:
        wb.close()
    return grids


_KNOWN_HEADER_WORDS = (
    "姓名",
    "乡镇",
    "学校",
    "日期",
    "时间",
    "序号",
    "村",
    "身份证",
    "性别",
    "学校名称",
    "安置",
)


def _decode(data: bytes, name: str) -> str:
    """Text of a CSV: BOM sniff -> strict UTF-8 -> strict GB18030 -> a clear error."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise LedgerError(f"{name}：文件含有二进制内容，不是表格文件，无法识别。")
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc, errors="strict")
        except UnicodeDecodeError:
            continue
    raise LedgerError(
        f"{name}：无法识别文件编码（支持 UTF-8、GBK/GB18030、UTF-16）。请在 Excel/WPS 中另存为“CSV UTF-8”。"
    )


def _read_text(path: Path, data: bytes) -> list[Grid]:
    text = _decode(data, path.name)
    first = text[:20000]
    lines = first.splitlines()[:HEADER_SCAN_ROWS]
    counts = {sep: sum(line.count(sep) for line in lines) for sep in (",", "\t", ";", "|")}
    sep = max(counts, key=counts.get)
    if counts[sep] == 0:
        sep = ","
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    if len(rows) > MAX_ROWS:
        raise LedgerError(f"{path.name}：共 {len(rows)} 行，超过上限 {MAX_ROWS} 行。")
    width = max((len(r) for r in rows), default=0)
    if width > MAX_COLS:
        raise LedgerError(f"{path.name}：共 {width} 列，超过上限 {MAX_COLS} 列。")
    return [Grid(path.name, path.stem, rows)]


def _read_parquet(path: Path) -> list[Grid]:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise LedgerError(f"{path.name}：Parquet 文件无法读取（{type(exc).__name__}）。") from exc
    return [Grid(path.name, path.stem, [], frame=frame)]


def read_grids(path: Path) -> list[Grid]:
    """The sheets of one file as grids, dispatched on the content, not the name (a CSV renamed .xlsx works)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LedgerError(f"找不到文件：{path}") from exc
    if size == 0:
        raise LedgerError(f"{path.name}：文件是空的（0 字节）。")
    if size > MAX_FILE_BYTES:
        raise LedgerError(
            f"{path.name}：文件 {size / 1e6:.0f} MB，超过上限 {MAX_FILE_BYTES // 1_000_000} MB。"
        )
    with open(path, "rb") as fh:
        head = fh.read(8)
    kind = _sniff(head)
    if kind == "zip":
        _check_zip(path)
        return _read_excel(path)
    if kind == "ole2":
        data = path.read_bytes()
        if _is_encrypted_ole(data):
            raise LedgerError(
                f"{path.name}：文件设有打开密码，请在 Excel/WPS 中取消密码后另存为 .xlsx 再导入。"
            )
        return _read_excel(path)
    if kind == "parquet":
        return _read_parquet(path)
    data = path.read_bytes()
    if kind == "markup":
        raise LedgerError(
            f"{path.name}：这是网页（HTML/XML）格式的文件，只是扩展名为 {path.suffix}。"
            "请在 Excel/WPS 中打开后“另存为” .xlsx 再导入。"
        )
    try:
        return _read_text(path, data)
    except LedgerError:
        if path.suffix.lower() in EXCEL_SUFFIXES:
            raise LedgerError(
                f"{path.name}：不是有效的 Excel 文件，也不是可识别的 CSV 文本，无法打开。"
            ) from None
        raise


# --- header detection ---------------------------------------------------------------------------------------


def _row_matches(cells: list, table: str) -> dict[int, str]:
    out: dict[int, str] = {}
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        name = schema.match_header(table, cell) if isinstance(cell, str) else None
        if name and name not in seen:
            out[i] = name
            seen.add(name)
    return out


def _signature_ok(table: str, fields: set[str]) -> bool:
    return any(set(sig) <= fields for sig in schema.SIGNATURE[table])


def _combined_header(top: list, below: list) -> list:
    """Two-row header: the upper label (merged across) joined with the lower one (劝返责任人 + 政府线)."""
    out, parent = [], ""
    for i in range(max(len(top), len(below))):
        t = top[i] if i < len(top) and isinstance(top[i], str) else ""
        b = below[i] if i < len(below) and isinstance(below[i], str) else ""
        parent = t or parent
        out.append(f"{parent}({b})" if b and parent and b != parent else (t or b))
    return out


@dataclass(frozen=True)
class HeaderMatch:
    table: str
    row: int  # index into grid.rows of the (last) header row
    columns: dict[int, str]
    header_rows: int = 1


def find_header(rows: list[list], hint: str | None) -> HeaderMatch | None:
    """The header row in the first 15 rows and the table it belongs to (the sheet-name hint breaks ties)."""
    best: tuple[int, int, HeaderMatch] | None = None
    tables = [hint] if hint else list(schema.FIELDS)
    if hint:
        tables += [t for t in schema.FIELDS if t != hint]
    for r in range(min(HEADER_SCAN_ROWS, len(rows))):
        candidates = [(rows[r], 1)]
        if r + 1 < len(rows):
            candidates.append((_combined_header(rows[r], rows[r + 1]), 2))
        for cells, nrows in candidates:
            for t in tables:
                cols = _row_matches(cells, t)
                if not _signature_ok(t, set(cols.values())):
                    continue
                score = len(cols) + (3 if t == hint else 0)
                key = (score, -nrows)
                if best is None or key > best[:2]:
                    best = (score, -nrows, HeaderMatch(t, r + nrows - 1, cols, nrows))
    return best[2] if best else None


_META_UNIT = re.compile(r"填报单位[:：]\s*([^\s，,]+)")
_META_DATE = re.compile(
    r"(?:统计日期|截至|截止|填报日期|填报时间|统计时间)[:：]?\s*(\d{4}\s*[年./-]\s*\d{1,2}\s*[月./-]\s*\d{1,2}\s*日?)"
)
_DISTRICT = re.compile(r"^(.{2,12}?[区县市旗])")


def _meta(rows: list[list], header_row: int) -> dict:
    texts = [str(c) for row in rows[:header_row] for c in row if isinstance(c, str) and c.strip()]
    meta: dict = {}
    if texts:
        meta["title"] = schema.normalize_text(texts[0])
        m = _DISTRICT.match(meta["title"])
        if m:
            meta["district"] = m.group(1)
    joined = " ".join(texts)
    if m := _META_UNIT.search(joined):
        meta["unit"] = m.group(1)
    if m := _META_DATE.search(schema.normalize_text(joined)):
        parsed = parsers.parse_dates(pd.Series([m.group(1).replace(" ", "")], dtype=object))
        if parsed.values.notna().iloc[0]:
            meta["stat_date"] = parsed.values.iloc[0].date().isoformat()
    return meta


# --- from grid to a raw table ---------------------------------------------------------------------------------

# plain strings so pandas runs them in pyarrow (a compiled pattern forces Python's re per cell)
_TOTAL = "^(合计|小计|总计|共计|总数|汇总)"
# what a total cell can start with before normalisation: white space (spelled out, as \s would send pandas to
# Python's re instead of pyarrow's RE2), zero-width marks, then the first character of a total word
_TOTAL_FIRST = "^[ \t\r\n\u3000\u00a0\u200b\ufeff]*[合小总共汇]"
_FOOTER = "^(填表人|填报人|审核人|制表人|负责人|单位负责人|注[:：]|说明[:：]|备注[:：])"


@dataclass
class RawTable:
    """Data rows of one sheet under canonical column names (raw cell values), with Excel row numbers."""

    table: str
    source: str
    sheet: str
    frame: pd.DataFrame  # canonical columns, raw values; column "_row" = Excel row number
    rows_read: int
    excluded: dict[str, int]
    merged_filled: int
    unmapped: list[str]
    meta: dict
    header_row: int | None


def _blank_rows(columns: list[pd.Series], index: pd.Index) -> pd.Series:
    """True for rows whose every cell is empty: None, NaN, "" or white space only."""
    if not columns:
        return pd.Series(True, index=index)
    empties = []
    for col in columns:
        empty = col.isna() | col.eq("")
        empties.append(empty.fillna(True).to_numpy(dtype=bool))
    empty = np.column_stack(empties)
    # rows with only a few filled cells are looked at again for cells of spaces (NBSP, full-width space)
    maybe = (~empty).sum(axis=1) <= 3
    maybe &= ~empty.all(axis=1)
    if maybe.any():
        rows = np.flatnonzero(maybe)
        empty[rows] = np.column_stack(
            [parsers.is_blank(col.iloc[rows].reset_index(drop=True)).to_numpy() for col in columns]
        )
    return pd.Series(empty.all(axis=1), index=index)


def _raw_from_grid(grid: Grid, match: HeaderMatch) -> RawTable:
    rows = grid.rows
    data = rows[match.row + 1 :]
    width = max((len(r) for r in rows[: match.row + 1]), default=0)
    width = max(width, max((len(r) for r in data[:1000]), default=0))
    frame = pd.DataFrame(data, dtype=object) if data else pd.DataFrame(columns=range(width), dtype=object)
    frame = frame.reindex(columns=range(max(width, frame.shape[1])))
    excel_rows = np.arange(len(frame)) + grid.row_offset + match.row + 2
    frame.index = pd.RangeIndex(len(frame))
    header_cells = rows[match.row]
    unmapped = [
        str(header_cells[i])
        for i in range(len(header_cells))
        if i not in match.columns and isinstance(header_cells[i], str) and header_cells[i].strip()
    ]
    # columns holding only text become arrow-backed once here, so each later parser reads them without
    # converting a hundred thousand Python strings again; mixed columns (dates, numbers) stay as read
    columns = [parsers.arrow_if_text(frame[i]) for i in frame.columns]
    blank_all = _blank_rows(columns, frame.index)
    canon = pd.DataFrame({name: columns[i] for i, name in match.columns.items()}, index=frame.index)

    # merged township/village/school cells: the value sits in the first row of the range only
    filled = 0
    fill_fields = {"township", "village", "school"}
    if grid.merged:
        by_col = {i: name for i, name in match.columns.items() if name in fill_fields}
        for (r0, c0), (r1, c1) in grid.merged:
            col = c0 - grid.col_offset
            if col not in by_col or c1 != c0 or r1 <= r0:
                continue
            top = r0 - grid.row_offset - match.row - 1
            lo, hi = max(top + 1, 0), min(r1 - grid.row_offset - match.row - 1, len(canon) - 1)
            if top < 0 or lo > hi:
                continue
            name = by_col[col]
            target = canon[name].iloc[lo : hi + 1]
            empty = parsers.is_blank(target)
            canon.loc[target.index[empty], name] = canon[name].iloc[top]
            filled += int(empty.sum())
    total = pd.Series(False, index=frame.index)
    for name in ("seq", "township", "village", "name", "school"):
        if name in canon:
            col = canon[name]
            if isinstance(col.dtype, pd.StringDtype):
                # a cheap look at the first character first; only those rows are normalised and matched
                col = col[col.str.contains(_TOTAL_FIRST, regex=True).fillna(False).astype(bool)]
            if len(col):
                hit = as_text(col).str.replace(" ", "").str.match(_TOTAL).fillna(False).astype(bool)
                total |= hit.reindex(frame.index, fill_value=False)
    first_col = as_text(columns[0]).str.replace(" ", "") if columns else None
    if first_col is not None:
        total |= first_col.str.match(_TOTAL).fillna(False).astype(bool)
    footer = pd.Series(False, index=frame.index)
    if first_col is not None:
        footer = first_col.str.match(_FOOTER).fillna(False).astype(bool)
        if footer.any() and frame.shape[1] > 1:
            # a footer line (填表人：… 审核人：…) fills the first cell only; look at just those few rows
            rest = frame.loc[footer, frame.columns[1:]]
            footer.loc[rest.index] = pd.concat([parsers.is_blank(rest[c]) for c in rest.columns], axis=1).all(
                axis=1
            )
        footer &= ~blank_all
    header_like = pd.Series(0, index=frame.index)
    for i, name in match.columns.items():
        # a header repeated mid-sheet (a township's block pasted with its header) repeats the cell text
        if i < len(header_cells) and isinstance(header_cells[i], str):
            header_like += canon[name].eq(header_cells[i]).fillna(False).astype(int)
    repeated = header_like >= max(2, len(match.columns) // 2)
    blank = blank_all
    total &= ~blank
    footer &= ~blank & ~total
    repeated &= ~blank & ~total & ~footer
    keep = ~(blank | total | footer | repeated)
    canon["_row"] = excel_rows
    excluded = {
        "blank": int(blank.sum()),
        "total": int(total.sum()),
        "footer": int(footer.sum()),
        "header": int(repeated.sum()),
        "duplicate": 0,
    }
    return RawTable(
        match.table,
        grid.source,
        grid.sheet,
        canon[keep].reset_index(drop=True),
        len(frame),
        excluded,
        filled,
        unmapped,
        _meta(rows, match.row - match.header_rows + 1),
        match.row + 1 + grid.row_offset,
    )


def _raw_from_frame(grid: Grid, hint: str | None) -> RawTable | None:
    frame = grid.frame
    assert frame is not None
    headers = [str(c) for c in frame.columns]
    match = find_header([headers], hint)
    if match is None:
        # English canonical names are accepted as they are
        for t in ([hint] if hint else []) + list(schema.FIELDS):
            names = {f.name for f in schema.FIELDS[t]}
            cols = {i: h for i, h in enumerate(headers) if h in names}
            if _signature_ok(t, set(cols.values())):
                match = HeaderMatch(t, 0, cols)
                break
    if match is None:
        return None
    canon = pd.DataFrame({name: frame.iloc[:, i] for i, name in match.columns.items()})
    canon["_row"] = np.arange(len(frame)) + 2
    unmapped = [h for i, h in enumerate(headers) if i not in match.columns]
    excluded = {"blank": 0, "total": 0, "footer": 0, "header": 0, "duplicate": 0}
    return RawTable(match.table, grid.source, grid.sheet, canon, len(frame), excluded, 0, unmapped, {}, 1)


# --- typed tables -----------------------------------------------------------------------------------------------


class _Problems:
    """Collects problems as whole columns at a time (no per-row Python)."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(
        self,
        raw: RawTable | pd.DataFrame,
        table: str,
        column: str,
        messages: pd.Series,
        values: pd.Series,
        severity: str,
        rows: pd.Series,
        sheet: pd.Series | str,
    ) -> None:
        mask = messages.notna() & (messages != "")
        if not mask.any():
            return
        shown = privacy.mask_value(
            column, as_text(values[mask]) if values.dtype == object else values[mask].astype("str")
        )
        sheet_col = sheet[mask] if isinstance(sheet, pd.Series) else sheet
        self.parts.append(
            pd.DataFrame(
                {
                    "table": schema.TABLE_LABELS[table],
                    "sheet": sheet_col,
                    "row": rows[mask].astype("int64"),
                    "column": schema.field_label(column) if column else "",
                    "value": shown,
                    "problem": messages[mask],
                    "severity": severity,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=PROBLEM_COLUMNS)
        out = pd.concat(self.parts, ignore_index=True)
        order = {"错误": 0, "警告": 1}
        return out.sort_values(
            ["table", "sheet", "row"], key=lambda s: s.map(order) if s.name == "x" else s, kind="stable"
        ).reset_index(drop=True)


ERROR, WARNING = "错误", "警告"


def _text_col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        return as_text(frame[name])
    return pd.Series(pd.NA, index=frame.index, dtype="str")


def _check_text_cells(df: pd.DataFrame, table: str, names: list[str], probs: _Problems) -> pd.DataFrame:
    """Warn about formula-like and very long cells; cut cells at MAX_CELL_CHARS."""
    out = df.copy()
    for name in names:
        if name not in out:
            continue
        col = out[name]
        formula = col.str.match(r"^[=+\-@]").fillna(False).astype(bool)
        long = col.str.len().gt(MAX_CELL_CHARS).fillna(False).astype(bool)
        if not (formula.any() or long.any()):
            continue
        probs.add(
            df,
            table,
            name,
            pd.Series("", index=col.index).mask(
                formula, "以 = + - @ 开头的内容，导出时会加 ' 前缀防止被当作公式"
            ),
            col,
            WARNING,
            df["_row"],
            df["_sheet"],
        )
        probs.add(
            df,
            table,
            name,
            pd.Series("", index=col.index).mask(long, f"内容过长，已截取前 {MAX_CELL_CHARS} 个字"),
            col,
            WARNING,
            df["_row"],
            df["_sheet"],
        )
        out[name] = col.where(~long, col.str[:MAX_CELL_CHARS])
    return out


def _parse_date_col(df: pd.DataFrame, table: str, name: str, probs: _Problems, error_severity: str = ERROR):
    parsed = parsers.parse_dates(df[name]) if name in df else None
    if parsed is None:
        empty = pd.Series(pd.NaT, index=df.index, dtype="datetime64[s]")
        return empty, pd.Series("", index=df.index, dtype="str"), pd.Series("", index=df.index, dtype="str")
    probs.add(df, table, name, parsed.warnings, df[name], WARNING, df["_row"], df["_sheet"])
    return parsed.values, parsed.extra["precision"], parsed.errors


def _flag_col(df: pd.DataFrame, table: str, name: str, probs: _Problems) -> pd.Series:
    if name not in df:
        return pd.Series(pd.NA, index=df.index, dtype="boolean")
    parsed = parsers.parse_flags(df[name])
    probs.add(df, table, name, parsed.warnings, df[name], WARNING, df["_row"], df["_sheet"])
    return parsed.values


def _int_col(df: pd.DataFrame, table: str, name: str, probs: _Problems) -> pd.Series:
    if name not in df:
        return pd.Series(pd.NA, index=df.index, dtype="Int64")
    parsed = parsers.parse_numbers(df[name])
    probs.add(df, table, name, parsed.warnings, df[name], WARNING, df["_row"], df["_sheet"])
    return parsed.values.round().astype("Int64")


def _num_col(df: pd.DataFrame, table: str, name: str, probs: _Problems) -> pd.Series:
    if name not in df:
        return pd.Series(np.nan, index=df.index, dtype="float")
    parsed = parsers.parse_numbers(df[name])
    probs.add(df, table, name, parsed.warnings, df[name], WARNING, df["_row"], df["_sheet"])
    return parsed.values


def _quarantine(
    df: pd.DataFrame, table: str, reason: pd.Series, column: pd.Series, probs: _Problems
) -> pd.Series:
    """Record quarantine problems (one line per row, its first reason) and return the keep mask."""
    q = reason != ""
    if q.any():
        for col in column[q].unique():
            m = q & (column == col)
            vals = df[col] if col in df else pd.Series("", index=df.index)
            probs.add(df, table, col, reason.where(m, ""), vals, ERROR, df["_row"], df["_sheet"])
    return ~q


def _first_reason(reason: pd.Series, column: pd.Series, cond: pd.Series, msg: str | pd.Series, col: str):
    new = (reason == "") & cond
    reason = reason.mask(new, msg)
    column = column.mask(new, col)
    return reason, column


CASE_COLUMNS = [
    "case_id",
    "child_key",
    "township",
    "village",
    "school",
    "stage",
    "grade",
    "case_type",
    "name",
    "sex",
    "ethnicity",
    "id_number",
    "birth_date",
    "age",
    "student_no",
    "poor",
    "disabled",
    "disability_type",
    "left_behind",
    "orphan",
    "unsupported",
    "registered",
    "registered_precision",
    "reason",
    "reason_category",
    "returned",
    "closed",
    "closed_precision",
    "outcome",
    "outcome_category",
    "gov_owner",
    "edu_owner",
    "guardian_name",
    "guardian_phone",
    "note",
    "source",
    "source_row",
]


def _build_cases(df: pd.DataFrame, probs: _Problems) -> tuple[pd.DataFrame, pd.Series]:
    t = "cases"
    text_fields = [
        "township",
        "village",
        "name",
        "school",
        "reason",
        "outcome",
        "gov_owner",
        "edu_owner",
        "guardian_name",
        "guardian_phone",
        "note",
        "disability_type",
        "ethnicity",
        "student_no",
    ]
    out = pd.DataFrame(index=df.index)
    for name in text_fields:
        out[name] = _text_col(df, name)
    out["_row"], out["_sheet"] = df["_row"], df["_sheet"]
    out = _check_text_cells(
        out, t, ["township", "village", "name", "school", "reason", "outcome", "note"], probs
    )
    out = out.drop(columns=["_row", "_sheet"])
    out["name"] = out["name"].str.replace(" ", "", regex=False)

    ids = parsers.parse_ids(df["id_number"]) if "id_number" in df else None
    if ids is not None:
        out["id_number"], out["_id_ok"] = ids.values, ids.extra["checksum_ok"]
        probs.add(df, t, "id_number", ids.warnings, df["id_number"], WARNING, df["_row"], df["_sheet"])
    else:
        out["id_number"], out["_id_ok"] = pd.Series(pd.NA, index=df.index, dtype="str"), False

    birth, _, birth_err = _parse_date_col(df, t, "birth_date", probs)
    probs.add(
        df,
        t,
        "birth_date",
        birth_err,
        df.get("birth_date", pd.Series(index=df.index)),
        WARNING,
        df["_row"],
        df["_sheet"],
    )
    sex = parsers.parse_sex(df["sex"]) if "sex" in df else pd.Series(pd.NA, index=df.index, dtype="str")
    if ids is not None:
        id_birth, id_sex = ids.extra["birth"], ids.extra["sex"]
        disagree = birth.notna() & id_birth.notna() & (birth != id_birth)
        probs.add(
            df,
            t,
            "birth_date",
            pd.Series("", index=df.index).mask(disagree, "出生日期与身份证号不一致"),
            df.get("birth_date", pd.Series(index=df.index)),
            WARNING,
            df["_row"],
            df["_sheet"],
        )
        sex_bad = sex.notna() & id_sex.notna() & (sex != id_sex)
        probs.add(
            df,
            t,
            "sex",
            pd.Series("", index=df.index).mask(sex_bad, "性别与身份证号不一致"),
            df.get("sex", pd.Series(index=df.index)),
            WARNING,
            df["_row"],
            df["_sheet"],
        )
        birth = birth.fillna(id_birth)
        sex = sex.fillna(id_sex)
    out["birth_date"] = birth
    out["sex"] = sex

    grade = (
        parsers.parse_grades(df["grade"])
        if "grade" in df
        else pd.Series(pd.NA, index=df.index, dtype="Int64")
    )
    out["grade"] = grade
    out["stage"] = parsers.parse_stages(df.get("stage"), grade, out["school"])
    out["case_type"] = parsers.parse_case_types(df.get("case_type"), df.index, default="dropout")
    sheet_suspected = df["_sheet"].astype("str").str.contains("疑似", regex=False)
    if "case_type" not in df:
        out["case_type"] = out["case_type"].mask(sheet_suspected, "suspected")
    for name in ("poor", "disabled", "left_behind", "orphan", "unsupported", "returned"):
        out[name] = _flag_col(df, t, name, probs)

    registered, reg_prec, reg_err = _parse_date_col(df, t, "registered", probs)
    closed, closed_prec, closed_err = _parse_date_col(df, t, "closed", probs)
    probs.add(
        df,
        t,
        "closed",
        closed_err.mask(closed_err != "", closed_err + "，按未返校处理"),
        df.get("closed", pd.Series(index=df.index)),
        WARNING,
        df["_row"],
        df["_sheet"],
    )
    # a month-only closing date counts from the month's last day: the case stays open until we know it closed
    closed = closed.mask(closed_prec == "month", closed + pd.offsets.MonthEnd(0))
    before = closed.notna() & registered.notna() & (closed < registered)
    probs.add(
        df,
        t,
        "closed",
        pd.Series("", index=df.index).mask(before, "返校时间早于辍学时间，按未返校处理"),
        df.get("closed", pd.Series(index=df.index)),
        WARNING,
        df["_row"],
        df["_sheet"],
    )
    closed = closed.mask(before)
    out["registered"], out["registered_precision"] = registered, reg_prec
    out["reason_category"] = parsers.categorize(out["reason"], schema.REASON_PATTERNS).fillna(
        pd.Series("other", index=df.index).where(out["reason"].notna())
    )

    category = parsers.categorize(out["outcome"], schema.OUTCOME_PATTERNS)
    unknown = out["outcome"].notna() & category.isna()
    probs.add(
        df,
        t,
        "outcome",
        pd.Series("", index=df.index).mask(unknown, "无法识别的处置情况，已按原文保留"),
        df.get("outcome", pd.Series(index=df.index)),
        WARNING,
        df["_row"],
        df["_sheet"],
    )
    said_no = out["returned"].eq(False).fillna(False).astype(bool)
    said_yes = out["returned"].eq(True).fillna(False).astype(bool)
    category = category.mask(category.isna() & unknown & closed.notna(), "other")
    # a 返校时间 with no outcome text, or 是否返校=是, is a return
    category = category.mask(category.isna() & ((closed.notna() & ~said_no) | said_yes), "returned")
    closing = category.notna() & (category != "open")
    no_date = closing & closed.isna()
    probs.add(
        df,
        t,
        "closed",
        pd.Series("", index=df.index).mask(no_date, "已销号但缺少返校/销号时间，按未销号统计"),
        df.get("closed", pd.Series(index=df.index)),
        WARNING,
        df["_row"],
        df["_sheet"],
    )
    has_date_open = closed.notna() & (category == "open")
    probs.add(
        df,
        t,
        "closed",
        pd.Series("", index=df.index).mask(has_date_open, "填有返校时间但处置情况为未返校，按未返校统计"),
        df.get("closed", pd.Series(index=df.index)),
        WARNING,
        df["_row"],
        df["_sheet"],
    )
    closed = closed.where(closing)
    out["closed"], out["closed_precision"] = closed, closed_prec.where(closing, "")
    out["outcome_category"] = category.where(closing & closed.notna(), "open")

    age = ((registered - birth).dt.days / 365.25).astype("float")
    out["age"] = np.floor(age).astype("Int64")
    odd_age = out["age"].notna() & ~out["age"].between(6, 15)
    probs.add(
        df,
        t,
        "birth_date",
        pd.Series("", index=df.index).mask(odd_age.fillna(False).astype(bool), "辍学时年龄不在 6–15 岁之间"),
        out["age"].astype("str"),
        WARNING,
        df["_row"],
        df["_sheet"],
    )

    reason = pd.Series("", index=df.index, dtype="str")
    column = pd.Series("", index=df.index, dtype="str")
    reason, column = _first_reason(
        reason, column, out["township"].isna() & out["school"].isna(), "缺少乡镇和学校，无法归属", "township"
    )
    reason, column = _first_reason(reason, column, reg_err != "", reg_err, "registered")
    reason, column = _first_reason(
        reason, column, registered.isna(), "缺少辍学（登记）日期，无法确定统计时点", "registered"
    )
    keep = _quarantine(df, t, reason, column, probs)
    out["source"] = df["_source"] + "/" + df["_sheet"]
    out["source_row"] = df["_row"]
    return out, keep


def _ids_valid(frame: pd.DataFrame) -> pd.Series:
    """True where the row's ID number is valid (format and check character)."""
    if "_id_ok" in frame:  # worked out when the IDs were parsed
        return frame["_id_ok"].astype(bool)
    if "id_number" in frame:
        return parsers.valid_ids(frame["id_number"])
    return pd.Series(False, index=frame.index)


def _child_key(frame: pd.DataFrame) -> pd.Series:
    """A key per child: the ID number when it is valid, else name + birth date (or name + school)."""
    valid = _ids_valid(frame)
    birth = (
        frame["birth_date"].astype("str").str.replace("-", "", regex=False)
        if "birth_date" in frame
        else pd.Series(pd.NA, index=frame.index)
    )
    fallback = "n:" + frame["name"].fillna("?") + "|" + birth.fillna(frame.get("school", "").fillna("?"))
    return ("id:" + frame["id_number"]).where(valid, fallback)


def _dedupe_cases(
    cases: pd.DataFrame, keep: np.ndarray, probs: _Problems, report: IngestReport
) -> np.ndarray:
    """Among the kept rows, collapse identical ones (excluded, counted) and quarantine conflicting copies of the
    same episode. Returns the new keep mask; only the few rows that share an episode are ever copied."""
    cmp_cols = [
        c for c in CASE_COLUMNS if c in cases and c not in ("case_id", "child_key", "source", "source_row")
    ]
    keep = keep.copy()
    kept = cases.index[keep]
    # one integer per episode (child + registration date); identical rows are always within one episode, so
    # only rows sharing an episode are hashed, one 64-bit hash per row instead of grouping on every column
    keys = cases.loc[kept, ["child_key", "registered"]]
    episode = pd.Series(
        keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy(), index=kept
    )
    shared = episode[episode.duplicated(keep=False)]
    if shared.empty:
        return keep
    sub = cases.loc[shared.index]
    row_hash = pd.util.hash_pandas_object(sub[cmp_cols], index=False)
    dup = row_hash.duplicated(keep="first")
    report.excluded["duplicate"] += int(dup.sum())
    if dup.any():
        first_row = sub["source_row"].groupby(row_hash, sort=False).transform("first")
        msg = "与第 " + first_row.astype("str") + " 行完全相同，已合并"
        probs.add(
            sub,
            "cases",
            "",
            msg.where(dup, ""),
            pd.Series("", index=sub.index),
            "排除",
            sub["source_row"],
            sub["_sheet"],
        )
        sub, shared = sub[~dup], shared[~dup]
        keep[dup.index[dup]] = False
    conflict = shared.duplicated(keep="first")
    if not conflict.any():
        return keep
    involved = shared.duplicated(keep=False)
    sub, shared, conflict = sub[involved], shared[involved], conflict[involved]
    others = [c for c in cmp_cols if c != "registered"]
    firsts = sub.groupby(shared, sort=False)[others + ["source_row"]].transform("first")
    mine, theirs = sub[others].astype("str"), firsts[others].astype("str")
    differ = ~((mine == theirs) | (mine.isna() & theirs.isna())).fillna(False).astype(bool)
    # field labels of the differing columns, joined: a boolean x label product over the few conflicting rows
    labels = np.array([schema.field_label(c) + "、" for c in others], dtype=object)
    differing = pd.Series(differ.to_numpy().astype(object) @ labels, index=sub.index, dtype="str")
    msg = (
        "与第 "
        + firsts["source_row"].astype("str")
        + " 行为同一儿童、同一辍学日期，但字段不一致："
        + differing.str.rstrip("、")
    )
    probs.add(
        sub, "cases", "name", msg.where(conflict, ""), sub["name"], ERROR, sub["source_row"], sub["_sheet"]
    )
    report.rows_quarantined += int(conflict.sum())
    keep[conflict.index[conflict]] = False
    return keep


FOLLOWUP_TEXT_COLUMNS = (
    "case_id",
    "name",
    "school",
    "id_number",
    "method",
    "person",
    "result",
    "step",
    "step_level",
)


def _build_followups(df: pd.DataFrame, probs: _Problems) -> tuple[pd.DataFrame, pd.Series]:
    t = "followups"
    out = pd.DataFrame(index=df.index)
    for name in ("name", "school", "method", "person", "result", "step"):
        out[name] = _text_col(df, name)
    out["name"] = out["name"].str.replace(" ", "", regex=False)
    ids = parsers.parse_ids(df["id_number"]) if "id_number" in df else None
    out["id_number"] = ids.values if ids is not None else pd.Series(pd.NA, index=df.index, dtype="str")
    out["_id_ok"] = ids.extra["checksum_ok"] if ids is not None else False
    visit, _, visit_err = _parse_date_col(df, t, "visit_date", probs)
    deadline, _, deadline_err = _parse_date_col(df, t, "deadline", probs)
    probs.add(
        df,
        t,
        "deadline",
        deadline_err,
        df.get("deadline", pd.Series(index=df.index)),
        WARNING,
        df["_row"],
        df["_sheet"],
    )
    out["visit_date"], out["deadline"] = visit, deadline
    step_text = out["step"].fillna("") + " " + out["method"].fillna("")
    out["step_level"] = parsers.categorize(
        step_text.str.strip().mask(step_text.str.strip() == ""), schema.STEP_PATTERNS
    ).fillna("school_visit")
    out["step_level"] = out["step_level"].mask(
        deadline.notna() & (out["step_level"] == "school_visit"), "notice"
    )
    reason = pd.Series("", index=df.index, dtype="str")
    column = pd.Series("", index=df.index, dtype="str")
    reason, column = _first_reason(reason, column, visit_err != "", visit_err, "visit_date")
    reason, column = _first_reason(reason, column, visit.isna(), "缺少劝返日期", "visit_date")
    reason, column = _first_reason(
        reason,
        column,
        out["id_number"].isna() & out["name"].isna(),
        "缺少身份证号和姓名，无法对应到个案",
        "name",
    )
    keep = _quarantine(df, t, reason, column, probs)
    out["source_row"] = df["_row"]
    out["_sheet"] = df["_sheet"]
    return out, keep


def _build_special_ed(df: pd.DataFrame, probs: _Problems) -> tuple[pd.DataFrame, pd.Series]:
    t = "special_ed"
    out = pd.DataFrame(index=df.index)
    for name in (
        "township",
        "village",
        "name",
        "school",
        "disability_type",
        "disability_grade",
        "unplaced_reason",
        "placement",
        "note",
    ):
        out[name] = _text_col(df, name)
    ids = parsers.parse_ids(df["id_number"]) if "id_number" in df else None
    out["id_number"] = ids.values if ids is not None else pd.Series(pd.NA, index=df.index, dtype="str")
    if ids is not None:
        probs.add(df, t, "id_number", ids.warnings, df["id_number"], WARNING, df["_row"], df["_sheet"])
    out["sex"] = (
        parsers.parse_sex(df["sex"]) if "sex" in df else pd.Series(pd.NA, index=df.index, dtype="str")
    )
    out["poor"] = _flag_col(df, t, "poor", probs)
    out["home_lessons"] = _int_col(df, t, "home_lessons", probs)
    out["placement_category"] = parsers.categorize(out["placement"], schema.PLACEMENT_PATTERNS)
    reason = pd.Series("", index=df.index, dtype="str")
    column = pd.Series("", index=df.index, dtype="str")
    reason, column = _first_reason(reason, column, out["placement"].isna(), "缺少安置方式", "placement")
    reason, column = _first_reason(
        reason,
        column,
        out["placement_category"].isna(),
        "无法识别的安置方式（应为随班就读、特殊教育学校、送教上门、办理免学、未入学/未安置之一）",
        "placement",
    )
    keep = _quarantine(df, t, reason, column, probs)
    out["source_row"] = df["_row"]
    return out, keep


def _build_schools(df: pd.DataFrame, probs: _Problems) -> tuple[pd.DataFrame, pd.Series]:
    t = "schools"
    out = pd.DataFrame(index=df.index)
    for name in ("school", "township", "school_stage"):
        out[name] = _text_col(df, name)
    for name in (
        "enrol_primary",
        "enrol_junior",
        "cohort_intake",
        "transfers_in",
        "transfers_out",
        "graduates",
    ):
        out[name] = _int_col(df, t, name, probs)
    out["lon"], out["lat"] = _num_col(df, t, "lon", probs), _num_col(df, t, "lat", probs)
    reason = pd.Series("", index=df.index, dtype="str").mask(out["school"].isna(), "缺少学校名称")
    keep = _quarantine(df, t, reason, pd.Series("school", index=df.index), probs)
    out["source_row"] = df["_row"]
    return out, keep


def _build_villages(df: pd.DataFrame, probs: _Problems, coords: str) -> tuple[pd.DataFrame, pd.Series]:
    t = "villages"
    out = pd.DataFrame(index=df.index)
    for name in ("township", "village"):
        out[name] = _text_col(df, name)
    lon, lat = _num_col(df, t, "lon", probs), _num_col(df, t, "lat", probs)
    if coords == "gcj02":
        lon, lat = geo.gcj02_to_wgs84(lon, lat)
    out["lon"], out["lat"] = lon, lat
    missing = lon.isna() | lat.isna()
    probs.add(
        df,
        t,
        "lon",
        pd.Series("", index=df.index).mask(missing, "缺少坐标，地图上将单列显示"),
        df.get("lon", pd.Series(index=df.index)),
        WARNING,
        df["_row"],
        df["_sheet"],
    )
    outside = ~missing & ~geo.in_plausible_box(lon, lat)
    probs.add(
        df,
        t,
        "lon",
        pd.Series("", index=df.index).mask(
            outside, "坐标偏离本区县范围，请核对（是否把经纬度填反，或坐标系不对）"
        ),
        df.get("lon", pd.Series(index=df.index)),
        WARNING,
        df["_row"],
        df["_sheet"],
    )
    reason = pd.Series("", index=df.index, dtype="str").mask(out["village"].isna(), "缺少村名")
    keep = _quarantine(df, t, reason, pd.Series("village", index=df.index), probs)
    out["source_row"] = df["_row"]
    return out, keep


def _build_reports(df: pd.DataFrame, probs: _Problems) -> tuple[pd.DataFrame, pd.Series]:
    values, _, err = _parse_date_col(df, "reports", "report_date", probs)
    reason = err.mask((err == "") & values.isna(), "缺少统计日期")
    keep = _quarantine(df, "reports", reason, pd.Series("report_date", index=df.index), probs)
    return pd.DataFrame({"report_date": values}, index=df.index), keep


# --- linking tables ------------------------------------------------------------------------------------------------


def _valid_18(frame: pd.DataFrame, valid: pd.Series) -> np.ndarray:
    return (valid & frame["id_number"].str.len().eq(18)).fillna(False).astype(bool).to_numpy()


def _link_followups(
    followups: pd.DataFrame, cases: pd.DataFrame, probs: _Problems, report: IngestReport
) -> pd.DataFrame:
    """Attach each visit to the case episode of the same child registered last on or before the visit."""
    if followups.empty:
        return followups.assign(case_id=pd.Series(dtype="str"))
    fu = followups.copy()
    n_fu, n_cases = len(fu), len(cases)
    # a visit is matched on the child's valid ID; without one, on name + school. A case offers both keys.
    # Valid 18-character IDs become integers (their 17 digits); every other key is text, dictionary-encoded
    # into negative integers, so the as-of joins group on numbers, not millions of strings.
    fu_ok = _ids_valid(fu)
    fu_18 = _valid_18(fu, fu_ok)
    rest = fu[~fu_18]  # the visits keyed by text
    visit_text = ("id:" + rest["id_number"]).where(
        fu_ok[~fu_18], "n:" + rest["name"].fillna("?") + "|" + rest["school"].fillna("")
    )
    case_18 = _valid_18(cases, _ids_valid(cases))  # their child_key is "id:" + the ID
    name_key = "n:" + cases["name"].fillna("?") + "|" + cases["school"].fillna("")
    text_codes = -1 - parsers.codes_of(visit_text, cases["child_key"][~case_18], name_key)
    split = np.cumsum([(~fu_18).sum(), (~case_18).sum()])
    visit_keys = np.empty(n_fu, dtype=np.int64)
    visit_keys[fu_18] = parsers.id_digits(fu["id_number"][fu_18])
    visit_keys[~fu_18] = text_codes[: split[0]]
    case_keys = np.empty(n_cases, dtype=np.int64)
    case_keys[case_18] = parsers.id_digits(cases["id_number"][case_18])
    case_keys[~case_18] = text_codes[split[0] : split[1]]
    registered = cases["registered"].to_numpy().astype("datetime64[s]")
    right = (
        pd.DataFrame(
            {
                "key": np.concatenate([case_keys, text_codes[split[1] :]]),
                "registered": np.concatenate([registered, registered]),
                "case": np.tile(np.arange(n_cases), 2),
            }
        )
        .drop_duplicates(["key", "registered"])
        .sort_values("registered", kind="stable")
    )
    left = pd.DataFrame(
        {
            "key": visit_keys,
            "visit": fu["visit_date"].to_numpy().astype("datetime64[s]"),
            "pos": np.arange(n_fu),
        }
    ).sort_values("visit", kind="stable")
    joined = {
        direction: pd.merge_asof(
            left, right, left_on="visit", right_on="registered", by="key", direction=direction
        )["case"]
        for direction in ("backward", "forward")
    }
    # a visit a few days before the registration still belongs to that child's (only) episode
    case_pos = joined["backward"].fillna(joined["forward"]).fillna(-1).astype("int64").to_numpy()
    by_visit = np.full(n_fu, -1, dtype="int64")
    by_visit[left["pos"].to_numpy()] = case_pos
    # -1 (no episode) becomes missing in the take
    fu["case_id"] = pd.Series(
        cases["case_id"].astype("str").array.take(by_visit, allow_fill=True), index=fu.index
    )
    unlinked = fu["case_id"].isna()
    if unlinked.any():
        probs.add(
            fu,
            "followups",
            "name",
            pd.Series("", index=fu.index).mask(unlinked, "找不到对应的个案（身份证号/姓名与台账不符）"),
            fu["name"],
            ERROR,
            fu["source_row"],
            fu["_sheet"],
        )
        report.rows_quarantined += int(unlinked.sum())
    return fu[~unlinked]


def _fill_township_from_school(cases: pd.DataFrame, schools: pd.DataFrame, probs: _Problems) -> pd.DataFrame:
    if schools.empty:
        return cases
    lookup = (
        schools.dropna(subset=["school", "township"])
        .drop_duplicates("school")
        .set_index("school")["township"]
    )
    need = cases["township"].isna() & cases["school"].notna()
    if not need.any():
        return cases
    out = cases.copy()
    filled = out.loc[need, "school"].map(lookup)
    out.loc[need, "township"] = filled
    probs.add(
        out,
        "cases",
        "township",
        pd.Series("", index=out.index).mask(need & out["township"].notna(), "乡镇为空，已按学校所在乡镇补全"),
        out["school"],
        WARNING,
        out["source_row"],
        out["_sheet"],
    )
    return out


# --- the entry point ----------------------------------------------------------------------------------------------


def _input_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES and not p.name.startswith(("~$", "."))
        )
        if not files:
            raise LedgerError(f"文件夹 {path} 中没有 .xlsx/.xls/.csv/.parquet 文件。")
        return files
    if not path.exists():
        raise LedgerError(f"找不到文件：{path}")
    return [path]


def file_digest(path: Path) -> str:
    """SHA-256 of a file or of a folder's table files (names and bytes)."""
    h = hashlib.sha256()
    for p in _input_files(path):
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


_DERIVED_EMPTY = {
    "special_ed": {
        "placement_category": "str",
        "home_lessons": "Int64",
        "poor": "boolean",
        "source_row": "int64",
    },
    "schools": {
        f: "Int64"
        for f in (
            "enrol_primary",
            "enrol_junior",
            "cohort_intake",
            "transfers_in",
            "transfers_out",
            "graduates",
        )
    }
    | {"lon": "float", "lat": "float", "source_row": "int64"},
    "villages": {"lon": "float", "lat": "float", "source_row": "int64"},
    "reports": {"report_date": "datetime64[s]"},
}


def _empty_table(table: str) -> pd.DataFrame:
    """A table the ledger does not have: every column its builder would make, no rows."""
    cols = {f.name: pd.Series(dtype="str") for f in schema.FIELDS[table] if f.name != "seq"}
    cols.update({name: pd.Series(dtype=dtype) for name, dtype in _DERIVED_EMPTY.get(table, {}).items()})
    return pd.DataFrame(cols)


def load_ledger(path: str | Path, coords: str = "wgs84") -> Ledger:
    """Load a ledger file or folder into typed tables; raise LedgerError (Chinese) when it is unusable."""
    path = Path(path)
    report = IngestReport()
    probs = _Problems()
    raws: dict[str, list[RawTable]] = {t: [] for t in schema.TABLES}
    files = _input_files(path)
    meta: dict = {"source_name": "、".join(f.name for f in files)}
    for file in files:
        grids = read_grids(file)
        file_hint = schema.table_from_name(file.stem)
        for grid in grids:
            if grid.hidden:
                report.sheets.append(SheetReport(grid.source, grid.sheet, None, "隐藏（已忽略）"))
                continue
            hint = schema.table_from_name(grid.sheet) or (file_hint if len(grids) == 1 else None)
            if grid.frame is not None:
                raw = _raw_from_frame(grid, hint)
            else:
                match = find_header(grid.rows, hint)
                raw = _raw_from_grid(grid, match) if match else None
            if raw is None:
                nonempty = sum(1 for r in grid.rows if any(str(c).strip() for c in r)) if grid.rows else 0
                note = "前 15 行中找不到可识别的表头" if nonempty else "空表"
                report.sheets.append(SheetReport(grid.source, grid.sheet, None, "已忽略", None, 0, note))
                continue
            raw.frame["_source"], raw.frame["_sheet"] = grid.source, grid.sheet
            raws[raw.table].append(raw)
            for k, v in raw.excluded.items():
                report.excluded[k] += v
            report.rows_read += raw.rows_read
            report.merged_filled += raw.merged_filled
            if raw.unmapped:
                report.unmapped_columns[f"{grid.source}/{grid.sheet}"] = raw.unmapped
            report.sheets.append(
                SheetReport(
                    grid.source,
                    grid.sheet,
                    raw.table,
                    "已读取",
                    raw.header_row,
                    raw.rows_read,
                    f"合并单元格补全 {raw.merged_filled} 处" if raw.merged_filled else "",
                )
            )
            for k, v in raw.meta.items():
                meta.setdefault(k, v)
    if not raws["cases"]:
        seen = "、".join(f"{s.sheet}" for s in report.sheets) or "无"
        raise LedgerError(
            "没有找到辍学台账：前 15 行中没有识别出包含“姓名/身份证号”和“辍学时间/登记日期”等列的表头"
            f"（已检查的工作表：{seen}）。如果文件是 CSV，请确认编码为 UTF-8 或 GBK（不支持繁体 Big5、日文 Shift-JIS）。"
        )

    if sum(r.rows_read for r in raws["cases"]) == 0:
        raise LedgerError("辍学台账只有表头，没有任何数据行。")

    def combined(table: str) -> pd.DataFrame:
        parts = [r.frame for r in raws[table]]
        if not parts:
            return pd.DataFrame(columns=["_row", "_sheet", "_source"])
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    builders = {
        "cases": _build_cases,
        "followups": _build_followups,
        "special_ed": _build_special_ed,
        "schools": _build_schools,
        "reports": _build_reports,
        "villages": lambda d, p: _build_villages(d, p, coords),
    }
    built: dict[str, pd.DataFrame] = {}
    for table, build in builders.items():
        raw = combined(table)
        if raw.empty:
            built[table] = _empty_table(table)
            continue
        frame, keep = build(raw, probs)
        report.rows_quarantined += int((~keep).sum())
        if table == "cases":
            # cases stay whole until the duplicate checks are done: one take at the end, not a copy per step
            frame = frame.reset_index(drop=True)
            frame["_sheet"] = raw["_sheet"].to_numpy()
            built[table], case_keep = frame, keep.to_numpy()
        else:
            built[table] = frame[keep].copy()

    cases = built["cases"]
    if "_sheet" not in cases:  # every case row was blank or a total row
        cases["_sheet"], case_keep = pd.Series(dtype="str"), np.ones(len(cases), dtype=bool)
    cases["child_key"] = _child_key(cases)
    case_keep = _dedupe_cases(cases, case_keep, probs, report)
    # the kept rows by registration date, then file/sheet and row: integer keys, one lexsort (NaT sorts last)
    rows = np.flatnonzero(case_keep)
    source_code = pd.factorize(cases["source"].to_numpy()[rows], sort=True)[0]
    registered = cases["registered"].to_numpy()[rows]
    registered_key = np.where(
        np.isnat(registered), np.iinfo("int64").max, registered.astype("datetime64[s]").astype("int64")
    )
    order = np.lexsort((cases["source_row"].to_numpy()[rows], source_code, registered_key))
    cases = cases.take(rows[order]).reset_index(drop=True)
    cases = _fill_township_from_school(cases, built["schools"], probs)
    cases["case_id"] = "C" + pd.Series(np.arange(1, len(cases) + 1), index=cases.index).astype(
        "str"
    ).str.zfill(6)
    if built["followups"].empty:
        followups = pd.DataFrame(
            {
                **{c: pd.Series(dtype="str") for c in FOLLOWUP_TEXT_COLUMNS},
                "visit_date": pd.Series(dtype="datetime64[s]"),
                "deadline": pd.Series(dtype="datetime64[s]"),
                "source_row": pd.Series(dtype="int64"),
            }
        )
    else:
        followups = _link_followups(built["followups"], cases, probs, report)
    cases = cases[CASE_COLUMNS]
    followups = followups.drop(columns=[c for c in ("_sheet", "child_key", "_id_ok") if c in followups])
    report_dates = tuple(
        sorted(pd.Timestamp(d) for d in built["reports"].get("report_date", pd.Series()).dropna().unique())
    )

    report.tables = {
        "cases": len(cases),
        "followups": len(followups),
        "special_ed": len(built["special_ed"]),
        "schools": len(built["schools"]),
        "villages": len(built["villages"]),
        "reports": len(built["reports"]),
    }
    report.rows_loaded = sum(report.tables.values())
    report.rows_excluded = sum(report.excluded.values())
    report.problems = probs.frame()
    if report.rows_read != report.rows_loaded + report.rows_quarantined + report.rows_excluded:
        raise AssertionError(
            f"row accounting broken: read {report.rows_read} != loaded {report.rows_loaded} + quarantined "
            f"{report.rows_quarantined} + excluded {report.rows_excluded}"
        )
    meta["sha256"] = file_digest(path)
    meta["mtime"] = dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")
    meta.setdefault("district", "")
    return Ledger(
        cases,
        followups,
        built["special_ed"].reset_index(drop=True),
        built["schools"].reset_index(drop=True),
        built["villages"].reset_index(drop=True),
        report_dates,
        report,
        meta,
    )
