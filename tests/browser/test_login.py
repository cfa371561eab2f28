"""Real browser against a server with users: the login form, logout, and a trusted proxy's user header."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from kongchuo_metrics import auth
from tests.browser.conftest import Page, start_server, stop_server
from tests.browser.test_browser import kpi
from tests.conftest import sample_data_with

PASSWORD = "browser-test-password-1"
HEADER = "X-Remote-User"


@pytest.fixture(scope="module")
def login_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("login")
    data = sample_data_with(tmp, "proxy_header", HEADER)
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
    stop_server(proc)


@contextmanager
def opened(browser, url, headers: dict | None = None) -> Iterator[Page]:
    """A fresh browser context on the app (with extra request headers), closed after; no request leaves
    127.0.0.1."""
    p = Page(browser, url)
    try:
        if headers:
            p.context.set_extra_http_headers(headers)
        p.page.goto(url + "/")
        p.page.wait_for_selector("h1", timeout=30000)
        # the run has finished (no running-man widget), not just started drawing
        p.page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30000
        )
        p.page.wait_for_timeout(800)
        yield p
        assert p.outside == [], f"requests left the machine: {p.outside}"
    finally:
        p.context.close()


def on_login_form(p: Page) -> bool:
    return "登录" in p.page.locator("h1").first.inner_text() and p.page.get_by_label("密码").count() == 1


def test_login_form_then_logout(browser, login_server):
    url, tmp = login_server
    with opened(browser, url) as p:
        assert on_login_form(p)
        assert p.page.locator("[data-testid='stMetric']").count() == 0  # nothing before login
        p.page.get_by_label("用户名").fill("sanli")
        p.page.get_by_label("密码").fill(PASSWORD)
        p.page.get_by_role("button", name="登录").click()
        p.wait()
        assert kpi(p, "在册辍学人数") == "6"  # the township's own cases, not the county's 25
        p.page.locator("[data-testid='stSidebar']").get_by_role("button", name="退出登录").click()
        # the login form is back and the dashboard's figures are gone (the run has finished redrawing)
        p.page.wait_for_function(
            "() => [...document.querySelectorAll('h1')].some(h => h.innerText.includes('登录'))"
            " && document.querySelectorAll('input[type=password]').length === 1"
            " && !document.querySelector('[data-testid=stMetric]')",
            timeout=20000,
        )
        assert on_login_form(p) and p.page.locator("[data-testid='stMetric']").count() == 0
        log = (tmp / "audit" / "audit.jsonl").read_text(encoding="utf-8")
        assert '"event": "login"' in log and '"event": "logout"' in log


def test_trusted_proxy_header_logs_the_user_in(browser, login_server):
    url, _ = login_server
    with opened(browser, url, {HEADER: "sanli"}) as p:
        p.wait()
        assert not on_login_form(p)
        assert kpi(p, "在册辍学人数") == "6"


def test_unknown_user_in_the_proxy_header_gets_the_login_form(browser, login_server):
    url, _ = login_server
    with opened(browser, url, {HEADER: "nobody"}) as p:
        assert on_login_form(p)
        assert p.page.locator("[data-testid='stMetric']").count() == 0
