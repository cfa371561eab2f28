"""Per-group counts on positions: the groups of one or more key columns in the order `groupby(sort=True)` gives
them, and per-group sizes, sums and maxima with numpy.

pandas' named aggregations (`groupby(...).agg(open=("case_id", "size"), ...)`) cost about 10 ms on a few
hundred rows, whatever the size: every township's view of every page paid that several times. These give the
same frames (tests/unit/test_grouping.py compares them with groupby on the sample and on generated ledgers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class Groups:
    """The groups of `keys` (name -> column; a row with a missing key is in no group, as groupby drops it):
    `codes` (each row's group, -1 for such a row), `keys` (one row per group, sorted as groupby sorts them),
    `n` (how many groups)."""

    def __init__(self, keys: dict[str, pd.Series]) -> None:
        combined = None
        parts = []
        for column in keys.values():
            codes, uniques = pd.factorize(column, sort=True)
            parts.append((codes, uniques))
            codes = codes.astype(np.int64)
            if combined is None:
                combined = codes
            else:
                combined = np.where((combined < 0) | (codes < 0), -1, combined * len(uniques) + codes)
        valid = combined >= 0
        self.codes = np.full(len(combined), -1, dtype=np.int64)
        self.codes[valid], groups = pd.factorize(combined[valid], sort=True)
        self.n = len(groups)
        columns = {}
        stride = 1
        for name, (_, uniques) in reversed(list(zip(keys, parts, strict=True))):
            columns[name] = uniques.take((groups // stride) % max(len(uniques), 1)) if self.n else uniques[:0]
            stride *= max(len(uniques), 1)
        self.keys = pd.DataFrame({name: columns[name] for name in keys})

    def size(self) -> np.ndarray:
        return np.bincount(self.codes[self.codes >= 0], minlength=self.n).astype(np.int64)

    def total(self, values) -> np.ndarray:
        """Per-group sums of integer or boolean values (no missing ones), as int64."""
        v = np.asarray(values, dtype=np.int64)
        ok = self.codes >= 0
        return np.bincount(self.codes[ok], weights=v[ok], minlength=self.n).round().astype(np.int64)

    def total_or_na(self, values: pd.Series) -> np.ndarray:
        """Per-group sums of a nullable number column as float, NaN for a group of only missing values
        (groupby's sum(min_count=1))."""
        v = values.to_numpy(dtype="float64", na_value=np.nan)
        ok = (self.codes >= 0) & ~np.isnan(v)
        sums = np.bincount(self.codes[ok], weights=v[ok], minlength=self.n)
        return np.where(np.bincount(self.codes[ok], minlength=self.n) > 0, sums, np.nan)

    def maximum(self, values: pd.Series) -> pd.Series:
        """Per-group maxima of a nullable integer column, missing values skipped (NA for a group of only NA)."""
        v = values.to_numpy(dtype="float64", na_value=np.nan)
        out = np.full(self.n, np.nan)
        ok = self.codes >= 0
        np.fmax.at(out, self.codes[ok], v[ok])
        return pd.Series(out).astype(values.dtype)
