"""Word 督办单 and notices: re-opened with python-docx (公文 page setup) and rendered by LibreOffice to PDF."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from docx import Document

from kongchuo_metrics import paperwork

NOTICE = {
    "kind": "限期复学通知书",
    "number": "三里镇控辍通字〔2019〕第3号",
    "deadline_days": 15,
    "township": "三里镇",
}
CHILD = {"name": "张*三", "school": "三里二中", "grade": "初二", "registered": "2019年3月1日"}
ITEM = {
    "number": "覃塘区控辍督〔2019〕第1号",
    "item": "三里镇超期未跟进个案督办（2人）",
    "content": "请逐一落实劝返责任人。",
    "township": "三里镇",
    "lead_unit": "三里镇人民政府",
    "partners": "县教育局",
    "due": "2019-07-05",
    "cycle_days": 7,
    "status": "已反馈",
    "overdue": True,
    "overdue_reason": "已过交办时限仍未办结",
    "created_at": "2019-06-25T09:00:00+08:00",
    "feedback": [{"text": "已联合家访1人", "at": "2019-06-28T10:00:00+08:00"}],
}


def _render(tmp_path, files: dict[str, bytes]) -> dict[str, str]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.fail("LibreOffice is not installed: run ./setup.sh")
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path / 'lo'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            *(str(tmp_path / n) for n in files),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    out = {}
    for name in files:
        pdf = tmp_path / name.replace(".docx", ".pdf")
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        out[name] = info.replace(" ", "") + "\n" + text.replace(" ", "").replace("\n", "")
    return out


def test_word_files_have_the_official_layout_and_render(tmp_path):
    notice = paperwork.notice_docx(NOTICE, CHILD, "2019年6月25日")
    order = paperwork.duban_docx(
        ITEM,
        "覃塘区",
        [{"label": "张*三", "school": "三里二中", "step": "学校劝返", "present": "已不在当前台账"}],
    )
    for data in (notice, order):
        section = Document(io.BytesIO(data)).sections[0]
        assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
        assert [
            round(m.mm)
            for m in (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
        ] == [37, 35, 28, 26]
    doc = Document(io.BytesIO(notice))
    assert doc.paragraphs[0].runs[0].font.size.pt == 22 and doc.paragraphs[0].text == "限期复学通知书"
    pages = _render(tmp_path, {"notice.docx": notice, "order.docx": order})
    n, o = pages["notice.docx"], pages["order.docx"]
    assert "Pages:2" in n  # the notice, then the 送达回证 on a page of its own
    assert "A4" in n and "三里镇控辍通字〔2019〕第3号" in n and "送达回证" in n and "受送达人签名或盖章" in n
    assert "15日内送子女到三里二中复学" in n and "张*三同学的监护人" in n
    assert "覃塘区控辍督〔2019〕第1号" in o and "超时：已过交办时限仍未办结" in o and "已联合家访1人" in o
    assert "张*三" in o and "已不在当前台账" in o and "每7天反馈一次" in o
