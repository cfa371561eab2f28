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


def test_a_column_that_is_all_zero_hides_nothing():
    # the county's 建档立卡 total is 0 (红线守住): every township's cell is known to be 0, so none shows "<5*"
    t = pd.DataFrame({"township": list("abc"), "open": [2, 3, 9], "open_poor": [0, 0, 0]})
    assert privacy.published_poor(t)["open_poor"].tolist() == [0, 0, 0]


def test_special_education_cards_pack_and_word_hide_the_cells_the_table_hides(sample_ledger):
    import datetime as dt

    from kongchuo_metrics import metrics
    from kongchuo_metrics.documents import report
    from kongchuo_metrics.settings import load_settings
    from tests.conftest import SAMPLE_DIR

    roster = sample_ledger.special_ed
    for town in sorted(roster["township"].dropna().unique()):
        mine = roster[roster["township"] == town]
        shown = privacy.published_special(metrics.special_ed_summary(mine), local=True)
        table = privacy.published_placements(metrics.special_ed_by(mine, "township"), "township", True)
        for key in privacy.PLACEMENT_COUNTS:
            assert (shown[key] == S) == (table[key].iloc[0] == S), (town, key)
        small = [k for k in privacy.PLACEMENT_COUNTS if isinstance(shown[k], int) and 0 < shown[k] < 5]
        assert not small, (town, small)  # no 1-4 left anywhere on the cards
    # the county's own figures are published as they are
    county = metrics.special_ed_summary(roster)
    assert privacy.published_special(county, local=False) == county
    # and the Word report of a township says "<5*" where the cards do
    town = "黄练镇"
    shown = privacy.published_special(metrics.special_ed_summary(roster[roster["township"] == town]), True)
    hidden = [k for k in privacy.PLACEMENT_COUNTS if shown[k] == S]
    assert hidden, "the sample has a township with small placement counts"
    f = report.facts(
        sample_ledger,
        metrics.Selection(townships=(town,), as_of=dt.date(2019, 6, 25)),
        load_settings(SAMPLE_DIR),
    )
    sentence = report.special_sentence(f.special, town)
    assert S in sentence and all(f.special[k] == S for k in hidden)
