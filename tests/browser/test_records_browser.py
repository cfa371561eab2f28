"""Real browser: a 督办单 made from the overdue list, answered by a township user, and a notice issued, delivered
and downloaded as Word — on a server with users and its own records database."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager

import pytest
from docx import Document

from kongchuo_metrics import auth
from tests.browser.conftest import Page, start_server, stop_server
from tests.browser.test_browser import kpi

PASSWORD = "browser-test-password-1"


@pytest.fixture(scope="module")
def records_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("records")
    users = tmp / "users.json"
    auth.add_user(users, "admin", PASSWORD, "county_admin")
    auth.add_user(users, "sanli", PASSWORD, "township", townships=("三里镇",))
    env = {
        "KONGCHUO_USERS": str(users),
        "KONGCHUO_STORE": str(tmp / "store"),
        "KONGCHUO_AUDIT": str(tmp / "audit" / "audit.jsonl"),
        "KONGCHUO_DB": f"sqlite:///{tmp / 'records.sqlite'}",
    }
    proc, url = start_server(env, tmp)
    yield url, tmp
    stop_server(proc)


@contextmanager
def logged_in(browser, url: str, name: str, path: str):
    p = Page(browser, url)
    try:
        p.page.goto(url + "/")
        p.page.get_by_label("用户名").fill(name)
        p.page.get_by_label("密码").fill(PASSWORD)
        p.page.get_by_role("button", name="登录").click()
        p.wait()
        p.page.locator("[data-testid='stSidebarNav'] a", has_text=path).click()
        p.wait()
        yield p
        assert p.outside == [], f"requests left the machine: {p.outside}"
    finally:
        p.context.close()


def see(p: Page, text: str, timeout: int = 30000) -> None:
    p.page.get_by_text(text).first.wait_for(timeout=timeout)


def test_duban_from_overdue_list_then_answered_by_the_township(browser, records_server):
    url, tmp = records_server
    with logged_in(browser, url, "admin", "督办") as p:
        see(p, "从超期名单生成督办单")
        row = p.page.locator("[data-testid='stHorizontalBlock']", has_text="三里镇").filter(
            has=p.page.get_by_role("button", name="生成督办单")
        )
        row.last.get_by_role("button", name="生成督办单").click()
        see(p, "已生成 覃塘区控辍督〔2019〕第1号（三里镇，3 人）")
        p.wait()
        assert kpi(p, "状态") == "待办"
        with p.page.expect_download() as info:
            p.page.get_by_role("button", name="打印督办单（Word）").click()
        doc = Document(io.BytesIO(open(info.value.path(), "rb").read()))
        cells = " ".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
        assert "覃塘区控辍督〔2019〕第1号" in " ".join(x.text for x in doc.paragraphs)
        assert "蒙*怡" in cells and "蒙雨怡" not in cells  # the children listed masked
        p.shot("duban-created")
    with logged_in(browser, url, "sanli", "督办") as p:
        p.page.locator("h4", has_text="覃塘区控辍督〔2019〕第1号").wait_for(timeout=30000)
        assert p.page.get_by_role("button", name="生成督办单").count() == 0
        p.page.get_by_label("反馈内容").fill("已联合家访3户，2人承诺下周返校")
        p.page.get_by_role("button", name="提交反馈").click()
        p.wait()
        p.page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText.trim() === '已反馈')",
            timeout=20000,
        )
        assert kpi(p, "反馈次数") == "1"
        p.shot("duban-answered")
    events = [json.loads(line)["event"] for line in (tmp / "audit" / "audit.jsonl").read_text().splitlines()]
    assert "duban_add" in events and "duban_feedback" in events


def test_issue_and_deliver_a_notice(browser, records_server):
    url, tmp = records_server
    with logged_in(browser, url, "admin", "个案跟踪") as p:
        before = int(kpi(p, "已到限期复学通知书及以上环节"))
        box = p.page.locator("[data-testid='stSelectbox']", has_text="选择个案")
        box.click()
        p.page.keyboard.type("C000208")
        p.page.get_by_role("option").first.click()
        p.wait()
        p.page.locator("[data-testid='stRadio']").get_by_text("限期复学通知书").click()
        p.wait()
        p.page.get_by_role("button", name="发出通知书").click()
        see(p, "已发出《限期复学通知书》五里镇控辍通字〔2019〕第1号")
        p.wait()
        with p.page.expect_download() as info:
            p.page.get_by_role("button", name="下载通知书及送达回证（Word）").click()
        text = " ".join(x.text for x in Document(io.BytesIO(open(info.value.path(), "rb").read())).paragraphs)
        assert "五里镇控辍通字〔2019〕第1号" in text and "送达回证" in text and "钟*" in text
        p.wait()  # the download's audit callback reruns the page: type into the form it draws
        p.page.get_by_label("受送达人（监护人）").fill("钟父")
        p.page.get_by_label("送达地点").fill("五里镇家中")
        p.page.get_by_role("button", name="登记送达").click()
        see(p, "已登记送达：五里镇控辍通字〔2019〕第1号")
        p.wait()
        p.page.wait_for_function(
            f"() => [...document.querySelectorAll('[data-testid=stMetric]')].some(e => e.innerText.includes("
            f"'已到限期复学通知书及以上环节') && e.innerText.includes('{before + 1}'))",
            timeout=30000,
        )
        assert int(kpi(p, "已到限期复学通知书及以上环节")) == before + 1  # the ladder moved
        p.shot("notice-delivered")
    events = [json.loads(line)["event"] for line in (tmp / "audit" / "audit.jsonl").read_text().splitlines()]
    assert "notice_issue" in events and "notice_deliver" in events
