"""Access scopes, users and lockout, audit chain, versioned storage, hardened config."""

import datetime as dt
import json
import threading
import tomllib

import pytest

from kongchuo_metrics import access, audit, auth, metrics, storage
from kongchuo_metrics.access import Scope, scoped_ledger
from tests.conftest import ROOT, case_row, write_csv

# --- the one data-access function ---------------------------------------------------------------------------


def test_scopes_restrict_every_table(sample_ledger):
    admin = scoped_ledger(sample_ledger, Scope("a", "county_admin"))
    assert admin is sample_ledger
    town = scoped_ledger(sample_ledger, Scope("t", "township", townships=("三里镇",)))
    for table in (town.cases, town.schools, town.special_ed, town.villages):
        assert set(table["township"]) == {"三里镇"}
    assert set(town.followups["case_id"]) <= set(town.cases["case_id"])
    assert len(metrics.open_at(town.cases, "2019-06-25")) == 6
    school = scoped_ledger(sample_ledger, Scope("s", "school", schools=("三里二中",)))
    assert set(school.cases["school"]) == {"三里二中"} and set(school.schools["school"]) == {"三里二中"}
    assert len(metrics.open_at(school.cases, "2019-06-25")) == 4
    assert set(school.villages["village"]) <= set(school.cases["village"])


@pytest.mark.parametrize(
    "scope", [Scope(), Scope("x", "township"), Scope("x", "school"), Scope("x", "unknown")]
)
def test_no_role_or_no_place_sees_nothing(sample_ledger, scope):
    led = scoped_ledger(sample_ledger, scope)
    assert all(len(t) == 0 for t in (led.cases, led.followups, led.special_ed, led.schools, led.villages))


def test_forged_selection_outside_the_scope_is_empty(sample_ledger):
    town = scoped_ledger(sample_ledger, Scope("t", "township", townships=("三里镇",)))
    forged = metrics.select_cases(town.cases, metrics.Selection(townships=("黄练镇",)))
    assert forged.empty
    assert metrics.schools_table(forged, "2019-06-25").empty


# --- users ----------------------------------------------------------------------------------------------------


def test_users_hashes_roles_and_lockout(tmp_path):
    path = tmp_path / "users.json"
    auth.add_user(path, "zhang", "correct-horse", "township", townships=("三里镇",))
    stored = json.loads(path.read_text())["users"]["zhang"]["hash"]
    assert stored.startswith("scrypt$") and "correct-horse" not in path.read_text()
    user = auth.authenticate(path, "zhang", "correct-horse")
    assert user.scope() == Scope("zhang", "township", ("三里镇",), ())
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.LoginRefused, match="用户名或密码错误") as refused:
            auth.authenticate(path, "zhang", "wrong", now=now, client="10.0.0.9")
        assert refused.value.reason == "wrong_password"
    with pytest.raises(auth.LoginRefused) as refused:
        auth.authenticate(
            path, "zhang", "correct-horse", now=now + dt.timedelta(minutes=1), client="10.0.0.9"
        )
    assert refused.value.reason == "locked" and str(refused.value) == auth.LOGIN_FAILED
    later = now + dt.timedelta(minutes=16)
    assert auth.authenticate(path, "zhang", "correct-horse", now=later, client="10.0.0.9").name == "zhang"
    auth.disable_user(path, "zhang")
    with pytest.raises(auth.LoginRefused) as refused:
        auth.authenticate(path, "zhang", "correct-horse")
    assert refused.value.reason == "disabled" and str(refused.value) == auth.LOGIN_FAILED
    with pytest.raises(auth.AuthError):
        auth.authenticate(path, "nobody", "whatever")


def test_user_validation_and_sessions(tmp_path):
    path = tmp_path / "u.json"
    with pytest.raises(auth.AuthError, match="乡镇"):
        auth.add_user(path, "a", "longenough", "township")
    with pytest.raises(auth.AuthError, match="8 位"):
        auth.add_user(path, "a", "short", "county_viewer")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert auth.session_valid(start, start + dt.timedelta(hours=7))
    assert not auth.session_valid(start, start + dt.timedelta(hours=9))
    assert auth.is_loopback("127.0.0.1") and auth.is_loopback("localhost") and not auth.is_loopback("0.0.0.0")


# --- audit ----------------------------------------------------------------------------------------------------


def test_audit_lines_fields_and_chain(tmp_path):
    log = tmp_path / "audit.jsonl"
    audit.record(log, "login", "zhang", "township", "乡镇：三里镇")
    audit.record(
        log,
        "download",
        "zhang",
        "township",
        "乡镇：三里镇",
        file="表二.csv",
        filters="乡镇：三里镇",
        rows=2,
        columns=["school", "open"],
        sha256="ab" * 32,
    )
    lines = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert lines[1]["prev"] == lines[0]["hash"] and lines[0]["prev"] == audit.GENESIS
    assert {"time", "event", "user", "role", "scope", "rows", "columns", "sha256", "filters"} <= set(lines[1])
    assert lines[1]["time"].endswith("+08:00")
    assert audit.verify(log)[0]
    tampered = log.read_text(encoding="utf-8").replace('"rows": 2', '"rows": 3')
    log.write_text(tampered, encoding="utf-8")
    ok, line, message = audit.verify(log)
    assert not ok and line == 2 and "修改" in message


def test_audit_deleted_line_breaks_the_chain(tmp_path):
    log = tmp_path / "audit.jsonl"
    for i in range(3):
        audit.record(log, "download", "u", "county_admin", "全区县", rows=i)
    lines = log.read_text(encoding="utf-8").splitlines()
    log.write_text("\n".join([lines[0], lines[2]]) + "\n", encoding="utf-8")
    assert audit.verify(log)[:2] == (False, 2)


def test_audit_write_failure_raises(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(audit.AuditError, match="审计日志无法写入"):
        audit.record(blocker / "audit.jsonl", "download", "u", "r", "s")


# --- storage --------------------------------------------------------------------------------------------------


def _ledger_file(tmp_path, name, n):
    return write_csv(tmp_path / name, [case_row(name=f"童{i}", registered="2019.3.1") for i in range(n)])


def test_versions_are_kept_and_a_damaged_one_falls_back(tmp_path):
    store = tmp_path / "store"
    v1 = storage.accept(store, _ledger_file(tmp_path, "a.csv", 2), "一月.csv", "admin")
    v2 = storage.accept(store, _ledger_file(tmp_path, "b.csv", 3), "二月.csv", "admin")
    assert storage.current(store) == (v2, "")
    assert [v.name for v in storage.history(store)] == ["v0002", "v0001"]
    v2.path.write_text("damaged", encoding="utf-8")
    current, warning = storage.current(store)
    assert current == v1 and "回退" in warning


def test_two_uploads_at_once_never_mix(tmp_path):
    store = tmp_path / "store"
    files = [_ledger_file(tmp_path, f"{i}.csv", 5 + i) for i in range(6)]
    threads = [threading.Thread(target=storage.accept, args=(store, f, f.name, "admin")) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = storage.history(store)
    assert len(versions) == 6 and len({v.name for v in versions}) == 6
    current, warning = storage.current(store)
    assert warning == "" and current.path.read_bytes() in {f.read_bytes() for f in files}


# --- configuration ----------------------------------------------------------------------------------------------


def test_hardened_streamlit_config():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["browser"] == {"gatherUsageStats": False, "serverAddress": "localhost"}
    server = cfg["server"]
    assert server["address"] == "127.0.0.1" and server["headless"] is True and server["maxUploadSize"] == 20
    assert server["enableXsrfProtection"] is True and server["enableStaticServing"] is False
    assert server["fileWatcherType"] == "none"
    client = cfg["client"]
    assert client["showErrorDetails"] == "none" and client["disableDataExport"] is True
    assert client["toolbarMode"] in ("viewer", "minimal") and client["showErrorLinks"] is False


def test_streamlit_reads_the_hardened_options_back():
    import subprocess
    import sys

    code = (
        "import streamlit.config as c; c.get_config_options(force_reparse=True); "
        "print(c.get_option('server.address'), c.get_option('client.showErrorDetails'), "
        "c.get_option('browser.gatherUsageStats'), c.get_option('client.disableDataExport'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout
    assert out.split() == ["127.0.0.1", "none", "False", "True"]


def test_streamlit_pinned_at_least_1_54():
    req = (ROOT / "requirements.txt").read_text()
    assert "streamlit>=1.54" in req
    assert access.ROLES  # the roles exist in one place
