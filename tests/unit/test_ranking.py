"""Township 考核 ranking: each rule on a hand-made ledger, ties, veto, buckets, components adding up, the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kongchuo_metrics import cli, ranking
from kongchuo_metrics.ingest import load_ledger
from kongchuo_metrics.settings import Targets
from tests.conftest import REFERENCE_DATES, SAMPLE_DIR, case_row, write_csv

AS_OF = "2019-06-30"


@pytest.fixture
def five(tmp_path):
    def c(town, name, registered, closed="", poor="否"):
        return case_row(
            town,
            name=name,
            school=f"{town}中学",
            registered=registered,
            closed=closed,
            returned="是" if closed else "否",
            outcome="返校复学" if closed else "未返校",
            poor=poor,
        )

    rows = [
        c("甲镇", "甲一", "2019.6.25"),  # open 5 days: not overdue
        c("甲镇", "甲二", "2019.3.1", "2019.4.1"),  # returned
        c("乙乡", "乙一", "2019.6.20"),
        c("乙乡", "乙二", "2019.6.20"),  # 2 open of 100 pupils: 2.0 % against 1.5 %
        c("丙镇", "丙一", "2019.6.28", poor="是"),  # an open 建档立卡 case: 一票否决
        c("丙镇", "丙二", "2019.3.1", "2019.4.1"),
        c("丁镇", "丁一", "2019.5.1"),  # no follow-up for 60 days: overdue at step 未跟进
        c("丁镇", "丁二", "2019.3.1", "2019.4.1"),
        c("戊镇", "戊一", "2019.5.1"),
        c("戊镇", "戊二", "2019.3.1", "2019.4.1"),
    ]
    write_csv(tmp_path / "台账.csv", rows)
    enrol = {"甲镇": 1000, "乙乡": 100, "丙镇": 1000, "丁镇": 1000, "戊镇": 1000}
    write_csv(
        tmp_path / "学校.csv",
        [[f"{t}中学", t, "0", str(n)] for t, n in enrol.items()],
        header=["学校名称", "乡镇", "小学在校生数", "初中在校生数"],
    )
    return load_ledger(tmp_path)


def scores(ledger, rules=None, **kw):
    t = ranking.township_scores(ledger, AS_OF, rules or ranking.Rules(), Targets(), 14, **kw)
    return t.set_index("township")


def test_each_rule_gives_its_points(five):
    t = scores(five)
    assert t.loc["乙乡", "dropout_rate_junior"] == 2.0
    assert t.loc["乙乡", "dropout"] == -10.0  # 0.5 points over = 5 steps of 0.1 × 2 points
    assert t.loc["甲镇", "dropout"] == 0.0  # 0.1 % is under the 1.5 % target
    assert t.loc["甲镇", "returns"] == 5.0  # 1 returned of 2 to persuade = 50 % of 10 points
    assert t.loc["乙乡", "returns"] == 0.0
    assert t.loc["丁镇", "overdue"] == -1.0 and t.loc["丁镇", "overdue_cases"] == 1
    assert t.loc["甲镇", "overdue"] == 0.0
    assert t["score"].to_dict() == {"甲镇": 105.0, "丁镇": 104.0, "戊镇": 104.0, "乙乡": 90.0, "丙镇": 105.0}


def test_components_sum_to_the_score(five):
    t = scores(five, lapses=pd.DataFrame({"township": ["乙乡"], "late": [1], "missing": [1]}))
    assert (t[list(ranking.COMPONENTS)].sum(axis=1).round(2) == t["score"]).all()
    assert t.loc["乙乡", "reports"] == -4.0 and t.loc["乙乡", "score"] == 86.0


def test_veto_ties_buckets_and_last_place(five):
    t = scores(five)
    assert t["rank"].to_dict() == {"甲镇": 1, "丁镇": 2, "戊镇": 2, "乙乡": 4, "丙镇": 5}
    # 丙镇 scores as well as the best, but an open 建档立卡 case puts it below every township without a veto
    assert t.loc["丙镇", "veto"] and not t.drop("丙镇")["veto"].any()
    assert t["bucket_points"].to_dict() == {
        "甲镇": 10.0,
        "丁镇": 10.0,
        "戊镇": 10.0,
        "乙乡": 6.0,
        "丙镇": 0.0,
    }
    assert t.index[t["last"]].tolist() == ["丙镇"]
    two_last = scores(five, ranking.Rules(last_places=2))
    assert sorted(two_last.index[two_last["last"]]) == ["丙镇", "乙乡"]


def test_rules_come_from_settings(tmp_path, five):
    (tmp_path / "settings.toml").write_text(
        "[ranking]\nbase = 60\ndropout_points = 1\nbuckets = [5, 1]\n[ranking.overdue_points]\nnone = 4\n",
        encoding="utf-8",
    )
    rules = ranking.load_rules(tmp_path)
    assert (rules.base, rules.dropout_points, rules.buckets, rules.overdue_points["none"]) == (
        60,
        1,
        (5, 1),
        4,
    )
    t = scores(five, rules)
    assert (
        t.loc["乙乡", "dropout"] == -5.0 and t.loc["丁镇", "overdue"] == -4.0 and t.loc["甲镇", "score"] == 65
    )
    assert set(t["bucket_points"]) == {5.0, 1.0, 0.0}


def test_a_delivered_notice_past_its_deadline_counts_as_overdue(five):
    rules = ranking.Rules(overdue_points={**ranking.DEFAULT_OVERDUE, "school_visit": 2.0})
    case = five.cases.loc[five.cases["name"] == "丁一", "case_id"].iloc[0]
    delivered = pd.DataFrame(
        {
            "case_id": [case],
            "visit_date": pd.to_datetime(["2019-06-20"]).astype("datetime64[s]"),
            "step_level": ["school_visit"],
            "deadline": pd.to_datetime(["2019-06-27"]).astype("datetime64[s]"),
        }
    )
    t = scores(five, rules, notices=delivered)
    assert t.loc["丁镇", "overdue"] == -2.0  # now at the school step, its 7-day deadline passed
    assert t.loc["丁镇", "rank"] == 3 and t.loc["戊镇", "rank"] == 2  # the tie is broken


def test_rank_change_against_the_previous_period(five):
    now = ranking.township_scores(five, AS_OF, ranking.Rules(), Targets(), 14)
    before = now.assign(rank=[5, 4, 3, 2, 1])
    t = ranking.with_change(now, before).set_index("township")
    assert t.loc["甲镇", "change"] == 4 and t.loc["丙镇", "change"] == -4
    shown = ranking.display_table(ranking.with_change(now, before))
    assert shown.loc[shown["乡镇"] == "甲镇", "较上期"].iloc[0] == "↑4"


def test_rank_cli_json_on_the_sample(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KONGCHUO_DB", f"sqlite:///{tmp_path / 'r.sqlite'}")
    monkeypatch.setenv("KONGCHUO_AUDIT", str(tmp_path / "audit.jsonl"))
    assert cli.main(["rank", str(SAMPLE_DIR), "--as-of", REFERENCE_DATES[0], "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out[0]) >= {"township", "score", "rank", "veto", "components"}
    assert [r["rank"] for r in out] == sorted(r["rank"] for r in out) and out[0]["rank"] == 1
    for r in out:
        assert round(sum(r["components"].values()), 2) == r["score"]
    vetoed = [r for r in out if r["veto"]]
    assert vetoed and min(r["rank"] for r in vetoed) > max(r["rank"] for r in out if not r["veto"])
    scores_ = [r["score"] for r in out if not r["veto"]]
    ranks = [r["rank"] for r in out if not r["veto"]]
    assert all(
        (s1 == s2) == (r1 == r2)
        for s1, s2, r1, r2 in zip(scores_, scores_[1:], ranks, ranks[1:], strict=False)
    )
    # the xlsx export: a government-format workbook with the rules under the table
    xlsx = tmp_path / "rank.xlsx"
    assert cli.main(["rank", str(SAMPLE_DIR), "--as-of", REFERENCE_DATES[0], "--xlsx", str(xlsx)]) == 0
    from openpyxl import load_workbook

    ws = load_workbook(xlsx).active
    assert ws["A1"].value.endswith("乡镇控辍保学工作考核排名") and ws["A4"].value == "名次"
    assert [ws.cell(5 + i, 2).value for i in range(len(out))] == [r["township"] for r in out]
    assert str(ws.cell(6 + len(out), 1).value).startswith("评分规则：")
    assert "较上期" in str(ws.cell(6 + len(out), 1).value)  # and what the change column compares with
