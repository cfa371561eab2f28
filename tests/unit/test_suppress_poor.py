"""Issue 19 finding 4: small counts of 建档立卡 per school, village and township are not published."""

import pandas as pd

from kongchuo_metrics import privacy

S = privacy.SUPPRESSED


def test_one_poor_child_beside_a_school_is_hidden_with_a_second_cell():
    t = pd.DataFrame({"school": list("abcd"), "open": [7, 6, 8, 9], "open_poor": [2, 0, 6, 7]})
    out = privacy.published_poor(t)
    assert out["open_poor"].tolist() == [
        S,
        0,
        S,
        7,
    ]  # 2 hidden; 6 hidden too, or the column total gives 2 back
    assert out["open"].tolist() == [7, 6, 8, 9]  # the dropout counts stay (表二's 25)
    assert t["open_poor"].tolist() == [2, 0, 6, 7]  # the input is not changed


def test_a_zero_beside_a_small_base_is_hidden_too():
    # "<5" beside a school with one open case would say "1": hide the cell whatever it holds
    t = pd.DataFrame({"school": list("abc"), "open": [1, 3, 9], "open_poor": [1, 0, 6]})
    out = privacy.published_poor(t)
    assert out["open_poor"].tolist() == [S, S, 6]


def test_no_suppression_when_nothing_is_small():
    t = pd.DataFrame({"school": list("ab"), "open": [7, 9], "open_poor": [0, 5]})
    assert privacy.published_poor(t)["open_poor"].tolist() == [0, 5]
    assert privacy.summable(privacy.published_poor(t), ["open", "open_poor"]) == ["open", "open_poor"]


def test_row_totals_are_protected_too():
    t = pd.DataFrame({"a": [1, 9], "b": [9, 9], "total": [10, 18]})
    out = privacy.suppress(t, ["a", "b"], total="total")
    hidden = out.isin([S])
    assert hidden.sum(axis=1).tolist()[0] >= 2 and hidden.sum(axis=0).tolist()[0] >= 2
