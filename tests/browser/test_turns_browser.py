"""Issue 16 with ui.turns: a leader making the pack (seconds: charts drawn and the PDF printed by a browser)
gives the turn back meanwhile, so another viewer's page, opened while the pack is being made, shows before
the pack is done. With one turn and the turn kept through the pack, that page would wait for the pack."""

from __future__ import annotations

import time

from tests.browser.conftest import Page, start_server, stop_server

STATUS_GONE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def test_another_viewers_page_shows_while_the_pack_is_made(browser, tmp_path):
    # a server of its own: its first pack starts the chart browser (seconds), so the pack is slow enough to
    # tell a viewer who went on beside it from one who waited for it
    env = {
        "KONGCHUO_STORE": str(tmp_path / "store"),
        "KONGCHUO_AUDIT": str(tmp_path / "audit.jsonl"),
        "KONGCHUO_SCRIPT_TURNS": "1",
    }
    proc, url = start_server(env, tmp_path)
    leader, viewer = Page(browser, url), Page(browser, url)
    try:
        leader.goto()
        viewer.goto()
        make = leader.page.get_by_role("button", name="生成汇报材料（PDF / PPT）")
        make.click()
        spinner = leader.page.get_by_text("正在生成汇报材料")
        spinner.wait_for(timeout=20000)  # the pack is being made
        clicked = time.monotonic()
        viewer.page.get_by_role("link", name="辍学趋势").click()
        viewer.page.wait_for_function(
            "() => [...document.querySelectorAll('h1')].some(h => h.innerText.includes('辍学趋势'))",
            timeout=60000,
        )
        viewer.page.wait_for_function(STATUS_GONE, timeout=60000)
        viewer_done = time.monotonic()
        pack_running = spinner.count() > 0
        leader.page.get_by_role("button", name="下载 PDF").wait_for(timeout=120000)
        pack_done = time.monotonic()
        assert pack_running or viewer_done < pack_done, (
            "the pack ended before the viewer's page: nothing tested"
        )
        # seconds before it (a page that waited for the pack shows the instant the pack's run ends)
        assert viewer_done + 1.5 < pack_done, (viewer_done - clicked, pack_done - clicked)
        assert leader.outside == [] and viewer.outside == []
    finally:
        leader.context.close()
        viewer.context.close()
        stop_server(proc)
