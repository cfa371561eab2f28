"""What each column was taken to be: the mapping table of a sheet, with three masked sample values per column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import privacy, schema
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
    kept = col[keep[: len(col)]] if len(keep) == len(col) else col
    text = as_text(kept.head(2000)).dropna()
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
    guesses: dict[int, schema.Guess],
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
            other = schema.guess_field(table, header) if header else None
            if other is not None and other.field in used_fields:
                how = "重复"
            info = ColumnInfo(source, sheet, table, i, header, None, 0.0, how)
        out.append(ColumnInfo(**(info.__dict__ | {"samples": _samples(col, keep, info.field)})))
    return out
