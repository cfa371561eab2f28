"""Word 督办单 and notices: re-opened with python-docx (公文 page setup) and rendered by LibreOffice to PDF."""

from __future__ import annotations

import io
import subprocess

from docx import Document

from kongchuo_metrics.documents import orders as paperwork
from kongchuo_metrics.documents import render

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


def _render(docx: bytes, tmp_path, name: str) -> str:
    """pdfinfo + the text LibreOffice prints, spaces and line breaks removed."""
    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(render.docx_to_pdf(docx))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    return info.replace(" ", "") + "\n" + text.replace(" ", "").replace("\n", "")


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
    assert doc.paragraphs[0].style.font.size.pt == 22 and doc.paragraphs[0].text == "限期复学通知书"
    n, o = _render(notice, tmp_path, "notice"), _render(order, tmp_path, "order")
    assert "Pages:2" in n  # the notice, then the 送达回证 on a page of its own
    assert "A4" in n and "三里镇控辍通字〔2019〕第3号" in n and "送达回证" in n and "受送达人签名或盖章" in n
    assert "15日内送子女到三里二中复学" in n and "张*三同学的监护人" in n
    assert "覃塘区控辍督〔2019〕第1号" in o and "超时：已过交办时限仍未办结" in o and "已联合家访1人" in o
    assert "张*三" in o and "已不在当前台账" in o and "每7天反馈一次" in o


def test_the_word_report_opens_with_the_duban_items(sample_ledger):
    import datetime as dt

    from kongchuo_metrics import metrics
    from kongchuo_metrics.documents import report
    from kongchuo_metrics.records import workflows
    from kongchuo_metrics.settings import load_settings
    from tests.conftest import SAMPLE_DIR

    items = [
        {**ITEM, "id": 2, "children": 2, "status": "已办结", "overdue": False, "overdue_reason": ""},
        {**ITEM, "id": 1, "township": "五里镇", "children": 0, "number": "覃塘区控辍督〔2019〕第2号"},
    ]
    brief = workflows.duban_brief(items)
    assert brief.columns.tolist() == ["文号", "乡镇", "督办事项", "交办时限", "状态", "超时", "反馈次数"]
    assert workflows.duban_brief(items, ("五里镇",))["乡镇"].tolist() == ["五里镇"]
    sel = metrics.Selection(as_of=dt.date(2019, 6, 25))
    from kongchuo_metrics import ranking

    settings = load_settings(SAMPLE_DIR)
    table = workflows.ranking_table(sample_ledger, "2019-06-25", ranking.Rules(), settings, None)
    shown = ranking.display_table(table)
    built = report.build(sample_ledger, sel, settings, "通报", duban=brief, ranking=shown)
    doc = Document(io.BytesIO(built.docx))
    text = [p.text for p in doc.paragraphs]
    opening = text.index("一、基本情况")
    assert any("督办事项共2件，已办结1件，超时未办结1件" in t for t in text[:opening])
    first = doc.tables[0]
    assert [c.text for c in first.rows[0].cells] == brief.columns.tolist()
    assert [r.cells[0].text for r in first.rows[1:]] == [
        "覃塘区控辍督〔2019〕第1号",
        "覃塘区控辍督〔2019〕第2号",
    ]
    ranked = next(t for t in doc.tables if t.rows[0].cells[0].text == "名次")
    assert [r.cells[1].text for r in ranked.rows[1:]] == shown["乡镇"].tolist()
    assert any("居末位" in t and "三里镇" in t for t in text)
    assert any("较上期：按台账中的上一统计日（2019年5月23日）重新计算" in t for t in text)
    assert "已联合家访1人" not in " ".join(c.text for t in doc.tables for r in t.rows for c in r.cells)


def test_a_township_report_names_its_place_and_carries_no_county_ranking(sample_ledger):
    import datetime as dt

    from kongchuo_metrics import metrics, ranking
    from kongchuo_metrics.documents import report
    from kongchuo_metrics.records import workflows
    from kongchuo_metrics.settings import load_settings
    from tests.conftest import SAMPLE_DIR

    settings = load_settings(SAMPLE_DIR)
    shown = ranking.display_table(
        workflows.ranking_table(sample_ledger, "2019-06-25", ranking.Rules(), settings, None)
    )
    sel = metrics.Selection(townships=("三里镇",), as_of=dt.date(2019, 6, 25))
    doc = Document(io.BytesIO(report.build(sample_ledger, sel, settings, "通报", ranking=shown).docx))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "居末位" not in text and not any(t.rows[0].cells[0].text == "名次" for t in doc.tables)
    assert "全区在册学生中" not in text
    f = report.facts(sample_ledger, sel, settings)
    if int(f.status["overdue"].sum()):
        assert "三里镇在册学生中有" in text
