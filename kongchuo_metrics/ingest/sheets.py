"""Sheets to raw tables: header detection (one or two rows), ledger facts above the header, and the
exclusion of blank, total, footer and repeated-header rows."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import header_match, parsers, schema
from ..parsers import as_text
from .files import HEADER_SCAN_ROWS, Grid
from .ledger import ColumnInfo
from .mapping import column_infos

UNUSED = ""  # a [columns] mapping to this (or to 不使用) marks the column as not used


@functools.lru_cache(maxsize=20_000)
def _guess(table: str, cell: str) -> header_match.Guess | None:
    return header_match.guess_field(table, cell)


def _column_guess(table: str, cell: object, user: dict[str, str]) -> header_match.Guess | None:
    """The field a header cell names: the bureau's own [columns] mapping first, then the schema's guess."""
    if not isinstance(cell, str) or not cell.strip() or len(cell) > 60:
        return None
    if user:
        key = header_match.normalize_header(cell)
        if key in user:
            name = (
                header_match.label_to_field(table, user[key]) if user[key] not in (UNUSED, "不使用") else None
            )
            return header_match.Guess(name, 1.0, "设置") if name else None
    return _guess(table, cell)


def _is_unused(cell: str, user: dict[str, str]) -> bool:
    return bool(cell) and user.get(header_match.normalize_header(cell), None) in (UNUSED, "不使用")


def _row_matches(cells: list, table: str, user: dict[str, str]) -> dict[int, header_match.Guess]:
    """Column index -> guess; a field claimed by two columns goes to the surer one (the first on a tie)."""
    best: dict[str, int] = {}
    guesses: dict[int, header_match.Guess] = {}
    for i, cell in enumerate(cells):
        g = _column_guess(table, cell, user)
        if g is None:
            continue
        j = best.get(g.field)
        if j is None or g.confidence > guesses[j].confidence:
            if j is not None:
                del guesses[j]
            best[g.field] = i
            guesses[i] = g
    return dict(sorted(guesses.items()))


def _signature_ok(table: str, fields: set[str]) -> bool:
    return any(set(sig) <= fields for sig in schema.SIGNATURE[table])


def _cell_str(row: list, i: int) -> str:
    v = row[i] if i < len(row) else None
    return v.strip() if isinstance(v, str) else ""


def _is_subheader_row(top: list, below: list) -> bool:
    """A second header row: only short labels, under at most half as many cells as the row above fills."""
    filled_top = sum(1 for i in range(len(top)) if _cell_str(top, i))
    cells = [below[i] for i in range(len(below)) if below[i] not in (None, "")]
    if not cells or len(cells) * 2 > max(filled_top, 1):
        return False
    return all(isinstance(c, str) and 0 < len(c.strip()) <= 10 and not c.strip()[:1].isdigit() for c in cells)


def _combined_header(top: list, below: list) -> list:
    """Two-row header: a parent label over short sub-headers becomes parent+child (劝返责任人 + 政府线,
    监护人 + 姓名/电话); a parent spans the empty cells after it while they have sub-headers."""
    out, parent = [], ""
    for i in range(max(len(top), len(below))):
        t, b = _cell_str(top, i), _cell_str(below, i)
        if t:
            parent = t if b else ""
            out.append(t + b if b and b not in t else t)
        elif b:
            out.append(parent + b if parent else b)
        else:
            parent = ""
            out.append("")
    return out


@dataclass(frozen=True)
class HeaderMatch:
    """Where the header is, the table it belongs to, and what each column was taken to be."""

    table: str
    row: int  # index into grid.rows of the (last) header row
    columns: dict[int, str]
    header_rows: int = 1
    guesses: dict[int, header_match.Guess] = field(default_factory=dict)
    headers: tuple[str, ...] = ()  # the header text of every column (two rows joined)
    unused: tuple[int, ...] = ()  # columns the bureau's [columns] mapping marks as not used


def find_header(
    rows: list[list],
    hint: str | None,
    user: dict[str, str] | None = None,
    tables: tuple[str, ...] | None = None,
) -> HeaderMatch | None:
    """The header row in the first 15 rows and the table it belongs to (the sheet-name hint breaks ties).

    `tables` limits the candidates (a list checked against the ledger, schema.LIST_FIELDS, names its kind).
    """
    user = user or {}
    best: tuple[float, int, HeaderMatch] | None = None
    if tables is None:
        tables = [hint] if hint else list(schema.FIELDS)
        if hint:
            tables += [t for t in schema.FIELDS if t != hint]
    for r in range(min(HEADER_SCAN_ROWS, len(rows))):
        if best is not None and r > best[2].row + 2:
            break  # rows below a found header are data: a header is never three rows under another
        if sum(1 for c in rows[r] if isinstance(c, str) and c.strip()) < 1:
            continue
        candidates = [(rows[r], 1)]
        if r + 1 < len(rows) and _is_subheader_row(rows[r], rows[r + 1]):
            candidates = [(_combined_header(rows[r], rows[r + 1]), 2)]
        for cells, nrows in candidates:
            for t in tables:
                guesses = _row_matches(cells, t, user)
                cols = {i: g.field for i, g in guesses.items()}
                if not _signature_ok(t, set(cols.values())):
                    continue
                score = sum(g.confidence for g in guesses.values()) + (3 if t == hint else 0)
                key = (score, -nrows)
                if best is None or key > best[:2]:
                    headers = tuple(str(c).strip() if isinstance(c, str) else "" for c in cells)
                    unused = tuple(i for i, c in enumerate(headers) if _is_unused(c, user))
                    match = HeaderMatch(t, r + nrows - 1, cols, nrows, guesses, headers, unused)
                    best = (score, -nrows, match)
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
        meta["title"] = header_match.normalize_text(texts[0])
        m = _DISTRICT.match(meta["title"])
        if m:
            meta["district"] = m.group(1)
    joined = " ".join(texts)
    if m := _META_UNIT.search(joined):
        meta["unit"] = m.group(1)
    if m := _META_DATE.search(header_match.normalize_text(joined)):
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
# a signature line: one of these anywhere in a row that fills only a few cells
_SIGNATURE = "^[ \t\u3000]*(填表人|填报人|审核人|审核|制表人|统计人|单位负责人|负责人|校长|联系电话|填表日期|填报日期)[ \t\u3000]*[:：]"
SIGNATURE_MAX_CELLS = 6


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
    columns: list[ColumnInfo] = field(default_factory=list)


def _blank_rows(columns: list[pd.Series], index: pd.Index) -> tuple[pd.Series, np.ndarray]:
    """True for rows whose every cell is empty (None, NaN, "" or white space only), and each row's filled count."""
    if not columns:
        return pd.Series(True, index=index), np.zeros(len(index), dtype=int)
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
    return pd.Series(empty.all(axis=1), index=index), (~empty).sum(axis=1)


def _raw_from_grid(grid: Grid, match: HeaderMatch) -> RawTable:
    rows = grid.rows
    data = rows[match.row + 1 :]
    width = max((len(r) for r in rows[: match.row + 1]), default=0)
    width = max(width, max((len(r) for r in data[:1000]), default=0))
    frame = pd.DataFrame(data, dtype=object) if data else pd.DataFrame(columns=range(width), dtype=object)
    frame = frame.reindex(columns=range(max(width, frame.shape[1])))
    excel_rows = np.arange(len(frame)) + grid.row_offset + match.row + 2
    frame.index = pd.RangeIndex(len(frame))
    header_cells = list(match.headers) or rows[match.row]
    unmapped = [
        str(header_cells[i])
        for i in range(len(header_cells))
        if i not in match.columns and isinstance(header_cells[i], str) and header_cells[i].strip()
    ]
    # columns holding only text become arrow-backed once here, so each later parser reads them without
    # converting a hundred thousand Python strings again; mixed columns (dates, numbers) stay as read
    columns = [parsers.arrow_if_text(frame[i]) for i in frame.columns]
    blank_all, filled_cells = _blank_rows(columns, frame.index)
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
    sparse = np.flatnonzero((filled_cells > 0) & (filled_cells <= SIGNATURE_MAX_CELLS))
    if len(sparse):
        # 填表人：… 审核人：… 联系电话：… anywhere in a row of few cells is a signature line, not a child
        few = frame.iloc[sparse]
        hit = np.zeros(len(sparse), dtype=bool)
        for c in few.columns:
            cells = as_text(few[c])
            hit |= cells.str.match(_SIGNATURE).fillna(False).astype(bool).to_numpy()
        footer.iloc[sparse[hit]] = True
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
        column_infos(
            match.table,
            match.guesses
            or {i: header_match.Guess(n, 1.0, "标准表头/别名") for i, n in match.columns.items()},
            header_cells,
            columns,
            keep.to_numpy(),
            grid.source,
            grid.sheet,
            set(match.unused),
        ),
    )


def _raw_from_frame(grid: Grid, hint: str | None, user: dict[str, str] | None = None) -> RawTable | None:
    frame = grid.frame
    assert frame is not None
    headers = [str(c) for c in frame.columns]
    match = find_header([headers], hint, user)
    if match is None:
        # English canonical names are accepted as they are
        for t in ([hint] if hint else []) + list(schema.FIELDS):
            names = {f.name for f in schema.FIELDS[t]}
            cols = {i: h for i, h in enumerate(headers) if h in names}
            if _signature_ok(t, set(cols.values())):
                match = HeaderMatch(t, 0, cols, headers=tuple(headers))
                break
    if match is None:
        return None
    canon = pd.DataFrame({name: frame.iloc[:, i] for i, name in match.columns.items()})
    canon["_row"] = np.arange(len(frame)) + 2
    unmapped = [h for i, h in enumerate(headers) if i not in match.columns]
    excluded = {"blank": 0, "total": 0, "footer": 0, "header": 0, "duplicate": 0}
    guesses = match.guesses or {
        i: header_match.Guess(n, 1.0, "标准表头/别名") for i, n in match.columns.items()
    }
    infos = column_infos(
        match.table,
        guesses,
        headers,
        [frame.iloc[:, i] for i in range(frame.shape[1])],
        np.ones(len(frame), dtype=bool),
        grid.source,
        grid.sheet,
        set(match.unused),
    )
    return RawTable(
        match.table, grid.source, grid.sheet, canon, len(frame), excluded, 0, unmapped, {}, 1, infos
    )
