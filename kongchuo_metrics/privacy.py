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
    """The case rows with every personal column masked or dropped (the rules are listed in the README).

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


# One mark for every hidden cell. A separate "<5" would tell which hidden cells are 1-4, and those bounds alone
# pin cells down (two "<5" in a column whose total is 2 are both 1): the property test in
# tests/unit/test_suppression.py found such tables. The mark reads "fewer than five, or hidden to protect one".
SUPPRESSED = "<5*"
THRESHOLD = 5
SUPPRESSION_RULE = (
    "小数抑制：涉及乡镇以下地区与残疾、建档立卡、原因等敏感属性的人数，1–4 人不显示具体数字，标为「<5*」；"
    "为防止由行合计或列合计反推出被隐藏的数，同一行、同一列中另有一个数一并隐藏，同样标为「<5*」。"
)


def suppression_mask(values, row_totals: bool = True, threshold: int = THRESHOLD, force=None):
    """Which cells of a count matrix to hide: (primary, complementary) boolean arrays.

    `values` is rows x columns of non-negative integers; its column totals are published, and with `row_totals`
    its last column is the row total (published too). Primary: counts 1..threshold-1. Complementary: while any
    row (with row totals) or column holds exactly one hidden cell, hide the smallest other positive cell of that
    line (a zero only when the line has no other positive cell), so that every total covers two hidden cells.
    `force` (same shape, optional) marks cells hidden whatever their value (see `suppress`'s `base`).
    """
    import numpy as np

    v = np.asarray(values, dtype=np.int64)
    primary = (v >= 1) & (v < threshold)
    if force is not None:
        primary |= np.asarray(force, dtype=bool)
    hidden = primary.copy()
    lines = [(None, j) for j in range(v.shape[1])]
    if row_totals:
        lines += [(i, None) for i in range(v.shape[0])]
    changed = True
    while changed:  # a handful of passes over the lines of an aggregate table, never over cases
        changed = False
        for i, j in lines:
            line = (slice(None), j) if i is None else (i, slice(None))
            if hidden[line].sum() != 1:
                continue
            cells, shut = v[line], hidden[line]
            order = np.where(
                shut, np.iinfo(np.int64).max, np.where(cells > 0, cells, np.iinfo(np.int64).max - 1)
            )
            pick = int(order.argmin())
            if shut[pick]:
                continue  # a one-cell line: nothing else to hide
            if i is None:
                hidden[pick, j] = True
            else:
                hidden[i, pick] = True
            changed = True
    return primary, hidden & ~primary


def suppress(
    table: pd.DataFrame, counts: list[str], total: str | None = "total", base: str | None = None
) -> pd.DataFrame:
    """The published form of an aggregate table: THE small-count rule for every page, export, pack and report.

    `counts` are the count columns; `total` (when given) is the row-total column, which is part of the matrix.
    Hidden cells (1-4 and their complementary cells, see `suppression_mask`) become SUPPRESSED; other cells stay
    integers, so that exports still write numbers as numbers. Column totals of the original table remain
    publishable. `base` names a published count the sensitive counts are part of (a school's open cases): where
    the base is 1-4, its sensitive cells are hidden whatever their value ("0 of 1" would tell the one child's
    status as surely as "1 of 1").
    """
    cols = [c for c in counts if c != total] + ([total] if total else [])
    out = table.copy()
    if len(out) == 0:
        return out
    values = out[cols].fillna(0).astype("int64").to_numpy()
    force = None
    if base is not None:
        b = out[base].fillna(0).to_numpy()
        force = ((b > 0) & (b < THRESHOLD))[:, None].repeat(len(cols), axis=1)
    primary, extra = suppression_mask(values, row_totals=bool(total), force=force)
    # a column whose hidden cells add up to 0 hides nothing: its published total already says they are all 0
    # (a "<5*" there would suggest 1-4 children where there are none)
    idle = ((values * (primary | extra)).sum(axis=0) == 0) & (values.sum(axis=0) == 0)
    primary, extra = primary & ~idle, extra & ~idle
    for k, col in enumerate(cols):
        shown = out[col].astype("Int64").astype("object")
        out[col] = shown.mask(primary[:, k] | extra[:, k], SUPPRESSED)
    return out


PLACEMENT_COUNTS = ["mainstream", "special_school", "home_teaching", "exempt", "unplaced", "total"]


def published_placements(by_table: pd.DataFrame, by: str, local: bool) -> pd.DataFrame:
    """A placements-by-township/type/建档立卡 table (metrics.special_ed_by) as it may be published: suppressed
    when its rows are townships or the selection (`local`) is a place finer than the county."""
    return suppress(by_table, PLACEMENT_COUNTS) if local or by == "township" else by_table


def finer_than_county(ledger, sel) -> bool:
    """True when the figures cover a place finer than the county: the selection names townships or schools, or
    the ledger is a township's or school's part of the county (access.scoped_ledger). The special-education
    counts of such a place follow the small-count rule (published_special, published_placements,
    published_reasons) on every page, pack and report."""
    return bool(sel.townships or sel.schools or ledger.meta.get("scope_part"))


def published_special(summary: dict, local: bool) -> dict:
    """metrics.special_ed_summary as it may be published: for a place finer than the county (`local`) the
    placement counts are one row of `suppress` with the total as its row total (the cards, the chart, the
    pack and the Word report show the same hidden cells), and 建档立卡 among 送教上门 is hidden when it is
    1-4 or when 送教上门 itself is hidden. The county's figures are published as they are."""
    if not local or not summary.get("total"):
        return dict(summary)
    row = pd.DataFrame([{k: summary[k] for k in PLACEMENT_COUNTS}])
    shown = suppress(row, PLACEMENT_COUNTS).iloc[0].to_dict()
    out = {**summary, **shown}
    poor = summary.get("home_teaching_poor") or 0
    if 0 < poor < THRESHOLD or out["home_teaching"] == SUPPRESSED:
        out["home_teaching_poor"] = SUPPRESSED
    return out


def published_reasons(summary: dict, local: bool) -> pd.DataFrame:
    """The unplaced children's reasons (metrics.special_ed_summary) as a published table: reason, count;
    suppressed when the selection (`local`) is a place finer than the county."""
    reasons = summary.get("unplaced_reasons") or {}
    table = pd.DataFrame({"unplaced_reason": list(reasons), "count": list(reasons.values())})
    return suppress(table, ["count"], total=None) if local else table


def is_suppressed(table: pd.DataFrame) -> bool:
    """True when a published table hides at least one cell (then its rule is stated under it)."""
    return bool(table.isin([SUPPRESSED]).to_numpy().any()) if len(table) else False


def summable(table: pd.DataFrame, columns: list[str]) -> list[str]:
    """The columns of `columns` without a suppressed cell (a 合计 row may add those up)."""
    return [c for c in columns if c in table and not table[c].isin([SUPPRESSED]).any()]


def published_poor(table: pd.DataFrame, count: str = "open_poor", base: str = "open") -> pd.DataFrame:
    """A per-school or per-village table with its 建档立卡 count as it may be published (see `suppress`)."""
    return suppress(table, [count], total=None, base=base) if count in table else table
