"""Typed columns from raw cells (text, dates, flags, numbers), each recording its own problems."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import arrowtext, parsers
from ..parsers import as_text
from .problems import ERROR, Problems

MAX_CELL_CHARS = 500


def _text_col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        return as_text(frame[name])
    return arrowtext.const_text(None, frame.index)


def _check_text_cells(df: pd.DataFrame, table: str, names: list[str], probs: Problems) -> pd.DataFrame:
    """Warn about formula-like and very long cells; cut cells at MAX_CELL_CHARS."""

    out = df
    for name in names:
        if name not in out:
            continue
        col = out[name]
        if parsers._is_arrow_text(col):
            # one look in pyarrow first: most columns have neither (no pandas mask per column)
            if not arrowtext.leading_or_long(parsers._arrow_text(col), b"=+-@", MAX_CELL_CHARS):
                continue
        formula = col.str.match(r"^[=+\-@]").fillna(False).astype(bool)
        long = col.str.len().gt(MAX_CELL_CHARS).fillna(False).astype(bool)
        if not (formula.any() or long.any()):
            continue
        probs.where(df, table, name, formula, "以 = + - @ 开头的内容，导出时会加 ' 前缀防止被当作公式")
        probs.where(df, table, name, long, f"内容过长，已截取前 {MAX_CELL_CHARS} 个字")
        if out is df:
            out = df.copy()
        out[name] = col.where(~long, col.str[:MAX_CELL_CHARS])
    return out


def _parse_date_col(df: pd.DataFrame, table: str, name: str, probs: Problems, error_severity: str = ERROR):
    parsed = parsers.parse_dates(df[name]) if name in df else None
    if parsed is None:
        empty = pd.Series(pd.NaT, index=df.index, dtype="datetime64[s]")
        return empty, arrowtext.const_text("", df.index), arrowtext.const_text("", df.index)
    probs.add(df, table, name, parsed.warnings)
    return parsed.values, parsed.extra["precision"], parsed.errors


def _parsed_col(
    df: pd.DataFrame, table: str, name: str, probs: Problems, parse, missing: pd.Series
) -> pd.Series:
    """Column `name` parsed by `parse` (its warnings into the problem table), or `missing` when absent."""
    if name not in df:
        return missing
    parsed = parse(df[name])
    probs.add(df, table, name, parsed.warnings)
    return parsed.values


def _flag_col(df: pd.DataFrame, table: str, name: str, probs: Problems) -> pd.Series:
    missing = pd.Series(pd.NA, index=df.index, dtype="boolean")
    return _parsed_col(df, table, name, probs, parsers.parse_flags, missing)


def _int_col(df: pd.DataFrame, table: str, name: str, probs: Problems) -> pd.Series:
    missing = pd.Series(np.nan, index=df.index, dtype="float")
    return _parsed_col(df, table, name, probs, parsers.parse_numbers, missing).round().astype("Int64")


def _num_col(df: pd.DataFrame, table: str, name: str, probs: Problems) -> pd.Series:
    missing = pd.Series(np.nan, index=df.index, dtype="float")
    return _parsed_col(df, table, name, probs, parsers.parse_numbers, missing)
