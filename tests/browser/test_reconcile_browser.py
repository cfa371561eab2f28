"""数据比对 in a real browser: upload the five lists, see the counts, open a status list, download the feedback."""

from __future__ import annotations

import json

from tests.browser.test_browser import PAGES as BROWSER_PAGES
from tests.reconcile_data import AS_OF, make_lists


def kpi(page, label: str) -> str:
    card = page.page.locator("[data-testid='stMetric']", has_text=label).first
    return card.locator("[data-testid='stMetricValue']").inner_text().strip()


def test_upload_lists_see_counts_open_a_list_and_download_the_feedback(page, server, tmp_path):
    import python_calamine as pc

    _, srv = server
    files = make_lists(tmp_path / "lists")
    page.goto(f"reconcile?asof={AS_OF}")
    page.page.get_by_text("请上传至少一份名单").wait_for(timeout=60000)
    uploaders = page.page.locator("[data-testid='stFileUploader']")
    uploaders.nth(4).wait_for(timeout=30000)
    assert uploaders.count() == 5
    for i, kind in enumerate(("xueji", "poverty", "pushed", "huji", "special")):
        uploaders.nth(i).locator("input[type='file']").set_input_files(str(files[kind]))
        # the list's own accounting line appears once it has been read
        page.page.get_by_text(f"（{files[kind].name}）：读取").wait_for(timeout=60000)
        page.wait()
    assert kpi(page, "推送人数") == "12"
    assert [kpi(page, s) for s in ("已在台账", "核实在读", "残疾已安置", "需入户核查")] == [
        "3",
        "4",
        "2",
        "3",
    ]
    assert kpi(page, "建档立卡在册（按脱贫户名单校正）") == "2"
    assert page.page.locator("[data-testid='stException']").count() == 0

    # open the 核实在读 list and download it: four children, names masked, no ID number
    page.page.locator("[data-testid='stButtonGroup'] button", has_text="核实在读（4）").click()
    page.wait()
    # the list's own download appears under it, after the per-township table's
    page.page.locator("[data-testid='stDownloadButton'] button", has_text="下载 CSV").nth(1).wait_for(
        timeout=60000
    )
    with page.page.expect_download() as info:
        page.page.locator("[data-testid='stDownloadButton'] button", has_text="下载 CSV").last.click()
    title, *lines = open(info.value.path(), "rb").read().decode("utf-8-sig").splitlines()
    assert "核实在读" in title  # the title line names the list and its scope
    assert len(lines) == 5 and "核实在读" in lines[1]
    header = lines[0].split(",")
    names = [line.split(",")[header.index("姓名")] for line in lines[1:]]
    assert all("*" in n for n in names) and "覃一明" not in "".join(lines)
    page.shot("reconcile")

    # the feedback sheet: the received rows in their order, 核查结果 filled, two columns added
    page.wait()  # the list's download wrote its audit line first (a rerun); the page has settled again
    with page.page.expect_download(timeout=90000) as info:
        page.page.locator("[data-testid='stDownloadButton'] button", has_text="下载反馈表").click()
    assert info.value.suggested_filename == "疑似辍学推送名单_核查反馈.xlsx"
    rows = pc.CalamineWorkbook.from_path(info.value.path()).get_sheet_by_name("Sheet1").to_python()
    received = pc.CalamineWorkbook.from_path(str(files["pushed"])).get_sheet_by_name("Sheet1").to_python()
    assert len(rows) == len(received) and rows[0][0] == received[0][0]
    assert [r[:4] for r in rows] == [r[:4] for r in received]
    assert rows[2][4:7] == ["核查结果", "核查日期", "核查人"]
    assert (
        rows[3][4].startswith("已在台账") and rows[4][4].startswith("核实在读") and rows[6][4] == "需入户核查"
    )
    assert {r[5] for r in rows[3:]} == {AS_OF}
    log = [json.loads(x) for x in (srv / "audit" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert log[-1]["event"] == "download" and log[-1]["mode"] == "unmasked" and log[-1]["rows"] == 12


assert BROWSER_PAGES
