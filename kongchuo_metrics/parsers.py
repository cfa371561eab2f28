"""Typed value parsers for ledger cells, vectorised over a column.

Every parser takes a raw column (object values as read from Excel/CSV/Parquet) and returns a `Parsed`:
the typed values plus, per row, an error text (the row cannot use this value) and a warning text (the value
is kept but doubtful). Texts are Chinese and end up in the validation report.

Dates never go through `pd.to_datetime` guessing: 20190312 and Excel serials would become 1970 and 19.3.12
would become 2012-03-19. Each accepted spelling has its own explicit pattern.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .arrowtext import (
    _STR,
    _arrow_text,
    _birth_dates,
    _bytes_clean,
    _check_index,
    _civil,
    _is_arrow_text,
    _is_text,
    _number,
    _whole,
    all_empty,
    const_text,
    fixed_width_matrix,
    id18_bytes_ok,
    str_series,
)

BLANK_TOKENS = frozenset(
    {"", "/", "-", "—", "--", "——", "无", "na", "n/a", "null", "none", "nan", "nat", "#n/a"}
)


@dataclass(frozen=True)
class Parsed:
    """Parsed values with per-row error and warning texts ("" when fine)."""

    values: pd.Series
    errors: pd.Series
    warnings: pd.Series
    extra: dict[str, pd.Series] = field(default_factory=dict)


def _spread(result, codes: np.ndarray, index: pd.Index):
    if isinstance(result, Parsed):
        return Parsed(
            _spread(result.values, codes, index),
            _spread(result.errors, codes, index),
            _spread(result.warnings, codes, index),
            {k: _spread(v, codes, index) for k, v in result.extra.items()},
        )
    if _is_arrow_text(result) and len(result) and result.notna().all() and (result == result.iloc[0]).all():
        # one text for every row (the messages of a clean column, a precision): repeated, not gathered
        if result.dtype == _STR:
            return const_text(result.iloc[0], index, result.name)
        import pyarrow as pa

        arr = pa.repeat(pa.scalar(result.iloc[0], type=pa.large_string()), len(codes))
        return pd.Series(pd.array(arr, dtype=result.dtype), index=index, name=result.name)
    return pd.Series(result.array.take(codes), index=index, name=result.name)


def per_unique(fn):
    """Run a value parser once per distinct cell value and spread the result back to every row.

    A ledger column of 100,000 rows holds a few hundred dates, a dozen grades, two flags: parsing the distinct
    values and taking by code is exact (each parser's result depends on the cell value alone) and much faster.
    """

    @functools.wraps(fn)
    def wrapper(raw: pd.Series, *args, **kwargs):
        if _is_text(raw):
            # arrow text: its dictionary is the distinct values (in order of first appearance, a missing cell
            # one of them) and its indices the codes, in one pass
            import pyarrow.compute as pc

            arr = _arrow_text(raw)
            encoded = pc.dictionary_encode(_whole(arr), null_encoding="encode")
            codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp)
            distinct = str_series(encoded.dictionary, pd.RangeIndex(len(encoded.dictionary)), raw.name)
            return _spread(fn(distinct, *args, **kwargs), codes, raw.index)
        try:
            codes, _ = pd.factorize(raw, use_na_sentinel=False)
        except TypeError:  # unhashable cells (lists from a nested Parquet column): parse row by row
            return fn(raw, *args, **kwargs)
        _, first = np.unique(codes, return_index=True)
        distinct = raw.iloc[first].reset_index(drop=True)
        return _spread(fn(distinct, *args, **kwargs), codes, raw.index)

    return wrapper


def _empty_msgs(index: pd.Index) -> pd.Series:
    return const_text("", index)


def _cell_text(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if np.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e19 else repr(value)
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.strftime("%Y-%m-%d") if value == value else None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


_BLANK_BYTES = max(len(t.encode("utf-8")) for t in BLANK_TOKENS)
_ZW = "[\u200b\u200c\u200d\u2060\ufeff\u00ad]"
_WS = "[\t\r\n\x0b\x0c]|  "
# text made only of printable ASCII and CJK unified ideographs, with no double space, is already NFKC, has no
# zero-width or odd white space: only its ends need trimming
_NEEDS_WORK = "[^\x20-\x7e\u4e00-\u9fff]|  "


def arrow_if_text(raw: pd.Series) -> pd.Series:
    """An object column whose every cell is text (or empty) as arrow-backed text; any other column as it is.

    One conversion up front lets every later parser read the column without converting Python strings again.
    """
    import pyarrow as pa

    if raw.dtype != object:
        return raw
    try:
        arr = pa.array(raw.to_numpy(), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # dates, numbers or flags among the cells
        return raw
    if arr.null_count == len(arr):
        return raw
    return str_series(arr, raw.index, raw.name)


def codes_of(*columns: pd.Series) -> np.ndarray:
    """One integer per distinct value across the text columns, end to end (arrow dictionary encoding)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = []
    for col in columns:
        arr = _arrow_text(col)
        parts.extend(arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr])
    encoded = pc.dictionary_encode(pa.concat_arrays(parts), null_encoding="encode")
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _normalize(text: pd.Series) -> pd.Series:
    """NFKC, zero-width removal, inner white space collapsed, blank tokens missing; in pyarrow, no per-cell Python.

    A long column of few distinct values (乡镇, 学校, 处置情况) is normalised once per distinct value and spread
    back by its dictionary codes: the same result (the rules look at one cell at a time) in two passes over the
    column instead of five or six.
    """
    import pyarrow.compute as pc

    arr = _arrow_text(text)
    if len(arr) >= 50_000 and pc.count_distinct(arr.slice(0, 5_000)).as_py() <= 500:
        whole = _whole(arr)
        encoded = pc.dictionary_encode(whole)
        if len(encoded.dictionary) * 8 <= len(whole):
            dictionary = encoded.dictionary
            clean = _normalize_arrow(dictionary)
            if clean is dictionary and _is_text(text):  # nothing to change (the usual column)
                return text.rename(None)
            return str_series(clean.take(encoded.indices), text.index)
    clean = _normalize_arrow(arr)
    if clean is arr and _is_text(text):
        return text.rename(None)
    return str_series(clean, text.index)


def _normalize_arrow(arr):
    """_normalize on a pyarrow large_string array. The two regex passes run only when some cell needs them: most
    columns have neither, and a match test is several times cheaper than a replace."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tokens = pa.array(sorted(BLANK_TOKENS), type=pa.large_string())
    clean, space = _bytes_clean(arr)
    if not clean and pc.any(pc.match_substring_regex(arr, _NEEDS_WORK)).as_py():
        if not pc.all(pc.string_is_ascii(arr)).as_py():
            arr = pc.utf8_normalize(arr, form="NFKC")
            if pc.any(pc.match_substring_regex(arr, _ZW)).as_py():
                arr = pc.replace_substring_regex(arr, _ZW, "")
        if pc.any(pc.match_substring_regex(arr, _WS)).as_py():
            arr = pc.replace_substring_regex(arr, "[ \t\r\n\x0b\x0c]+", " ")
        arr = pc.utf8_trim_whitespace(arr)
    else:
        # printable ASCII and CJK only: a space is the only white space there is to trim, and lower-casing
        # keeps each cell's length, so only cells as short as a blank token can be one. The array comes back
        # unchanged (the same object) when no cell needs anything.
        if space and pc.any(pc.or_(pc.starts_with(arr, " "), pc.ends_with(arr, " "))).as_py():
            arr = pc.utf8_trim_whitespace(arr)
        short = pc.less_equal(pc.binary_length(arr), _BLANK_BYTES)
        if not pc.any(short).as_py():
            return arr
        if not pc.any(pc.is_in(pc.utf8_lower(pc.filter(arr, short)), value_set=tokens)).as_py():
            return arr
    # blank tokens (无, N/A, /, -) become missing
    blank = pc.is_in(pc.utf8_lower(arr), value_set=tokens)
    return pc.if_else(blank, pa.scalar(None, type=pa.large_string()), arr)


def as_text(raw: pd.Series) -> pd.Series:
    """The column as normalised text (NFKC, trimmed, zero-width removed); blanks and 无/NA//" as missing."""
    if isinstance(raw.dtype, pd.StringDtype) or infer_kind(raw) in ("string", "empty"):
        text = raw
    else:
        text = raw.map(_cell_text)
    return _normalize(text)


def extract(text: pd.Series, pattern: str) -> pd.DataFrame:
    """Named groups of an RE2 pattern as columns (NA where no match), computed in pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _arrow_text(text)
    found = pc.extract_regex(arr, pattern)
    names = [found.type.field(i).name for i in range(found.type.num_fields)]
    cols = {}
    for n in names:
        part = pc.struct_field(found, n)
        part = pc.if_else(pc.equal(part, ""), pa.scalar(None, part.type), part)  # unmatched group -> missing
        cols[n] = str_series(part, text.index)
    return pd.DataFrame(cols, index=text.index)


def infer_kind(raw: pd.Series) -> str:
    return pd.api.types.infer_dtype(raw, skipna=True) if raw.dtype == object else str(raw.dtype)


def is_blank(raw: pd.Series) -> pd.Series:
    """True where a raw cell is empty (None, NaN, or only white space)."""
    if raw.dtype == object and infer_kind(raw) in ("string", "empty"):
        text = raw.astype("str")
        return text.isna() | (text.str.strip() == "")
    if raw.dtype == object:
        text = raw.map(_cell_text)
        return text.isna() | (text.astype("str").str.strip() == "")
    if isinstance(raw.dtype, pd.StringDtype):
        return raw.isna() | (raw.str.strip() == "")
    return raw.isna()


# --- dates -------------------------------------------------------------------------------------------------

# Plain-string patterns with [0-9] (not compiled, no \d or \s): pandas then runs them in pyarrow's RE2,
# vectorised, instead of falling back to Python's re one cell at a time.
_DAY = r"^(?P<y>[0-9]{4})[-./年](?P<m>[0-9]{1,2})[-./月](?P<d>[0-9]{1,2})日?$"
_COMPACT = r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$"
_MONTH = r"^(?P<y>[0-9]{4})(?:[-/]|年)(?P<m>[0-9]{1,2})月?$|^(?P<y2>[0-9]{4})(?P<m2>[0-9]{2})$"
_DOT_MONTH = r"^[0-9]{4}\.[0-9]{1,2}$"
_SHORT_YEAR = r"^[0-9]{2}[-./年][0-9]{1,2}[-./月][0-9]{1,2}日?$"
_SERIAL = r"^[0-9]{5}(?:\.[0-9]+)?$"
_SPACE = "[ \t\r\n\x0b\x0c]+"
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")

MSG_DATE_AMBIGUOUS_DOT = "日期含义不明（年.月 可能是被截断的 年.10 月），请写成 2019年10月 或完整日期"
MSG_DATE_SHORT_YEAR = "两位数年份含义不明，请写四位年份（如 2019.3.12）"
MSG_DATE_IMPOSSIBLE = "日期不存在"
MSG_DATE_UNREADABLE = "无法识别的日期"
MSG_DATE_MONTH = "只有年月，按月精度处理"
MSG_DATE_SERIAL = "Excel 日期序号，已换算为日期"


def _float_values(values: pd.Series) -> np.ndarray:
    """Numbers or digit strings as float64 (NaN when missing); arrow-backed text is cast in pyarrow."""
    if _is_arrow_text(values):
        import pyarrow as pa

        return _arrow_text(values).cast(pa.float64()).to_numpy(zero_copy_only=False)
    return values.astype("float").to_numpy()


def _ymd(y: pd.Series, m: pd.Series, d: pd.Series) -> pd.Series:
    """Dates from year, month, day columns (numbers or digit strings); NaT where the day does not exist."""
    yf, mf, df_ = _float_values(y), _float_values(m), _float_values(d)
    return pd.Series(_civil(yf, mf, df_), index=y.index)


@per_unique
def parse_dates(raw: pd.Series) -> Parsed:
    """Dates (datetime64[s], NaT when blank/bad) with `extra["precision"]` of "day", "month" or ""."""
    idx = raw.index
    errors = _empty_msgs(idx)
    warnings = _empty_msgs(idx)
    precision = const_text("", idx)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        values = raw.astype("datetime64[s]")
        precision = precision.mask(values.notna(), "day")
        return Parsed(values, errors, warnings, {"precision": precision})

    values = pd.Series(pd.NaT, index=idx, dtype="datetime64[s]")
    kinds = raw.map(type) if raw.dtype == object else pd.Series(type(None), index=idx)
    is_date = kinds.isin([dt.date, dt.datetime, pd.Timestamp])
    if is_date.any():
        values.loc[is_date] = pd.to_datetime(raw[is_date].map(lambda v: dt.datetime(v.year, v.month, v.day)))
        precision.loc[is_date] = "day"

    numeric = (
        kinds.isin([int, float, np.float64, np.int64]) & raw.notna()  # a NaN cell is blank, not a bad number
        if raw.dtype == object
        else pd.Series(False, index=idx)
    )
    if pd.api.types.is_numeric_dtype(raw.dtype):
        numeric = raw.notna()
    if numeric.any():
        num = pd.to_numeric(raw[numeric], errors="coerce").astype("float")
        whole = num == np.floor(num)
        ymd = whole & num.between(19000101, 21001231)
        ym = whole & num.between(190001, 210012)
        serial = ~ymd & ~ym & num.between(1, 80000)
        if ymd.any():
            n = num[ymd].astype("int64")
            v = _ymd(n // 10000, n // 100 % 100, n % 100)
            values.loc[v.index] = v
            precision.loc[v.index] = "day"
        if ym.any():
            n = num[ym].astype("int64")
            v = _ymd(n // 100, n % 100, pd.Series(1, index=n.index))
            values.loc[v.index] = v
            precision.loc[v.index] = "month"
            warnings.loc[v.index] = MSG_DATE_MONTH
        if serial.any():
            days = np.floor(num[serial].to_numpy()).astype("int64")
            values.loc[serial[serial].index] = (_EXCEL_EPOCH + days.astype("timedelta64[D]")).astype(
                "datetime64[s]"
            )
            precision.loc[serial[serial].index] = "day"
        bad = num.index[~(ymd | ym | serial)]
        errors.loc[bad] = MSG_DATE_UNREADABLE

    rest = ~is_date & ~numeric
    text = as_text(raw[rest]) if rest.any() else pd.Series([], dtype="str")
    text = text.str.replace(" *[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\\.[0-9]+)?$", "", regex=True).str.replace(
        " ", ""
    )
    text = text.dropna()
    if len(text):
        day = extract(text, _DAY)
        compact = extract(text, _COMPACT)
        day = day.fillna(compact)
        month = extract(text, _MONTH)
        month["y"] = month["y"].fillna(month["y2"])
        month["m"] = month["m"].fillna(month["m2"])
        is_day = day["y"].notna()
        is_month = ~is_day & month["y"].notna()
        if is_day.any():
            v = _ymd(day.loc[is_day, "y"], day.loc[is_day, "m"], day.loc[is_day, "d"])
            values.loc[v.index] = v
            precision.loc[v.index] = "day"
            errors.loc[v.index[v.isna()]] = MSG_DATE_IMPOSSIBLE
        if is_month.any():
            sub = month[is_month]
            v = _ymd(sub["y"], sub["m"], pd.Series(1, index=sub.index))
            values.loc[v.index] = v
            precision.loc[v.index] = "month"
            warnings.loc[v.index] = MSG_DATE_MONTH
            errors.loc[v.index[v.isna()]] = MSG_DATE_IMPOSSIBLE
        other = text[~is_day & ~is_month]
        serial = other.str.fullmatch(_SERIAL)
        if serial.any():
            days = np.floor(other[serial].astype("float").to_numpy()).astype("int64")
            values.loc[other[serial].index] = (_EXCEL_EPOCH + days.astype("timedelta64[D]")).astype(
                "datetime64[s]"
            )
            precision.loc[other[serial].index] = "day"
            warnings.loc[other[serial].index] = MSG_DATE_SERIAL
        other = other[~serial]
        errors.loc[other.index] = MSG_DATE_UNREADABLE
        errors.loc[other.index[other.str.fullmatch(_DOT_MONTH)]] = MSG_DATE_AMBIGUOUS_DOT
        errors.loc[other.index[other.str.fullmatch(_SHORT_YEAR)]] = MSG_DATE_SHORT_YEAR
    values = values.mask(errors != "")
    precision = precision.mask(errors != "", "")
    return Parsed(values, errors, warnings, {"precision": precision})


# --- flags ------------------------------------------------------------------------------------------------

_TRUE = frozenset({"是", "√", "✓", "✔", "y", "yes", "1", "有", "true", "t", "是的", "对"})
_FALSE = frozenset({"否", "×", "✗", "✘", "x", "n", "no", "0", "无", "false", "f", "不是", "没有"})
MSG_FLAG_EXTRA = "标记带有附加文字，按“{v}”处理"
MSG_FLAG_UNKNOWN = "无法识别的是/否标记，按未知处理"


@per_unique
def parse_flags(raw: pd.Series) -> Parsed:
    """Flags as pandas boolean (True/False/NA); a blank is unknown (NA), never 否."""
    idx = raw.index
    errors = _empty_msgs(idx)
    warnings = _empty_msgs(idx)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return Parsed(raw.astype("boolean"), errors, warnings)
    text = as_text(raw)
    # as_text treats 无 as blank; for a flag 无 means 否, so look at the raw token again
    blanked = text.isna() & raw.notna()
    raw_text = raw[blanked].map(_cell_text).astype("str").str.normalize("NFKC").str.strip().str.lower()
    key = text.str.lower().fillna(raw_text.where(raw_text.isin(_FALSE)).reindex(idx))
    values = pd.Series(pd.NA, index=idx, dtype="boolean")
    values = values.mask(key.isin(_TRUE), True).mask(key.isin(_FALSE), False)
    unknown = key.notna() & ~key.isin(_TRUE) & ~key.isin(_FALSE)
    starts_yes = unknown & key.str.match(r"^(是|有|√)")
    starts_no = unknown & key.str.match(r"^(否|无|×)")
    values = values.mask(starts_yes, True).mask(starts_no, False)
    warnings = warnings.mask(starts_yes, MSG_FLAG_EXTRA.format(v="是")).mask(
        starts_no, MSG_FLAG_EXTRA.format(v="否")
    )
    warnings = warnings.mask(unknown & ~starts_yes & ~starts_no, MSG_FLAG_UNKNOWN)
    return Parsed(values, errors, warnings)


# --- ID numbers (GB 11643-1999) -----------------------------------------------------------------------------

_ID_CHECK = np.array(list("10X98765432"))
MSG_ID_CHECKSUM = "身份证号校验位错误"
MSG_ID_FORMAT = "身份证号格式不正确（应为18位）"
MSG_ID_NUMBER = "身份证号以数字形式保存，后几位可能已被 Excel 改成 0，请将该列设为文本后重新录入"
MSG_ID_BIRTH = "身份证号中的出生日期无效"


def valid_ids(ids: pd.Series) -> pd.Series:
    """True where an already-normalised ID is 18 characters with a correct check digit, or 15 digits."""
    text = ids.astype("str")
    long18 = text.str.fullmatch("[0-9]{17}[0-9X]").fillna(False).astype(bool)
    old15 = text.str.fullmatch("[0-9]{15}").fillna(False).astype(bool)
    ok = old15.copy()
    if long18.any():
        ok.loc[long18] = _check_digit_ok(text[long18])
    return ok


_ID_CHECK_BYTES = np.frombuffer(b"10X98765432", dtype=np.uint8)


def _fixed_width_bytes(text: pd.Series, width: int) -> np.ndarray:
    """ASCII strings all `width` long as an n x width uint8 matrix, read straight from the arrow buffer."""
    import pyarrow as pa

    arr = _arrow_text(text)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    if n and arr.null_count == 0:
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
        if (np.diff(offsets) == width).all():
            return np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(n, width)
    return np.frombuffer("".join(text.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, width)


def _id18_matrix(text: pd.Series) -> np.ndarray | None:
    """The n x 18 bytes of a text column whose every cell is 17 ASCII digits and a digit or X (the usual ID
    column); None when any cell is anything else (then a regex decides)."""
    chars = fixed_width_matrix(text, 18)
    return chars if chars is not None and id18_bytes_ok(chars) else None


def _labels(rows: np.ndarray, codes: np.ndarray, labels: tuple[str, ...], index: pd.Index) -> pd.Series:
    """Text labels[codes] at the row positions, missing elsewhere, built in arrow (no Python string per row)."""
    import pyarrow as pa

    full = np.full(len(index), -1, dtype=np.int32)
    full[rows] = codes
    arr = pa.DictionaryArray.from_arrays(pa.array(full, mask=full < 0), pa.array(labels, pa.large_string()))
    return str_series(arr.cast(pa.large_string()), index)


def _check_digit_ok(ids18: pd.Series) -> np.ndarray:
    """For 18-character IDs (17 digits and a check character): does the MOD 11-2 check character match?"""
    return _check_chars_ok(_fixed_width_bytes(ids18, 18))


def _check_chars_ok(chars: np.ndarray) -> np.ndarray:
    return _ID_CHECK_BYTES[_check_index(chars[:, :17])] == chars[:, 17]


def id_digits(ids18: pd.Series) -> np.ndarray:
    """The first 17 digits of valid 18-character IDs as int64: with a correct check character they identify
    the ID, and a number is much cheaper to group and join on than its text."""
    return _number(_fixed_width_bytes(ids18, 18)[:, :17])


def id_check_digit(first17: pd.Series) -> pd.Series:
    """The MOD 11-2 check character for 17-digit strings."""
    return pd.Series(_ID_CHECK[_check_index(_fixed_width_bytes(first17, 17))], index=first17.index)


def parse_ids(raw: pd.Series) -> Parsed:
    """Normalised ID numbers (str) with extra["birth"] (datetime64[s]) and extra["sex"] ("男"/"女") from them."""
    idx = raw.index
    errors = _empty_msgs(idx)
    warnings = _empty_msgs(idx)
    as_number = pd.Series(False, index=idx)
    if raw.dtype == object and infer_kind(raw) not in ("string", "empty"):
        as_number = raw.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v == v)
    elif pd.api.types.is_numeric_dtype(raw.dtype):
        as_number = raw.notna()
    text = as_text(raw)
    chars = _id18_matrix(text)  # every cell 17 digits and a check character: the bytes, no regex
    long18 = (
        pd.Series(True, index=idx)
        if chars is not None
        else text.str.fullmatch("[0-9]{17}[0-9X]").fillna(False).astype(bool)
    )
    if chars is not None:  # the usual column: nothing to clean, no 15-digit IDs (one regex pass, not six)
        old15 = pd.Series(False, index=idx)
    else:
        if text.str.contains("[ \t'\"‘’“”`]", regex=True).any():
            text = text.str.replace("[ \t'\"‘’“”`]", "", regex=True)
        if text.str.contains("x", regex=False).any():
            text = text.str.upper()
        text = text.mask(text == "")
        long18 = text.str.fullmatch("[0-9]{17}[0-9X]").fillna(False).astype(bool)
        old15 = text.str.fullmatch("[0-9]{15}").fillna(False).astype(bool)
    present = text.notna()
    damaged = as_number & present
    if damaged.any():
        damaged &= text.str.len() >= 16
    odd = present & ~long18 & ~old15
    if odd.any():
        warnings = warnings.mask(odd, MSG_ID_FORMAT)
    birth = pd.Series(pd.NaT, index=idx, dtype="datetime64[s]")
    sex = const_text(None, idx)
    checksum_ok = old15.copy()
    if long18.any():
        # 18-character IDs read as a byte matrix: check character, birth date and sex digit by column
        rows = np.flatnonzero(long18.to_numpy())
        if chars is None:
            chars = _fixed_width_bytes(text[long18], 18)
        ok = _check_chars_ok(chars)
        checksum_ok.iloc[rows] = ok
        if not ok.all():
            warnings.iloc[rows[~ok]] = MSG_ID_CHECKSUM
        b = _birth_dates(chars[:, 6:14])
        if len(rows) == len(idx):
            birth = pd.Series(b, index=idx)
        else:
            birth.iloc[rows] = b
        sex = _labels(rows, (chars[:, 16] - 48) % 2, ("女", "男"), idx)
    if old15.any():
        old = text[old15]
        b = _ymd(("19" + old.str[6:8]), old.str[8:10], old.str[10:12])
        birth.loc[b.index] = b
        sex.loc[old.index] = old.str[14].map({str(d): ("男" if d % 2 else "女") for d in range(10)})
    if damaged.any():
        warnings = warnings.mask(damaged, MSG_ID_NUMBER)
    no_birth = (long18 | old15) & birth.isna()
    if no_birth.any():
        warnings = warnings.mask(no_birth & (warnings == ""), MSG_ID_BIRTH)
    fine = pd.Series(True, index=idx) if all_empty(warnings) else warnings == ""
    return Parsed(
        text,
        errors,
        warnings,
        # checksum_ok is valid_ids() of the normalised text, computed here once
        {
            "birth": birth,
            "sex": sex,
            "valid": (long18 | old15) & fine,
            "checksum_ok": checksum_ok,
        },
    )


# --- categories --------------------------------------------------------------------------------------------


@per_unique
def categorize(text: pd.Series, patterns: tuple[tuple[str, str], ...]) -> pd.Series:
    """The first category whose pattern the text contains, in pattern order; NA when none matches."""
    out = pd.Series(pd.NA, index=text.index, dtype="str")
    for category, pattern in reversed(patterns):
        out = out.mask(text.str.contains(pattern, regex=True).fillna(False).astype(bool), category)
    return out


# a negation or refusal before a verb of returning, or work still under way: the case is open, whatever
# else the text says (未返校 contains 返校, 拒不返校 and 正在劝返 contain 劝返)
NEGATED_RETURN = (
    "(?:未|没有?|不|拒不?|拒绝|尚未|暂未|仍未|无法|不愿|不肯|不想)[^，,。；;\\s]{0,2}?"
    "(?:返校|复学|入学|到校|回校|就读|上学|读书|返回|劝返成功|返)"
    "|正在|继续|劝返中|动员中|做工作|在做工作|跟进中|待返校|待核实|待定|拒绝"
)


def _outcome_key(text: pd.Series) -> pd.Series:
    """A resolution text reduced for matching: NFKC, no white space or punctuation."""
    return text.str.normalize("NFKC").str.replace(r"[\s,，。.;；、:：!！()（）]", "", regex=True)


@per_unique
def classify_outcomes(text: pd.Series, overrides: dict[str, str]) -> pd.Series:
    """returned / vocational / special / verified / other / open from a resolution text; NA when unknown.

    The bureau's own classification ([outcomes] in settings.toml) wins; then a negated or unfinished return is
    open whatever else the text says; then the schema's patterns in order.
    """
    text = as_text(text)
    key = _outcome_key(text)
    out = categorize(text, schema_outcome_patterns())
    negated = text.str.normalize("NFKC").str.contains(NEGATED_RETURN, regex=True).fillna(False).astype(bool)
    out = out.mask(negated, "open")
    if overrides:
        table = {_outcome_key(pd.Series([k])).iloc[0]: v for k, v in overrides.items()}
        chosen = key.map(table)
        out = out.mask(chosen.notna(), chosen)
    return out


def schema_outcome_patterns() -> tuple[tuple[str, str], ...]:
    from .schema import OUTCOME_PATTERNS

    return OUTCOME_PATTERNS


_CN_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_DIGITS = {**_CN_NUM, **{str(d): d for d in range(1, 10)}}


@per_unique
def parse_grades(raw: pd.Series) -> pd.Series:
    """Grade 1–9 (Int64) from 一年级…九年级, 1年级, 初一…初三, 七年级; NA when not readable."""
    text = as_text(raw)
    out = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    junior = extract(text, "初(?P<g>[一二三123])")["g"]
    junior_n = junior.map(_DIGITS).astype("Int64")
    out = out.mask(junior_n.notna(), junior_n + 6)
    plain = extract(text, "^(?P<a>[一二三四五六七八九1-9])(?:年级|年)?$|(?P<b>[一二三四五六七八九1-9])年级")
    p = plain["a"].fillna(plain["b"])
    p_n = p.map(_DIGITS)
    out = out.fillna(p_n.astype("Int64"))
    return out


def parse_stages(stage_raw: pd.Series | None, grade: pd.Series, school: pd.Series) -> pd.Series:
    """ "primary"/"junior" from the stage column, else the grade, else the school's name (…小学 / …中)."""
    idx = grade.index
    out = pd.Series(pd.NA, index=idx, dtype="str")
    if stage_raw is not None:
        st = as_text(stage_raw)
        out = out.mask(st.str.contains("小", regex=False).fillna(False).astype(bool), "primary")
        out = out.mask(st.str.contains("初|中", regex=True).fillna(False).astype(bool), "junior")
    from_grade = pd.Series(pd.NA, index=idx, dtype="str")
    from_grade = from_grade.mask(grade.between(1, 6).fillna(False).astype(bool), "primary")
    from_grade = from_grade.mask(grade.between(7, 9).fillna(False).astype(bool), "junior")
    out = out.fillna(from_grade)
    return out.fillna(_stage_from_school(school))


@per_unique
def _stage_from_school(school: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=school.index, dtype="str")
    out = out.mask(
        school.str.contains("小学|小$|完小|教学点", regex=True).fillna(False).astype(bool), "primary"
    )
    return out.mask(
        school.str.contains("中学|[一二三四五六七八九民]中$|初中|初级中学", regex=True)
        .fillna(False)
        .astype(bool),
        "junior",
    )


def parse_case_types(raw: pd.Series | None, index: pd.Index, default: str = "dropout") -> pd.Series:
    """dropout / suspected / not_enrolled from the 类型 text; blank means `default`."""
    out = const_text(default, index)
    if raw is None:
        return out
    text = as_text(raw)
    out = out.mask(text.str.contains("疑似", regex=False).fillna(False).astype(bool), "suspected")
    out = out.mask(text.str.contains("未入学", regex=False).fillna(False).astype(bool), "not_enrolled")
    return out


@per_unique
def parse_sex(raw: pd.Series) -> pd.Series:
    """ "男"/"女" or NA."""
    text = as_text(raw).str.lower()
    mapping = {"男": "男", "女": "女", "m": "男", "f": "女", "男性": "男", "女性": "女", "1": "男", "2": "女"}
    return text.map(mapping).astype("str")


def parse_numbers(raw: pd.Series) -> Parsed:
    """Floats; a non-empty cell that is not a number is a warning and NA."""
    text = as_text(raw)
    num = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    warnings = _empty_msgs(raw.index).mask(text.notna() & num.isna(), "不是数字")
    return Parsed(num.astype("float"), _empty_msgs(raw.index), warnings)
