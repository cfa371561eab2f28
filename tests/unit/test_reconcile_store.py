"""Kept check runs on SQLite and PostgreSQL: inputs' digests, what was resolved since, a child's history."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from kongchuo_metrics import reconcile, records
from kongchuo_metrics.reconcile import store
from tests.reconcile_data import AS_OF, make_lists


@pytest.fixture(scope="module")
def checked(tmp_path_factory, sample_ledger):
    paths = make_lists(tmp_path_factory.mktemp("lists"))
    lists = {k: reconcile.read_list(p, k) for k, p in paths.items()}
    return lists, reconcile.reconcile(sample_ledger, lists, AS_OF)


def test_a_run_is_kept_with_its_inputs_and_no_id_or_full_name(db_url, checked, sample_ledger):
    lists, result = checked
    engine = records.open_db(db_url)
    assert records.schema_version(engine) >= 4
    run_id = store.save_run(engine, result, lists, sample_ledger.meta["sha256"], "王老师", "全区县")
    listed = store.runs(engine)
    assert listed["run_id"].tolist() == [run_id]
    assert listed[["pushed", "visit"]].iloc[0].tolist() == [12, 3]
    with engine.connect() as conn:
        inputs = conn.execute(text("SELECT inputs FROM check_runs")).scalar_one()
        dump = "\n".join(str(r) for r in conn.execute(text("SELECT * FROM check_results")).all())
        n = conn.execute(text("SELECT COUNT(*) FROM check_results")).scalar_one()
    assert lists["pushed"].digest in inputs and lists["xueji"].digest in inputs
    assert n == 12 + 3 + 3 + 4 + 3  # pushed + each finding's children
    assert not any(i in dump for i in sample_ledger.cases["id_number"])
    assert "覃一明" not in dump and "覃*明" in dump


def test_next_month_shows_who_was_resolved_and_a_case_shows_its_history(
    db_url, checked, sample_ledger, tmp_path
):
    lists, result = checked
    engine = records.open_db(db_url)
    store.save_run(engine, result, lists, sample_ledger.meta["sha256"], "王老师", "全区县")
    # a month later 不明童 has a 学籍 (在读); 陆未置 is still to visit; 无号童 has no ID and is not tracked
    pushed = result.pushed
    xueji = lists["xueji"]
    extra = xueji.frame.iloc[:1].assign(
        id_key=pushed.loc[pushed["name"] == "不明童", "id_key"].to_numpy(), enrol_status="在读"
    )
    later_lists = {**lists, "xueji": reconcile.ListTable("xueji", "x", "d", pd.concat([xueji.frame, extra]))}
    later = reconcile.reconcile(sample_ledger, later_lists, "2019-07-25")
    previous = store.previous_run(engine, "2019-07-25")
    assert previous is not None and store.previous_run(engine, AS_OF) is None
    since = store.resolved_since(engine, previous, later)
    assert sorted(zip(since["child"], since["resolved"], strict=True)) == [("不*童", True), ("陆*置", False)]
    assert set(since.loc[since["resolved"], "status_now"]) == {"核实在读"}
    # the case page's child key (records.child_keys) finds the child's check history
    c, day = sample_ledger.cases, pd.Timestamp(AS_OF)
    case = c[(c["registered"] <= day) & ~(c["closed"] <= day)].iloc[[0]]  # the first open case (pushed, poor)
    key = records.child_keys(case)["child_key"].iloc[0]
    assert key == store.child_key_of(case["id_number"].iloc[0])
    hist = store.history(engine, key)
    assert hist["item"].tolist() == ["推送名单", "在脱贫户/监测户名单中但台账未标注建档立卡"]
    assert hist["status"].iloc[0] == "已在台账" and hist["as_of"].tolist() == [AS_OF, AS_OF]
