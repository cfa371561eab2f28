"""Identity and linking: child keys, duplicate and conflicting case rows, visits to cases, townships from
schools."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .. import arrowtext, parsers, schema
from .cases import CASE_COLUMNS
from .ledger import IngestReport
from .problems import ERROR, EXCLUDED, Problems


def _ids_valid(frame: pd.DataFrame) -> pd.Series:
    """True where the row's ID number is valid (format and check character)."""
    if "_id_ok" in frame:  # worked out when the IDs were parsed
        return frame["_id_ok"].astype(bool)
    if "id_number" in frame:
        return parsers.valid_ids(frame["id_number"])
    return pd.Series(False, index=frame.index)


def _text_or(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame:
        return pd.Series("?", index=frame.index, dtype="str")
    col = frame[name]
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return col.dt.strftime("%Y%m%d").astype("str").fillna("?")
    return col.astype("str").fillna("?")


def _child_key(frame: pd.DataFrame) -> pd.Series:
    """A key per child: the ID number when it is valid, else every identifying field together (name, school,
    birth date, sex): twins with one name and school but another sex or birth date are two children."""
    valid = _ids_valid(frame).to_numpy(dtype=bool)
    key = ("id:" + frame["id_number"]).astype("str")
    if not valid.all():
        rest = frame[~valid]  # only the rows without a valid ID build the longer key
        fallback = (
            "n:"
            + _text_or(rest, "name")
            + "|"
            + _text_or(rest, "school")
            + "|"
            + _text_or(rest, "birth_date")
            + "|"
            + _text_or(rest, "sex")
        )
        key = key.where(valid, fallback.reindex(frame.index))
    return key


def _child_codes(keys: pd.Series) -> np.ndarray:
    """One integer per distinct child key: a valid 18-character ID ("id:" + 17 digits and its check character)
    is its 17 digits, any other key a negative dictionary code (no hash table of a million strings)."""
    import pyarrow.compute as pc

    chars = arrowtext.fixed_width_matrix(keys, 21)
    if chars is not None and (chars[:, :3] == np.frombuffer(b"id:", dtype=np.uint8)).all():
        if arrowtext.id18_bytes_ok(chars[:, 3:]):  # every key a valid ID (the usual ledger): bytes to numbers
            return arrowtext._number(chars[:, 3:20])
    arr = parsers._arrow_text(keys)
    by_id = pc.and_(pc.starts_with(arr, "id:"), pc.equal(pc.utf8_length(arr), 21))
    by_id = by_id.to_numpy(zero_copy_only=False).astype(bool) if arr.null_count == 0 else None
    if by_id is None or not by_id.any():
        return parsers.codes_of(keys)
    out = np.empty(len(keys), dtype=np.int64)
    ids = keys[by_id].str.slice(3)
    digits = ids.str.fullmatch("[0-9]{17}[0-9X]").fillna(False).astype(bool).to_numpy()
    if not digits.all():  # never for a key built from a valid ID; kept exact anyway
        return parsers.codes_of(keys)
    out[by_id] = parsers.id_digits(ids)
    if (~by_id).any():
        out[~by_id] = -1 - parsers.codes_of(keys[~by_id])
    return out


def _shared_episodes(child: np.ndarray, day: np.ndarray, index: pd.Index) -> pd.Series:
    """The rows whose (child, day) pair more than one row holds, with an episode number per pair.

    One hash table over a 64-bit mix of the pair finds the candidates (rows whose mix another row shares:
    every repeated pair, and perhaps a pair that only collides); the pairs of those few rows are then numbered
    exactly, so a collision never joins two episodes."""
    if not len(child):
        return pd.Series(np.zeros(0, dtype=np.int64), index=index)
    with np.errstate(over="ignore"):
        mix = child.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + day.astype(np.uint64)
    codes = pd.factorize(mix)[0]
    maybe = np.flatnonzero(np.bincount(codes)[codes] > 1)
    if not len(maybe):
        return pd.Series(np.zeros(0, dtype=np.int64), index=index[maybe])
    # exact: the child (dense among these rows) packed with the day, numbered again
    dense = pd.factorize(child[maybe])[0].astype(np.int64)
    exact = pd.factorize(dense * (2**32) + (day[maybe] + 2**31))[0]
    repeated = np.bincount(exact)[exact] > 1
    return pd.Series(exact[repeated], index=index[maybe[repeated]])


def _dedupe_cases(
    cases: pd.DataFrame,
    keep: np.ndarray,
    probs: Problems,
    report: IngestReport,
    complete: Callable[[pd.Index], pd.DataFrame] | None = None,
) -> np.ndarray:
    """Among the kept rows, collapse identical ones (excluded, counted) and quarantine conflicting copies of the
    same episode. Returns the new keep mask; only the few rows that share an episode are ever copied.

    `complete`: for cases built with some fields only, gives the given rows with every field (rows of one
    episode equal on the fields read are compared on all of them; a conflict's message then names the
    differing fields among those read)."""
    keep = keep.copy()
    kept = cases.index[keep]
    # one integer per episode (child + registration date); identical rows are always within one episode, so
    # only rows sharing an episode are hashed, one 64-bit hash per row instead of grouping on every column
    keys = cases.loc[kept, ["child_key", "registered"]]
    if "case_no" in cases and cases["case_no"].notna().any():
        # a case number (编号/个案编号/台账编号, not the restarting 序号) names the episode itself
        number = cases.loc[kept, "case_no"]
        has = number.notna()
        keys = keys.assign(
            child_key=("no:" + number).where(has, keys["child_key"]),
            registered=keys["registered"].mask(has),
        )
    # the child as an integer (its ID digits, or a dictionary code), and the registration day
    child = _child_codes(keys["child_key"].astype("str"))
    day = keys["registered"].to_numpy(dtype="datetime64[s]").astype("datetime64[D]").astype("int64")
    day = np.where(keys["registered"].isna().to_numpy(), -(2**31), day)  # NaT: one group of its own
    shared = _shared_episodes(child, day, kept)
    if shared.empty:
        return keep
    sub = cases.loc[shared.index]
    cmp_cols = [
        c for c in CASE_COLUMNS if c in sub and c not in ("case_id", "child_key", "source", "source_row")
    ]
    row_hash = pd.util.hash_pandas_object(sub[cmp_cols], index=False)
    if complete is not None:
        # cases of some fields only: rows unequal on the fields read are unequal (the others are empty here);
        # the episodes holding rows equal on every field read are read whole and compared on every field
        maybe = row_hash.duplicated(keep=False).to_numpy()
        if maybe.any():
            whole = shared.isin(shared[maybe].unique()).to_numpy()
            full = complete(shared.index[whole])
            sub = pd.concat([sub[~whole], full[sub.columns]]).loc[shared.index]
            row_hash = pd.util.hash_pandas_object(sub[cmp_cols], index=False)
    dup = row_hash.duplicated(keep="first")
    report.excluded["duplicate"] += int(dup.sum())
    if dup.any():
        first_row = sub["source_row"].groupby(row_hash, sort=False).transform("first")
        msg = "与第 " + first_row.astype("str") + " 行完全相同，已合并"
        probs.add(sub, "cases", "", msg.where(dup, ""), severity=EXCLUDED, rows="source_row")
        sub, shared = sub[~dup], shared[~dup]
        keep[dup.index[dup]] = False
    conflict = shared.duplicated(keep="first")
    if not conflict.any():
        return keep
    involved = shared.duplicated(keep=False)
    sub, shared, conflict = sub[involved], shared[involved], conflict[involved]
    others = [c for c in cmp_cols if c != "registered"]
    firsts = sub.groupby(shared, sort=False)[others + ["source_row"]].transform("first")
    mine, theirs = sub[others].astype("str"), firsts[others].astype("str")
    differ = ~((mine == theirs) | (mine.isna() & theirs.isna())).fillna(False).astype(bool)
    # field labels of the differing columns, joined: a boolean x label product over the few conflicting rows
    labels = np.array([schema.field_label(c) + "、" for c in others], dtype=object)
    differing = pd.Series(differ.to_numpy().astype(object) @ labels, index=sub.index, dtype="str")
    msg = (
        "与第 "
        + firsts["source_row"].astype("str")
        + " 行为同一儿童、同一辍学日期，但字段不一致："
        + differing.str.rstrip("、")
    )
    probs.add(sub, "cases", "name", msg.where(conflict, ""), severity=ERROR, rows="source_row")
    report.rows_quarantined += int(conflict.sum())
    keep[conflict.index[conflict]] = False
    return keep


def _valid_18(frame: pd.DataFrame, valid: pd.Series) -> np.ndarray:
    return (valid & frame["id_number"].str.len().eq(18)).fillna(False).astype(bool).to_numpy()


def _link_followups(
    followups: pd.DataFrame, cases: pd.DataFrame, probs: Problems, report: IngestReport
) -> pd.DataFrame:
    """Attach each visit to the case episode of the same child registered last on or before the visit."""
    if followups.empty:
        return followups.assign(case_id=pd.Series(dtype="str"))
    fu = followups.copy()
    n_fu, n_cases = len(fu), len(cases)
    # a visit is matched on the child's valid ID; without one, on name + school. A case offers both keys.
    # Valid 18-character IDs become integers (their 17 digits); every other key is text, dictionary-encoded
    # into negative integers, so the as-of joins group on numbers, not millions of strings.
    fu_ok = _ids_valid(fu)
    fu_18 = _valid_18(fu, fu_ok)
    rest = fu[~fu_18]  # the visits keyed by text
    visit_text = ("id:" + rest["id_number"]).where(
        fu_ok[~fu_18], "n:" + rest["name"].fillna("?") + "|" + rest["school"].fillna("")
    )
    case_18 = _valid_18(cases, _ids_valid(cases))  # their child_key is "id:" + the ID
    name_key = "n:" + cases["name"].fillna("?") + "|" + cases["school"].fillna("")
    text_codes = -1 - parsers.codes_of(visit_text, cases["child_key"][~case_18], name_key)
    split = np.cumsum([(~fu_18).sum(), (~case_18).sum()])
    visit_keys = np.empty(n_fu, dtype=np.int64)
    visit_keys[fu_18] = parsers.id_digits(fu["id_number"][fu_18])
    visit_keys[~fu_18] = text_codes[: split[0]]
    case_keys = np.empty(n_cases, dtype=np.int64)
    case_keys[case_18] = parsers.id_digits(cases["id_number"][case_18])
    case_keys[~case_18] = text_codes[split[0] : split[1]]
    registered = cases["registered"].to_numpy().astype("datetime64[s]")
    right = (
        pd.DataFrame(
            {
                "key": np.concatenate([case_keys, text_codes[split[1] :]]),
                "registered": np.concatenate([registered, registered]),
                "case": np.tile(np.arange(n_cases), 2),
            }
        )
        .drop_duplicates(["key", "registered"])
        .sort_values("registered", kind="stable")
    )
    left = pd.DataFrame(
        {
            "key": visit_keys,
            "visit": fu["visit_date"].to_numpy().astype("datetime64[s]"),
            "pos": np.arange(n_fu),
        }
    ).sort_values("visit", kind="stable")
    joined = {
        direction: pd.merge_asof(
            left, right, left_on="visit", right_on="registered", by="key", direction=direction
        )["case"]
        for direction in ("backward", "forward")
    }
    # a visit a few days before the registration still belongs to that child's (only) episode
    case_pos = joined["backward"].fillna(joined["forward"]).fillna(-1).astype("int64").to_numpy()
    by_visit = np.full(n_fu, -1, dtype="int64")
    by_visit[left["pos"].to_numpy()] = case_pos
    # -1 (no episode) becomes missing in the take
    fu["case_id"] = pd.Series(
        cases["case_id"].astype("str").array.take(by_visit, allow_fill=True), index=fu.index
    )
    unlinked = fu["case_id"].isna()
    if unlinked.any():
        probs.where(
            fu,
            "followups",
            "name",
            unlinked,
            "找不到对应的个案（身份证号/姓名与台账不符）",
            severity=ERROR,
            rows="source_row",
        )
        report.rows_quarantined += int(unlinked.sum())
    return fu[~unlinked]


def _fill_township_from_school(cases: pd.DataFrame, schools: pd.DataFrame, probs: Problems) -> pd.DataFrame:
    if schools.empty:
        return cases
    lookup = (
        schools.dropna(subset=["school", "township"])
        .drop_duplicates("school")
        .set_index("school")["township"]
    )
    need = cases["township"].isna() & cases["school"].notna()
    if not need.any():
        return cases
    out = cases.copy()
    filled = out.loc[need, "school"].map(lookup)
    out.loc[need, "township"] = filled
    probs.where(
        out,
        "cases",
        "township",
        need & out["township"].notna(),
        "乡镇为空，已按学校所在乡镇补全",
        values=out["school"],
        rows="source_row",
    )
    return out
