"""Lists checked against the ledger (学籍, 脱贫户, pushed, 户籍, special education) -> typed tables with ID keys.

Each list goes through the ledger's own ingest: the same file checks (size, zip and XML bombs, encrypted or
disguised files), the same CSV decoding (UTF-8, GBK/GB18030, UTF-16), the same header finder (title rows above,
two-row headers) and the same row accounting (blank, 合计, footer and repeated header rows excluded and counted).
A province-sized CSV (millions of rows) is read column-wise by pyarrow after its header was found the same way.

Every row gets an integer key from its ID number (the first 17 digits; a 15-digit ID is upgraded), or -1 when
it has none: such rows are "unmatchable" and listed, never matched on a name.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import ingest, parsers, privacy, schema
from ..ingest import Grid, HeaderMatch, LedgerError, SheetReport, files
from ..ingest import sheets as sheet_io

# CSV files above this size are read column-wise by pyarrow instead of as a grid of Python cells
FAST_TEXT_BYTES = 24 * 1024 * 1024
# a whole province's 学籍 export: larger than any ledger, so lists get their own ceiling (CSV only)
MAX_LIST_BYTES = 2 * 1024 * 1024 * 1024
_HEAD_BYTES = 1 << 20

ID_STATES = {"ok": "有效", "missing": "缺少身份证号", "invalid": "身份证号无效"}
# columns of few distinct values (schools, grades, statuses) are normalised once per value
_NAMES = ("name", "head_name")
_per_value_text = parsers.per_unique(parsers.as_text)
TEXT_FIELDS = (
    "township",
    "village",
    "school",
    "name",
    "sex",
    "grade",
    "class_name",
    "enrol_status",
    "household_no",
    "head_name",
    "relation",
    "poverty_kind",
    "push_reason",
    "check_result",
    "placement",
    "disability_type",
    "unplaced_reason",
)


@dataclass
class ListTable:
    """One uploaded list: canonical columns plus id_key (int64, -1 = none), id_state, source_row, sheet."""

    kind: str
    source: str
    digest: str
    frame: pd.DataFrame
    rows_read: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    sheets: list[SheetReport] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ingest.PROBLEM_COLUMNS))
    # the sheets as received (for the pushed list's feedback sheet): grid, header match or None
    grids: list[tuple[Grid, HeaderMatch | None]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return schema.LIST_LABELS[self.kind]

    @property
    def rows_loaded(self) -> int:
        return len(self.frame)

    @property
    def unmatchable(self) -> int:
        return int((self.frame["id_key"] < 0).sum())

    def accounting_ok(self) -> bool:
        return self.rows_read == self.rows_loaded + sum(self.excluded.values())


# --- ID keys ------------------------------------------------------------------------------------------------


def id_keys(
    raw: pd.Series, student_no: pd.Series | None = None
) -> tuple[np.ndarray, pd.Series, pd.Series, pd.Series]:
    """Integer keys (int64, -1 where no valid ID), the state per row (ok/missing/invalid), birth dates and the
    normalised ID text.

    The ID is read as the ledger reads it (text, full-width digits and a lowercase x normalised, quotes and
    spaces dropped, GB 11643 check character). A 学籍号 of the form G + ID number stands in for a missing or
    invalid ID. The key is the ID's first 17 digits, which with a correct check character identify it.
    """
    parsed = parsers.parse_ids(raw)
    valid = parsed.extra["valid"].fillna(False).astype(bool)
    text = parsed.values
    birth = parsed.extra["birth"]
    present = text.notna()
    if student_no is not None and not valid.all():
        # only the rows without a valid ID look at the 学籍号 (a few percent of a big export)
        need = ~valid
        g = parsers.as_text(student_no[need]).str.replace("[ \t'\"‘’“”`]", "", regex=True)
        present = present | g.notna().reindex(raw.index, fill_value=False)
        g = g.where(g.str.match("^[Gg]").fillna(False).astype(bool)).str[1:]
        use = g.notna()
        if use.any():
            from_g = parsers.parse_ids(g[use])
            g_ok = from_g.extra["valid"].fillna(False).astype(bool)
            rows = g_ok.index[g_ok]
            text = text.copy()
            text.loc[rows] = from_g.values.loc[rows]
            birth = birth.copy()
            birth.loc[rows] = from_g.extra["birth"].loc[rows]
            valid = valid.copy()
            valid.loc[rows] = True
    keys = np.full(len(raw), -1, dtype=np.int64)
    long18 = (valid & text.str.len().eq(18)).fillna(False).astype(bool).to_numpy()
    old15 = valid.to_numpy() & ~long18
    if long18.any():
        keys[long18] = parsers.id_digits(text[long18])
    if old15.any():
        # a first-generation 15-digit ID is the 18-digit one without "19" in the year and without the check
        t15 = text[old15]
        keys[old15] = (
            t15.str[:6].astype("int64").to_numpy() * 10**11
            + 19 * 10**9
            + t15.str[6:15].astype("int64").to_numpy()
        )
    state = pd.Series(
        np.where(keys >= 0, "ok", np.where(present.to_numpy(), "invalid", "missing")),
        index=raw.index,
        dtype="str",
    )
    return keys, state, birth.where(keys >= 0), parsed.values


# --- reading -------------------------------------------------------------------------------------------------


def read_list(path: str | Path, kind: str, name: str | None = None) -> ListTable:
    """Read one list file of `kind` (schema.LIST_KINDS); raise LedgerError (Chinese) when it is unusable."""
    if kind not in schema.LIST_KINDS:
        raise ValueError(f"unknown list kind {kind!r}")
    path = Path(path)
    name = name or path.name
    size, head = files.file_head(path, name)
    sniffed = files.sniff(head)
    label = schema.LIST_LABELS[kind]
    if sniffed == "text" and size > FAST_TEXT_BYTES:
        files.file_head(path, name, MAX_LIST_BYTES)  # a 学籍 export in CSV may be larger than a ledger
        table = _read_big_text(path, kind, name)
    else:
        table = _read_with_ingest(path, kind, name)
    if table.rows_read == 0 or (table.frame.empty and not sum(table.excluded.values())):
        raise LedgerError(f"{name}：{label}只有表头，没有任何数据行。")
    table.digest = ingest.file_digest(path)
    if not table.accounting_ok():
        raise AssertionError(f"row accounting broken for {name}")
    return table


def _no_header(name: str, kind: str, seen: str) -> LedgerError:
    label = schema.LIST_LABELS[kind]
    id_hint = "身份证件号/全国学籍号" if kind == "xueji" else "身份证号/公民身份号码"
    return LedgerError(
        f"{name}：前 15 行中找不到{label}的表头（需要有“{id_hint}”列；已检查：{seen or '无'}）。"
        "如果文件是 CSV，请确认编码为 UTF-8 或 GBK。"
    )


def _read_with_ingest(path: Path, kind: str, name: str) -> ListTable:
    grids = ingest.read_grids(path)
    raws: list[sheet_io.RawTable] = []
    sheets: list[SheetReport] = []
    kept: list[tuple[Grid, HeaderMatch | None]] = []
    for grid in grids:
        if grid.hidden:
            sheets.append(SheetReport(name, grid.sheet, None, "隐藏（已忽略）"))
            kept.append((grid, None))
            continue
        if grid.frame is not None:  # Parquet: the column names are the header
            grid = Grid(
                grid.source, grid.sheet, [list(map(str, grid.frame.columns)), *grid.frame.to_numpy().tolist()]
            )
        match = ingest.find_header(grid.rows, kind, tables=(kind,))
        kept.append((grid, match))
        if match is None:
            sheets.append(
                SheetReport(name, grid.sheet, None, "已忽略", None, 0, "前 15 行中找不到可识别的表头")
            )
            continue
        raw = sheet_io.raw_from_grid(grid, match)
        raw.frame["_sheet"] = grid.sheet
        raws.append(raw)
        sheets.append(SheetReport(name, grid.sheet, kind, "已读取", raw.header_row, raw.rows_read))
    if not raws:
        raise _no_header(name, kind, "、".join(s.sheet for s in sheets))
    frame = pd.concat([r.frame for r in raws], ignore_index=True) if len(raws) > 1 else raws[0].frame
    excluded = {k: sum(r.excluded[k] for r in raws) for k in raws[0].excluded}
    unmapped = [c for r in raws for c in r.unmapped]
    table = ListTable(
        kind, name, "", frame, sum(r.rows_read for r in raws), excluded, sheets, unmapped, grids=kept
    )
    return _typed(table)


def _encoding(head: bytes, name: str) -> tuple[str, int]:
    """The encoding of a big CSV from its first megabyte (cut at a line end) and the BOM length."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf8", 3
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LedgerError(
            f"{name}：超过 {FAST_TEXT_BYTES // 1_000_000} MB 的 UTF-16 文本请另存为 UTF-8 或 GBK 的 CSV。"
        )
    if b"\x00" in head[:4096]:
        raise LedgerError(f"{name}：文件含有二进制内容，不是表格文件，无法识别。")
    cut = head[: head.rfind(b"\n") + 1] or head
    for enc in ("utf-8", "gb18030"):
        try:
            cut.decode(enc, errors="strict")
            return ("utf8" if enc == "utf-8" else enc), 0
        except UnicodeDecodeError:
            continue
    raise LedgerError(
        f"{name}：无法识别文件编码（支持 UTF-8、GBK/GB18030、UTF-16）。请在 Excel/WPS 中另存为“CSV UTF-8”。"
    )


def _read_big_text(path: Path, kind: str, name: str) -> ListTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    enc, bom = _encoding(head, name)
    text = head[bom : head.rfind(b"\n") + 1].decode("utf-8" if enc == "utf8" else enc)
    lines = text.splitlines()[: files.HEADER_SCAN_ROWS + 1]
    counts = {sep: sum(line.count(sep) for line in lines) for sep in (",", "\t", ";", "|")}
    sep = max(counts, key=counts.get) if max(counts.values()) else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=sep))
    match = ingest.find_header(rows, kind, tables=(kind,))
    if match is None:
        raise _no_header(name, kind, path.stem)
    header = rows[match.row]
    width = len(header)
    names = [f"c{i}" for i in range(width)]
    bad: dict[str, int] = {"blank": 0, "malformed": 0}

    def on_invalid(row) -> str:
        bad["blank" if not (row.text or "").strip(sep + " \r\n\t") else "malformed"] += 1
        return "skip"

    wanted = sorted(set(match.columns) | {0})
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(
            skip_rows=match.row + 1, column_names=names, encoding=enc, block_size=1 << 24
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=sep, invalid_row_handler=on_invalid, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.large_string() for n in names},
            include_columns=[names[i] for i in wanted],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    cols = {i: parsers.str_series(table.column(names[i]), pd.RangeIndex(table.num_rows)) for i in wanted}
    del table
    index = pd.RangeIndex(len(cols[0]))
    blank, _ = sheet_io.blank_rows([cols[i] for i in wanted], index)
    first = parsers.as_text(cols[0]).str.replace(" ", "")
    total = first.str.match(sheet_io._TOTAL).fillna(False).astype(bool)
    for i, fname in match.columns.items():
        if fname in ("seq", "township", "village", "name", "school") and i != 0:
            col = cols[i]
            cand = col.str.contains(sheet_io._TOTAL_FIRST, regex=True).fillna(False).astype(bool)
            if cand.any():
                hit = parsers.as_text(col[cand]).str.replace(" ", "").str.match(sheet_io._TOTAL).fillna(False)
                total |= hit.astype(bool).reindex(index, fill_value=False)
    footer = first.str.match(sheet_io._FOOTER).fillna(False).astype(bool)
    if footer.any() and len(wanted) > 1:
        rest = pd.concat([parsers.is_blank(cols[i][footer]) for i in wanted if i != 0], axis=1).all(axis=1)
        footer.loc[rest.index] = rest
    header_like = sum(cols[i].eq(header[i]).fillna(False).astype(int) for i in match.columns)
    repeated = pd.Series(header_like >= max(2, len(match.columns) // 2), index=index)
    total &= ~blank
    footer &= ~blank & ~total
    repeated &= ~blank & ~total & ~footer
    keep = ~(blank | total | footer | repeated)
    frame = pd.DataFrame({fname: cols[i] for i, fname in match.columns.items()}, index=index)
    frame["_row"] = np.arange(len(index)) + match.row + 2
    frame["_sheet"] = path.stem
    frame = frame[keep.to_numpy()].reset_index(drop=True)
    excluded = {
        "blank": int(blank.sum()) + bad["blank"],
        "total": int(total.sum()),
        "footer": int(footer.sum()),
        "header": int(repeated.sum()),
        "duplicate": 0,
        "malformed": bad["malformed"],
    }
    rows_read = len(index) + bad["blank"] + bad["malformed"]
    unmapped = [h for i, h in enumerate(header) if i not in match.columns and h.strip()]
    sheets = [SheetReport(name, path.stem, kind, "已读取", match.row + 1, rows_read)]
    out = ListTable(kind, name, "", frame, rows_read, excluded, sheets, unmapped)
    if bad["malformed"]:
        out.problems = pd.DataFrame(
            [
                [
                    schema.LIST_LABELS[kind],
                    path.stem,
                    pd.NA,
                    "",
                    "",
                    f"{bad['malformed']} 行的列数与表头不符，已排除",
                    "错误",
                ]
            ],
            columns=ingest.PROBLEM_COLUMNS,
        )
    return _typed(out)


def _typed(table: ListTable) -> ListTable:
    """Canonical text columns normalised as the ledger's are, the ID key, and a problem line per unmatchable row."""
    raw = table.frame
    out = pd.DataFrame(index=raw.index)
    for name in TEXT_FIELDS:
        if name in raw:
            out[name] = parsers.as_text(raw[name]) if name in _NAMES else _per_value_text(raw[name])
    ids = raw["id_number"] if "id_number" in raw else pd.Series(pd.NA, index=raw.index, dtype="str")
    keys, state, birth, id_text = id_keys(ids, raw["student_no"] if "student_no" in raw else None)
    out["id_number"] = id_text
    if "student_no" in raw:
        out["student_no"] = parsers.as_text(raw["student_no"])
    out["birth_date"] = birth
    out["id_key"] = keys
    out["id_state"] = state
    out["source_row"] = raw["_row"].to_numpy().astype("int64")
    out["sheet"] = raw["_sheet"].to_numpy() if "_sheet" in raw else ""
    if "placement" in out:
        out["placement_category"] = parsers.categorize(out["placement"], schema.PLACEMENT_PATTERNS)
    table.frame = out
    bad = state != "ok"
    if bad.any():
        rows = out[bad.to_numpy()]
        shown = privacy.mask_value("id_number", ids[bad.to_numpy()].astype("str"))
        problems = pd.DataFrame(
            {
                "table": table.label,
                "sheet": rows["sheet"].to_numpy(),
                "row": rows["source_row"].to_numpy(),
                "column": schema.field_label("id_number"),
                "value": shown.to_numpy(),
                "problem": state[bad]
                .map(
                    {"missing": "缺少身份证号，无法比对", "invalid": "身份证号无效（格式或校验位），无法比对"}
                )
                .to_numpy(),
                "severity": "警告",
            }
        )
        table.problems = (
            pd.concat([table.problems, problems], ignore_index=True) if len(table.problems) else problems
        )
    return table


def bytes_digest(data: bytes) -> str:
    """SHA-256 of an upload's bytes (what a check run records of its inputs)."""
    return hashlib.sha256(data).hexdigest()
