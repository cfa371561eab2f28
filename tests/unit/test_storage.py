"""The versioned store: scoped merges, batches, restore, diff, snapshots, staging and a killed import."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from kongchuo_metrics import audit, cli, merge, snapshot, storage
from tests.conftest import ROOT, SAMPLE_DIR
from tests.township_files import HEADER, township_file, township_workbook

SAMPLE = SAMPLE_DIR / "sample_ledger.xlsx"


def arrow_bytes(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def log_lines(path: Path) -> list[dict]:
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


def import_files(
    store: Path, paths: list[Path], scopes: list[merge.ImportScope | None] | None = None, log=None
):
    subs = [
        storage.load_submission(p, p.name, "wgs84", (scopes or [None] * len(paths))[i])
        for i, p in enumerate(paths)
    ]
    batch = storage.prepare(store, subs, [(p, p.name) for p in paths], "wgs84")
    writer = None
    if log is not None:

        def writer(phase, **fields):
            return audit.record(log, "accept", "admin", "county_admin", "全区县", phase=phase, **fields)

    return storage.commit(store, batch, "admin", audit=writer)


@pytest.fixture
def county(tmp_path):
    """A store whose v0001 is the whole sample county."""
    store = tmp_path / "store"
    import_files(store, [SAMPLE], [merge.ImportScope("county")])
    return store


def close_open(cases: pd.DataFrame) -> pd.DataFrame:
    """Every open case of the township returned on 2019-07-10."""
    is_open = cases["closed"].isna()
    return cases.assign(
        closed=cases["closed"].where(~is_open, pd.Timestamp("2019-07-10")),
        outcome=cases["outcome"].where(~is_open, "已返校就读"),
    )


def test_a_township_import_keeps_every_other_table_and_township_byte_for_byte(county, tmp_path):
    before = storage.load(county, "v0001")
    path = township_file(tmp_path, before, "黄练镇", change=close_open)
    v2 = import_files(county, [path])
    after = storage.load(county, v2.name)
    assert v2.scope == "乡镇：黄练镇" and v2.parent == "v0001"
    for table in ("special_ed", "schools", "villages", "followups"):
        assert arrow_bytes(getattr(after, table)) == arrow_bytes(getattr(before, table)), table
    assert after.report_dates == before.report_dates
    others = before.cases[before.cases["township"] != "黄练镇"]
    kept = after.cases[after.cases["township"] != "黄练镇"]
    n_town = int((before.cases["township"] == "黄练镇").sum())
    assert n_town > 0 and len(others) == len(before.cases) - n_town
    assert arrow_bytes(kept) == arrow_bytes(others)
    town = after.cases[after.cases["township"] == "黄练镇"]
    assert len(town) == n_town and town["closed"].notna().all()
    assert merge.headline(after, "2019-07-20")["open"] == 25 - 3
    # the same children keep their case numbers
    assert set(town["case_id"]) == set(before.cases.loc[before.cases["township"] == "黄练镇", "case_id"])


def test_a_township_file_without_a_township_column_is_that_townships(county, tmp_path, capsys):
    """A clerk's file names its schools, not its township: the schools' township in the current data decides,
    the page offers every township when nothing decides, and nothing is silently left out."""
    before = storage.load(county, "v0001")
    header = {k: v for k, v in HEADER.items() if k != "township"}
    cases = close_open(before.cases[before.cases["township"] == "三里镇"])
    path = township_workbook(tmp_path / "三里.xlsx", cases, "三里镇人民政府", header=header)
    sub = storage.load_submission(path, path.name, "wgs84", base=before)
    assert sub.ledger.cases["township"].isna().all() and sub.scope == merge.ImportScope(
        "township", ("三里镇",)
    )
    assert merge.outside_rows(sub) == 0
    assert cli.main(["import", str(path), "--store", str(county)]) == 0
    after = storage.current_ledger(county, "wgs84")[1]
    mine = after.cases[after.cases["township"] == "三里镇"]
    assert len(mine) == len(cases) and mine["closed"].notna().all()
    others = before.cases[before.cases["township"] != "三里镇"]
    assert arrow_bytes(after.cases[after.cases["township"] != "三里镇"]) == arrow_bytes(others)
    # schools nobody knows, and a title that names no township: no scope is guessed, every row would be left out
    strange = cases.assign(school="无名学校")
    path = township_workbook(tmp_path / "无名.xlsx", strange, "某单位", header=header)
    sub = storage.load_submission(path, path.name, "wgs84", base=before)
    assert sub.scope.townships == () and merge.outside_rows(sub) == len(strange)
    chosen = merge.Submission(sub.name, sub.ledger, merge.ImportScope("township", ("三里镇",)), sub.tables)
    assert merge.outside_rows(chosen) == 0  # once the clerk picks the township, the rows are its


def test_a_school_scope_import_replaces_that_school_only(county, tmp_path):
    before = storage.load(county, "v0001")
    school = before.cases.loc[before.cases["township"] == "黄练镇", "school"].value_counts().index[0]
    rows = before.cases[before.cases["school"] == school]
    path = township_workbook(tmp_path / "school.xlsx", close_open(rows), school, "2019年7月21日")
    sub = storage.load_submission(path, path.name, "wgs84")
    assert sub.scope == merge.ImportScope("school", ("黄练镇",), school)  # inferred from 填报单位
    v2 = import_files(county, [path])
    after = storage.load(county, v2.name)
    assert v2.scope == f"学校：{school}（黄练镇）"
    other = before.cases[before.cases["school"] != school]
    assert arrow_bytes(after.cases[after.cases["school"] != school]) == arrow_bytes(other)
    assert after.cases.loc[after.cases["school"] == school, "closed"].notna().all()


def test_two_townships_in_one_commit_make_one_version(county, tmp_path):
    before = storage.load(county, "v0001")
    files = [township_file(tmp_path, before, t, change=close_open) for t in ("黄练镇", "三里镇")]
    v2 = import_files(county, files)
    assert [v.name for v in storage.history(county)] == ["v0002", "v0001"]
    assert v2.scope == "乡镇：三里镇、黄练镇" and v2.files == ("黄练镇.xlsx", "三里镇.xlsx")
    after = storage.load(county, v2.name)
    fig = merge.township_figures(after, "2019-07-20").set_index("township")
    assert fig.loc["黄练镇", "open"] == 0 and fig.loc["三里镇", "open"] == 0
    assert (
        fig.loc["樟木乡", "open"]
        == merge.township_figures(before, "2019-07-20").set_index("township").loc["樟木乡", "open"]
    )
    assert v2.headline["open"] == 25 - 3 - 6


def test_a_failing_file_in_a_batch_commits_nothing(county, tmp_path, capsys):
    before = storage.load(county, "v0001")
    good = township_file(tmp_path, before, "黄练镇", change=close_open)
    bad = tmp_path / "坏文件.xlsx"
    bad.write_bytes(b"PK\x03\x04 broken")
    code = cli.main(["import", str(good), str(bad), "--store", str(county)])
    assert code == 2 and "整批没有导入" in capsys.readouterr().err
    assert [v.name for v in storage.history(county)] == ["v0001"]
    assert storage.current(county)[0].name == "v0001"
    # two files claiming the same township: nothing either
    (tmp_path / "twin").mkdir()
    twin = township_file(tmp_path / "twin", before, "黄练镇")
    assert cli.main(["import", str(good), str(twin), "--store", str(county)]) == 2
    assert [v.name for v in storage.history(county)] == ["v0001"]


def test_restore_makes_an_old_version_current_as_a_new_one(county, tmp_path):
    before = storage.load(county, "v0001")
    import_files(county, [township_file(tmp_path, before, "黄练镇", change=close_open)])
    v3 = storage.restore(county, "v0001", "admin")
    assert v3.name == "v0003" and v3.kind == "restore" and storage.current(county)[0].name == "v0003"
    assert [v.name for v in storage.history(county)] == ["v0003", "v0002", "v0001"]
    restored = storage.load(county, "v0003")
    for table in snapshot.TABLES:
        assert arrow_bytes(getattr(restored, table)) == arrow_bytes(getattr(before, table)), table
    assert cli.main(["restore", "v0009", "--store", str(county)]) == 2


def test_diff_names_appeared_closed_reopened_and_moved(county, tmp_path):
    before = storage.load(county, "v0001")
    cases = before.cases[before.cases["township"] == "黄练镇"]
    open_ids = cases.loc[cases["closed"].isna(), "case_id"].tolist()
    shut_ids = cases.loc[cases["closed"].notna(), "case_id"].tolist()

    def change(c: pd.DataFrame) -> pd.DataFrame:
        c = c.copy()
        c.loc[c["case_id"] == open_ids[0], ["closed", "outcome"]] = [pd.Timestamp("2019-07-10"), "已返校就读"]
        c.loc[c["case_id"] == shut_ids[0], ["closed", "outcome"]] = [pd.NaT, "未返校"]
        c.loc[c["case_id"] == shut_ids[1], "school"] = "黄练一中"
        new = c.iloc[[0]].assign(
            id_number="450804200801010012", name="新来的", registered=pd.Timestamp("2019-07-01")
        )
        return pd.concat([c, new])

    v2 = import_files(county, [township_file(tmp_path, before, "黄练镇", change=change)])
    d = merge.diff(before, storage.load(county, v2.name))
    got = {(r.change, r.case_id) for r in d.itertuples()}
    assert (
        ("closed", open_ids[0]) in got and ("reopened", shut_ids[0]) in got and ("moved", shut_ids[1]) in got
    )
    assert merge.diff_counts(d) == {"appeared": 1, "removed": 0, "closed": 1, "reopened": 1, "moved": 1}
    assert d.loc[d["change"] == "moved", "school_before"].notna().all()


def test_follow_ups_stay_with_replaced_children_by_stable_key(county, tmp_path):
    before = storage.load(county, "v0001")
    town = before.cases[before.cases["township"] == "黄练镇"]
    visits = before.followups[before.followups["case_id"].isin(town["case_id"])]
    assert len(visits) > 0

    def reorder_and_drop_ids(c: pd.DataFrame) -> pd.DataFrame:
        # rows in another order; one child without an ID number but with a 学籍号 in both versions is not
        # possible in the sample, so the ID is kept and the order changes (case numbers come from the key)
        return c.iloc[::-1]

    v2 = import_files(county, [township_file(tmp_path, before, "黄练镇", change=reorder_and_drop_ids)])
    after = storage.load(county, v2.name)
    kept = after.followups[after.followups["case_id"].isin(town["case_id"])]
    assert arrow_bytes(kept) == arrow_bytes(visits)
    # a child whose file row lost its ID number keeps its visits by name + school + registration date
    a = town.iloc[[0]]
    no_id = a.assign(id_number=pd.NA, child_key="n:x")
    keys_before, keys_after = merge.episode_keys(a), merge.episode_keys(no_id)
    assert keys_before.iloc[0].startswith("id:") and keys_after.iloc[0].startswith("n:")
    # …and by 学籍号 when there is one
    with_no = no_id.assign(student_no="G123")
    assert merge.episode_keys(with_no).iloc[0] == "s:G123#0"


def test_follow_ups_of_a_child_matched_by_name_school_and_date(tmp_path):
    store = tmp_path / "store"
    cases = pd.DataFrame(
        {
            "township": ["甲镇"] * 2,
            "village": ["一村"] * 2,
            "name": ["张小三", "李小四"],
            "sex": ["男", "女"],
            "id_number": [pd.NA, pd.NA],
            "school": ["甲镇一中"] * 2,
            "grade": pd.array([8, 8], dtype="Int64"),
            "poor": pd.array([False, False], dtype="boolean"),
            "case_type": ["dropout"] * 2,
            "registered": pd.to_datetime(["2019-03-01", "2019-03-02"]),
            "reason": ["厌学"] * 2,
            "returned": pd.array([False, False], dtype="boolean"),
            "closed": pd.to_datetime([None, None]),
            "outcome": ["未返校"] * 2,
        }
    )
    visits = pd.DataFrame(
        {
            "name": ["张小三"],
            "school": ["甲镇一中"],
            "visit_date": pd.to_datetime(["2019-03-10"]),
            "step": ["学校劝返"],
            "person": ["李校长"],
        }
    )
    first = township_workbook(tmp_path / "v1.xlsx", cases, "甲镇", "2019年3月20日", followups=visits)
    import_files(store, [first])
    second = township_workbook(tmp_path / "v2.xlsx", cases.iloc[::-1], "甲镇", "2019年4月20日")
    v2 = import_files(store, [second])
    after = storage.load(store, v2.name)
    child = after.cases.loc[after.cases["name"] == "张小三", "case_id"].iloc[0]
    assert after.followups["case_id"].tolist() == [child]


def test_stale_or_tampered_snapshots_are_rebuilt_from_raw(county, tmp_path, monkeypatch):
    folder = county / "versions" / "v0001"
    digests = snapshot.table_digests(folder)
    first = storage.load(county, "v0001")
    expected = arrow_bytes(first.cases)  # before the change: a loaded ledger maps the files it was read from
    # a changed table file: rebuilt, and to the same bytes as before
    path = folder / "snapshot" / "cases.arrow"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert snapshot.read(folder, storage._inputs(county, "v0001"), "wgs84") is None
    again = storage.load(county, "v0001")
    assert snapshot.table_digests(folder) == digests
    assert arrow_bytes(again.cases) == expected
    # a snapshot from another code version: not trusted, rebuilt and stamped with this one
    stamp = json.loads((folder / "snapshot" / "stamp.json").read_text(encoding="utf-8"))
    stamp["code_version"] = "older"
    (folder / "snapshot" / "stamp.json").write_text(json.dumps(stamp), encoding="utf-8")
    built = []
    real = storage._build
    monkeypatch.setattr(storage, "_build", lambda *a: built.append(a) or real(*a))
    storage.load(county, "v0001")
    assert len(built) == 1
    assert (
        json.loads((folder / "snapshot" / "stamp.json").read_text())["code_version"] == snapshot.CODE_VERSION
    )
    storage.load(county, "v0001")  # now current: read, not rebuilt
    assert len(built) == 1
    # a damaged raw file: the version is not used; the newest intact one is, with a warning
    import_files(county, [township_file(tmp_path, again, "黄练镇", change=close_open)])
    storage.current(county)[0].path.write_bytes(b"damaged")
    version, warning = storage.current(county)
    assert version.name == "v0001" and "回退" in warning


def test_page_and_cli_imports_give_the_same_snapshot(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("KONGCHUO_STORE", str(tmp_path / "page"))
    monkeypatch.setenv("KONGCHUO_AUDIT", str(tmp_path / "audit.jsonl"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.switch_page("pages/upload.py").run()
    at.file_uploader(key="up_file_0").set_value([("sample_ledger.xlsx", SAMPLE.read_bytes(), "")]).run()
    at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("up_scope_"))).select(
        merge.ImportScope("county")
    ).run()
    at.button(key="up_accept").click().run()
    assert not at.exception
    assert cli.main(["import", str(SAMPLE), "--store", str(tmp_path / "cli"), "--scope", "county"]) == 0
    page = snapshot.table_digests(tmp_path / "page" / "versions" / "v0001")
    assert page and page == snapshot.table_digests(tmp_path / "cli" / "versions" / "v0001")


def test_two_admins_importing_the_same_file_at_once_both_end_cleanly(county, tmp_path):
    before = storage.load(county, "v0001")
    path = township_file(tmp_path, before, "黄练镇", change=close_open)
    errors = []

    def run():
        try:
            import_files(county, [path])
        except Exception as exc:  # pragma: no cover - the failure this test is for
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = [v.name for v in storage.history(county)]
    assert names == ["v0003", "v0002", "v0001"]
    a, b = (snapshot.table_digests(county / "versions" / n) for n in ("v0002", "v0003"))
    assert a == b and storage.current(county) == (storage.history(county)[0], "")


def test_audit_intent_then_switch_then_done(county, tmp_path):
    log = tmp_path / "audit.jsonl"
    before = storage.load(county, "v0001")
    import_files(county, [township_file(tmp_path, before, "黄练镇")], log=log)
    phases = [(r["phase"], r["version"]) for r in log_lines(log)]
    assert phases == [("intent", "v0002"), ("done", "v0002")]
    assert storage.unfinished(log) == [] and storage.audit_states(log) == {"v0002": "done"}
    # an intent the audit cannot write: nothing switches, nothing is left behind
    blocker = tmp_path / "blocked"
    blocker.write_text("x")
    with pytest.raises(audit.AuditError):
        import_files(county, [township_file(tmp_path, before, "三里镇")], log=blocker / "audit.jsonl")
    assert storage.current(county)[0].name == "v0002"
    assert not list((county / "versions").glob(".pending-*"))


KILL_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from kongchuo_metrics import cli
sys.exit(cli.main(["import", {file!r}, "--store", {store!r}]))
"""


def test_an_import_killed_between_writing_and_switching_leaves_the_previous_version(county, tmp_path):
    before = storage.load(county, "v0001")
    path = township_file(tmp_path, before, "黄练镇", change=close_open)
    marker = tmp_path / "paused"
    log = tmp_path / "audit.jsonl"
    env = {**os.environ, storage.PAUSE_ENV: str(marker), "KONGCHUO_AUDIT": str(log)}
    script = KILL_SCRIPT.format(root=str(ROOT), file=str(path), store=str(county))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.time() + 60
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the import never reached the switch"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    version, warning = storage.current(county)
    assert (version.name, warning) == ("v0001", "")
    assert [v.name for v in storage.history(county)] == ["v0001"]
    assert arrow_bytes(storage.load(county, "v0001").cases) == arrow_bytes(before.cases)
    assert storage.unfinished(log) == ["v0002"]
    assert list((county / "versions").glob(".pending-*"))  # the half-written folder, until the next start
    assert storage.clean_pending(county) == 1
    out = subprocess.run(
        [sys.executable, "-m", "kongchuo_metrics", "audit", "verify", "--log", str(log)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    assert "v0002" in out and "没有完成" in out
    # the next import takes the number and lands whole
    assert import_files(county, [path]).name == "v0002"


def test_staged_uploads_are_private_and_swept_after_a_day(tmp_path):
    store = tmp_path / "store"
    path = storage.stage(store, b"ledger bytes", "黄练镇.xlsx", "sess1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    other = storage.stage(store, b"ledger bytes", "黄练镇.xlsx", "sess2")
    assert other != path  # two admins, same file: two copies, neither removes the other's
    old = time.time() - storage.INCOMING_MAX_AGE - 60
    os.utime(path, (old, old))
    assert storage.sweep_incoming(store) == 1
    assert not path.exists() and other.exists()
    storage.discard([other])
    assert list((store / "incoming").iterdir()) == []


def test_two_sessions_with_different_scopes_never_share_a_result(county, monkeypatch):
    """The server's shared caches (scoped ledger, filter options, follow-up status) are keyed on the scope: a
    township viewer asking after the county admin (the county's results already cached) gets the township's
    own, and the other way round."""
    from kongchuo_metrics import access
    from ui import data as ui

    monkeypatch.setenv("KONGCHUO_STORE", str(county))
    path, _ = ui.ledger_source()
    assert storage.is_version(Path(path))
    key = (str(path), ui._digest(path) + ui._settings_stamp(), "wgs84")
    admin = access.Scope("县管理员", "county_admin").key()
    town = access.Scope("乡镇用户", "township", ("黄练镇",)).key()
    whole = ui._scoped(*key, admin)
    options = ui._options(*key, admin, None)
    status = ui._status(*key, admin, "2019-06-25", 30)
    mine = ui._scoped(*key, town)
    assert set(mine.cases["township"].dropna()) == {"黄练镇"} and len(mine.cases) < len(whole.cases)
    assert ui._options(*key, town, None) == ["黄练镇"] and len(options) > 1
    assert set(ui._status(*key, town, "2019-06-25", 30)["township"].dropna()) <= {"黄练镇"}
    # asked again the other way round: each scope still gets its own
    assert len(ui._scoped(*key, admin).cases) == len(whole.cases)
    assert len(ui._status(*key, admin, "2019-06-25", 30)) == len(status) > 0
    assert set(status["township"].dropna()) > {"黄练镇"}


def test_trend_of_a_version_folder_reads_its_snapshot(county, capsys, monkeypatch):
    """`trend STORE/versions/v0001` is `trend --store STORE`: the snapshot, never the raw files parsed again."""
    monkeypatch.setattr(storage, "_build", lambda *a: pytest.fail("rebuilt from raw"))
    dates = "2019-03-12,2019-06-25"
    assert cli.main(["trend", "--store", str(county), "--dates", dates]) == 0
    by_store = json.loads(capsys.readouterr().out)
    assert cli.main(["trend", str(county / "versions" / "v0001"), "--dates", dates]) == 0
    assert json.loads(capsys.readouterr().out) == by_store
    assert [r["open"] for r in by_store] == [102, 25]  # the 2019 reference figures


def test_the_preview_counts_returns_as_the_overview_does(sample_ledger):
    """累计劝返 in the import preview is the school year's, the figure the overview shows (77 on the sample)."""
    from kongchuo_metrics import metrics

    figures = merge.township_figures(sample_ledger, "2019-06-25").set_index("township")["returned"]
    overview = metrics.trend(sample_ledger.cases, ["2019-06-25"], by="township").set_index("township")
    assert figures.to_dict() == overview["returned_total"].to_dict() and figures.sum() == 77


def test_a_township_file_without_its_earlier_cases_says_what_the_import_deletes(county, tmp_path):
    """QA: 黄练镇 sent only this school year's cases; the import replaced its 32 cases with 27, dropping the
    earlier ones and the county's 上年同期 figures with them, and the preview only said 替换 32 条为 27 条."""
    before = storage.load(county, "v0001")
    start = pd.Timestamp("2018-09-01")
    mine = before.cases[before.cases["township"] == "黄练镇"]
    earlier = mine[mine["registered"] < start]
    assert len(earlier) and earlier["closed"].notna().any()
    path = township_file(tmp_path, before, "黄练镇", change=lambda c: c[c["registered"] >= start])
    sub = storage.load_submission(path, path.name, "wgs84", base=before)
    lines = merge.change_lines(before, [sub])
    warning = [line for line in lines if "不在文件中" in line]
    closed = int(earlier["closed"].notna().sum())
    assert len(warning) == 1 and f"原有 {len(earlier)} 个个案（其中 {closed} 个已销号" in warning[0]
    assert "上年同期" in warning[0]
    # the whole township sent again: nothing is said
    (tmp_path / "full").mkdir()
    full = township_file(tmp_path / "full", before, "黄练镇")
    again = storage.load_submission(full, full.name, "wgs84", base=before)
    assert not [line for line in merge.change_lines(before, [again]) if "不在文件中" in line]
