"""Stable child keys, so records survive the monthly re-import of the ledger (case_id is renumbered each load).

key     = the ID number when it is valid, else the 学籍号 (the child's case number in the national system), else
          name + school + registration date;
alt_key = name + township + registration date, which does not depend on the school name, so a child without an
          ID number is still found after a school is renamed or merged.
Both are stored as SHA-256 digests: the records database holds no ID number, 学籍号 or name in clear.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from .. import parsers

_NS = "kongchuo-child-v1|"


def _digest(values: pd.Series) -> pd.Series:
    return values.map(
        lambda s: hashlib.sha256((_NS + s).encode("utf-8")).hexdigest()[:32], na_action="ignore"
    )


def _text(cases: pd.DataFrame, col: str) -> pd.Series:
    if col not in cases:
        return pd.Series(pd.NA, index=cases.index, dtype="str")
    return cases[col].astype("str").str.strip().replace("", pd.NA)


def child_keys(cases: pd.DataFrame) -> pd.DataFrame:
    """Per case row (same index): case_id, child_key, alt_key (hex digests)."""
    ids = _text(cases, "id_number").str.upper()
    valid = parsers.valid_ids(ids.fillna("")).astype(bool) & ids.notna()
    student = _text(cases, "student_no")
    day = cases["registered"].dt.strftime("%Y-%m-%d").fillna("?")
    name = _text(cases, "name").fillna("?")
    by_name = "nsd:" + name + "|" + _text(cases, "school").fillna("?") + "|" + day
    raw = ("id:" + ids).where(valid, ("sn:" + student).where(student.notna(), by_name))
    alt = "ntd:" + name + "|" + _text(cases, "township").fillna("?") + "|" + day
    return pd.DataFrame(
        {"case_id": cases["case_id"], "child_key": _digest(raw), "alt_key": _digest(alt)}, index=cases.index
    )


def locate(refs: pd.DataFrame, cases: pd.DataFrame) -> pd.Series:
    """The current case_id of each record's child (refs: child_key, alt_key; same index back), <NA> when the child
    is no longer in the ledger. The key decides first; the school-independent alt_key is the fallback; a child with several episodes maps to the latest."""
    keys = child_keys(cases)
    by_key = keys.drop_duplicates("child_key", keep="last").set_index("child_key")["case_id"]
    by_alt = keys.drop_duplicates("alt_key", keep="last").set_index("alt_key")["case_id"]
    found = refs["child_key"].map(by_key)
    return found.fillna(refs["alt_key"].map(by_alt)).astype("str")
