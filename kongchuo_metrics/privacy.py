"""Masking and suppression, applied on the server before a table reaches the browser or a file.

The personal fields are listed once, in `schema.PERSONAL_FIELDS`. `public_view` is the one way a table
holding case rows leaves the core: every column named there is masked or dropped.
"""

from __future__ import annotations

import pandas as pd

from .schema import PERSONAL_FIELDS

MODES = ("list", "briefing", "unmasked")


def mask_names(names: pd.Series, mode: str = "list") -> pd.Series:
    """Masked names: 张*三 / 张* in lists, 张** in briefing mode; unchanged when unmasked."""
    text = names.astype("str")
    if mode == "unmasked":
        return text
    first = text.str[0]
    if mode == "briefing":
        return (first + "**").where(text.notna())
    n = text.str.len()
    middle = pd.Series("*", index=text.index).str.repeat(n.sub(2).clip(lower=1).fillna(1).astype(int))
    out = (first + middle + text.str[-1]).where(n > 2, first + "*")
    return out.where(text.notna())


def mask_people(names: pd.Series) -> pd.Series:
    """Guardian-style masking: the first character and one star per other character (王*, 欧阳**)."""
    text = names.astype("str")
    stars = pd.Series("*", index=text.index).str.repeat(
        text.str.len().sub(1).clip(lower=1).fillna(1).astype(int)
    )
    return (text.str[0] + stars).where(text.notna())


def mask_phones(phones: pd.Series) -> pd.Series:
    """Phone numbers as 138****1234 (first 3 and last 4 digits)."""
    digits = phones.astype("str").str.replace(r"\D", "", regex=True)
    out = digits.str[:3] + "****" + digits.str[-4:]
    return out.where(digits.str.len() >= 7, "****").where(phones.notna())


def mask_ids(ids: pd.Series) -> pd.Series:
    """ID numbers as the first 6 and the last 1 character (detail view only)."""
    text = ids.astype("str")
    return (text.str[:6] + "*" * 11 + text.str[-1]).where(text.str.len() >= 15, "******").where(text.notna())


def mask_value(field: str, values: pd.Series) -> pd.Series:
    """One column of raw cell text masked as its field requires (used for the validation report)."""
    text = values.astype("str")
    if field == "name":
        return mask_names(text)
    if field in ("guardian_name",):
        return mask_people(text)
    if field == "guardian_phone":
        return mask_phones(text)
    if field == "id_number":
        return mask_ids(text)
    if field in PERSONAL_FIELDS:
        return text.where(text.isna(), "***")
    return text


def public_view(cases: pd.DataFrame, mode: str = "list", detail: bool = False) -> pd.DataFrame:
    """The case rows with every personal column masked or dropped, per privacy-security.md.

    list: names 张*三, guardian 王* / 138****1234, no ID, no birth date, no notes.
    briefing: names 张**, guardian and notes dropped.  unmasked: as loaded (county admin, audited).
    detail=True keeps the ID as first 6 + last 1 (never in briefing mode).
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    out = cases.copy()
    if mode == "unmasked":
        return out
    if "name" in out:
        out["name"] = mask_names(out["name"], mode)
    if mode == "briefing":
        drop = [c for c in out.columns if c in PERSONAL_FIELDS and c != "name"]
        return out.drop(columns=drop)
    if "guardian_name" in out:
        out["guardian_name"] = mask_people(out["guardian_name"])
    if "guardian_phone" in out:
        out["guardian_phone"] = mask_phones(out["guardian_phone"])
    if detail and "id_number" in out:
        out["id_number"] = mask_ids(out["id_number"])
    keep = {"name", "guardian_name", "guardian_phone"} | ({"id_number"} if detail else set())
    drop = [c for c in out.columns if c in PERSONAL_FIELDS and c not in keep]
    return out.drop(columns=drop)


def assert_public(frame: pd.DataFrame, mode: str = "list") -> None:
    """Raise if a frame still carries a personal column that its mode does not allow."""
    allowed = {"list": {"name", "guardian_name", "guardian_phone", "id_number"}, "briefing": {"name"}}
    if mode == "unmasked":
        return
    leaked = [c for c in frame.columns if c in PERSONAL_FIELDS and c not in allowed[mode]]
    if leaked:
        raise AssertionError(f"personal columns not masked: {leaked}")


SUPPRESSED = "<5"


def suppress_small(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Counts 1–4 in `columns` replaced by "<5" (text); 0 and ≥5 stay. For downloads that cross a place finer
    than the county with a sensitive attribute (disability type, 建档立卡, reason)."""
    out = table.copy()
    for col in columns:
        values = out[col]
        small = values.between(1, 4)
        out[col] = values.astype("Int64").astype("str").mask(small, SUPPRESSED)
    return out


def suppress(
    table: pd.DataFrame, counts: list[str], total: str | None = None, base: str | None = None
) -> pd.DataFrame:
    """The published form of an aggregate table: counts 1–4 in `counts` become SUPPRESSED, with complementary
    suppression so that no published total gives a hidden cell back.

    `total` names the row-total column (part of the matrix, published); column totals are published too. While
    a column (or a row, with `total`) holds exactly one hidden cell, its smallest other cell is hidden as well.
    `base` names a published count the sensitive counts are part of (a school's open cases): where the base is
    under 5, its sensitive cells are hidden whatever their value, or "<5" beside a base of 1 would say "1".
    Other cells stay integers (exports write numbers as numbers).
    """
    import numpy as np

    cols = [c for c in counts if c != total] + ([total] if total else [])
    out = table.copy()
    if len(out) == 0:
        return out
    v = out[cols].fillna(0).astype("int64").to_numpy()
    hidden = (v >= 1) & (v < 5)
    if base is not None:
        hidden |= (out[base].fillna(0).to_numpy()[:, None] < 5) & (
            out[base].fillna(0).to_numpy()[:, None] > 0
        )
    big = np.iinfo(np.int64).max
    lines = [(slice(None), j) for j in range(v.shape[1])] + (
        [(i, slice(None)) for i in range(v.shape[0])] if total else []
    )
    changed = True
    while changed:  # a few passes over the lines of an aggregate table (never over cases)
        changed = False
        for line in lines:
            if hidden[line].sum() != 1 or hidden[line].size < 2:
                continue
            cells = v[line]
            order = np.where(hidden[line], big, np.where(cells > 0, cells, big - 1))
            pick = int(order.argmin())
            idx = (pick, line[1]) if isinstance(line[0], slice) else (line[0], pick)
            hidden[idx] = True
            changed = True
    for k, col in enumerate(cols):
        out[col] = out[col].astype("Int64").astype("object").mask(hidden[:, k], SUPPRESSED)
    return out


def summable(table: pd.DataFrame, columns: list[str]) -> list[str]:
    """The columns of `columns` without a suppressed cell (a 合计 row may add those up)."""
    return [c for c in columns if c in table and not table[c].isin([SUPPRESSED]).any()]


def published_poor(table: pd.DataFrame, count: str = "open_poor", base: str = "open") -> pd.DataFrame:
    """A per-school or per-village table with its 建档立卡 count as it may be published (see `suppress`)."""
    return suppress(table, [count], base=base) if count in table else table
