"""Arrow text columns at the byte level: constant columns sharing one buffer, clean-text, formula and ID
tests read from offsets and bytes, numbering and joining without a Python string per row; ID digits, check
sums and calendar dates as integer arithmetic on byte columns.

The parsers' fast paths: each answer is exact, or says "look cell by cell" (then the general path decides).
"""

from __future__ import annotations

import functools
import weakref

import numpy as np
import pandas as pd

# constant text arrays by (text, length), shared while some column holds them: arrow arrays are immutable (a
# change to a pandas column makes a new one), so the dozen empty or missing columns of a load share one buffer
_CONSTANT: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _constant_array(value: str | None, n: int):
    import pyarrow as pa

    key = (value, n)
    arr = _CONSTANT.get(key)
    if arr is None:
        if value is None:
            # no text: missing cells need offsets (all 0) and a validity bitmap (all 0, the same zeros) only
            zeros = _zeros(n + 1)
            arr = pa.LargeStringArray.from_buffers(n, zeros, pa.py_buffer(b""), zeros, n)
        elif value == "":
            arr = pa.LargeStringArray.from_buffers(n, _zeros(n + 1), pa.py_buffer(b""), None, 0)
        else:
            arr = pa.repeat(pa.scalar(value, type=pa.large_string()), n)
        _CONSTANT[key] = arr
    return arr


@functools.lru_cache(maxsize=4)
def _zeros(n: int):
    """A buffer of n zero int64s (the offsets of n empty or missing texts; as a bitmap, none valid), shared by
    every constant column of one length: a load makes a few dozen, and each would be 8 MB at a million rows."""
    import pyarrow as pa

    zeros = np.zeros(n, dtype=np.int64)
    zeros.flags.writeable = False  # shared: nobody may write into it
    return pa.py_buffer(zeros)


def const_text(value: str | None, index: pd.Index, name=None) -> pd.Series:
    """One text (or missing, for None) on every row of `index` as a "str" Series, built in arrow: the same as
    pd.Series(value, index=index, dtype="str"), several times cheaper for a long index (and the same constant
    column of one length is one shared arrow array)."""
    if value is pd.NA or (isinstance(value, float) and value != value):
        value = None
    return str_series(_constant_array(value, len(index)), index, name)


def numbered(prefix: str, index: pd.Index, width: int) -> pd.Series:
    """prefix + 1, 2, 3 ... zero-padded to `width` digits (C000001, ...), one per row of `index`, written straight
    into an arrow buffer: the same texts as prefix + str(k).zfill(width), without a Python string per row."""
    import pyarrow as pa

    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    numbers = np.arange(1, len(index) + 1, dtype=np.int64)
    digits = np.maximum(width, np.searchsorted(10 ** np.arange(1, 19), numbers, side="right") + 1)
    sizes = len(head) + digits
    offsets = np.zeros(len(index) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    # the numbers increase, so the rows of one digit count are one block of equal-width rows
    for d in np.unique(digits):
        rows = np.flatnonzero(digits == d)
        a, z = rows[0], rows[-1] + 1
        block = data[offsets[a] : offsets[z]].reshape(z - a, len(head) + d)
        block[:, : len(head)] = head
        k = numbers[a:z]
        for i in range(d):  # the digits, last first
            block[:, len(head) + d - 1 - i] = k // 10**i % 10 + 48
    arr = pa.LargeStringArray.from_buffers(len(index), pa.py_buffer(offsets), pa.py_buffer(data))
    return str_series(arr, index)


def without_spaces(text: pd.Series) -> pd.Series:
    """The text with every space removed (names, case numbers); the column itself when it has none."""
    if _is_text(text):
        import pyarrow.compute as pc

        if not pc.any(pc.match_substring(_arrow_text(text), " ")).as_py():
            return text
    return text.str.replace(" ", "", regex=False)


def _constant(text: pd.Series) -> str | None:
    """The one text every cell of a column holds (none missing), or None."""
    import pyarrow.compute as pc

    if not len(text) or not _is_text(text):
        return None
    arr = _arrow_text(text)
    first = text.iloc[0]
    if arr.null_count or not isinstance(first, str):
        return None
    return first if pc.all(pc.equal(arr, first)).as_py() else None


def join_few(a: pd.Series, b: pd.Series, sep: str) -> pd.Series:
    """a + sep + b ("str", missing where either is) for columns of few distinct values (file and sheet names):
    joined once per distinct pair and spread back by codes instead of built again on every row."""
    import pyarrow as pa

    one_a, one_b = _constant(a), _constant(b)
    if one_a is not None and one_b is not None:  # one file, one sheet: one text
        return const_text(f"{one_a}{sep}{one_b}", a.index)
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    pair, pairs = pd.factorize(ca.astype(np.int64) * (len(ub) + 1) + cb)
    if len(pairs) > 1000:
        return (a + sep + b).astype("str")
    ia, ib = pairs // (len(ub) + 1), pairs % (len(ub) + 1)
    texts = [None if i < 0 or j < 0 else f"{ua[i]}{sep}{ub[j]}" for i, j in zip(ia, ib, strict=True)]
    arr = pa.array(texts, type=pa.large_string()).take(pa.array(pair))
    return str_series(arr, a.index)


def all_empty(messages: pd.Series) -> bool:
    """True when every cell of a text column is "" or missing (a message column with nothing to say); for
    arrow-backed text a look at its offsets, not a comparison per row."""
    if _is_arrow_text(messages):
        import pyarrow as pa

        arr = pa.array(messages.array)
        chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
        if all(pa.types.is_large_string(c.type) or pa.types.is_string(c.type) for c in chunks):
            if all(_data_bytes(c) == 0 for c in chunks):
                return True
    return not (messages.notna() & (messages != "")).any()


def _data_bytes(arr) -> int:
    """The bytes of text an arrow (large_)string array holds (0: every cell empty or missing)."""
    import pyarrow as pa

    if len(arr) == 0:
        return 0
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    return int(offsets[-1] - offsets[0])


def _is_arrow_text(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


_STR = pd.StringDtype("pyarrow", na_value=np.nan)


def _is_text(values: pd.Series) -> bool:
    """True for the "str" dtype on arrow large_string: what str_series makes, so the column itself can stand in
    for a rebuilt one."""
    if values.dtype != _STR:
        return False
    import pyarrow as pa

    return pa.types.is_large_string(pa.array(values.array).type)


def _whole(arr):
    """An arrow array in one chunk (cheap: a column read from a file comes in a few large chunks)."""
    import pyarrow as pa

    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def str_series(arr, index: pd.Index, name=None) -> pd.Series:
    """A pyarrow string array as a pandas "str" Series (arrow-backed, NaN for missing)."""
    values = arr.to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow", na_value=np.nan)).array
    return pd.Series(values, index=index, name=name, dtype="str")


def _arrow_text(text: pd.Series):
    """The column as a pyarrow large_string array; zero-copy when it is already arrow-backed text."""
    import pyarrow as pa

    if _is_arrow_text(text):
        arr = pa.array(text.array)
        return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())
    return pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.large_string(), from_pandas=True)


# bytes that cannot occur in UTF-8 text of printable ASCII and U+4E00..U+9FFF only: control bytes, DEL, the
# lead bytes of 2- and 4-byte characters and of 3-byte ones outside U+4000..U+9FFF (E4 also leads U+4000..U+4DFF,
# told apart by its next byte)
_ODD_BYTE = np.ones(256, dtype=bool)
_ODD_BYTE[0x20:0x7F] = False
_ODD_BYTE[0x80:0xC0] = False
_ODD_BYTE[0xE4:0xEA] = False


def leading_or_long(arr, leads: bytes, limit: int) -> bool:
    """Whether some cell of an arrow text array may start with one of the ASCII `leads` or be longer than
    `limit` characters, from its offsets and first bytes (a cell of at most `limit` bytes has at most `limit`
    characters). False is exact; True means "look cell by cell"."""
    import pyarrow as pa

    for c in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if not len(c):
            continue
        if not pa.types.is_large_string(c.type) or c.buffers()[2] is None:
            return True
        offsets = np.frombuffer(c.buffers()[1], dtype=np.int64)[c.offset : c.offset + len(c) + 1]
        sizes = np.diff(offsets)
        if (sizes > limit).any():
            return True
        data = np.frombuffer(c.buffers()[2], dtype=np.uint8)
        starts = offsets[:-1][sizes > 0]
        if len(starts) and np.isin(data[starts], np.frombuffer(leads, dtype=np.uint8)).any():
            return True
    return False


def _bytes_clean(arr) -> tuple[bool, bool]:
    """(surely no cell matches _NEEDS_WORK, some cell may hold a space) from the raw bytes of a large_string
    array: a table look-up per byte instead of a regex per cell. A True first answer is exact; False only
    means "look with the regex"."""
    import pyarrow as pa

    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    space = False
    for c in chunks:
        if not len(c) or not pa.types.is_large_string(c.type):
            if len(c):
                return False, True
            continue
        offsets = np.frombuffer(c.buffers()[1], dtype=np.int64)[c.offset : c.offset + len(c) + 1]
        data = (
            np.frombuffer(c.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
            if c.buffers()[2]
            else None
        )
        if data is None or not len(data):
            continue
        if (data >= 0x80).any():
            if _ODD_BYTE[data].any():
                return False, True
        elif (data < 0x20).any() or (data == 0x7F).any():  # ASCII: comparisons are cheaper than a look-up
            return False, True
        lead = np.flatnonzero(data == 0xE4)
        if len(lead) and (lead[-1] + 1 >= len(data) or (data[lead + 1] < 0xB8).any()):
            return False, True
        spaces = np.flatnonzero(data == 0x20)
        if len(spaces):
            space = True
            if (np.diff(spaces) == 1).any():  # two spaces in a row (perhaps across two cells: then look)
                return False, True
    return True, space


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _civil(yf: np.ndarray, mf: np.ndarray, df_: np.ndarray) -> np.ndarray:
    """_ymd on numpy arrays of year, month and day numbers (float or int): datetime64[s], NaT where the day
    does not exist."""
    # comparisons with NaN are False, so a missing part fails the range test
    ok = (yf >= 1900) & (yf <= 2100) & (mf >= 1) & (mf <= 12) & (df_ >= 1) & (df_ <= 31)
    out = np.full(len(yf), np.datetime64("NaT"), dtype="datetime64[s]")
    if ok.any():
        yi, mi, di = yf[ok].astype("int64"), mf[ok].astype("int64"), df_[ok].astype("int64")
        leap = (yi % 4 == 0) & ((yi % 100 != 0) | (yi % 400 == 0))
        exists = di <= _DAYS_IN_MONTH[mi] + (leap & (mi == 2))
        # days since 1970-01-01 by integer calendar arithmetic (H. Hinnant's days_from_civil)
        ya = yi - (mi <= 2)
        era = ya // 400
        yoe = ya - era * 400
        doy = (153 * ((mi + 9) % 12) + 2) // 5 + di - 1
        days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
        out[np.flatnonzero(ok)[exists]] = (days[exists] * 86400).astype("datetime64[s]")
    return out


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


_BIRTH_YEARS = (1900, 2100)


@functools.cache
def _birth_table() -> np.ndarray:
    """The date of every (year, month 1-12, day 1-31) of _BIRTH_YEARS as datetime64[s] (NaT for 2 月 30 日)."""
    y0, y1 = _BIRTH_YEARS
    years, months, days = np.meshgrid(
        np.arange(y0, y1 + 1), np.arange(1, 13), np.arange(1, 32), indexing="ij"
    )
    return _civil(years.ravel(), months.ravel(), days.ravel())


def _birth_dates(chars8: np.ndarray) -> np.ndarray:
    """Dates from n x 8 ASCII digits YYYYMMDD (as _civil does them), by one look-up in a table of every date."""
    y, m, d = _number(chars8[:, :4]), _number(chars8[:, 4:6]), _number(chars8[:, 6:])
    ok = (y >= _BIRTH_YEARS[0]) & (y <= _BIRTH_YEARS[1]) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
    at = ((y - _BIRTH_YEARS[0]) * 12 + (m - 1)) * 31 + (d - 1)
    out = _birth_table()[np.where(ok, at, 0)]
    out[~ok] = np.datetime64("NaT")
    return out


def fixed_width_matrix(text: pd.Series, width: int) -> np.ndarray | None:
    """The n x `width` bytes of an arrow text column whose every cell is `width` bytes long (none missing), read
    straight from the arrow buffer (no copy); None for any other column."""
    if not len(text) or not _is_arrow_text(text):
        return None
    arr = _whole(_arrow_text(text))
    if arr.null_count or len(arr) * width != _data_bytes(arr):
        return None
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    if not (np.diff(offsets) == width).all():
        return None
    return np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(len(arr), width)


def id18_bytes_ok(chars: np.ndarray) -> bool:
    """True when every row of an n x 18 byte matrix is 17 ASCII digits and a digit or X (the ID pattern)."""
    if not len(chars):
        return True
    body, last = chars[:, :17], chars[:, 17]
    if body.min() < ord("0") or body.max() > ord("9"):  # two reductions, no n x 17 temporary
        return False
    return bool((((last - np.uint8(48)) < 10) | (last == ord("X"))).all())


def _check_index(chars17: np.ndarray) -> np.ndarray:
    """MOD 11-2 over 17 columns of ASCII digits: the position of each row's check character in "10X98765432"."""
    # column by column in int16 (17 digits x weight 10 x byte 57 < 2**15): no n x 17 temporary
    total = np.zeros(len(chars17), dtype=np.int16)
    term = np.empty(len(chars17), dtype=np.int16)
    for i in range(17):
        np.multiply(chars17[:, i], np.int16(_ID_WEIGHTS[i]), out=term, casting="unsafe")
        total += term
    # the bytes are digits + 48: take 48 x the weights back out (a multiple of 11 keeps it non-negative)
    return (total.astype(np.int64) - 48 * int(_ID_WEIGHTS.sum())) % 11


def _number(chars: np.ndarray) -> np.ndarray:
    """Columns of ASCII digits as one int64 per row (in int32 pieces of up to 9 digits: half the work)."""
    out = np.zeros(len(chars), dtype=np.int64)
    for start in range(0, chars.shape[1], 9):
        piece = chars[:, start : start + 9]
        part = np.zeros(len(chars), dtype=np.int32)
        for i in range(piece.shape[1]):
            part *= 10
            part += piece[:, i]
            part -= 48
        out = out * 10 ** piece.shape[1] + part
    return out
