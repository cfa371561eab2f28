"""Issue 19 through the app (AppTest): downloads accounted to a person (1), refused when the audit line cannot be
written (2), open sessions obey changes in the users file and the login's age (3), one login message,
clear_cache and the ledger, the store's checksum once per version (9)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time

import pytest
import streamlit as st

import ui
from kongchuo_metrics import audit, auth, privacy, storage
from tests.app.conftest import block_audit, metric
from tests.app.test_roles import PASSWORD, login
from tests.conftest import case_row, write_csv


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    auth.add_user(path, "admin", PASSWORD, "county_admin")
    auth.add_user(path, "sanli", PASSWORD, "township", townships=("三里镇",))
    monkeypatch.setenv("KONGCHUO_USERS", str(path))
    ui._HANDOFF.items.clear()
    return path


def _log(isolated) -> list[dict]:
    path = isolated / "audit" / "audit.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _ready(name="sanli", page="schools"):
    at = login(name, page)
    at.run()  # AppTest: the page run after the first draws the widgets the next click reaches
    return at


_FETCHED: list = []


def _fetch_when_clicked(out: list, fetch: bool = True) -> threading.Thread:
    """The browser's file request, sent with the click: the data callable of the token the click's callback
    starts, called from another thread, as Streamlit runs it."""

    def browser() -> None:
        for _ in range(600):
            building = list(ui._HANDOFF.items)  # started by the click's callback (maybe refused already)
            if building:
                if fetch:
                    out.append(ui._HANDOFF.take(building[0]))
                return
            time.sleep(0.01)

    t = threading.Thread(target=browser)
    t.start()
    return t


def _click(at, key, fetch: bool = True):
    ui._HANDOFF.items.clear()
    _FETCHED.clear()
    button = next(b for b in at.get("download_button") if b.key == key)
    browser = _fetch_when_clicked(_FETCHED, fetch)
    button.click().run()
    browser.join(30)


def _released() -> list[bytes | None]:
    """What the download callables handed over for the last click."""
    return list(_FETCHED)


def test_download_line_names_the_person_captured_at_render(users, isolated):
    at = _ready()
    _click(at, "schools_csv")
    payload = _released()
    assert len(payload) == 1 and payload[0].startswith(b"\xef\xbb\xbf")
    line = _log(isolated)[-1]
    assert line["event"] == "download"
    assert (line["user"], line["role"], line["scope"]) == ("sanli", "township", "乡镇：三里镇")
    assert line["rows"] == 2 and line["mode"] == "list" and "统计日期" in line["filters"]
    assert line["columns"][:3] == ["school", "township", "open"]
    assert line["sha256"] == hashlib.sha256(payload[0]).hexdigest()
    assert audit.verify(isolated / "audit" / "audit.jsonl")[0]


def test_a_click_whose_file_is_never_fetched_leaves_no_line_and_says_so(users, isolated, monkeypatch):
    """A click on a button the page had already replaced: Streamlit no longer knows its file and never calls
    the data callable. The audit must not say the user got a file they never received."""
    at = _ready()
    before = [x for x in _log(isolated) if x["event"] == "download"]
    monkeypatch.setattr(ui._HANDOFF, "ASK_WAIT", 0.3)
    _click(at, "schools_csv", fetch=False)
    assert [x for x in _log(isolated) if x["event"] == "download"] == before
    assert any(ui.NOT_FETCHED == e.value for e in at.error)
    assert all(state != "done" or payload is None for _, state, payload in ui._HANDOFF.items.values())
    _click(at, "schools_csv")  # clicked again: the file comes, with its line
    assert len(_released()) == 1 and _released()[0]
    assert len([x for x in _log(isolated) if x["event"] == "download"]) == len(before) + 1


def test_download_refused_when_the_log_breaks_after_the_page_was_drawn(
    users, isolated, tmp_path, monkeypatch
):
    at = _ready()
    before = len(_log(isolated))
    block_audit(
        tmp_path, monkeypatch
    )  # the page is on screen with its buttons; now the log cannot be written
    _click(at, "schools_csv")
    assert _released() == [None]  # nothing to hand over
    assert len(_log(isolated)) == before
    assert any("审计日志无法写入" in e.value for e in at.error)


def test_download_refused_when_the_write_itself_fails(users, isolated, monkeypatch):
    # the folder looks writable, the append fails (disk full): the line is what counts, not a pre-check
    at = _ready()

    def full(*args, **kwargs):
        raise audit.AuditError("审计日志无法写入（No space left on device），操作已拒绝。")

    monkeypatch.setattr(audit, "record", full)
    _click(at, "schools_csv")
    assert _released() == [None]
    assert any(ui.REFUSED_AUDIT == e.value for e in at.error)


def _edit_user(users, name, **changes):
    data = json.loads(users.read_text())
    data["users"][name].update(changes)
    users.write_text(json.dumps(data, ensure_ascii=False))


@pytest.mark.parametrize(
    "change",
    [
        lambda users: auth.disable_user(users, "sanli"),
        lambda users: _edit_user(users, "sanli", townships=["黄练镇"]),
        lambda users: _edit_user(users, "sanli", role="county_viewer"),
        lambda users: auth.set_password(users, "sanli", "a-new-password-9"),
        lambda users: (
            _edit_user(users, "sanli") or users.write_text(users.read_text().replace("sanli", "x1"))
        ),
    ],
    ids=["disabled", "township-changed", "role-changed", "password-reset", "removed"],
)
def test_open_session_ends_when_the_account_changes(users, isolated, change):
    at = _ready("sanli", "overview")
    assert metric(at, "在册辍学人数") == "6"
    change(users)
    at.run()
    assert at.title[0].value == ui.LOGIN_TITLE and not at.metric and not at.dataframe
    assert any("登录已失效" in w.value for w in at.warning)
    assert _log(isolated)[-1]["event"] == "session_end"


def test_stale_download_button_returns_nothing(users, isolated):
    at = _ready()
    auth.disable_user(users, "sanli")
    before = len(_log(isolated))
    _click(at, "schools_csv")
    assert _released() == [None]
    assert not [x for x in _log(isolated)[before:] if x["event"] == "download"]
    assert at.title[0].value == ui.LOGIN_TITLE


def test_session_older_than_eight_hours_ends(users):
    at = _ready("sanli", "overview")
    at.session_state["auth"] = {
        **at.session_state["auth"],
        "at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=9),
    }
    at.run()
    assert at.title[0].value == ui.LOGIN_TITLE and not at.metric


def test_expired_session_download_returns_nothing(users, isolated):
    at = _ready()
    at.session_state["auth"] = {
        **at.session_state["auth"],
        "at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=9),
    }
    _click(at, "schools_csv")
    assert _released() == [None]


def test_one_login_message_for_unknown_wrong_and_disabled(users, isolated):
    auth.add_user(users, "left", PASSWORD, "county_viewer")
    auth.disable_user(users, "left")
    shown = set()
    for name, password in [("nobody", PASSWORD), ("sanli", "wrong-password"), ("left", PASSWORD)]:
        at = login(name, password=password)
        shown |= {e.value for e in at.error}
        assert not at.metric
    assert shown == {auth.LOGIN_FAILED}
    reasons = [x["reason"] for x in _log(isolated) if x["event"] == "login_failed"]
    assert reasons == ["unknown", "wrong_password", "disabled"]


def test_clear_cache_does_not_drop_the_ledger(users, monkeypatch):
    loads = []
    real = ui.data.load_ledger
    monkeypatch.setattr(ui.data, "load_ledger", lambda *a, **k: loads.append(a) or real(*a, **k))
    ui._LEDGERS.items.clear()
    at = _ready("sanli", "overview")
    assert len(loads) == 1
    # what a "clear cache" message from any client does to the server
    st.cache_data.clear()
    st.cache_resource.clear()
    at.run()
    assert metric(at, "在册辍学人数") == "6" and len(loads) == 1


def test_store_checksum_once_per_version(users, tmp_path, monkeypatch):
    store = tmp_path / "store"
    source = write_csv(tmp_path / "a.csv", [case_row(name=f"童{i}", township="三里镇") for i in range(3)])
    storage.accept(store, source, "一月.csv", "admin")
    calls = []
    real = storage.current
    monkeypatch.setattr(storage, "current", lambda s: calls.append(s) or real(s))
    at = _ready("admin", "overview")
    first = len(calls)
    assert first == 1
    at.run()
    at.run()
    assert len(calls) == first  # no new version, no new check
    storage.accept(store, source, "二月.csv", "admin")
    at.run()
    switched = len(calls)
    assert switched > first  # the new version is checked (the store's own files settle within that run)
    at.run()
    at.run()
    assert len(calls) == switched  # and then not again on every rerun


@pytest.mark.parametrize(
    "text",
    [
        "![t](http://example.invalid/beacon.png)",
        "[链接](http://example.invalid/x)",
        "<img src=http://example.invalid/i.png>",
        "www.example.invalid 与 a@example.invalid",
        ":red[红字] :material/home: $x^2$ **粗** `码`",
    ],
)
def test_literal_leaves_no_markup(text):
    import re

    out = ui.literal(text)
    assert out.replace("\\", "").replace("\u2060", "") == text  # the same characters on screen
    assert re.search(r"(?<!\\)[\[\]()<>!*`$:]", out) is None  # every markup character escaped
    assert "http://" not in out and "www." not in out and "@" not in out.replace("@\u2060", "")


def test_poor_counts_per_school_and_village_are_suppressed_on_screen_and_in_downloads(
    users, isolated, tmp_path
):
    rows = [case_row(name="甲童", school="甲镇一中", village="一村", poor="是", registered="2019.3.1")]
    rows += [
        case_row(name=f"乙童{i}", school="甲镇二中", village="二村", registered="2019.3.1") for i in range(6)
    ]
    rows += [
        case_row(name=f"丙童{i}", school="甲镇三中", village="三村", poor="是" if i < 5 else "否")
        for i in range(7)
    ]
    storage.accept(tmp_path / "store", write_csv(tmp_path / "poor.csv", rows), "poor.csv", "admin")
    at = _ready("admin", "schools")
    shown = at.dataframe[0].value.set_index("学校")
    assert shown.loc["甲镇一中", "其中建档立卡"] == privacy.SUPPRESSED  # one child, next to a masked name
    assert shown.loc["甲镇三中", "其中建档立卡"] == privacy.SUPPRESSED  # complementary: the total is public
    assert shown["在册辍学人数"].sum() == 14
    _click(at, "schools_csv")
    csv = _released()[0].decode("utf-8-sig")
    line = next(x for x in csv.splitlines() if x.startswith("甲镇一中"))
    assert f",{privacy.SUPPRESSED}," in line and ",1,是" not in line
