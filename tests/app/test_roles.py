"""The role matrix through the real login form: every page, its numbers, filter options and download tables."""

import pytest

from kongchuo_metrics import auth
from tests.app.conftest import PAGES, block_audit, metric, open_page

PASSWORD = "test-password-1"


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    auth.add_user(path, "admin", PASSWORD, "county_admin")
    auth.add_user(path, "viewer", PASSWORD, "county_viewer")
    auth.add_user(path, "sanli", PASSWORD, "township", townships=("三里镇",))
    auth.add_user(path, "school", PASSWORD, "school", schools=("三里二中",))
    monkeypatch.setenv("KONGCHUO_USERS", str(path))
    return path


def login(name: str, page: str = "overview", query: dict | None = None, password: str = PASSWORD):
    at = open_page("overview", query)
    assert at.title[0].value.endswith("登录")
    at.text_input(key="login_user").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    if page != "overview":
        at.switch_page(PAGES[page]).run()
    return at


def tables(at) -> list:
    return [d.value for d in at.dataframe]


def test_login_required_when_users_exist(users):
    at = open_page("overview")
    assert at.title[0].value == "控辍保学数据看板 · 登录"
    assert not at.metric and not at.dataframe  # nothing but the form


def test_wrong_password_is_refused_and_audited(users, isolated):
    at = login("sanli", password="wrong-password")
    assert any("用户名或密码错误" in e.value for e in at.error)
    log = (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"event": "login_failed"' in log and "wrong-password" not in log


@pytest.mark.parametrize("page", list(PAGES))
def test_admin_and_viewer_see_the_whole_county(users, page):
    for name in ("admin", "viewer"):
        at = login(name, page)
        assert not at.exception
        if page == "overview":
            assert metric(at, "在册辍学人数") == "25"
        if page == "upload":
            assert (name == "admin") == any(u.key == "up_file_0" for u in at.get("file_uploader"))


@pytest.mark.parametrize("page", list(PAGES))
def test_township_user_sees_only_their_township(users, page):
    at = login("sanli", page)
    assert not at.exception
    assert at.multiselect(key="tsp").options == ["三里镇"]
    for frame in tables(at):
        if "乡镇" in frame.columns:
            assert set(frame["乡镇"]) <= {"三里镇"}, page
        if "学校" in frame.columns:
            assert all(str(s).startswith("三里") for s in frame["学校"]), page
    if page == "overview":
        assert metric(at, "在册辍学人数") == "6"
        # the line under the title names what the user sees, not 全部
        assert any(c.value.startswith("乡镇：三里镇；") for c in at.caption), [c.value for c in at.caption]
    if page == "schools":
        assert tables(at)[0]["在册辍学人数"].sum() == 6
    if page == "special_ed":
        assert int(metric(at, "6-15周岁残疾儿童")) < 562
    if page == "upload":
        assert any("只有区县管理员" in i.value for i in at.info)


@pytest.mark.parametrize("page", ["overview", "schools", "followup", "map"])
def test_school_user_sees_only_their_school(users, page):
    at = login("school", page)
    assert at.multiselect(key="sch").options == ["三里二中"]
    for frame in tables(at):
        if "学校" in frame.columns:
            assert set(frame["学校"]) == {"三里二中"}
    if page == "overview":
        assert metric(at, "在册辍学人数") == "4"


def test_forged_township_in_the_url_shows_nothing_outside_the_scope(users):
    at = login("sanli", "overview", {"tsp": "黄练镇"})
    assert metric(at, "在册辍学人数") == "6"  # the forged value is dropped; 黄练镇's 3 children never appear
    assert all("黄练" not in str(v) for frame in tables(at) for v in frame.to_numpy().ravel())


def test_no_scope_sees_nothing(users, monkeypatch):
    import json

    data = json.loads(users.read_text())
    data["users"]["sanli"]["townships"] = []
    users.write_text(json.dumps(data))
    at = login("sanli", "overview")
    assert any("没有" in i.value for i in at.info) and not at.metric


def test_cache_separation_between_scopes(users):
    assert metric(login("admin"), "在册辍学人数") == "25"
    assert metric(login("sanli"), "在册辍学人数") == "6"
    assert metric(login("school"), "在册辍学人数") == "4"
    assert metric(login("admin"), "在册辍学人数") == "25"


def test_logout_returns_to_the_login_form_and_is_audited(users, isolated):
    at = login("sanli")
    assert metric(at, "在册辍学人数") == "6"
    # after its first run AppTest re-runs the page file alone, which draws the sidebar (and this button)
    # under another widget id; one plain run first, so the click reaches the button the next run draws
    at.run()
    at.button(key="logout").click().run()
    assert at.title[0].value == "控辍保学数据看板 · 登录" and not at.metric and not at.dataframe
    log = (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"event": "logout"' in log and '"user": "sanli"' in log


def test_no_login_without_an_audit_line(users, tmp_path, monkeypatch):
    block_audit(tmp_path, monkeypatch)
    at = login("sanli")
    assert not at.exception
    assert any("审计日志无法写入" in e.value for e in at.error)
    assert not at.metric and not at.dataframe
    at.run()  # and the next run is still the login form, not a session
    assert at.title[0].value == "控辍保学数据看板 · 登录" and not at.metric


def test_no_unmasking_without_an_audit_line(users, tmp_path, monkeypatch):
    at = login("admin", "followup")
    assert at.dataframe  # the masked case list
    block_audit(tmp_path, monkeypatch)
    at.run()  # see test_logout_returns_to_the_login_form_and_is_audited: the page run draws the toggle
    at.toggle(key="unmask").set_value(True).run()
    assert not at.exception
    assert any("审计日志无法写入" in e.value for e in at.error)
    assert not at.dataframe  # nothing drawn after the refused unmask
