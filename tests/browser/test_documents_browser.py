"""In a real browser: the Word report from the overview and the 一人一案 file from the case page, downloaded."""

import io
import json

from docx import Document


def _text(path) -> str:
    doc = Document(io.BytesIO(open(path, "rb").read()))
    return "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells
    )


def _open(page, path: str = "") -> None:
    """Like page.goto, with room for a fresh server's first run (the ledger load) on a busy machine."""
    page.page.goto(page.base + "/" + path)
    page.page.wait_for_selector("[data-testid='stSidebar']", timeout=120000)
    page.page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120000
    )


def test_word_report_button_downloads_an_audited_docx(page, server):
    _, tmp = server
    _open(page)
    page.page.get_by_role("button", name="生成 Word 通报").click(timeout=120000)
    button = page.page.locator("[data-testid='stDownloadButton'] button", has_text="下载 情况通报（Word）")
    button.wait_for(timeout=120000)
    with page.page.expect_download(timeout=120000) as info:
        button.click(timeout=120000)
    download = info.value
    assert download.suggested_filename == "控辍保学情况通报_20190625.docx"
    text = _text(download.path())
    assert "截至2019年6月25日，全区在册辍学学生25人，较5月23日减少3人，较上年同期减少6人。" in text
    assert "本学年累计劝返77人" in text
    lines = [json.loads(x) for x in (tmp / "audit" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    rec = lines[-1]
    assert (
        rec["event"] == "download" and rec["file"] == download.suggested_filename and len(rec["sha256"]) == 64
    )


def test_case_file_downloads_masked(page):
    _open(page, "followup")
    box = page.page.locator("[data-testid='stSelectbox']", has_text="选择个案")
    box.wait_for(timeout=120000)
    box.scroll_into_view_if_needed()
    box.locator("input").click(timeout=120000)
    page.page.locator("[role='option']").first.click(timeout=120000)
    page.page.wait_for_timeout(1000)
    button = page.page.locator("[data-testid='stDownloadButton'] button", has_text="下载一人一案档案（Word）")
    button.wait_for(timeout=60000)
    with page.page.expect_download(timeout=120000) as info:
        button.click(timeout=120000)
    download = info.value
    assert download.suggested_filename.startswith("一人一案_C")
    text = _text(download.path())
    assert "控辍保学“一人一案”档案" in text and "四、劝返工作记录" in text
    assert "*" in text and "个人信息已脱敏" in text
