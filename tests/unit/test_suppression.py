"""The one small-count rule (privacy.suppress): primary and complementary suppression, proved on random tables.

An attacker knows every published cell, the row totals (the 合计 column) and the column totals, and that a hidden
cell ("<5*") is a count >= 0 (1-4, or hidden to protect one). For every hidden cell the smallest and the largest value consistent with all of
that (integer programs, scipy.optimize.milp) must differ: no total gives a hidden cell back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from kongchuo_metrics import privacy


def _range_of(values: np.ndarray, small: np.ndarray, extra: np.ndarray, k: int, row_totals: bool) -> tuple:
    """(min, max) of hidden cell k (index into the hidden cells) given everything published."""
    rows, cols = values.shape
    hidden = np.flatnonzero((small | extra).ravel())
    n = len(hidden)
    pos = {cell: i for i, cell in enumerate(hidden)}
    flat = values.ravel()
    a, lo_hi = [], []

    def line(cells):
        coef, known = np.zeros(n), 0.0
        for cell, sign in cells:
            if cell in pos:
                coef[pos[cell]] += sign
            else:
                known += sign * flat[cell]
        return coef, known

    for j in range(cols):  # column totals are published
        coef, known = line([(i * cols + j, 1) for i in range(rows)])
        total = values[:, j].sum()
        a.append(coef)
        lo_hi.append(total - known)
    if row_totals:  # each row's last cell is the sum of the others
        for i in range(rows):
            coef, known = line([(i * cols + j, 1) for j in range(cols - 1)] + [(i * cols + cols - 1, -1)])
            a.append(coef)
            lo_hi.append(-known)
    b = np.array(lo_hi)
    bounds = Bounds(np.zeros(n), np.full(n, np.inf))
    cons = LinearConstraint(np.array(a), b, b)
    out = []
    for sign in (1, -1):
        c = np.zeros(n)
        c[k] = sign
        res = milp(c, constraints=cons, bounds=bounds, integrality=np.ones(n))
        assert res.success
        out.append(sign * res.fun)
    return tuple(out)


def _random_table(rng, rows, cols) -> np.ndarray:
    # many small counts and zeros, some large ones: the shapes a township x placement table has
    cells = rng.choice([0, 0, 1, 2, 3, 4, 5, 7, 12, 30], size=(rows, cols))
    return np.column_stack([cells, cells.sum(axis=1)])


@pytest.mark.parametrize("seed", range(60))
def test_no_hidden_cell_is_recoverable_from_the_published_totals(seed):
    rng = np.random.default_rng(seed)
    values = _random_table(rng, int(rng.integers(2, 6)), int(rng.integers(2, 6)))
    small, extra = privacy.suppression_mask(values)
    assert (small == ((values >= 1) & (values <= 4))).all()  # every 1-4 is hidden
    hidden = small | extra
    for k in range(int(hidden.sum())):
        low, high = _range_of(values, small, extra, k, row_totals=True)
        assert low < high, (values.tolist(), hidden.tolist(), k)


def test_a_lone_small_cell_gets_a_companion_in_its_row_and_column():
    # the case from the issue: 40 = 22 + 5 + 9 + 0 + 4 gave the 4 back
    table = pd.DataFrame(
        {
            "township": ["甲镇", "乙镇"],
            "mainstream": [22, 30],
            "special_school": [5, 6],
            "home_teaching": [9, 8],
            "exempt": [0, 7],
            "unplaced": [4, 6],
        }
    )
    counts = ["mainstream", "special_school", "home_teaching", "exempt", "unplaced"]
    table["total"] = table[counts].sum(axis=1)
    out = privacy.suppress(table, [*counts, "total"])
    hid = privacy.SUPPRESSED
    assert out.loc[0, "unplaced"] == hid
    assert out.loc[0, "special_school"] == hid  # the smallest other positive cell of the row
    assert out.loc[1, "unplaced"] == hid  # the column's own companion
    untouched = [v for v in out.loc[1, counts] if v != hid]
    assert all(isinstance(v, int) for v in untouched)  # numbers stay numbers for the xlsx


def test_nothing_small_nothing_hidden():
    table = pd.DataFrame({"k": ["a", "b"], "x": [0, 12], "y": [5, 0]})
    table["total"] = table[["x", "y"]].sum(axis=1)
    out = privacy.suppress(table, ["x", "y", "total"])
    assert out[["x", "y", "total"]].to_numpy().tolist() == [[0, 5, 5], [12, 0, 12]]


def test_a_single_column_table_hides_two_cells():
    table = pd.DataFrame({"reason": ["a", "b", "c"], "count": [3, 9, 20]})
    out = privacy.suppress(table, ["count"], total=None)
    assert out["count"].tolist() == [privacy.SUPPRESSED, privacy.SUPPRESSED, 20]
