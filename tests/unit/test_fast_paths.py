"""The positional fast paths (followup_status, schools_table, the change columns) give exactly the tables of the
straightforward pandas computation they replaced, on the sample and on a generated ledger with awkward cases:
a child registered again after returning, cases closed on the as-of day, missing school or township, cases
registered after the as-of date, missing and empty names, follow-ups after the day or for unknown cases,
unknown ladder steps, deadlines on the day, and delivered notices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.gen import generate
from kongchuo_metrics import compare, metrics, privacy, schema
from kongchuo_metrics.ingest import load_ledger

# --- the straightforward computations (the code before the fast paths, kept here as the reference) ----------


def ref_case_steps(cases, followups, as_of):
    day = pd.Timestamp(as_of)
    fu = followups[followups["visit_date"] <= day]
    fu = fu[fu["case_id"].isin(cases["case_id"])]
    level = fu["step_level"].map({s: i for i, s in enumerate(schema.STEP_ORDER)}).fillna(-1).astype(int)
    fu = fu.assign(level=level.to_numpy())
    g = fu.groupby("case_id", sort=False)
    out = pd.DataFrame({"visits": g.size(), "last_visit": g["visit_date"].max(), "level": g["level"].max()})
    notices = fu[fu["deadline"].notna()]
    out["deadline"] = notices.groupby("case_id")["deadline"].max()
    out["step"] = pd.Series(
        np.asarray(schema.STEP_ORDER, dtype=object)[out["level"].to_numpy()], index=out.index
    )
    return out.drop(columns="level")


def ref_followup_status(cases, followups, as_of, days=14, notices=None):
    day = pd.Timestamp(as_of)
    open_ = metrics.open_at(cases, day)
    if notices is not None and len(notices):
        followups = pd.concat(
            [followups, notices[notices["case_id"].isin(open_["case_id"])]], ignore_index=True
        )
    steps = ref_case_steps(open_, followups, day)
    out = open_.join(steps, on="case_id")
    out["visits"] = out["visits"].fillna(0).astype("int64")
    out["step"] = out["step"].fillna("none")
    out["open_days"] = (day - out["registered"]).dt.days.astype("Int64")
    since = out["last_visit"].fillna(out["registered"])
    out["days_since"] = (day - since).dt.days.astype("Int64")
    stale = (out["days_since"] > days).fillna(False).astype(bool)
    past = ((out["deadline"] < day) & (out["step"] == "notice")).fillna(False).astype(bool)
    school_past = ((out["deadline"] < day) & (out["step"] == "school_visit")).fillna(False).astype(bool)
    reason = pd.Series("", index=out.index, dtype="str")
    reason = reason.mask(stale, f"超过{days}天未跟进")
    reason = reason.mask(school_past, "劝学通知书已到期仍未返校")
    reason = reason.mask(past, "限期复学通知书已到期仍未返校")
    reason = reason.mask(stale & past, f"超过{days}天未跟进；限期复学通知书已到期")
    out["overdue"] = stale | past | school_past
    out["overdue_reason"] = reason
    return out.sort_values(["overdue", "days_since"], ascending=[False, False]).reset_index(drop=True)


def _names_list(names, limit=10):
    shown = "、".join(names.dropna().head(limit))
    return shown + (f" 等{len(names)}人" if len(names) > limit else "")


def ref_schools_table(cases, as_of, mode="list", include_zero=False):
    day = pd.Timestamp(as_of)
    needed = cases[["case_id", "school", "township", "name", "poor", "registered", "closed"]]
    upto = needed[needed["registered"] <= day]
    cols = ["school", "township", "open", "open_poor", "names", "oldest_days", "latest_entry"]
    names_key = {"names": "names_full"} if mode == "unmasked" else {}
    if upto.empty:
        return pd.DataFrame(columns=cols).rename(columns=names_key)
    open_ = metrics.open_at(upto, day).copy()
    open_["masked"] = privacy.mask_names(open_["name"], mode)
    open_["days"] = (day - open_["registered"]).dt.days.astype("Int64")
    open_["is_poor"] = open_["poor"].eq(True).fillna(False).astype(int)
    keys = ["school", "township"]
    base = upto.assign(
        school=upto["school"].fillna("（未填学校）"), township=upto["township"].fillna("（未填乡镇）")
    )
    open_ = open_.assign(
        school=open_["school"].fillna("（未填学校）"), township=open_["township"].fillna("（未填乡镇）")
    )
    events = pd.concat(
        [
            base[keys + ["registered"]].rename(columns={"registered": "d"}),
            base.loc[base["closed"] <= day, keys + ["closed"]].rename(columns={"closed": "d"}),
        ]
    )
    latest = events.groupby(keys)["d"].max().rename("latest_entry")
    agg = open_.groupby(keys).agg(
        open=("case_id", "size"), open_poor=("is_poor", "sum"), oldest_days=("days", "max")
    )
    names = (
        open_.sort_values("days", ascending=False).groupby(keys)["masked"].agg(_names_list).rename("names")
    )
    out = pd.concat([latest, agg, names], axis=1).reset_index()
    out[["open", "open_poor"]] = out[["open", "open_poor"]].fillna(0).astype("int64")
    out["oldest_days"] = out["oldest_days"].astype("Int64")
    out["names"] = out["names"].fillna("")
    if not include_zero:
        out = out[out["open"] > 0]
    out = out.sort_values(["township", "school"]).reset_index(drop=True)[cols]
    return out.rename(columns=names_key)


def ref_changes(table, keys, build, c):
    """Change columns by recomputing the whole table at each other date and matching rows on `keys`."""
    out = table.copy()
    for col, point in (("change_prev", c.previous), ("change_last_year", c.last_year)):
        if not point.known:
            out[col] = "—"
            continue
        before = build(point.date)[[*keys, "open"]].rename(columns={"open": "before"})
        merged = out[keys].merge(before, on=keys, how="left")
        delta = out["open"].astype("int64").to_numpy() - merged["before"].fillna(0).astype("int64").to_numpy()
        out[col] = [compare.arrow(x) for x in delta]
    return out


# --- the ledgers ------------------------------------------------------------------------------------------------

AS_OF = pd.Timestamp("2019-06-30")


@pytest.fixture(scope="module")
def sample():
    return load_ledger("data")


@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
    folder = tmp_path_factory.mktemp("awkward")
    cases, followups, schools, villages = generate(3000, 9000, n_schools=24, n_villages=120, seed=5)
    cases.to_parquet(folder / "台账.parquet")
    followups.to_parquet(folder / "劝返记录.parquet")
    schools.to_parquet(folder / "学校.parquet")
    villages.to_parquet(folder / "村屯.parquet")
    led = load_ledger(folder)
    c = led.cases.copy()
    n = len(c)
    rng = np.random.default_rng(3)
    pick = rng.permutation(n)
    on_day, after, no_school, no_town, no_place, no_name, empty_name = np.array_split(pick[:700], 7)
    c.loc[on_day, "closed"] = AS_OF  # closed on the as-of day: not open at it
    c.loc[after, "registered"] = AS_OF + pd.Timedelta(days=5)  # registered after the day
    c.loc[after[: len(after) // 2], "closed"] = pd.NaT
    c.loc[no_school, "school"] = pd.NA
    # a school left without township for all its cases (表二 then keys it under （未填乡镇）)
    c.loc[c["school"] == c["school"].dropna().iloc[0], "township"] = pd.NA
    c.loc[no_place, ["school", "township"]] = pd.NA
    c.loc[no_name, "name"] = pd.NA
    c.loc[empty_name, "name"] = ""
    # a child back at school who dropped out again: a second, later case, open at the day
    back = c[(c["closed"] < AS_OF - pd.Timedelta(days=40)) & c["closed"].notna()].head(60).copy()
    back["registered"] = back["closed"] + pd.Timedelta(days=7)
    back["closed"] = pd.NaT
    back["outcome_category"] = pd.NA
    back["case_id"] = back["case_id"] + "R"
    # a case listed twice (a hand-built or merged frame): both rows carry the same follow-ups
    twice = c[c["case_id"].isin(led.followups["case_id"]) & c["closed"].isna()].head(5)
    c = pd.concat([c, back, twice], ignore_index=True)
    fu = led.followups.copy()
    extra = fu.head(200).copy()
    extra["case_id"] = np.where(
        np.arange(200) % 2 == 0, back["case_id"].iloc[np.arange(200) % 60], "X-unknown"
    )
    extra["visit_date"] = AS_OF - pd.to_timedelta(np.arange(200) % 30, unit="D")
    extra["step_level"] = np.where(np.arange(200) % 3 == 0, "notice", "school_visit")
    extra.loc[extra.index[::5], "step_level"] = "不认识的环节"
    extra["deadline"] = AS_OF + pd.to_timedelta(np.arange(200) % 3 - 1, unit="D")  # the day before, on, after
    late = fu.head(100).copy()
    late["visit_date"] = AS_OF + pd.Timedelta(days=3)  # after the day: not counted
    fu = pd.concat([fu, extra, late], ignore_index=True)
    import dataclasses

    # the loaded ledger's types (assigning timestamps above widened them)
    c = c.astype({"registered": "datetime64[s]", "closed": "datetime64[s]"})
    fu = fu.astype({"visit_date": "datetime64[s]", "deadline": "datetime64[s]"})

    return dataclasses.replace(led, cases=c, followups=fu)


@pytest.fixture(scope="module")
def awkward_numbers(awkward):
    """The awkward ledger with every case id (and the unknown ones) renumbered C0000001…: the integer-id path."""
    import dataclasses

    both = pd.concat([awkward.cases["case_id"], awkward.followups["case_id"]], ignore_index=True)
    codes, _ = pd.factorize(both)
    ids = pd.Series(["C" + str(k + 1).zfill(7) for k in codes], dtype="str")
    n = len(awkward.cases)
    return dataclasses.replace(
        awkward,
        cases=awkward.cases.assign(case_id=ids.iloc[:n].to_numpy()),
        followups=awkward.followups.assign(case_id=ids.iloc[n:].to_numpy()),
    )


def _notices(led, day):
    ids = [*metrics.open_at(led.cases, day)["case_id"].iloc[:30], "X-none"]
    return pd.DataFrame(
        {
            "case_id": pd.array(ids, dtype="str"),
            "visit_date": np.array([day - pd.Timedelta(days=20)] * len(ids), dtype="datetime64[s]"),
            "step_level": pd.array(["notice"] * len(ids), dtype="str"),
            "deadline": np.array([day - pd.Timedelta(days=2)] * len(ids), dtype="datetime64[s]"),
        }
    )


def _days(led):
    dates = sorted({*led.report_dates, pd.Timestamp(led.cases["registered"].min())})
    return [*dates[:2], *dates[-2:], AS_OF, pd.Timestamp("2019-06-25"), pd.Timestamp("2017-01-01")]


# --- the tests ----------------------------------------------------------------------------------------------------


def _same(fast: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Equal frames; the old code's step column was object when no open case had a visit, str otherwise."""
    if "step" in ref and ref["step"].dtype == object:
        ref = ref.assign(step=ref["step"].astype("str"))
    pd.testing.assert_frame_equal(fast, ref)


@pytest.mark.parametrize("which", ["sample", "awkward", "awkward_numbers"])
def test_followup_status_matches_the_straightforward_computation(which, request):
    led = request.getfixturevalue(which)
    for day in _days(led):
        for days in (7, 14):
            fast = metrics.followup_status(led.cases, led.followups, day, days)
            _same(fast, ref_followup_status(led.cases, led.followups, day, days))
        notices = _notices(led, day)
        fast = metrics.followup_status(led.cases, led.followups, day, 14, notices)
        _same(fast, ref_followup_status(led.cases, led.followups, day, 14, notices))
    # a selection (every other case) and a single case, as the pages and the case file call it
    part = led.cases.iloc[::2]
    _same(
        metrics.followup_status(part, led.followups, AS_OF), ref_followup_status(part, led.followups, AS_OF)
    )
    one = led.cases[metrics.open_at(led.cases, AS_OF)["case_id"].iloc[:1].tolist()[0] == led.cases["case_id"]]
    _same(metrics.followup_status(one, led.followups, AS_OF), ref_followup_status(one, led.followups, AS_OF))


@pytest.mark.parametrize("which", ["sample", "awkward", "awkward_numbers"])
def test_schools_table_matches_the_straightforward_computation(which, request):
    led = request.getfixturevalue(which)
    for day in _days(led):
        for mode in ("list", "briefing", "unmasked"):
            for zero in (False, True):
                fast = metrics.schools_table(led.cases, day, mode=mode, include_zero=zero)
                ref = ref_schools_table(led.cases, day, mode=mode, include_zero=zero)
                pd.testing.assert_frame_equal(fast, ref, check_dtype=len(ref) > 0)


@pytest.mark.parametrize("which", ["sample", "awkward", "awkward_numbers"])
def test_change_columns_match_recomputing_each_date(which, request):
    led = request.getfixturevalue(which)
    start = compare.history_start(led.cases)
    for day in (AS_OF, pd.Timestamp("2019-06-25"), pd.Timestamp("2019-09-20")):
        dates = [d for d in led.report_dates if d <= day] or [day]
        for mode in ("ledger", "weekly"):
            c = compare.compare(led.cases, dates, day, start, mode)
            fast = compare.school_changes(led.cases, day, c, mode="briefing", include_zero=True)
            ref = ref_changes(
                ref_schools_table(led.cases, day, mode="briefing", include_zero=True),
                ["school", "township"],
                lambda d: ref_schools_table(led.cases, d, include_zero=True),
                c,
            )
            pd.testing.assert_frame_equal(fast, ref)
            towns = compare.township_changes(led.cases, led.schools, day, c)
            ref_towns = ref_changes(
                metrics.townships_table(led.cases, led.schools, day),
                ["township"],
                lambda d: metrics.townships_table(led.cases, led.schools, d),
                c,
            )
            pd.testing.assert_frame_equal(towns, ref_towns)


def test_awkward_ledger_has_the_awkward_cases(awkward):
    """The generated ledger really holds what the equivalence tests claim to cover."""
    c = awkward.cases
    assert (c["closed"] == AS_OF).sum() > 50
    assert (c["registered"] > AS_OF).sum() > 50
    assert c["school"].isna().sum() > 50 and c["township"].isna().sum() > 50
    assert c["case_id"].str.endswith("R").sum() == 60
    assert c["case_id"].duplicated().sum() == 5
    status = metrics.followup_status(c, awkward.followups, AS_OF)
    assert status["case_id"].str.endswith("R").sum() == 60
    assert status.loc[status["case_id"].duplicated(keep=False), "visits"].gt(0).sum() == 10
    assert set(status["step"]) >= {"none", "notice", "school_visit"}
    assert status["overdue_reason"].str.contains("通知书").any()
    table = metrics.schools_table(c, AS_OF, mode="briefing")
    assert {"（未填学校）", "（未填乡镇）"} <= set(table["school"]) | set(table["township"])
    assert table["names"].str.contains("等").any()


@pytest.mark.parametrize(
    "values, among",
    [
        (["C000001", "C000002", "C1000000", None, "C000003"], ["C000003", "C000001", "C000001", "C1000000"]),
        (["C01", "C1", "C001", "C1"], ["C1", "C01"]),  # leading zeros: strings, not numbers
        (["C+1", "C001", "C-01"], ["C001", "C+1"]),
        (["X000001", "C000001"], ["C000001"]),  # another prefix
        (["C123456789012345678901", "C1"], ["C1"]),  # too long for an integer
        ([f"C{x}" for x in (10**15, 5, 10**15 + 1, 7)], [f"C{x}" for x in (10**15 + 1, 5, 5)]),  # sparse
        ([f"C{x:06d}" for x in range(0, 3000, 7)], [f"C{x:06d}" for x in range(2999, -1, -3)]),
    ],
)
def test_case_ids_match_as_pyarrow_index_in_does(values, among):
    """Matching follow-ups to cases through integer ids gives pyarrow's index_in positions for any ids."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from kongchuo_metrics import followup

    v, a = pd.Series(values, dtype="str"), pd.Series(among, dtype="str")
    expected = pc.fill_null(pc.index_in(pa.array(v.array), value_set=pa.array(a.array)), -1)
    assert followup._index_in(v, a).tolist() == expected.to_pylist()


@pytest.mark.parametrize("dtype", ["object", "category"])
def test_followup_status_with_other_id_types(sample, dtype):
    """Case ids held as Python strings or as a categorical match as the ledger's arrow strings do."""
    day = pd.Timestamp("2019-06-25")
    cases = sample.cases.assign(case_id=sample.cases["case_id"].astype(dtype))
    followups = sample.followups.assign(case_id=sample.followups["case_id"].astype(dtype))
    fast = metrics.followup_status(cases, followups, day)
    ref = ref_followup_status(sample.cases, sample.followups, day)
    assert fast["case_id"].astype("str").tolist() == ref["case_id"].tolist()
    pd.testing.assert_frame_equal(fast.drop(columns="case_id"), ref.drop(columns="case_id"))
