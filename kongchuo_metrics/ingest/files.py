"""Reading ledger files into raw grids, and refusing unsafe or broken files with a Chinese reason."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .ledger import LedgerError

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 600 * 1024 * 1024
MAX_COMPRESSION_RATIO = 150
MAX_ROWS = 1_100_000  # CSV / Parquet
MAX_SHEET_ROWS = 500_000  # one worksheet of an xlsx
MAX_COLS = 300
MAX_SHEET_CELLS = 25_000_000  # rows x columns: calamine holds a sheet as a dense grid
HEADER_SCAN_ROWS = 15
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
TABLE_SUFFIXES = (*EXCEL_SUFFIXES, ".csv", ".txt", ".tsv", ".parquet")


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
    # a frame of some columns only (see _read_parquet's `pick`): every column's name, the frame's columns are
    # their positions, and `more(positions)` reads other columns (all rows) in the same form
    headers: tuple[str, ...] = ()
    more: Callable[[list[int]], pd.DataFrame] | None = None


def sniff(head: bytes) -> str:
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
    try:
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
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        # a central directory that lies about sizes or checksums (a tampered or truncated file)
        raise LedgerError(
            f"{path.name}：Excel 文件已损坏（压缩包记录的大小或校验值与内容不符），无法打开。"
            "请在 Excel/WPS 中重新保存后再导入。"
        ) from exc


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


def _read_parquet(path: Path, pick: Callable[[list[str]], list[int] | None] | None = None) -> list[Grid]:
    """The file as one typed frame; with `pick` (column names -> the positions to read, None for all) only the
    picked columns are read, and the grid can read the others later (Grid.headers, Grid.more)."""
    try:
        if pick is not None:
            import pyarrow.parquet as pq

            schema = pq.read_schema(path)
            index_cols = {
                c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)
            }
            names = [str(n) for n in schema.names if n not in index_cols]
            positions = pick(names) if len(set(names)) == len(names) else None
            if positions is not None:
                rows = pq.read_metadata(path).num_rows

                def more(chosen: list[int]) -> pd.DataFrame:
                    if not chosen:
                        return pd.DataFrame(index=pd.RangeIndex(rows))
                    frame = pd.read_parquet(path, columns=[names[i] for i in chosen])
                    frame.columns = list(chosen)
                    return frame.reset_index(drop=True)

                frame = more(sorted(set(positions)))
                return [Grid(path.name, path.stem, [], frame=frame, headers=tuple(names), more=more)]
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise LedgerError(f"{path.name}：Parquet 文件无法读取（{type(exc).__name__}）。") from exc
    return [Grid(path.name, path.stem, [], frame=frame)]


def file_head(path: Path, name: str, limit: int | None = None) -> tuple[int, bytes]:
    """(size, first 8 bytes) of a file about to be read; LedgerError (Chinese) when it is missing, empty or
    over `limit` bytes."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LedgerError(f"找不到文件：{path}") from exc
    if size == 0:
        raise LedgerError(f"{name}：文件是空的（0 字节）。")
    if limit is not None and size > limit:
        raise LedgerError(f"{name}：文件 {size / 1e6:.0f} MB，超过上限 {limit // 1_000_000} MB。")
    with open(path, "rb") as fh:
        return size, fh.read(8)


def read_grids(path: Path, pick: Callable[[list[str]], list[int] | None] | None = None) -> list[Grid]:
    """The sheets of one file as grids, dispatched on the content, not the name (a CSV renamed .xlsx works).

    `pick`: for a Parquet file, which columns to read (see _read_parquet); other formats are read whole."""
    size, head = file_head(path, path.name, MAX_FILE_BYTES)
    kind = sniff(head)
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
        return _read_parquet(path, pick)
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


def content_digest(path: Path) -> str:
    """SHA-256 of a file's bytes alone (the same when the file is copied under another name); a folder's
    file_digest."""
    if path.is_dir():
        return file_digest(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file or of a folder's table files (names and bytes)."""
    h = hashlib.sha256()
    for p in _input_files(path):
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
