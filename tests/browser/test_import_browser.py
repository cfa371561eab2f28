"""Real browser: the clerk's monthly routine — three township ledgers at once, preview, confirm, the new figures,
and back to the previous version with the restore button."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd

from tests.browser.conftest import ROOT, Page, start_server, stop_server
from tests.browser.test_browser import kpi
from tests.conftest import SAMPLE_DIR
from tests.township_files import township_file

TOWNS = ("黄练镇", "三里镇", "五里镇")


def close_open(cases: pd.DataFrame) -> pd.DataFrame:
    is_open = cases["closed"].isna()
    return cases.assign(
        closed=cases["closed"].where(~is_open, pd.Timestamp("2019-07-10")),
        outcome=cases["outcome"].where(~is_open, "已返校就读"),
    )


def test_monthly_routine_three_townships_confirm_and_restore(browser, tmp_path, sample_ledger):
    env = {"KONGCHUO_STORE": str(tmp_path / "store"), "KONGCHUO_AUDIT": str(tmp_path / "audit.jsonl")}
    subprocess.run(
        [sys.executable, "-m", "kongchuo_metrics", "import", str(SAMPLE_DIR / "sample_ledger.xlsx")]
        + ["--store", env["KONGCHUO_STORE"], "--scope", "county"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    files = [
        str(township_file(tmp_path, sample_ledger, t, "2019年7月20日", change=close_open)) for t in TOWNS
    ]
    proc, url = start_server(env, tmp_path)
    try:
        p = Page(browser, url)
        try:
            p.goto("")
            assert kpi(p, "在册辍学人数") == "25"
            p.goto("upload")
            p.page.locator("input[type=file]").first.set_input_files(files)
            confirm = p.page.get_by_role("button", name="确认导入（3 个文件作为一个版本）")
            confirm.wait_for(timeout=60000)
            p.wait()
            main = p.page.locator("[data-testid='stMain']")
            text = main.inner_text()
            n = int(sample_ledger.cases["township"].isin(TOWNS).sum())
            assert (
                f"替换 乡镇：三里镇、五里镇、黄练镇 的 {n} 条为文件中的 {n} 条；其他 {len(sample_ledger.cases) - n} 条保留不变"
                in text
            )
            assert "残疾儿童：文件中没有此表，原有 562 条全部保留" in text
            assert confirm.is_enabled()
            p.shot("import-preview")
            confirm.click()
            p.page.get_by_text("已导入为版本 v0002").wait_for(timeout=60000)
            p.goto("")  # a fresh visit opens at the newest 填报时间
            assert kpi(p, "在册辍学人数") == "13"
            assert "填报时间 2019-07-20" in p.page.locator("[data-testid='stMain']").inner_text()
            p.goto("upload")
            p.page.get_by_role("tab", name="历史版本").click()
            p.page.get_by_role("button", name="恢复此版本").click()  # the first other version: v0001
            p.page.get_by_text("新版本 v0003 的数据与 v0001 相同").wait_for(timeout=60000)
            p.shot("import-restored")
            p.goto("")
            assert kpi(p, "在册辍学人数") == "25"
            assert p.outside == []
        finally:
            p.context.close()
    finally:
        stop_server(proc)
