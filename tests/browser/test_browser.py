"""Real browser: streamlit run on a loopback port, Debian chromium via Playwright, no outside requests."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Page, start_server, stop_server
from tests.conftest import REFERENCE_TABLE_2

PAGES = {
    "overview": "",
    "trend": "trend",
    "schools": "schools",
    "map": "village_map",
    "special-ed": "special_ed",
    "followup": "followup",
    "reconcile": "reconcile",
    "upload": "upload",
    "duban": "duban",
    "ranking": "ranking",
}


def kpi(page, label: str) -> str:
    card = page.page.locator("[data-testid='stMetric']", has_text=label).first
    return card.locator("[data-testid='stMetricValue']").inner_text().strip()


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_opens_in_chinese_without_errors(page, name):
    page.goto(PAGES[name])
    # a first visit straight to the page's URL (each test has a fresh browser context) finds it
    assert page.page.get_by_text("Page not found").count() == 0
    body = page.page.locator("[data-testid='stMain']").inner_text()
    assert "Traceback" not in body and "Error" not in body
    assert re.search(r"[\u4e00-\u9fff]{2,}", page.page.locator("h1").first.inner_text())
    assert page.page.locator("[data-testid='stException']").count() == 0
    # every chart on the page is drawn (an svg with its plot inside), not left as a grey placeholder
    page.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')]"
        ".every(e => e.querySelector('.main-svg .trace'))",
        timeout=30000,
    )
    page.page.wait_for_timeout(500)
    page.shot(f"page-{name}")


def test_choose_a_township_changes_the_kpi_and_survives_reload(page):
    page.goto("")
    assert kpi(page, "在册辍学人数") == "25"
    sidebar = page.page.locator("[data-testid='stSidebar']")
    sidebar.locator("[data-testid='stMultiSelect']").first.click()
    page.page.get_by_role("option", name="三里镇").click()
    page.page.keyboard.press("Escape")
    page.wait()
    page.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText.trim() === '6')",
        timeout=20000,
    )
    assert kpi(page, "在册辍学人数") == "6"
    assert "tsp=" in page.page.url
    url = page.page.url
    page.page.goto(url)
    page.wait()
    assert kpi(page, "在册辍学人数") == "6"
    assert (
        "三里镇"
        in page.page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").first.inner_text()
    )
    page.shot("overview-sanli")


def test_filters_keep_their_values_across_pages(page):
    page.goto("?tsp=%E4%B8%89%E9%87%8C%E9%95%87")  # 三里镇
    page.page.locator("[data-testid='stSidebarNav'] a", has_text="学校明细").click()
    page.wait()
    page.page.wait_for_selector("[data-testid='stDataFrame']")
    assert kpi(page, "未返校学生合计") == "6"


def test_download_schools_csv_bytes(page):
    page.goto("schools")
    with page.page.expect_download() as info:
        page.page.locator("[data-testid='stDownloadButton'] button", has_text="下载 CSV").first.click()
    download = info.value
    data = open(download.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    title, *lines = text.splitlines()  # a title line naming the table and its scope, then the table
    assert "未返校学生分校统计表" in title and "统计日期：2019年6月25日" in title
    assert lines[0].split(",")[:4] == ["学校", "乡镇", "在册辍学人数", "其中建档立卡"]
    counts = {line.split(",")[0]: int(line.split(",")[2]) for line in lines[1:]}
    assert counts == REFERENCE_TABLE_2
    names = [line.split(",")[4] for line in lines[1:]]
    assert all("*" in part for cell in names for part in cell.split("、"))
    assert (
        download.suggested_filename.endswith("20190625.csv")
        and "未返校学生分校统计表" in download.suggested_filename
    )


def test_download_is_audited(page, server):
    import json

    _, tmp = server
    page.goto("trend")
    with page.page.expect_download():
        page.page.locator("[data-testid='stDownloadButton'] button", has_text="下载 CSV").first.click()
    lines = (tmp / "audit" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[-1])
    assert rec["event"] == "download" and rec["rows"] == 6 and len(rec["sha256"]) == 64
    assert rec["time"].endswith("+08:00")


def _canvas_has_pixels(page) -> int:
    return page.page.evaluate("""() => {
        const c = document.querySelector("[data-testid='stDeckGlJsonChart'] canvas");
        if (!c) return -1;
        const tmp = document.createElement('canvas'); tmp.width = c.width; tmp.height = c.height;
        const ctx = tmp.getContext('2d'); ctx.drawImage(c, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0 && (d[i] < 250 || d[i+1] < 250)) n++; }
        return n;
    }""")


def test_map_renders_hover_tooltip_and_click_lists_cases(page):
    page.goto("village_map")
    page.page.wait_for_selector("[data-testid='stDeckGlJsonChart'] canvas", timeout=30000)
    page.page.wait_for_timeout(2500)
    assert _canvas_has_pixels(page) > 1000
    # find a village circle: its screen position comes from deck's own projection of the first village
    box = page.page.locator("[data-testid='stDeckGlJsonChart']").bounding_box()
    found = None
    for dy in range(20, int(box["height"]) - 20, 12):
        for dx in range(20, int(box["width"]) - 20, 12):
            x, y = box["x"] + dx, box["y"] + dy
            page.page.mouse.move(x, y)
            tip = page.page.locator(".deck-tooltip")
            if tip.count() and tip.first.is_visible() and "未返校" in tip.first.inner_text():
                found = (x, y, tip.first.inner_text())
                break
        if found:
            break
    assert found, "no village tooltip found by hovering the map"
    assert "其中建档立卡" in found[2] and "最久已辍学" in found[2]
    page.shot("map-hover")
    page.page.mouse.click(found[0], found[1])
    page.page.wait_for_selector("h3:has-text('的未返校学生')", timeout=20000)
    page.wait()
    tables = page.page.locator("[data-testid='stDataFrame']")
    assert tables.count() >= 2
    page.shot("map-click")


def test_first_visit_to_a_page_url_on_a_fresh_server_goes_through_the_frame(browser, tmp_path):
    # a server that has just started, and a bookmark straight to 个案跟踪: the Chinese menu and the wide
    # layout of app.py, not Streamlit's pages/ folder mode with English file names
    env = {"KONGCHUO_STORE": str(tmp_path / "store"), "KONGCHUO_AUDIT": str(tmp_path / "audit.jsonl")}
    proc, url = start_server(env, tmp_path)
    try:
        p = Page(browser, url)
        try:
            p.goto("followup")
            # the first run (folder mode) hands over to a run through app.py, whose menu replaces the first one
            p.page.wait_for_function(
                "() => (document.querySelector('[data-testid=stSidebarNav]') || {}).innerText?.includes('个案跟踪')",
                timeout=30000,
            )
            p.wait()
            nav = p.page.locator("[data-testid='stSidebarNav']").inner_text()
            assert "个案跟踪" in nav and "总览" in nav and "followup" not in nav
            assert "个案跟踪" in p.page.locator("h1").first.inner_text()
            assert p.outside == []
        finally:
            p.context.close()
    finally:
        stop_server(proc)
