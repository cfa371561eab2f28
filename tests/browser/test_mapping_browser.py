"""Real browser: the upload page's mapping step on a workbook with a column nobody could guess."""

from __future__ import annotations

import shutil

from tests.app.test_upload_mapping import unguessable_workbook
from tests.browser.conftest import Page, start_server, stop_server
from tests.browser.test_browser import kpi
from tests.conftest import SAMPLE_DIR


def test_map_an_unguessable_column_import_and_see_the_right_figures(browser, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)  # the page writes the mapping into this settings.toml
    env = {
        "KONGCHUO_DATA": str(data),
        "KONGCHUO_STORE": str(tmp_path / "store"),
        "KONGCHUO_AUDIT": str(tmp_path / "audit.jsonl"),
    }
    book = unguessable_workbook(tmp_path / "局台账.xlsx")
    proc, url = start_server(env, tmp_path)
    try:
        p = Page(browser, url)
        try:
            p.goto("upload")
            p.page.locator("input[type=file]").first.set_input_files(str(book))
            confirm = p.page.get_by_role("button", name="确认导入（1 个文件作为一个版本）")
            confirm.wait_for(timeout=60000)
            p.wait()
            assert confirm.is_disabled()
            assert "没有返校（销号）日期" in p.page.locator("[data-testid='stMain']").inner_text()
            box = p.page.locator("[data-testid='stSelectbox']", has_text="“K栏”")
            box.click()
            p.page.keyboard.type("返校时间")  # the long option list is virtual: filter it as a user would
            p.page.get_by_role("option", name="返校时间", exact=True).click()
            p.wait()
            p.page.get_by_role("button", name="保存列对应、归类和确认").click()
            p.wait()
            p.page.wait_for_function(
                "() => [...document.querySelectorAll('button')].some(b => b.innerText.includes('确认导入') && !b.disabled)",
                timeout=30000,
            )
            p.shot("upload-mapping")
            confirm.click()
            p.wait()
            p.page.get_by_text("已导入为版本").wait_for(timeout=30000)
            p.goto("")
            assert kpi(p, "在册辍学人数") == "6" and kpi(p, "累计劝返人数") == "4"
            assert '"K栏" = "返校时间"' in (data / "settings.toml").read_text(encoding="utf-8")
            assert p.outside == []
        finally:
            p.context.close()
    finally:
        stop_server(proc)
