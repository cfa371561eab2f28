"""Real browser against a server with users: the login form, logout, and a trusted proxy's user header."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kongchuo_metrics import auth
from tests.browser.conftest import ROOT, Page, start_server
from tests.browser.test_browser import kpi

PASSWORD = "browser-test-password-1"
HEADER = "X-Remote-User"


@pytest.fixture(scope="module")
def login_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("login")
    data = tmp / "data"
    shutil.copytree(ROOT / "data", data)
    settings = (data / "settings.toml").read_text(encoding="utf-8")
    (data / "settings.toml").write_text(
        settings.replace('proxy_header = ""', f'proxy_header = "{HEADER}"'), encoding="utf-8"
    )
    users = tmp / "users.json"
    auth.add_user(users, "sanli", PASSWORD, "township", townships=("三里镇",))
    auth.add_user(users, "admin", PASSWORD, "county_admin")
    env = {
        "KONGCHUO_DATA": str(data),
        "KONGCHUO_USERS": str(users),
        "KONGCHUO_STORE": str(tmp / "store"),
        "KONGCHUO_AUDIT": str(tmp / "audit" / "audit.jsonl"),
    }
    proc, url = start_server(env, tmp)
    yield url, tmp
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def open_page(browser, url, headers: dict | None = None) -> Page:
    p = Page(browser, url)
    if headers:
        p.context.set_extra_http_headers(headers)
    p.page.goto(url + "/")
    p.page.wait_for_selector("h1", timeout=30000)
    p.page.wait_for_timeout(800)
    return p


def on_login_form(p: Page) -> bool:
    return "登录" in p.page.locator("h1").first.inner_text() and p.page.get_by_label("密码").count() == 1


def test_login_form_then_logout(browser, login_server):
    url, tmp = login_server
    p = open_page(browser, url)
    try:
        assert on_login_form(p)
        assert p.page.locator("[data-testid='stMetric']").count() == 0  # nothing before login
        p.page.get_by_label("用户名").fill("sanli")
        p.page.get_by_label("密码").fill(PASSWORD)
        p.page.get_by_role("button", name="登录").click()
        p.wait()
        assert kpi(p, "在册辍学人数") == "6"  # the township's own cases, not the county's 25
        p.page.locator("[data-testid='stSidebar']").get_by_role("button", name="退出登录").click()
        p.page.wait_for_function(
            "() => [...document.querySelectorAll('h1')].some(h => h.innerText.includes('登录'))",
            timeout=20000,
        )
        assert on_login_form(p) and p.page.locator("[data-testid='stMetric']").count() == 0
        log = (tmp / "audit" / "audit.jsonl").read_text(encoding="utf-8")
        assert '"event": "login"' in log and '"event": "logout"' in log
        assert p.outside == []
    finally:
        p.context.close()


def test_trusted_proxy_header_logs_the_user_in(browser, login_server):
    url, _ = login_server
    p = open_page(browser, url, {HEADER: "sanli"})
    try:
        p.wait()
        assert not on_login_form(p)
        assert kpi(p, "在册辍学人数") == "6"
        assert p.outside == []
    finally:
        p.context.close()


def test_unknown_user_in_the_proxy_header_gets_the_login_form(browser, login_server):
    url, _ = login_server
    p = open_page(browser, url, {HEADER: "nobody"})
    try:
        assert on_login_form(p)
        assert p.page.locator("[data-testid='stMetric']").count() == 0
    finally:
        p.context.close()
