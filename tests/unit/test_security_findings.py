"""Issue 19 findings in the core: the keyed audit chain and its head (6), one login message and lockout per
user and address with back-off (9), school scope by (township, school) (9)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import subprocess
import sys

import pytest

from kongchuo_metrics import audit, auth, metrics
from kongchuo_metrics.access import Scope, scoped_ledger
from kongchuo_metrics.ingest import load_ledger
from tests.conftest import ROOT, case_row, write_csv

# --- 6. an audit log that shows truncation and rewriting ------------------------------------------------------


def _log(tmp_path, n=5):
    log = tmp_path / "audit" / "audit.jsonl"
    for i in range(n):
        event = "accept" if i % 2 else "download"
        audit.record(log, event, "admin", "county_admin", "全区县", rows=i)
    return log


def _lines(log):
    return log.read_text(encoding="utf-8").splitlines()


def test_key_file_is_created_once_readable_only_by_the_service_user(tmp_path):
    log = _log(tmp_path, 2)
    key = audit.key_path(log)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert len(bytes.fromhex(key.read_text())) == 32
    before = key.read_text()
    audit.record(log, "login", "a", "county_admin", "全区县")
    assert key.read_text() == before  # created at first start, then reused
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_head_file_follows_every_append(tmp_path):
    log = _log(tmp_path, 3)
    head = audit.read_head(log)
    last = json.loads(_lines(log)[-1])
    assert head["lines"] == 3 and head["hash"] == last["hash"]
    assert audit.verify(log) == (True, 3, "校验通过，共 3 行")


def test_deleted_tail_is_reported(tmp_path):
    log = _log(tmp_path, 5)
    log.write_text("\n".join(_lines(log)[:3]) + "\n", encoding="utf-8")  # the chain of 3 lines is intact
    ok, n, message = audit.verify(log)
    assert not ok and n == 3 and "末尾的行被删除" in message and "5" in message


def test_deleted_tail_stays_visible_after_later_appends(tmp_path):
    log = _log(tmp_path, 5)
    log.write_text("\n".join(_lines(log)[:3]) + "\n", encoding="utf-8")
    audit.record(log, "login", "a", "county_admin", "全区县")  # the app keeps writing after the deletion
    ok, _, message = audit.verify(log)
    assert not ok and "删除" in message


def test_removed_line_is_reported(tmp_path):
    log = _log(tmp_path, 5)
    lines = _lines(log)
    log.write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")
    ok, n, message = audit.verify(log)
    assert not ok and n == 3 and "前序哈希不符" in message


@pytest.mark.parametrize("keyed_guess", [False, True])
def test_removed_accept_lines_with_a_recomputed_chain_are_reported(tmp_path, keyed_guess):
    """The attack of the review: drop every accept line and recompute the chain (and the head) so that it looks
    whole. Without the key (plain SHA-256, or an HMAC under a guessed key) every MAC is wrong."""
    log = _log(tmp_path, 6)
    kept = [json.loads(x) for x in _lines(log) if json.loads(x)["event"] != "accept"]
    prev = audit.GENESIS
    out = []
    for rec in kept:
        rec["prev"] = prev
        body = json.dumps({k: v for k, v in rec.items() if k != "hash"}, ensure_ascii=False, sort_keys=True)
        if keyed_guess:
            import hmac

            rec["hash"] = hmac.new(b"guess" * 8, body.encode(), hashlib.sha256).hexdigest()
        else:
            rec["hash"] = hashlib.sha256(body.encode()).hexdigest()
        prev = rec["hash"]
        out.append(json.dumps(rec, ensure_ascii=False, sort_keys=True))
    log.write_text("\n".join(out) + "\n", encoding="utf-8")
    audit.head_path(log).write_text(json.dumps({"lines": len(out), "hash": prev}), encoding="utf-8")
    ok, n, message = audit.verify(log)
    assert not ok and n == 1 and "密钥哈希不符" in message


def test_changed_line_and_replaced_log_are_reported(tmp_path):
    log = _log(tmp_path, 3)
    log.write_text(log.read_text(encoding="utf-8").replace('"rows": 1', '"rows": 9'), encoding="utf-8")
    ok, n, message = audit.verify(log)
    assert not ok and n == 2 and "被修改" in message
    other = _log(tmp_path / "other", 2)
    log.write_bytes(other.read_bytes())  # a whole valid log of another install put in its place
    assert not audit.verify(log)[0]


def test_verify_command_reports_the_deleted_tail(tmp_path):
    log = _log(tmp_path, 4)
    log.write_text("\n".join(_lines(log)[:2]) + "\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "kongchuo_metrics", "audit", "verify", "--log", str(log)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "末尾的行被删除" in out.stdout + out.stderr


def test_an_older_unkeyed_log_is_accepted_as_a_prefix(tmp_path):
    log = tmp_path / "audit.jsonl"
    prev = audit.GENESIS
    lines = []
    for i in range(2):  # lines as the previous release wrote them (plain SHA-256 chain, no head, no key)
        rec = {"time": "2026-01-01T08:00:00+08:00", "event": "login", "user": "a", "role": "", "scope": ""}
        rec.update(rows=i, prev=prev)
        rec["hash"] = hashlib.sha256(json.dumps(rec, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        prev = rec["hash"]
        lines.append(json.dumps(rec, ensure_ascii=False, sort_keys=True))
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    audit.record(log, "download", "a", "county_admin", "全区县")
    ok, n, message = audit.verify(log)
    assert ok and n == 3 and "旧格式" in message
    assert audit.read_head(log)["lines"] == 3


# --- 9. one login message; lockout per user and per client address with back-off ----------------------------


@pytest.fixture
def users(tmp_path):
    path = tmp_path / "users.json"
    auth.add_user(path, "admin", "admin-password-1", "county_admin")
    auth.add_user(path, "left", "left-password-1", "county_viewer")
    auth.disable_user(path, "left")
    return path


NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _refusal(path, name, password, client="10.0.0.5", now=NOW):
    with pytest.raises(auth.LoginRefused) as refused:
        auth.authenticate(path, name, password, now=now, client=client)
    return refused.value


def test_one_login_message_for_every_refusal(users):
    for _ in range(auth.MAX_FAILURES):
        _refusal(users, "admin", "wrong", client="10.0.0.7")
    cases = {
        "unknown": _refusal(users, "nobody", "whatever"),
        "wrong_password": _refusal(users, "admin", "wrong"),
        "disabled": _refusal(users, "left", "left-password-1"),
        "locked": _refusal(users, "admin", "admin-password-1", client="10.0.0.7"),
    }
    assert {k: v.reason for k, v in cases.items()} == {k: k for k in cases}
    assert {str(v) for v in cases.values()} == {auth.LOGIN_FAILED}


def test_one_browser_cannot_lock_the_admin_out(users):
    for _ in range(auth.MAX_FAILURES * 3):
        _refusal(users, "admin", "guess", client="10.9.9.9")
    # the attacker's address is locked, even with the right password ...
    assert _refusal(users, "admin", "admin-password-1", client="10.9.9.9").reason == "locked"
    # ... and the admin at their own desk logs in
    assert auth.authenticate(users, "admin", "admin-password-1", now=NOW, client="10.0.0.2").name == "admin"


def test_one_address_trying_many_names_is_locked_out(users):
    for i in range(auth.CLIENT_FAILURES):
        _refusal(users, f"user{i}", "guess", client="10.8.8.8")
    assert _refusal(users, "admin", "admin-password-1", client="10.8.8.8").reason == "client_locked"
    assert auth.authenticate(users, "admin", "admin-password-1", now=NOW, client="10.0.0.2").name == "admin"


def test_lockout_backs_off(users):
    first = None
    when = NOW
    for round_ in range(3):
        for _ in range(auth.MAX_FAILURES):
            refusal = _refusal(users, "admin", "wrong", client="10.1.1.1", now=when)
        locked = _refusal(users, "admin", "admin-password-1", client="10.1.1.1", now=when)
        minutes = (locked.until - when).total_seconds() / 60
        assert minutes == auth.LOCK_MINUTES * 2**round_, round_
        first = first or refusal
        when = locked.until + dt.timedelta(seconds=1)
    assert first.reason == "wrong_password"


def test_set_password_clears_the_locks(users):
    for _ in range(auth.MAX_FAILURES):
        _refusal(users, "admin", "wrong", client="10.1.1.1")
    auth.set_password(users, "admin", "new-password-22")
    assert auth.authenticate(users, "admin", "new-password-22", now=NOW, client="10.1.1.1").name == "admin"


def test_fingerprint_changes_with_every_change_of_the_account(users):
    before = auth.fingerprint(users, "admin")
    assert before == auth.fingerprint(users, "admin")
    auth.authenticate(users, "admin", "admin-password-1", now=NOW)  # a login does not change it
    assert before == auth.fingerprint(users, "admin")
    auth.set_password(users, "admin", "another-pass-1")
    assert before != auth.fingerprint(users, "admin")
    assert auth.fingerprint(users, "nobody") is None and auth.current_user(users, "left") is None


def test_users_file_modes(users):
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    throttle = users.with_name(users.name + ".throttle.json")
    _refusal(users, "admin", "wrong")
    assert stat.S_IMODE(os.stat(throttle).st_mode) == 0o600


# --- 9. school scope by (township, school) ----------------------------------------------------------------------


@pytest.fixture
def twin_schools(tmp_path):
    rows = [
        case_row(township="甲镇", village="一村", name="甲童一", school="中心小学", grade="三年级"),
        case_row(township="甲镇", village="一村", name="甲童二", school="中心小学", grade="三年级"),
        case_row(township="乙镇", village="二村", name="乙童一", school="中心小学", grade="三年级"),
        case_row(township="乙镇", village="二村", name="乙童二", school="乙镇一中"),
    ]
    return load_ledger(write_csv(tmp_path / "twins.csv", rows))


@pytest.mark.parametrize(
    "scope, expected",
    [
        (Scope("s", "school", ("甲镇",), ("中心小学",)), {"甲童一", "甲童二"}),
        (Scope("s", "school", (), ("乙镇/中心小学",)), {"乙童一"}),
        (Scope("s", "school", (), ("中心小学",)), set()),  # ambiguous without a township: nothing
        (Scope("s", "school", (), ("乙镇一中",)), {"乙童二"}),  # unique name: as before
    ],
)
def test_school_scope_is_the_township_and_school_pair(twin_schools, scope, expected):
    led = scoped_ledger(twin_schools, scope)
    assert set(led.cases["name"]) == expected
    assert set(led.villages["village"]) <= set(led.cases["village"])
    opened = metrics.open_at(led.cases, "2019-06-25")
    assert len(opened) == len(expected)
