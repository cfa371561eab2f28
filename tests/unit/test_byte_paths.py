"""The byte-level and arrow fast paths of the parsers (what keeps `trend` on a million cases within 2x DuckDB)
give exactly what the general paths give, on the cells the fast paths take and on those they hand back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from bench.gen import generate
from kongchuo_metrics import arrowtext, cli, metrics, parsers
from kongchuo_metrics.ingest import load_ledger
from kongchuo_metrics.ingest.linking import _child_codes

ODD = [
    "abc",
    "王芳",
    "a b",
    "a  b",
    " 前后 ",
    "\u4dff",
    "\u4e00",
    "\u9fff",
    "\ua000",
    "\u3000",
    "é",
    "😀",
    "\t",
    "x\x7f",
    "ＡＢＣ",
    "䷀",
    "丂",
    "无",
    "N/A",
    "——",
    "",
    "\u200b张三",
]


def _random_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = list("ab 1-=+@中国学校王") + ["\u3000", "\t", "\u4dff", "é", "\u200b", "Ｘ"]
    return ["".join(rng.choice(alphabet, size=rng.integers(0, 6))) for _ in range(n)]


@pytest.mark.parametrize("texts", [ODD, _random_texts(3000, 1), ["王芳", "李四", "C000001"] * 20_000])
def test_clean_bytes_test_never_passes_a_cell_the_regex_would_catch(texts):
    arr = pa.array(texts, pa.large_string())
    clean, _ = arrowtext._bytes_clean(arr)
    if clean:
        assert not pc.any(pc.match_substring_regex(arr, parsers._NEEDS_WORK)).as_py()
    for t in texts:  # cell by cell too: a clean verdict on one cell is exact
        one = pa.array([t], pa.large_string())
        if arrowtext._bytes_clean(one)[0]:
            assert not pc.any(pc.match_substring_regex(one, parsers._NEEDS_WORK)).as_py(), repr(t)


def _slow_normalize(values: list) -> list:
    """The normalisation rules written out cell by cell (NFKC, zero-width removed, white space collapsed and
    trimmed, blank tokens missing)."""
    import re
    import unicodedata

    out = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        s = re.sub(parsers._ZW, "", unicodedata.normalize("NFKC", v)) if not v.isascii() else v
        s = re.sub("[ \t\r\n\x0b\x0c]+", " ", s) if re.search(parsers._WS, s) else s
        s = s.strip()
        out.append(None if s.lower() in parsers.BLANK_TOKENS else s)
    return out


@pytest.mark.parametrize(
    "n", [1, 60_000]
)  # a short column, and a long one of few values (the dictionary path)
def test_as_text_matches_the_rules_cell_by_cell(n):
    values = (ODD + [None, "  两个  空格  ", "正常"]) * max(1, n // 25)
    got = parsers.as_text(pd.Series(values, dtype="str"))
    assert got.dtype == "str"
    expected = _slow_normalize(values)
    assert [None if x is np.nan or x is None or x != x else x for x in got.tolist()] == expected


def test_a_clean_column_comes_back_as_it_is():
    column = pd.Series(["第01镇", "第02镇", None] * 30_000, dtype="str", name="乡镇")
    got = parsers.as_text(column)
    assert got.name is None and got.equals(column.rename(None))
    names = pd.Series([f"王{i}" for i in range(60_000)], dtype="str")
    assert parsers.as_text(names).equals(names)
    padded = pd.Series([" 王五 ", "赵六"] * 30_000, dtype="str")
    assert parsers.as_text(padded).tolist()[:2] == ["王五", "赵六"]


def test_per_unique_on_arrow_text_is_per_row():
    raw = pd.Series(["2019.3.1", None, "2019年3月", "bad", "2019.3.1", "43000"] * 5, dtype="str")
    fast = parsers.parse_dates(raw)
    slow = parsers.parse_dates.__wrapped__(raw)
    for a, b in [(fast.values, slow.values), (fast.errors, slow.errors), (fast.warnings, slow.warnings)]:
        pd.testing.assert_series_equal(a, b, check_names=False)
    pd.testing.assert_series_equal(fast.extra["precision"], slow.extra["precision"], check_names=False)


def _ids(n: int, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    years = rng.integers(1995, 2016, n)
    body = pd.Series(
        [
            f"450804{y}{m:02d}{d:02d}{s:03d}"
            for y, m, d, s in zip(
                years, rng.integers(1, 13, n), rng.integers(1, 32, n), rng.integers(0, 999, n), strict=True
            )
        ]
    )
    return (body + parsers.id_check_digit(body)).astype("str")


def test_parse_ids_fast_path_is_the_regex_path():
    ids = _ids(5000)
    ids.iloc[7] = ids.iloc[7][:17] + ("0" if ids.iloc[7][17] != "0" else "1")  # a wrong check character
    body = ids.iloc[9][:10] + "0230" + ids.iloc[9][14:17]  # 2 月 30 日 (with its right check character)
    ids.iloc[9] = body + parsers.id_check_digit(pd.Series([body], dtype="str")).iloc[0]
    fast = parsers.parse_ids(ids)
    assert parsers._id18_matrix(parsers.as_text(ids)) is not None  # the column takes the byte path
    # one 15-digit ID sends the column down the regex path; the other rows must come out the same
    slow = parsers.parse_ids(pd.concat([ids, pd.Series(["450804100101123"], dtype="str")], ignore_index=True))
    n = len(ids)
    pd.testing.assert_series_equal(fast.warnings, slow.warnings.iloc[:n])
    for key in ("birth", "sex", "valid", "checksum_ok"):
        pd.testing.assert_series_equal(fast.extra[key], slow.extra[key].iloc[:n], check_names=False)
    assert fast.warnings.iloc[7] == parsers.MSG_ID_CHECKSUM and not fast.extra["checksum_ok"].iloc[7]
    assert pd.isna(fast.extra["birth"].iloc[9]) and fast.warnings.iloc[9] == parsers.MSG_ID_BIRTH


def test_birth_dates_and_check_sums_match_the_arithmetic():
    rng = np.random.default_rng(1)
    n = 20_000
    y, m, d = rng.integers(1880, 2120, n), rng.integers(0, 14, n), rng.integers(0, 33, n)
    text = "".join(f"{a:04d}{b:02d}{c:02d}" for a, b, c in zip(y, m, d, strict=True))
    chars = np.frombuffer(text.encode(), dtype=np.uint8).reshape(n, 8)
    got, want = arrowtext._birth_dates(chars), arrowtext._civil(y, m, d)
    assert ((got == want) | (np.isnat(got) & np.isnat(want))).all() and np.isnat(got).any()
    digits = rng.integers(48, 58, (n, 17)).astype(np.uint8)
    want_check = ((digits.astype(np.int64) - 48) * arrowtext._ID_WEIGHTS).sum(axis=1) % 11
    assert (arrowtext._check_index(digits) == want_check).all()
    assert (arrowtext._number(digits) == np.array([int(bytes(r)) for r in digits])).all()


def test_child_codes_from_bytes_are_the_id_digits():
    ids = _ids(3000, seed=2)
    keys = ("id:" + ids).astype("str")
    codes = _child_codes(keys)
    assert (codes == np.array([int(s[:17]) for s in ids])).all()
    mixed = pd.concat([keys, pd.Series(["n:张三|学校|?|?"], dtype="str")], ignore_index=True)
    assert (_child_codes(mixed)[:-1] == codes).all() and _child_codes(mixed)[-1] < 0


@pytest.mark.parametrize("n", [0, 1, 12, 999_999, 1_000_002])
def test_numbered_is_zfill(n):
    index = pd.RangeIndex(n)
    want = "C" + pd.Series(np.arange(1, n + 1), index=index).astype("str").str.zfill(6)
    got = arrowtext.numbered("C", index, 6)
    assert got.dtype == "str" and got.equals(want)


def test_join_few_and_constant_columns():
    a = pd.Series(["f.xlsx", "f.xlsx", "g.csv", None, "f.xlsx"], dtype="str")
    b = pd.Series(["台账", "疑似", "台账", "台账", None], dtype="str")
    assert arrowtext.join_few(a, b, "/").equals((a + "/" + b).astype("str"))
    index = pd.RangeIndex(4)
    assert arrowtext.const_text("", index).equals(pd.Series("", index=index, dtype="str"))
    assert arrowtext.const_text(None, index).equals(pd.Series(pd.NA, index=index, dtype="str"))
    assert arrowtext.all_empty(pd.Series(["", None], dtype="str"))
    assert not arrowtext.all_empty(pd.Series(["", "x"], dtype="str").iloc[1:])
    assert arrowtext.all_empty(pd.Series(["x", ""], dtype="str").iloc[1:])


def test_trend_cli_on_a_parquet_with_extra_columns_and_unclassified_outcomes(tmp_path, capsys):
    """`trend` (pruned columns, file order) gives the whole load's 表一 on a Parquet with columns it does not
    know and resolution texts nobody classified (it used to fail on those with a KeyError)."""
    frame, *_ = generate(4000, 0, seed=11)
    frame["备用列"] = "x"
    frame["联系人备注"] = frame["姓名"] + "家长"
    open_rows = frame.index[frame["是否返校"].eq("否")][:5]
    frame.loc[open_rows, "处置情况"] = "情况不明待查"
    frame = pd.concat([frame, frame.iloc[:30]], ignore_index=True)  # identical copies: excluded, not counted
    path = tmp_path / "台账.parquet"
    frame.to_parquet(path)
    whole = load_ledger(path)
    assert whole.report.unknown_outcomes == {"情况不明待查": 5} and whole.report.excluded["duplicate"] == 30
    dates = metrics.report_dates(whole.cases, whole.report_dates, "weekly")
    text = ",".join(d.strftime("%Y-%m-%d") for d in dates)
    assert cli.main(["trend", str(path), "--dates", text]) == 0
    got = json.loads(capsys.readouterr().out)
    want = metrics.trend(whole.cases, dates)
    assert [r["open"] for r in got] == want["open"].tolist()
    assert [r["returned"] for r in got] == want["returned"].tolist()
    assert [r["open_poor"] for r in got] == want["open_poor"].tolist()


@pytest.mark.parametrize(
    "texts",
    [
        ["abc", "王芳", None, ""],
        ["abc", "=SUM(A1)"],
        ["abc", "+86 139"],
        ["x", "-1"],
        ["x", "@me"],
        ["ａ" * 200],  # 600 bytes but 200 characters: looked at, not long
        ["a" * 501],
        ["中" * 167, "b"],
    ],
)
def test_leading_or_long_never_misses_a_formula_or_a_long_cell(texts):
    arr = pa.array(texts, pa.large_string())
    formula = pc.any(pc.match_substring_regex(arr, "^[=+\\-@]")).as_py()
    long = pc.any(pc.greater(pc.utf8_length(arr), 500)).as_py()
    if formula or long:
        assert arrowtext.leading_or_long(arr, b"=+-@", 500)
    if all(t is None or (len(t.encode()) <= 500 and (t == "" or t[0] not in "=+-@")) for t in texts):
        assert not arrowtext.leading_or_long(arr, b"=+-@", 500)


def test_shared_episodes_are_the_pairs_held_by_more_than_one_row():
    from kongchuo_metrics.ingest.linking import _shared_episodes

    rng = np.random.default_rng(5)
    n = 50_000
    child = np.concatenate([rng.integers(0, 10**17, n // 2), rng.integers(-300, 0, n // 2)])
    child[: n // 10] = child[n // 10 : n // 5]  # the same children again...
    day = rng.integers(17000, 17100, n)
    day[: n // 20] = day[n // 10 : n // 10 + n // 20]  # ...half of them on the same day
    day[-5:] = -(2**31)  # no registration date
    index = pd.RangeIndex(n) + 2
    got = _shared_episodes(child, day, index)
    frame = pd.DataFrame({"c": child, "d": day}, index=index)
    want = frame[frame.duplicated(keep=False)]
    assert got.index.equals(want.index) and len(want) > n // 20
    # one number per pair, two pairs never one number
    pairs = want.assign(e=got.to_numpy()).groupby(["c", "d"])["e"].nunique()
    assert (pairs == 1).all() and got.nunique() == len(pairs)


@pytest.mark.parametrize("share", [1.0, 0.3, 0.0005, 0.0])
def test_column_samples_are_those_of_the_first_kept_rows(share):
    from kongchuo_metrics.ingest import mapping

    rng = np.random.default_rng(3)
    n = 20_000
    col = pd.Series([f"乡镇{i // 997}" for i in range(n)], dtype="str")
    keep = rng.random(n) < share
    got = mapping._samples(col, keep, "township")
    want = parsers.as_text(col[keep].head(2000)).dropna().drop_duplicates().head(mapping.SAMPLES)
    assert got == tuple(want)
