"""Real browser, issue 19: a download is accounted to the person (1), refused when the audit line cannot be
written after the page was drawn (2), refused for a session the users file no longer allows (3), and ledger
text with markdown and HTML never becomes a link, an image or a request (7)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

from kongchuo_metrics import auth, storage
from tests.browser.conftest import Page, start_server, stop_server
from tests.conftest import SAMPLE_DIR

PASSWORD = "browser-test-password-2"


@pytest.fixture(scope="module")
def users_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sec")
    users = tmp / "users.json"
    for name in ("sanli", "blocked", "gone"):
        auth.add_user(users, name, PASSWORD, "township", townships=("三里镇",))
    env = {
        "KONGCHUO_USERS": str(users),
        "KONGCHUO_STORE": str(tmp / "store"),
        "KONGCHUO_AUDIT": str(tmp / "audit" / "audit.jsonl"),
    }
    proc, url = start_server(env, tmp)
    yield url, tmp
    stop_server(proc)


def _log(tmp) -> list[dict]:
    return [json.loads(x) for x in (tmp / "audit" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


@contextmanager
def on_schools(browser, url, name: str) -> Iterator[Page]:
    """A fresh browser context logged in as `name` on 学校明细 (opened by its URL, so the login lands there);
    no request leaves 127.0.0.1."""
    p = Page(browser, url)
    try:
        p.page.goto(url + "/schools")
        p.page.get_by_label("密码").wait_for(timeout=60000)
        p.page.get_by_label("用户名").fill(name)
        p.page.get_by_label("密码").fill(PASSWORD)
        p.page.get_by_role("button", name="登录").click()
        p.page.wait_for_selector(
            "[data-testid='stDownloadButton'] button:has-text('下载 CSV')", timeout=60000
        )
        p.wait()
        yield p
        assert p.outside == [], f"requests left the machine: {p.outside}"
    finally:
        p.context.close()


def _csv_button(p: Page):
    return p.page.locator("[data-testid='stDownloadButton'] button", has_text="下载 CSV").first


def _no_download_after_click(p: Page, wait_for_text: str) -> list:
    got = []
    p.page.on("download", lambda d: got.append(d))
    _csv_button(p).click()
    p.page.get_by_text(wait_for_text).first.wait_for(timeout=20000)
    p.page.wait_for_timeout(3000)  # a file would have arrived by now
    return got


def test_download_audit_line_names_the_logged_in_user(browser, users_server):
    url, tmp = users_server
    with on_schools(browser, url, "sanli") as p:
        with p.page.expect_download() as info:
            _csv_button(p).click()
        data = open(info.value.path(), "rb").read()
    line = [x for x in _log(tmp) if x["event"] == "download"][-1]
    assert (line["user"], line["role"], line["scope"]) == ("sanli", "township", "乡镇：三里镇")
    assert line["sha256"] == hashlib.sha256(data).hexdigest() and line["rows"] == 2
    assert line["file"] == info.value.suggested_filename and line["mode"] == "list"
    assert "三里" in data.decode("utf-8-sig") and "黄练" not in data.decode("utf-8-sig")


def test_download_refused_when_the_log_breaks_after_the_page_was_drawn(browser, users_server):
    url, tmp = users_server
    log = tmp / "audit" / "audit.jsonl"
    with on_schools(browser, url, "blocked") as p:
        lines = log.read_text(encoding="utf-8")
        # the page and its buttons are on screen; now the log cannot be appended to (a folder in its place)
        log.rename(tmp / "audit-aside.jsonl")
        log.mkdir()
        try:
            got = _no_download_after_click(p, "审计日志无法写入")
            assert got == []
            assert p.page.locator("[data-testid='stAlertContentError']", has_text="下载已拒绝").count() == 1
        finally:
            log.rmdir()
            (tmp / "audit-aside.jsonl").rename(log)
    assert log.read_text(encoding="utf-8").startswith(lines)
    assert not [x for x in _log(tmp) if x["event"] == "download" and x["user"] == "blocked"]


def test_disabled_account_gets_nothing_from_an_open_page(browser, users_server):
    url, tmp = users_server
    with on_schools(browser, url, "gone") as p:
        auth.disable_user(tmp / "users.json", "gone")  # the admin disables the account while the page is open
        got = _no_download_after_click(p, "登录已失效")
        assert got == []
        assert p.page.get_by_label("密码").count() == 1  # back at the login form
        assert p.page.locator("[data-testid='stMetric']").count() == 0
        assert p.page.locator("[data-testid='stDataFrame']").count() == 0
    assert not [x for x in _log(tmp) if x["event"] == "download" and x["user"] == "gone"]
    assert [x for x in _log(tmp) if x["event"] == "session_end" and x["user"] == "gone"]


# --- 7. ledger text is never markdown -------------------------------------------------------------------------

HOSTILE = [
    "![t](http://example.invalid/beacon.png)",
    "[链接](http://example.invalid/link)",
    "<img src=http://example.invalid/img.png>",
    '<a href="http://example.invalid/a">点我</a>',
    "http://example.invalid/bare",
]
TEXT_HEADERS = {
    "乡镇（街道）",
    "乡镇",
    "村（社区）",
    "学生姓名",
    "姓名",
    "就读学校",
    "学校名称",
    "辍学原因",
    "劝返责任人",
    "监护人姓名",
    "备注",
    "未安置原因",
    "劝返方式",
    "劝返人员",
    "说明",
}


def _hostile(value: str) -> str:
    return value + HOSTILE[sum(map(ord, value)) % len(HOSTILE)]


def hostile_ledger(folder):
    """The sample workbook with a markdown/HTML payload appended to every free-text cell (the same value gets the
    same payload everywhere, so tables still join), and some villages without coordinates (the map's warning)."""
    import openpyxl

    wb = openpyxl.load_workbook(SAMPLE_DIR / "sample_ledger.xlsx")
    for ws in wb.worksheets:
        rows = list(ws.iter_rows())
        header_at = next((i for i, r in enumerate(rows[:6]) if r[0].value == "序号"), None)
        if header_at is None:
            continue
        header = [c.value for c in rows[header_at]]
        # two-row headers (劝返责任人 / 政府线 教育线): the column under a merged parent counts as text too
        cols = {i for i, h in enumerate(header) if h in TEXT_HEADERS}
        if "劝返责任人" in header:
            cols.add(header.index("劝返责任人") + 1)
        for r in rows[header_at + 1 :]:
            for i in cols:
                cell = r[i]
                if (
                    isinstance(cell.value, str)
                    and cell.value.strip()
                    and cell.value not in ("政府线", "教育线")
                ):
                    cell.value = _hostile(cell.value)
        if ws.title == "村屯":
            for r in rows[header_at + 1 :: 4]:
                r[3].value = r[4].value = None
    path = folder / "hostile.xlsx"
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    data = tmp / "data"
    shutil.copytree(SAMPLE_DIR, data)
    (data / "sample_ledger.xlsx").unlink()
    source = hostile_ledger(tmp)
    storage.accept(tmp / "store", source, "台账![t](http://example.invalid/file.png).xlsx", "admin")
    env = {
        "KONGCHUO_DATA": str(data),
        "KONGCHUO_STORE": str(tmp / "store"),
        "KONGCHUO_AUDIT": str(tmp / "audit" / "audit.jsonl"),
    }
    proc, url = start_server(env, tmp)
    yield url, tmp
    stop_server(proc)


OUTSIDE_MARKUP = """() => {
    const bad = [];
    for (const e of document.querySelectorAll('a, img, image, iframe, source, video, audio')) {
        const ref = e.getAttribute('href') || e.getAttribute('xlink:href') || e.getAttribute('src') || '';
        if (ref.includes('example.invalid') || (e.tagName.toLowerCase() === 'a' && /^https?:/.test(ref)
                && !ref.startsWith(location.origin))) bad.push(e.outerHTML.slice(0, 160));
    }
    return bad;
}"""


def _assert_plain(p: Page, where: str) -> None:
    assert p.page.evaluate(OUTSIDE_MARKUP) == [], where
    assert p.page.locator("[data-testid='stException']").count() == 0, where


def _wait_charts(p: Page) -> None:
    """The page has finished its run through the frame (title drawn, not running) and drawn every chart."""
    p.page.wait_for_selector("[data-testid='stMain'] h1", timeout=60000)
    p.page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && (document.querySelector('[data-testid=stSidebarNav]') || {}).innerText?.includes('总览')",
        timeout=60000,
    )
    p.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')]"
        ".every(e => e.querySelector('.main-svg .trace'))",
        timeout=30000,
    )
    p.page.wait_for_timeout(500)


CHART_TEXT = "() => [...document.querySelectorAll('.main-svg')].map(s => s.textContent).join(' ')"


def _choose_first(p: Page, label: str) -> None:
    box = p.page.locator("[data-testid='stMain'] [data-testid='stSelectbox']", has_text=label).last
    box.scroll_into_view_if_needed()
    box.get_by_role("combobox").click()
    p.page.get_by_role("option").first.click()
    p.wait()


@pytest.mark.parametrize("path", ["", "trend", "schools", "special_ed", "followup", "upload"])
def test_ledger_markup_is_shown_as_text_on_every_page(browser, hostile_server, path):
    url, _ = hostile_server
    town = _hostile("三里镇")
    p = Page(browser, url)
    try:
        p.goto(path)  # the whole county: every hostile township and school in the charts and tables
        _wait_charts(p)
        if path in ("", "schools", "special_ed"):  # township and school names with payloads label the bars
            p.page.locator("[data-testid='stPlotlyChart']").last.scroll_into_view_if_needed()
            _wait_charts(p)
            text = p.page.evaluate(CHART_TEXT)
            assert "example.invalid" in text and "<img src=" in text, path
            if path != "":
                assert "<a href=" in text, path
        _assert_plain(p, f"{path} (all)")
        p.goto(f"{path}?tsp={quote(town)}")
        _wait_charts(p)
        # the payload is on screen as the characters it is made of, in the caption under the title
        caption = p.page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").first
        assert town in caption.inner_text().replace("\u2060", ""), (
            path
        )  # (an invisible joiner stops autolinks)
        _assert_plain(p, path)
        if path == "schools":  # a school's own list: pick the first school
            _choose_first(p, "学校")
            p.wait()
            _assert_plain(p, "schools list")
        if path == "followup":
            _choose_first(p, "选择个案")
            p.wait()
            _assert_plain(p, "timeline")
        assert p.outside == [], f"requests left the machine: {p.outside}"
    finally:
        p.context.close()


def test_ledger_markup_on_the_map_stays_text(browser, hostile_server):
    url, _ = hostile_server
    p = Page(browser, url)
    try:
        p.goto("village_map")
        p.page.wait_for_selector("[data-testid='stDeckGlJsonChart'] canvas", timeout=30000)
        p.page.wait_for_timeout(2000)
        warning = p.page.locator("[data-testid='stAlertContentWarning']", has_text="缺少坐标").first
        assert "example.invalid" in warning.inner_text()  # the hostile village names, as text
        _assert_plain(p, "map")
        box = p.page.locator("[data-testid='stDeckGlJsonChart']").bounding_box()
        tip_html = None
        for dy in range(20, int(box["height"]) - 20, 14):
            for dx in range(20, int(box["width"]) - 20, 14):
                p.page.mouse.move(box["x"] + dx, box["y"] + dy)
                tip = p.page.locator(".deck-tooltip")
                if tip.count() and tip.first.is_visible() and "未返校" in tip.first.inner_text():
                    tip_html = tip.first.inner_html()
                    break
            if tip_html:
                break
        assert tip_html, "no village tooltip found by hovering the map"
        assert "<img" not in tip_html and "<a " not in tip_html and "example.invalid" in tip_html
        _assert_plain(p, "map tooltip")
        assert p.outside == [], f"requests left the machine: {p.outside}"
    finally:
        p.context.close()


def test_problem_list_download_is_audited(page, server, tmp_path):
    from tests.conftest import case_row, write_csv

    _, tmp = server
    bad_id = case_row(name="错号童")[4][:-1] + "0"  # a wrong check digit: a warning in the problem list
    ledger = write_csv(
        tmp_path / "问题台账.csv", [case_row(name="甲童"), case_row(name="错号童", idn=bad_id)]
    )
    page.goto("upload")
    page.page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(str(ledger))
    button = page.page.locator("[data-testid='stDownloadButton'] button", has_text="下载问题清单")
    button.wait_for(timeout=30000)
    page.wait()
    with page.page.expect_download() as info:
        button.click()
    data = open(info.value.path(), "rb").read()
    line = [json.loads(x) for x in (tmp / "audit" / "audit.jsonl").read_text(encoding="utf-8").splitlines()][
        -1
    ]
    assert line["event"] == "download" and line["file"] == "台账问题清单_问题台账.csv"
    assert line["user"] == "本机用户" and line["sha256"] == hashlib.sha256(data).hexdigest()
    assert line["rows"] >= 1 and "问题台账.csv" in line["filters"]
