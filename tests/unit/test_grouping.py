"""The per-group counts on positions (kongchuo_metrics.grouping) give the frames pandas' groupby gave: the
reference functions below are the groupby code they replaced, run on the sample and on a generated ledger
with missing townships, villages and owners, for the county and for each township."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from bench.gen import generate, write_folder
from kongchuo_metrics import metrics, schema
from kongchuo_metrics.grouping import Groups
from kongchuo_metrics.ingest import load_ledger

DAY = "2019-06-25"


def ref_owners_table(status, line):
    t = status.assign(owner=status[f"{line}_owner"].fillna("（未明确责任人）"))
    out = t.groupby("owner").agg(open=("case_id", "size"), overdue=("overdue", "sum")).reset_index()
    out["overdue"] = out["overdue"].astype("int64")
    return out.sort_values(["overdue", "open"], ascending=False).reset_index(drop=True)


def ref_ladder_counts(status):
    g = status.groupby("step").agg(open=("case_id", "size"), overdue=("overdue", "sum"))
    g = g.reindex(list(schema.STEP_ORDER), fill_value=0)
    g["label"] = [schema.STEPS[s] for s in g.index]
    return g.reset_index().rename(columns={"index": "step"})[["step", "label", "open", "overdue"]]


def ref_village_agg(status):
    t = metrics._with_places(status)
    return (
        t.groupby(["township", "village"])
        .agg(
            open=("case_id", "size"),
            open_poor=("is_poor", "sum"),
            overdue=("is_overdue", "sum"),
            oldest_days=("open_days", "max"),
        )
        .reset_index()
    )


def ref_reasons(cases, by=("township", "stage")):
    day = pd.Timestamp(DAY)
    upto = cases[cases["registered"] <= day]
    t = upto.assign(
        reason_category=upto["reason_category"].fillna("other"),
        is_open=(~(upto["closed"] <= day)).astype(int),
    )
    for k in by:
        t[k] = t[k].fillna("（未填）")
    out = t.groupby([*by, "reason_category"]).agg(registered=("case_id", "size"), open=("is_open", "sum"))
    out = out.reset_index()
    return out.sort_values([*by, "registered"], ascending=[True] * len(by) + [False]).reset_index(drop=True)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    cases, followups, schools, villages = generate(3000, 6000, seed=5)
    rng = np.random.default_rng(3)
    for column in ("村", "劝返责任人（政府线）", "劝返责任人（教育线）", "辍学原因"):
        cases.loc[rng.random(len(cases)) < 0.04, column] = None
    folder = tmp_path_factory.mktemp("generated")
    write_folder(folder, (cases, followups, schools, villages))
    return load_ledger(folder)


def _places(ledger):
    towns = sorted(ledger.cases["township"].dropna().unique())
    return [(), *((t,) for t in towns[:6])]


@pytest.mark.parametrize("which", ["sample", "generated"])
def test_the_follow_up_village_township_and_reason_counts_are_groupbys(which, sample_ledger, generated):
    ledger = sample_ledger if which == "sample" else generated
    if which == "generated":  # the missing values the groups must skip or fill as groupby did
        assert ledger.cases[["village", "gov_owner", "edu_owner"]].isna().any().all()
    for places in _places(ledger):
        sel = metrics.Selection(townships=places, as_of=dt.date(2019, 6, 25))
        cases = metrics.select_cases(ledger.cases, sel)
        status = metrics.followup_status(cases, ledger.followups, DAY, 14)
        for line in ("gov", "edu"):
            assert_frame_equal(metrics.owners_table(status, line), ref_owners_table(status, line))
        assert_frame_equal(metrics.ladder_counts(status), ref_ladder_counts(status))
        placed = metrics.village_counts(status, ledger.villages)
        ref = ref_village_agg(status)
        assert_frame_equal(
            placed[list(ref.columns)],
            ref[
                ref.set_index(["township", "village"]).index.isin(
                    placed.set_index(["township", "village"]).index
                )
            ].reset_index(drop=True),
        )
        assert_frame_equal(metrics.reasons_table(cases, DAY), ref_reasons(cases))
        table = metrics.townships_table(cases, ledger.schools, DAY)
        upto = cases[cases["registered"] <= pd.Timestamp(DAY)]
        opened = upto[~(upto["closed"] <= pd.Timestamp(DAY))]
        expected = opened["township"].fillna("（未填乡镇）").value_counts()
        assert table.set_index("township")["open"].to_dict() == {
            **{t: 0 for t in table["township"]},
            **expected.to_dict(),
        }


def test_groups_order_like_groupby_and_drop_missing_keys():
    a = pd.Series(["乙", "甲", None, "乙", "甲", "甲"], dtype="str")
    b = pd.Series(["y", "x", "x", "x", None, "x"], dtype="str")
    values = pd.Series([1, 2, 3, 4, 5, 6])
    days = pd.Series([5, pd.NA, 1, pd.NA, 9, 3], dtype="Int64")
    g = Groups({"a": a, "b": b})
    frame = pd.DataFrame({"a": a, "b": b, "v": values, "d": days})
    ref = frame.groupby(["a", "b"]).agg(n=("v", "size"), v=("v", "sum"), d=("d", "max")).reset_index()
    assert g.keys.to_dict("list") == {"a": ["乙", "乙", "甲"], "b": ["x", "y", "x"]}  # 乙 U+4E59 < 甲 U+7532
    assert_frame_equal(g.keys.assign(n=g.size(), v=g.total(values), d=g.maximum(days)), ref)
    enrol = pd.Series([100, pd.NA, pd.NA, 7, 3, pd.NA], dtype="Int64")
    by_a = Groups({"a": a})
    ref_sum = pd.DataFrame({"a": a, "e": enrol}).groupby("a")["e"].sum(min_count=1)
    assert by_a.keys["a"].tolist() == ref_sum.index.tolist()
    assert pd.Series(by_a.total_or_na(enrol)).astype("Int64").tolist() == ref_sum.astype("Int64").tolist()
    only_na = Groups({"a": pd.Series(["甲", "甲"], dtype="str")}).total_or_na(
        pd.Series([pd.NA, pd.NA], dtype="Int64")
    )
    assert np.isnan(only_na).all()
    empty = Groups({"a": a[:0]})
    assert empty.n == 0 and empty.size().tolist() == [] and list(empty.keys.columns) == ["a"]
