"""What each column was taken to be: the mapping table of a sheet, with three masked sample values per column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import header_match, privacy, schema
from ..parsers import as_text
from .ledger import ColumnInfo

SAMPLES = 3
_DIGITS = r"\d{6,}"
_HAN_NAME = r"^[\u4e00-\u9fff·]{2,4}$"


def mask_unknown(values: pd.Series) -> pd.Series:
    """Values of a column nobody has named yet: anything that may be an ID, a phone or a child's name is
    masked (long digit runs keep their ends, 2–4 Chinese characters keep the first); the rest is shown."""
    text = values.astype("str")
    digits = text.str.contains(_DIGITS, regex=True).fillna(False).astype(bool)
    name = text.str.match(_HAN_NAME).fillna(False).astype(bool)
    out = text.mask(digits, text.str[:2] + "****" + text.str[-2:])
    return out.mask(name & ~digits, privacy.mask_people(text[name & ~digits]))


def _samples(col: pd.Series, keep: np.ndarray, field: str | None) -> tuple[str, ...]:
    if len(keep) == len(col):
        # the first 2000 kept rows, from the shortest prefix holding them (the column is never filtered whole)
        end = 2000
        while end < len(keep) and np.count_nonzero(keep[:end]) < 2000:
            end *= 2
        head = col.iloc[:end][keep[:end]].head(2000)
    else:
        head = col.head(2000)
    text = as_text(head).dropna()
    text = text[text.str.strip() != ""].drop_duplicates().head(SAMPLES)
    if text.empty:
        return ()
    if field is None:
        shown = mask_unknown(text)
    elif field in schema.PERSONAL_FIELDS:
        shown = privacy.mask_value(field, text)
    else:
        shown = text
    return tuple(str(v) for v in shown)


def column_infos(
    table: str,
    guesses: dict[int, header_match.Guess],
    headers: list,
    columns: list[pd.Series],
    keep: np.ndarray,
    source: str,
    sheet: str,
    unused: set[int] | None = None,
) -> list[ColumnInfo]:
    """One ColumnInfo per non-empty header cell (and per data column without a header)."""
    out = []
    used_fields = {g.field for g in guesses.values()}
    for i in range(max(len(headers), len(columns))):
        header = headers[i] if i < len(headers) and isinstance(headers[i], str) else ""
        col = columns[i] if i < len(columns) else pd.Series(dtype=object)
        g = guesses.get(i)
        if g is None and not header.strip() and not as_text(col.head(200)).notna().any():
            continue
        if g is not None:
            f = schema.field_of(table, g.field)
            info = ColumnInfo(
                source, sheet, table, i, header, g.field, g.confidence, g.how, (), bool(f and f.counts)
            )
        else:
            how = "设置为不使用" if unused and i in unused else "未识别"
            other = header_match.guess_field(table, header) if header else None
            if other is not None and other.field in used_fields:
                how = "重复"
            info = ColumnInfo(source, sheet, table, i, header, None, 0.0, how)
        out.append(ColumnInfo(**(info.__dict__ | {"samples": _samples(col, keep, info.field)})))
    return out


UNUSED_LABEL = "（不使用）"
OUTCOME_LABELS = {
    "returned": "返校复学",
    "vocational": "进入职业学校",
    "special": "特殊教育安置",
    "verified": "核实在外就读",
    "open": "未销号（仍在劝返）",
}


def field_choices(table: str) -> list[str]:
    """The standard headers a column of `table` can be mapped to, "not used" first."""
    return [UNUSED_LABEL, *(f.label for f in schema.FIELDS[table])]


def choice_of(info: ColumnInfo) -> str:
    """The label shown as the column's current choice."""
    return schema.field_label(info.field) if info.field else UNUSED_LABEL


def mapping_table(columns: list[ColumnInfo]) -> pd.DataFrame:
    """Every column of every sheet with what it was taken to be, how sure, and masked samples."""
    return pd.DataFrame(
        {
            "工作表": [c.sheet for c in columns],
            "列": [c.index + 1 for c in columns],
            "原表头": [c.header.replace("\n", " ") for c in columns],
            "识别为": [choice_of(c) for c in columns],
            "把握": [f"{c.confidence:.0%}" if c.field else "" for c in columns],
            "识别方式": [c.how for c in columns],
            "需要确认": [
                "是" if c.field and c.counts and c.confidence < header_match.CERTAIN else "" for c in columns
            ],
            "样例（已脱敏）": ["、".join(c.samples) for c in columns],
        }
    )


def columns_to_save(columns: list[ColumnInfo], chosen: dict[int, str]) -> dict[str, str]:
    """The [columns] entries for the choices made (position in `columns` -> label): every changed column, and
    every confirmed guess for a field that changes the counts. "" means not used."""
    out: dict[str, str] = {}
    for pos, label in chosen.items():
        info = columns[pos]
        if not info.header.strip():
            continue
        unsure = info.field is not None and info.confidence < header_match.CERTAIN
        if label != choice_of(info) or unsure:
            out[info.header] = "" if label == UNUSED_LABEL else label
    return out


def acceptance_key(code: str, sha256: str) -> str:
    """The [accepted] key of one blocking problem of one ledger file (a plain code accepts it for any file)."""
    return f"{code}@{sha256[:12]}"
