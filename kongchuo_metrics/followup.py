"""Escalation and accountability: each open case's follow-up status (ladder step, last visit, overdue), per step
and per responsible person.

`followup_status` works on positions, as a column store would: the open cases are found with one comparison on
the date columns, each follow-up is matched to its case once (pyarrow `index_in` on the case ids, reading only
case_id, visit_date, step_level and deadline of the follow-ups), the per-case visits, last visit, highest step
and notice deadline are scattered into arrays with numpy, and the case rows are taken once, already in the
final order (most overdue first). `metrics` re-exports every name here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import schema
from .grouping import Groups

# the follow-up columns the status reads; a notice from the records database brings the same four
FOLLOWUP_COLUMNS = ["case_id", "visit_date", "step_level", "deadline"]


def _isin(values: pd.Series, among: pd.Series) -> np.ndarray:
    """values.isin(among) as a bool array; arrow strings go through pyarrow (pandas loops over them in Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        left, right = pa.array(values.array), pa.array(among.array)
        return pc.fill_null(pc.is_in(left, value_set=right), False).to_numpy(zero_copy_only=False)
    except (TypeError, ValueError, pa.ArrowException):
        return values.isin(among).to_numpy(dtype=bool)


def _index_in(values: pd.Series, among: pd.Series, numbers: bool = True) -> np.ndarray:
    """For each value, the position of its first occurrence in `among` (-1 when absent or missing); `numbers`
    tries the ids as integers first (_number_keys)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        left, right = pa.array(values.array), pa.array(among.array)
        keys = _number_keys(left, right) if numbers else None
        if keys is not None:
            return _index_in_numbers(*keys)
        found = pc.index_in(left, value_set=right)
        return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    except (TypeError, ValueError, pa.ArrowException):  # e.g. categorical ids: pandas matches them
        index = pd.Index(among)
        return index.get_indexer(values) if index.is_unique else _first_positions(values, among)


def _positions(values: pd.Series, ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """_index_in(values, ids) and _index_in(ids, ids) (each id's first occurrence), the ids read once."""
    import pyarrow as pa

    if not len(ids):
        return np.full(len(values), -1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    try:
        keys = _number_keys(pa.array(values.array), pa.array(ids.array))
    except (TypeError, ValueError, pa.ArrowException):
        keys = None
    if keys is not None:
        return _index_in_numbers(keys[0], keys[1]), _index_in_numbers(keys[1], keys[1])
    return _index_in(values, ids, numbers=False), _index_in(ids, ids, numbers=False)


def _number_keys(*arrays):
    """The ids as integers when every id is one prefix character then digits without a superfluous leading zero
    (the ledger's C000001 … C1000000), so that equal ids are equal integers and matching them hashes no
    strings; None for any other ids. A missing id becomes -1."""
    import pyarrow as pa
    import pyarrow.compute as pc

    heads, rests, out = set(), [], []
    for a in arrays:
        if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)) or len(a) == a.null_count:
            return None
        head = pc.utf8_slice_codeunits(a, 0, 1)
        bounds = pc.min_max(head)
        heads |= {bounds["min"].as_py(), bounds["max"].as_py()}
        rest = pc.utf8_slice_codeunits(a, 1)
        if len(heads) > 1 or not pc.all(pc.ascii_is_decimal(rest)).as_py():
            return None
        rests.append(rest)
    lengths = [pc.utf8_length(r) for r in rests]
    width = min(pc.min(n).as_py() for n in lengths)
    if not 1 <= width or max(pc.max(n).as_py() for n in lengths) > 18:
        return None
    for rest, n in zip(rests, lengths, strict=True):
        longer = pc.greater(n, width)
        if pc.any(pc.and_(longer, pc.starts_with(rest, "0"))).as_py():  # C01 and C1 would be one number
            return None
        out.append(pc.fill_null(pc.cast(rest, pa.int64()), -1).to_numpy(zero_copy_only=False))
    return out


def _index_in_numbers(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """_index_in for non-negative integer keys (-1 = missing): a lookup table, or a sorted search when sparse."""
    n = len(among)
    top = int(max(values.max(initial=-1), among.max(initial=-1)))
    if top < 4 * n + 1_000_000:
        table = np.full(top + 2, -1, dtype=np.int64)
        table[among[::-1] + 1] = np.arange(n, dtype=np.int64)[::-1]  # the first occurrence wins
        table[0] = -1  # a missing id (-1) matches nothing
        return table[values + 1]
    order = np.argsort(among, kind="stable")
    ranked = among[order]
    at = np.minimum(np.searchsorted(ranked, values, side="left"), max(n - 1, 0))
    found = (ranked[at] == values) & (values >= 0) if n else np.zeros(len(values), dtype=bool)
    return np.where(found, order[at] if n else -1, -1)


def _first_positions(values: pd.Series, among: pd.Series) -> np.ndarray:
    first = pd.Series(np.arange(len(among)), index=pd.Index(among)).groupby(level=0, sort=False).first()
    return first.reindex(pd.Index(values)).fillna(-1).to_numpy(dtype=np.int64)


def _step_codes(levels: pd.Series) -> np.ndarray:
    """Ladder position of each follow-up's step_level (-1 for an unknown or missing step)."""
    return _index_in(levels, pd.Series(list(schema.STEP_ORDER), dtype="str"), numbers=False)


def case_steps(cases: pd.DataFrame, followups: pd.DataFrame, as_of) -> pd.DataFrame:
    """Per case (index case_id): visits, last_visit, step (highest ladder step reached), deadline of the last notice,
    all counting follow-ups on or before as_of."""
    day = pd.Timestamp(as_of)
    fu = followups[followups["visit_date"] <= day]
    fu = fu[_isin(fu["case_id"], cases["case_id"])] if len(fu) > len(cases) else fu
    level = pd.Categorical(fu["step_level"], categories=list(schema.STEP_ORDER), ordered=True)
    fu = fu.assign(level=level.codes)
    g = fu.groupby("case_id", sort=False)
    out = pd.DataFrame({"visits": g.size(), "last_visit": g["visit_date"].max(), "level": g["level"].max()})
    notices = fu[fu["deadline"].notna()]
    out["deadline"] = notices.groupby("case_id")["deadline"].max()
    out["step"] = pd.Series(
        np.asarray(schema.STEP_ORDER, dtype=object)[out["level"].to_numpy()], index=out.index
    )
    return out.drop(columns="level")


def _max_at(n: int, where: np.ndarray, values: np.ndarray, empty: int) -> np.ndarray:
    """The largest of `values` landing at each of n positions (`empty` where none lands)."""
    out = np.full(n, empty, dtype=np.int64)
    np.maximum.at(out, where, values)
    return out


def _dates(values: np.ndarray, dtype) -> pd.Series:
    """int64 ticks back to a datetime Series of `dtype`, NaT where the ticks are the NaT sentinel."""
    return pd.Series(values.view(f"datetime64[{np.datetime_data(dtype)[0]}]"))


def followup_status(
    cases: pd.DataFrame, followups: pd.DataFrame, as_of, days: int = 14, notices: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The open cases at as_of with: open_days, last_visit, days_since (last visit or registration), step,
    deadline, overdue (bool) and overdue_reason (Chinese), sorted most overdue first.

    `notices`: delivered notices from the records database as follow-up rows (records.notices.as_followups);
    a delivery is a visit on the ladder and its return deadline counts like a ledger 复学期限.
    """
    day = pd.Timestamp(as_of)
    is_open = ((cases["registered"] <= day) & ~(cases["closed"] <= day)).to_numpy(dtype=bool)
    rows = np.flatnonzero(is_open)  # positions in `cases` of the open cases, in ledger order
    ids = cases["case_id"].iloc[rows]
    fu = followups[FOLLOWUP_COLUMNS]
    if notices is not None and len(notices):
        extra = notices[FOLLOWUP_COLUMNS]
        fu = pd.concat([fu, extra[_isin(extra["case_id"], ids)]], ignore_index=True)
    for col in ("visit_date", "deadline"):
        if fu[col].dtype.kind != "M":  # an empty or untyped frame
            fu = fu.assign(**{col: pd.to_datetime(fu[col]).astype("datetime64[s]")})
    n = len(rows)
    # each follow-up on or before the day, matched once to its open case (a repeated case id shares the steps)
    at, first = _positions(fu["case_id"], ids)
    keep = (at >= 0) & (fu["visit_date"] <= day).to_numpy(dtype=bool)
    where = at[keep]
    visits = np.bincount(where, minlength=n)[first]
    nat = np.iinfo(np.int64).min
    visit_dtype = fu["visit_date"].dtype
    visit_ticks = fu["visit_date"].to_numpy().view(np.int64)[keep]
    last_visit = _max_at(n, where, visit_ticks, nat)[first]
    level = _max_at(n, where, _step_codes(fu["step_level"])[keep], -2)[first]
    dl = fu["deadline"].to_numpy()
    dl_ticks = dl.view(np.int64)[keep]
    has_dl = dl_ticks != nat
    deadline = _max_at(n, where[has_dl], dl_ticks[has_dl], nat)[first]
    steps = np.asarray(schema.STEP_ORDER, dtype=object)
    step = np.where(level == -2, "none", steps[np.maximum(level, -1)])

    registered = cases["registered"].iloc[rows].reset_index(drop=True)
    last = _dates(last_visit, visit_dtype)
    dead = _dates(deadline, dl.dtype)
    open_days = (day - registered).dt.days.astype("Int64")
    since = last.where(last.notna(), registered.astype(last.dtype))
    days_since = (day - since).dt.days.astype("Int64")
    stale = (days_since > days).fillna(False).to_numpy(dtype=bool)
    # a notice whose deadline has passed is overdue unless the case has since gone up the ladder
    due = (dead < day).to_numpy(dtype=bool)
    past = due & (step == "notice")
    # a delivered 劝学通知书 (school step) gives a 7-day deadline too
    school_past = due & (step == "school_visit")
    reason = np.full(n, "", dtype=object)
    reason[stale] = f"超过{days}天未跟进"
    reason[school_past] = "劝学通知书已到期仍未返校"
    reason[past] = "限期复学通知书已到期仍未返校"
    reason[stale & past] = f"超过{days}天未跟进；限期复学通知书已到期"
    overdue = stale | past | school_past
    # most overdue first: overdue, then days since the last visit, both descending, ties in ledger order
    order = np.lexsort((-days_since.to_numpy(dtype=np.int64, na_value=0), ~overdue))
    out = cases.iloc[rows[order]].reset_index(drop=True)
    out["visits"] = visits[order].astype("int64")
    out["last_visit"] = last.iloc[order].to_numpy()
    out["deadline"] = dead.iloc[order].to_numpy()
    out["step"] = pd.Series(step[order], dtype="str")
    out["open_days"] = open_days.iloc[order].reset_index(drop=True)
    out["days_since"] = days_since.iloc[order].reset_index(drop=True)
    out["overdue"] = overdue[order]
    out["overdue_reason"] = pd.Series(reason[order], dtype="str")
    return out


NOTICE_OR_BEYOND = ("notice", "administrative", "judicial")  # the township's notice and the steps after it


def at_notice_or_beyond(status: pd.DataFrame) -> int:
    """Open cases at the 限期复学通知书 step or past it (administrative or judicial steps)."""
    return int(status["step"].isin(NOTICE_OR_BEYOND).sum())


def ladder_counts(status: pd.DataFrame) -> pd.DataFrame:
    """Open cases per ladder step (every step listed, in ladder order): step, label, open, overdue."""
    grp = Groups({"step": status["step"]})
    g = grp.keys.assign(open=grp.size(), overdue=grp.total(status["overdue"])).set_index("step")
    g = g.reindex(list(schema.STEP_ORDER), fill_value=0)
    g["label"] = [schema.STEPS[s] for s in g.index]
    return g.reset_index().rename(columns={"index": "step"})[["step", "label", "open", "overdue"]]


def owners_table(status: pd.DataFrame, line: str) -> pd.DataFrame:
    """Open and overdue cases per responsible person on one line ("gov" or "edu"): owner, open, overdue."""
    col = f"{line}_owner"
    grp = Groups({"owner": status[col].fillna("（未明确责任人）")})
    out = grp.keys.assign(open=grp.size(), overdue=grp.total(status["overdue"]))
    return out.sort_values(["overdue", "open"], ascending=False).reset_index(drop=True)
