"""The records database on SQLite and on a real PostgreSQL server: migrations, numbering, access, 20 concurrent
writers, and records that survive a re-import of the ledger."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from kongchuo_metrics import records
from kongchuo_metrics.access import Scope
from kongchuo_metrics.ingest import load_ledger
from kongchuo_metrics.records import db, duban, notices
from tests.conftest import case_row, write_csv

ADMIN = Scope("admin", "county_admin")
VIEWER = Scope("viewer", "county_viewer")
SANLI = Scope("sanli", "township", townships=("三里镇",))
WULI = Scope("wuli", "township", townships=("五里镇",))
SCHOOL = Scope("school", "school", schools=("三里二中",))
DAY = dt.date(2019, 6, 25)


def _child(township="三里镇", name="甲", step="school_visit") -> dict:
    return {
        "township": township,
        "school": township[:2] + "二中",
        "label": name + "*",
        "child_key": f"k-{name}",
        "alt_key": f"a-{name}",
        "step": step,
    }


# --- schema and migrations ----------------------------------------------------------------------------------


def test_fresh_database_reaches_the_latest_version(db_url):
    engine = records.open_db(db_url)
    assert records.schema_version(engine) == max(m.version for m in records.MIGRATIONS)
    with records.transaction(engine) as conn:
        applied = [r[0] for r in conn.execute(text("SELECT version FROM schema_version ORDER BY version"))]
    assert applied == sorted(m.version for m in records.MIGRATIONS)


def test_an_old_database_upgrades_and_keeps_its_records(db_url):
    old = db._sqlite_engine(db_url) if db_url.startswith("sqlite") else create_engine(db._normalise(db_url))
    assert records.migrate(old, upto=1) == 1
    with old.begin() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM counters")).scalar() == 0
    made = duban.add(old, ADMIN, township="三里镇", item="旧库中的督办", due=DAY, as_of=DAY)
    old.dispose()
    engine = records.open_db(db_url)  # what the app does on start
    assert records.schema_version(engine) == max(m.version for m in records.MIGRATIONS)
    assert [i["number"] for i in duban.items(engine, ADMIN, DAY)] == [made["number"]]
    # the tables of the later versions exist and work
    got = notices.issue(engine, ADMIN, kind="劝学通知书", child=_child(), as_of=DAY)
    assert got["number"] == "三里镇控辍通字〔2019〕第1号"
    assert records.migrate(engine) == records.schema_version(engine)  # applying again changes nothing


def test_a_newer_database_is_refused(db_url):
    engine = records.open_db(db_url)
    with records.transaction(engine) as conn:
        conn.execute(text("INSERT INTO schema_version VALUES (999, 'from the future', 'x')"))
    with pytest.raises(records.RecordsError, match="比本程序新"):
        records.migrate(engine)


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    engine = records.open_db(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with records.transaction(engine) as conn:
            conn.execute(text("INSERT INTO duban_feedback (duban_id, text, at) VALUES (42, 'x', 'y')"))
    records.dispose_all()


def test_url_comes_from_the_environment_then_settings_then_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("KONGCHUO_DB", raising=False)
    assert records.database_url(None, tmp_path) == f"sqlite:///{tmp_path / 'var' / 'records.sqlite'}"
    (tmp_path / "settings.toml").write_text('[records]\nurl = "postgresql://u@db/kc"\n', encoding="utf-8")
    assert records.database_url(tmp_path, tmp_path) == "postgresql://u@db/kc"
    monkeypatch.setenv("KONGCHUO_DB", "sqlite:////srv/r.sqlite")
    assert records.database_url(tmp_path, tmp_path) == "sqlite:////srv/r.sqlite"


def test_an_unreachable_server_is_a_clear_error():
    with pytest.raises(records.RecordsError, match="记录数据库无法打开"):
        records.open_db("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


# --- 督办单 -------------------------------------------------------------------------------------------------


def test_duban_status_flow_numbers_and_overdue(db_url):
    engine = records.open_db(db_url)
    a = duban.add(
        engine, ADMIN, township="三里镇", item="劝返三里二中4名学生", due=dt.date(2019, 7, 5), as_of=DAY
    )
    soon = duban.today() + dt.timedelta(days=60)
    b = duban.add(engine, ADMIN, township="五里镇", item="核查", due=soon, cycle_days=7, as_of=DAY)
    assert (a["number"], b["number"]) == ("督办〔2019〕第1号", "督办〔2019〕第2号")
    with pytest.raises(duban.DubanError, match="还没有收到反馈"):
        duban.close(engine, ADMIN, a["id"])
    duban.feedback(engine, SANLI, a["id"], "已联合家访2人")
    [item] = [i for i in duban.items(engine, ADMIN, dt.date(2019, 7, 1)) if i["id"] == a["id"]]
    assert item["status"] == "已反馈" and not item["overdue"]
    assert [f["text"] for f in item["feedback"]] == ["已联合家访2人"]
    late = {i["id"]: i for i in duban.items(engine, ADMIN, dt.date(2026, 1, 1))}
    assert late[a["id"]]["overdue"] and late[a["id"]]["overdue_reason"] == "已过交办时限仍未办结"
    duban.close(engine, ADMIN, a["id"])
    after = {i["id"]: i for i in duban.items(engine, ADMIN, dt.date(2026, 1, 1))}
    assert after[a["id"]]["status"] == "已办结" and not after[a["id"]]["overdue"]
    with pytest.raises(duban.DubanError, match="已办结"):
        duban.feedback(engine, SANLI, a["id"], "再反馈")
    # a feedback cycle: no feedback for more than 7 days after creation is 超时 before the due date
    at = {i["id"]: i for i in duban.items(engine, ADMIN, duban.today() + dt.timedelta(days=7))}[b["id"]]
    assert not at["overdue"]
    later = {i["id"]: i for i in duban.items(engine, ADMIN, duban.today() + dt.timedelta(days=8))}[b["id"]]
    assert later["overdue_reason"] == "超过反馈周期（每7天）未反馈"


def test_township_users_see_and_answer_only_their_own(db_url):
    engine = records.open_db(db_url)
    mine = duban.add(engine, ADMIN, township="三里镇", item="三里", due=DAY, as_of=DAY)
    other = duban.add(engine, ADMIN, township="五里镇", item="五里", due=DAY, as_of=DAY)
    assert [i["id"] for i in duban.items(engine, SANLI)] == [mine["id"]]
    assert [i["id"] for i in duban.items(engine, WULI)] == [other["id"]]
    assert {i["id"] for i in duban.items(engine, VIEWER)} == {mine["id"], other["id"]}
    assert duban.items(engine, SCHOOL) == [] and duban.items(engine, Scope()) == []
    with pytest.raises(duban.AccessDenied):
        duban.get(engine, SANLI, other["id"])
    with pytest.raises(duban.AccessDenied):
        duban.children(engine, SANLI, other["id"])
    with pytest.raises(duban.AccessDenied):
        duban.feedback(engine, SANLI, other["id"], "越权反馈")
    with pytest.raises(duban.AccessDenied):
        duban.feedback(engine, VIEWER, other["id"], "查看者不能反馈")
    with pytest.raises(duban.AccessDenied):
        duban.add(engine, SANLI, township="三里镇", item="乡镇不能自己建", due=DAY)
    duban.feedback(engine, SANLI, mine["id"], "已反馈")
    with pytest.raises(duban.AccessDenied):
        duban.close(engine, SANLI, mine["id"])
    assert [f["text"] for f in duban.get(engine, WULI, other["id"])["feedback"]] == []


def test_a_change_whose_audit_fails_is_rolled_back(db_url):
    engine = records.open_db(db_url)

    def broken(event, **fields):
        raise OSError("disk full")

    with pytest.raises(OSError):
        duban.add(engine, ADMIN, township="三里镇", item="x", due=DAY, as_of=DAY, audit=broken)
    assert duban.items(engine, ADMIN) == []
    # the number given back: the next item is still 第1号
    assert duban.add(engine, ADMIN, township="三里镇", item="y", due=DAY, as_of=DAY)["number"].endswith(
        "第1号"
    )


def _feedback_worker(url, item_id, n, barrier, out):
    records.dispose_all(close=False)  # a forked child opens its own connections
    engine = records.open_db(url)
    barrier.wait()
    duban.feedback(engine, SANLI, item_id, f"第{n}次反馈")
    out.put(n)


def _issue_worker(url, n, barrier, out):
    records.dispose_all(close=False)
    engine = records.open_db(url)
    barrier.wait()
    got = notices.issue(engine, ADMIN, kind="限期复学通知书", child=_child(name=f"童{n}"), as_of=DAY)
    out.put(got["number"])


def _run(target, args_for, n=20) -> list:
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(i), barrier, out)) for i in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * n
    return sorted(out.get(timeout=5) for _ in range(n))


def test_twenty_feedback_writes_from_twenty_processes_are_all_kept(db_url):
    engine = records.open_db(db_url)
    item = duban.add(engine, ADMIN, township="三里镇", item="并发", due=DAY, as_of=DAY)
    records.dispose_all()
    done = _run(_feedback_worker, lambda i: (db_url, item["id"], i))
    assert done == list(range(20))
    kept = duban.get(records.open_db(db_url), ADMIN, item["id"])["feedback"]
    assert sorted(f["text"] for f in kept) == sorted(f"第{i}次反馈" for i in range(20))


def test_numbers_under_concurrent_issue_have_no_gaps_or_repeats(db_url):
    records.open_db(db_url)
    records.dispose_all()
    numbers = _run(_issue_worker, lambda i: (db_url, i))
    seqs = sorted(int(n.split("第")[1].rstrip("号")) for n in numbers)
    assert seqs == list(range(1, 21))
    assert len(set(numbers)) == 20


# --- notices and the ledger -------------------------------------------------------------------------------


def test_notice_rules_delivery_and_counts(db_url):
    engine = records.open_db(db_url)
    with pytest.raises(notices.NoticeError, match="不能发出限期复学通知书"):
        notices.issue(engine, ADMIN, kind="限期复学通知书", child=_child(step="none"), as_of=DAY)
    with pytest.raises(notices.NoticeError, match="无权"):
        notices.issue(engine, WULI, kind="劝学通知书", child=_child(), as_of=DAY)
    a = notices.issue(engine, SANLI, kind="劝学通知书", child=_child(), as_of=DAY)
    b = notices.issue(engine, ADMIN, kind="限期复学通知书", child=_child(name="乙"), as_of=DAY)
    other = notices.issue(engine, ADMIN, kind="劝学通知书", child=_child("五里镇", "丙"), as_of=DAY)
    assert [a["number"], b["number"], other["number"]] == [
        "三里镇控辍通字〔2019〕第1号",
        "三里镇控辍通字〔2019〕第2号",
        "五里镇控辍通字〔2019〕第1号",
    ]
    with pytest.raises(notices.NoticeError, match="早于发文日期"):
        notices.deliver(engine, ADMIN, a["id"], dt.date(2019, 6, 1), "张父", "家中")
    got = notices.deliver(engine, SANLI, a["id"], dt.date(2019, 6, 26), "张父", "一村家中")
    assert got["deadline"] == "2019-07-03"  # 劝学通知书: return within 7 days
    with pytest.raises(notices.NoticeError, match="不能重复登记"):
        notices.deliver(engine, ADMIN, a["id"], dt.date(2019, 6, 27), "张父", "家中")
    with pytest.raises(notices.NoticeError, match="无权"):
        notices.deliver(engine, WULI, b["id"], dt.date(2019, 6, 27), "李母", "家中")
    assert len(notices.listing(engine, SANLI)) == 2 and len(notices.listing(engine, WULI)) == 1
    # a school issues and delivers its own 劝学通知书 only
    with pytest.raises(notices.NoticeError, match="无权"):
        notices.issue(engine, SCHOOL, kind="限期复学通知书", child=_child(name="丁"), as_of=DAY)
    own = notices.issue(engine, SCHOOL, kind="劝学通知书", child=_child(name="丁"), as_of=DAY)
    assert set(notices.listing(engine, SCHOOL)["id"]) == {a["id"], b["id"], own["id"]}  # its school's notices
    with pytest.raises(notices.NoticeError, match="无权"):
        notices.deliver(engine, SCHOOL, b["id"], dt.date(2019, 6, 27), "李母", "家中")
    notices.deliver(engine, SCHOOL, own["id"], dt.date(2019, 6, 27), "丁父", "家中")
    counts = notices.counts(notices.listing(engine, ADMIN))
    assert counts.to_dict("records") == [
        {"township": "三里镇", "kind": "劝学通知书", "issued": 2, "delivered": 2},
        {"township": "三里镇", "kind": "限期复学通知书", "issued": 1, "delivered": 0},
        {"township": "五里镇", "kind": "劝学通知书", "issued": 1, "delivered": 0},
    ]


def _ledger(tmp_path, rows, name="ledger.csv"):
    folder = tmp_path / name.replace(".csv", "")
    folder.mkdir()
    write_csv(folder / name, rows)
    return load_ledger(folder)


def test_records_survive_a_reimport_that_renames_a_school(db_url, tmp_path):
    engine = records.open_db(db_url)
    first = _ledger(
        tmp_path,
        [
            case_row("三里镇", name="张小三", school="三里二中"),  # valid ID number
            case_row("三里镇", name="李小四", school="三里二中", idn=""),  # no ID: name + school + date
            case_row("三里镇", name="王小五", school="三里二中", idn=""),
        ],
    )
    keys = records.child_keys(first.cases).join(first.cases[["name", "school", "township"]])
    item = duban.add(
        engine,
        ADMIN,
        township="三里镇",
        item="劝返",
        due=DAY,
        as_of=DAY,
        children=keys.assign(label="x", step="school_visit", days_since=20),
    )
    zhang = keys[keys["name"] == "张小三"].iloc[0]
    notice = notices.issue(
        engine,
        ADMIN,
        kind="劝学通知书",
        child={**_child(), "child_key": zhang.child_key, "alt_key": zhang.alt_key},
        as_of=dt.date(2019, 3, 5),
    )
    notices.deliver(engine, ADMIN, notice["id"], dt.date(2019, 3, 6), "张父", "家中")
    # next month: the school is renamed, 王小五 is gone, a new child is registered first (case_ids shift)
    second = _ledger(
        tmp_path,
        [
            case_row("三里镇", name="赵新", school="三里第二中学", registered="2019.2.1"),
            case_row("三里镇", name="张小三", school="三里第二中学"),
            case_row("三里镇", name="李小四", school="三里第二中学", idn=""),
        ],
        "next.csv",
    )
    stored = duban.children(engine, ADMIN, item["id"])
    found = records.locate(stored, second.cases)
    names = second.cases.set_index("case_id")["name"]
    by_label = dict(
        zip(
            stored["child_key"].map(dict(zip(keys["child_key"], keys["name"], strict=True))),
            found,
            strict=True,
        )
    )
    assert names[by_label["张小三"]] == "张小三"
    assert names[by_label["李小四"]] == "李小四"
    assert pd.isna(by_label["王小五"])  # shown as gone, the record itself is kept
    assert len(stored) == 3
    follow = notices.as_followups(notices.listing(engine, ADMIN), second.cases)
    assert names[follow["case_id"].iloc[0]] == "张小三"


def test_lapses_count_late_and_missing_feedback(db_url):
    engine = records.open_db(db_url)
    answered_late = duban.add(engine, ADMIN, township="三里镇", item="a", due=dt.date(2019, 1, 1), as_of=DAY)
    duban.add(
        engine, ADMIN, township="三里镇", item="b", due=dt.date(2019, 1, 1), as_of=DAY
    )  # never answered
    duban.add(engine, ADMIN, township="五里镇", item="c", due=duban.today() + dt.timedelta(days=9), as_of=DAY)
    duban.feedback(engine, SANLI, answered_late["id"], "迟到的反馈")
    got = duban.lapses(engine, duban.today()).set_index("township")
    assert got.loc["三里镇"].to_dict() == {"late": 1, "missing": 1}
    assert got.loc["五里镇"].to_dict() == {"late": 0, "missing": 0}  # not due yet


def test_duban_and_notice_cli(db_url, tmp_path, monkeypatch, capsys, sample_ledger):
    import json

    from kongchuo_metrics import audit, cli
    from tests.conftest import SAMPLE_DIR

    monkeypatch.setenv("KONGCHUO_DB", db_url)
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("KONGCHUO_AUDIT", str(log))
    monkeypatch.setenv("KONGCHUO_DATA", str(SAMPLE_DIR))
    args = ["duban", "add", "--township", "三里镇", "--item", "劝返三里二中4人", "--due", "2019-07-05"]
    assert cli.main([*args, "--lead", "三里镇人民政府", "--format", "json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert set(made) == {"id", "number"} and made["number"].startswith("覃塘区控辍督〔")
    assert cli.main(["duban", "feedback", str(made["id"]), "--text", "已联合家访"]) == 0
    assert cli.main(["duban", "close", str(made["id"])]) == 0
    capsys.readouterr()
    assert cli.main(["duban", "list", "--format", "json"]) == 0
    [item] = json.loads(capsys.readouterr().out)
    assert {k: item[k] for k in ("id", "township", "item", "due", "status", "overdue")} == {
        "id": made["id"],
        "township": "三里镇",
        "item": "劝返三里二中4人",
        "due": "2019-07-05",
        "status": "已办结",
        "overdue": False,
    }
    assert [f["text"] for f in item["feedback"]] == ["已联合家访"] and item["feedback"][0]["at"]
    assert cli.main(["duban", "close", str(made["id"])]) == 2
    assert "已经办结" in capsys.readouterr().err
    # notices: every call a new number; the wrong step is refused in Chinese
    out = [tmp_path / f"n{i}.docx" for i in range(2)]
    case = "C000148"  # 黄练镇, at 通知书
    base = ["notice", str(SAMPLE_DIR), "--case", case, "--as-of", "2019-06-25"]
    for f in out:
        assert cli.main([*base, "--kind", "限期复学通知书", "--out", str(f)]) == 0
    printed = capsys.readouterr().out
    assert "黄练镇控辍通字〔2019〕第1号" in printed and "黄练镇控辍通字〔2019〕第2号" in printed
    assert cli.main([*base, "--kind", "劝学通知书", "--out", str(tmp_path / "x.docx")]) == 2
    assert "不能发出劝学通知书" in capsys.readouterr().err
    assert all(f.stat().st_size > 5000 for f in out) and not (tmp_path / "x.docx").exists()
    assert audit.verify(log)[0]
    events = [json.loads(line)["event"] for line in log.read_text(encoding="utf-8").splitlines()]
    assert events.count("notice_issue") == 2 and {"duban_add", "duban_feedback", "duban_close"} <= set(events)
    assert "已联合家访" not in log.read_text(encoding="utf-8")  # feedback text stays out of the audit log


def test_a_second_duban_for_the_same_overdue_children_is_refused(db_url, sample_ledger):
    from kongchuo_metrics import metrics
    from kongchuo_metrics.records import workflows
    from kongchuo_metrics.records.config import PaperSettings

    engine = records.open_db(db_url)
    status = metrics.followup_status(sample_ledger.cases, sample_ledger.followups, DAY, 14)
    town = status.loc[status["overdue"], "township"].iloc[0]
    made = workflows.duban_from_overdue(
        engine, ADMIN, status, sample_ledger.cases, town, DAY, PaperSettings()
    )
    [item] = duban.items(engine, ADMIN)
    assert item["number"] == made["number"] and not item["overdue"]  # due ten days after today, not after DAY
    assert item["due"] == (duban.today() + dt.timedelta(days=workflows.DUE_DAYS)).isoformat()
    with pytest.raises(duban.DubanError, match="已有未办结的超期督办单"):
        workflows.duban_from_overdue(engine, ADMIN, status, sample_ledger.cases, town, DAY, PaperSettings())
    duban.feedback(engine, Scope("t", "township", townships=(town,)), made["id"], "已联合家访")
    duban.close(engine, ADMIN, made["id"])
    again = workflows.duban_from_overdue(
        engine, ADMIN, status, sample_ledger.cases, town, DAY, PaperSettings()
    )
    assert again["number"] != made["number"]  # once the first is 办结, the next meeting may issue another
