import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kongchuo_metrics import parsers as P
from tests.conftest import valid_id


def _one_date(value):
    p = P.parse_dates(pd.Series([value], dtype=object))
    return p.values.iloc[0], p.extra["precision"].iloc[0], p.errors.iloc[0], p.warnings.iloc[0]


@pytest.mark.parametrize(
    "value",
    [
        dt.date(2019, 3, 12),
        dt.datetime(2019, 3, 12, 0, 0),
        "2019.3.12",
        "2019/3/12",
        "2019-03-12",
        "2019年3月12日",
        "20190312",
        20190312,
        20190312.0,
        "２０１９．３．１２",
        "2019-03-12 00:00:00",
        43536.0,
        " 2019.3.12 ",
    ],
)
def test_day_dates(value):
    v, prec, err, _ = _one_date(value)
    assert (v, prec, err) == (pd.Timestamp("2019-03-12"), "day", "")


@pytest.mark.parametrize("value", ["201903", "2019年3月", "2019-03", 201903])
def test_month_only_dates_keep_month_precision_and_warn(value):
    v, prec, err, warn = _one_date(value)
    assert (v, prec, err, warn) == (pd.Timestamp("2019-03-01"), "month", "", P.MSG_DATE_MONTH)


@pytest.mark.parametrize(
    "value, message",
    [
        ("2019.2.30", P.MSG_DATE_IMPOSSIBLE),
        ("19.3.12", P.MSG_DATE_SHORT_YEAR),
        ("2019.1", P.MSG_DATE_AMBIGUOUS_DOT),
        ("下周", P.MSG_DATE_UNREADABLE),
        ("2019年13月", P.MSG_DATE_IMPOSSIBLE),
    ],
)
def test_bad_dates_are_errors(value, message):
    v, _, err, _ = _one_date(value)
    assert pd.isna(v) and err == message


def test_blank_date_is_neither_value_nor_error():
    p = P.parse_dates(pd.Series(["", None, "/", "无"], dtype=object))
    assert p.values.isna().all() and (p.errors == "").all()
    # an empty cell read as NaN among date cells and serials is blank too, whichever way it is parsed
    for parse in (P.parse_dates, P.parse_dates.__wrapped__):
        p = parse(pd.Series([np.nan, dt.datetime(2019, 3, 1), 43525.0], dtype=object))
        assert pd.isna(p.values.iloc[0]) and p.errors.iloc[0] == "" and p.values.iloc[1] == p.values.iloc[2]


def test_datetime_column_passes_through():
    p = P.parse_dates(pd.Series(pd.to_datetime(["2019-03-12", None])))
    assert p.values.iloc[0] == pd.Timestamp("2019-03-12") and pd.isna(p.values.iloc[1])


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("是", True),
        ("否", False),
        ("√", True),
        ("×", False),
        ("✓", True),
        ("Y", True),
        ("n", False),
        ("1", True),
        ("0", False),
        (1.0, True),
        ("有", True),
        ("无", False),
        ("", None),
        (None, None),
    ],
)
def test_flags(raw, expected):
    v = P.parse_flags(pd.Series([raw], dtype=object)).values.iloc[0]
    assert pd.isna(v) if expected is None else v == expected


def test_flag_with_extra_text_is_kept_with_warning_and_unknown_text_is_unknown():
    p = P.parse_flags(pd.Series(["是（脱贫户）", "也许"], dtype=object))
    assert bool(p.values.iloc[0]) is True and "按“是”处理" in p.warnings.iloc[0]
    assert pd.isna(p.values.iloc[1]) and p.warnings.iloc[1] == P.MSG_FLAG_UNKNOWN


def test_id_numbers_normalised_checked_and_decoded():
    good = valid_id("20060512", "321")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    p = P.parse_ids(
        pd.Series(
            [
                good.lower(),
                "'" + good,
                good.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
                bad,
                "12345",
                None,
            ],
            dtype=object,
        )
    )
    assert p.values.iloc[0] == good.upper() and p.values.iloc[1] == good and p.values.iloc[2] == good
    assert p.warnings.tolist()[:5] == ["", "", "", P.MSG_ID_CHECKSUM, P.MSG_ID_FORMAT]
    assert p.extra["birth"].iloc[0] == pd.Timestamp("2006-05-12")
    assert p.extra["sex"].iloc[0] == "男"  # 17th digit (the last of seq "321") is odd
    assert p.extra["valid"].tolist() == [True, True, True, False, False, False]


def test_id_stored_as_excel_number_is_flagged_as_damaged():
    good = valid_id("20060512", "321")
    p = P.parse_ids(
        pd.Series([float(good[:-1] + "0") if good[-1] != "X" else float(good[:-1] + "1")], dtype=object)
    )
    assert p.warnings.iloc[0] == P.MSG_ID_NUMBER


def test_check_digit_known_example():
    # GB 11643-1999 example: 11010519491231002X
    assert P.id_check_digit(pd.Series(["11010519491231002"])).iloc[0] == "X"


def _reference_check(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def test_check_digits_read_from_the_arrow_buffer_match_the_standard():
    # IDs read straight from arrow's buffer, on a sliced column (non-zero offset) with one wrong check digit,
    # agree with the check computed digit by digit
    rng = np.random.default_rng(3)
    first17 = ["".join(map(str, rng.integers(0, 10, 17))) for _ in range(300)]
    ids = [f + _reference_check(f) for f in first17]
    ids[150] = ids[150][:17] + ("0" if ids[150][17] != "0" else "1")
    col = pd.Series(["x"] * 5 + ids, dtype="str").iloc[5:]
    assert P.valid_ids(col).tolist() == [i != 150 for i in range(300)]
    assert P.id_check_digit(col.str[:17]).tolist() == [_reference_check(f) for f in first17]
    p = P.parse_ids(col)
    assert (p.warnings == P.MSG_ID_CHECKSUM).tolist() == [i == 150 for i in range(300)]
    assert p.extra["checksum_ok"].tolist() == P.valid_ids(col).tolist()
    assert P.id_digits(col).tolist() == [int(f) for f in first17]


def test_grades_and_stages():
    g = P.parse_grades(
        pd.Series(["一年级", "3年级", "初一", "初三", "七年级", "9", "高一", None], dtype=object)
    )
    assert g.tolist()[:7] == [1, 3, 7, 9, 7, 9, pd.NA] and pd.isna(g.iloc[7])
    schools = pd.Series(["甲小学", "乙一中", "丙民中", "丁"], dtype="str")
    st = P.parse_stages(None, pd.Series([pd.NA] * 4, dtype="Int64"), schools)
    assert st.tolist()[:3] == ["primary", "junior", "junior"] and pd.isna(st.iloc[3])


def test_text_normalisation_full_width_and_zero_width():
    t = P.as_text(pd.Series(["黄练\u200b镇", "ＡＢ　村", " NA ", "无"], dtype=object))
    assert t.iloc[0] == "黄练镇" and t.iloc[1] == "AB 村" and t.iloc[2:].isna().all()


def test_categorize_order_negation_first():
    text = pd.Series(["未返校，继续劝返", "已返校就读", "核实在外地就读", "进入中职学校", "送教上门", "神秘"])
    from kongchuo_metrics.schema import OUTCOME_PATTERNS

    out = P.categorize(text, OUTCOME_PATTERNS)
    assert out.tolist()[:5] == ["open", "returned", "verified", "vocational", "special"] and pd.isna(
        out.iloc[5]
    )


def test_parsers_are_vectorised_over_large_columns():
    s = pd.Series(["2019.3.12"] * 50_000 + ["2019年3月"] * 50_000, dtype=object)
    p = P.parse_dates(s)
    assert p.values.notna().all() and (p.extra["precision"] == "month").sum() == 50_000
    assert np.issubdtype(p.values.dtype, np.datetime64)


def test_mixed_column_keeps_rows_aligned():
    # date cells and text in one column, as Excel gives them: each row keeps its own value
    raw = pd.Series(
        [dt.date(2019, 3, 1), "2019年3月2日", 20190303, "2019.3.4", "坏"],
        index=[10, 11, 12, 13, 14],
        dtype=object,
    )
    p = P.parse_dates(raw)
    assert p.values.dt.day.tolist()[:4] == [1, 2, 3, 4] and p.errors.loc[14] == P.MSG_DATE_UNREADABLE


@pytest.mark.parametrize(
    "parser, raw",
    [
        (
            P.parse_dates,
            [
                dt.datetime(2019, 3, 1),
                "2019.3.1",
                43525.0,
                43525,
                None,
                np.nan,
                "2019.2.30",
                "2019.3.1",
                "坏",
            ],
        ),
        (P.parse_flags, ["是", True, 1, 1.0, "否", False, 0, None, "无", "是（已核实）", "√", "是"]),
        (P.parse_grades, ["初一", "七年级", "三年级", None, "初一", "高一", 3]),
        (P.parse_sex, ["男", "女", "男性", None, "男", "x"]),
    ],
)
def test_parsing_distinct_values_once_matches_parsing_every_row(parser, raw):
    # the parsers run once per distinct value and spread back; the result equals the row-by-row parse, on a
    # shuffled, non-default index, for every kind of cell Excel gives
    rng = np.random.default_rng(0)
    values = [raw[i] for i in rng.integers(0, len(raw), 200)]
    series = pd.Series(values, index=np.arange(200) * 3 + 7, dtype=object)
    fast, slow = parser(series), parser.__wrapped__(series)
    if isinstance(fast, P.Parsed):
        for a, b in [(fast.values, slow.values), (fast.errors, slow.errors), (fast.warnings, slow.warnings)]:
            pd.testing.assert_series_equal(a, b, check_names=False)
        for k in slow.extra:
            pd.testing.assert_series_equal(fast.extra[k], slow.extra[k], check_names=False)
    else:
        pd.testing.assert_series_equal(fast, slow, check_names=False)


def test_calendar_arithmetic_matches_python_dates_on_every_day():
    # every (year, month, day) from 1899 to 2101, days 0-32: the integer calendar agrees with datetime.date,
    # and a day that does not exist (or a year out of range) is missing
    years, months, days = np.meshgrid(
        np.arange(1899, 2102), np.arange(1, 13), np.arange(0, 33), indexing="ij"
    )
    y, m, d = (pd.Series(a.ravel()) for a in (years, months, days))
    got = P._ymd(y, m, d)

    def expected(yy, mm, dd):
        if not 1900 <= yy <= 2100:
            return pd.NaT
        try:
            return pd.Timestamp(dt.date(yy, mm, dd))
        except ValueError:
            return pd.NaT

    want = pd.Series([expected(*t) for t in zip(y, m, d, strict=True)], dtype="datetime64[s]")
    pd.testing.assert_series_equal(got, want)
