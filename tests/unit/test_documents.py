"""Word reports and the case file: re-opened with python-docx, rendered with LibreOffice, compared with the core."""

import datetime as dt
import io
import re
import subprocess

import pytest
from docx import Document
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from kongchuo_metrics import metrics as M
from kongchuo_metrics.documents import case_file, layout, render, report
from kongchuo_metrics.settings import load_settings
from tests.conftest import SAMPLE_DIR

AS_OF = dt.date(2019, 6, 25)


@pytest.fixture(scope="module")
def settings():
    import dataclasses

    return dataclasses.replace(load_settings(SAMPLE_DIR), document_date="2019-06-28")


@pytest.fixture(scope="module")
def ledger():
    from kongchuo_metrics.ingest import load_ledger

    return load_ledger(SAMPLE_DIR)


@pytest.fixture(scope="module")
def notice(ledger, settings):
    return report.build(ledger, M.Selection(as_of=AS_OF), settings, "通报")


def _text(doc) -> str:
    body = "\n".join(p.text for p in doc.paragraphs)
    cells = "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    return body + "\n" + cells


def _east_asia(style) -> str:
    return style.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia"))


def test_page_fonts_and_styles_follow_gb_t_9704(notice):
    doc = Document(io.BytesIO(notice.docx))
    s = doc.sections[0]
    assert (round(s.page_width.mm), round(s.page_height.mm)) == (210, 297)
    assert [round(x.mm) for x in (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)] == [
        37,
        35,
        28,
        26,
    ]
    normal, title = doc.styles["Normal"], doc.styles["Title"]
    assert normal.font.size == Pt(16) and _east_asia(normal) == "仿宋_GB2312"
    assert normal.paragraph_format.line_spacing == Pt(28.95)
    # 22 lines of the fixed pitch fit the 225 mm text block, 23 do not
    assert 22 * 28.95 <= Mm(297 - 37 - 35).pt < 23 * 28.95
    assert title.font.size == Pt(22) and _east_asia(title) == "方正小标宋简体"
    assert (
        _east_asia(doc.styles["Heading 1"]) == "黑体" and _east_asia(doc.styles["Heading 2"]) == "楷体_GB2312"
    )
    # the substitutes are named in the font table, so Word without the 方正/GB2312 fonts picks the right family
    table = next(
        p for p in doc.part.package.iter_parts() if p.partname == "/word/fontTable.xml"
    ).blob.decode()
    assert re.search(r'w:name="方正小标宋简体"><w:altName w:val="宋体"/><w:charset w:val="86"/>', table)
    # page numbers are a PAGE field between dashes, on odd and even pages
    for footer in (s.footer, s.even_page_footer):
        xml = footer._element.xml
        assert (
            "PAGE" in xml
            and footer.paragraphs[0].text.startswith("— ")
            and footer.paragraphs[0].text.endswith(" —")
        )
    assert doc.settings.odd_and_even_pages_header_footer


def test_sections_sentences_and_placeholders(notice):
    doc = Document(io.BytesIO(notice.docx))
    h1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert h1 == ["一、基本情况", "二、主要做法", "三、存在的问题", "四、下一步工作"]
    assert (
        doc.paragraphs[0].text == "关于覃塘区控辍保学工作进展情况的通报"
        and doc.paragraphs[0].style.name == "Title"
    )
    text = _text(doc)
    assert "截至2019年6月25日，全区在册辍学学生25人，较5月23日减少3人，较上年同期减少6人。" in text
    assert "本学年累计劝返77人，较5月23日增加3人，较上年同期减少11人。" in text
    assert "建档立卡家庭学生辍学人数为0，守住了红线（上年同期为1人）。" in text
    marked = [r for p in doc.paragraphs for r in p.runs if r.text.startswith(layout.PLACEHOLDER_MARK)]
    assert len(marked) >= 5 and all(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in marked)
    # 发文机关, 成文日期 from settings.toml, then the 附注 with 数据截至 and the counting rule
    assert "覃塘区教育局" in text and "2019年6月28日" in text
    last = doc.paragraphs[-1].text
    assert last.startswith("（数据截至2019年6月25日") and M.counting_rule() in last


def _table(doc, first_header: str):
    return next(t for t in doc.tables if t.rows[0].cells[0].text == first_header)


def test_tables_carry_the_reference_figures_and_totals(notice, ledger):
    doc = Document(io.BytesIO(notice.docx))
    t1 = _table(doc, "统计日期")
    rows = [[c.text for c in r.cells] for r in t1.rows[1:]]
    assert [r[1] for r in rows[:-1]] == ["102", "49", "43", "38", "28", "25"]
    assert [r[3] for r in rows[:-1]] == ["—", "53", "6", "5", "10", "3"]
    assert [r[5] for r in rows[:-1]] == ["118", "64", "57", "49", "38", "31"]  # 上年同期
    assert rows[-1][0] == "合计" and rows[-1][3] == "77"
    t2 = _table(doc, "序号")
    body = [[c.text for c in r.cells] for r in t2.rows[1:]]
    assert {r[1]: int(r[3]) for r in body[:-1]} == {
        "黄练二中": 1, "黄练三中": 2, "蒙公一中": 3, "蒙公民中": 3, "樟木三中": 2, "樟木民中": 3,
        "三里一中": 2, "三里二中": 4, "五里一中": 1, "五里二中": 2, "石卡一中": 2,
    }  # fmt: skip
    assert body[-1][0] == "合计" and body[-1][3] == "25"
    assert all(
        re.fullmatch(r"(↑\d+|↓\d+|0|—)", r[5]) and re.fullmatch(r"(↑\d+|↓\d+|0|—)", r[6]) for r in body[:-1]
    )
    # names are surname-only, as in briefing mode: no open child's full name appears anywhere
    names = M.open_at(ledger.cases, "2019-06-25")["name"]
    text = _text(doc)
    assert not any(n in text for n in names)
    assert all(re.fullmatch(r"(.\*\*、?)+", r[7]) for r in body[:-1])
    sp = _table(doc, "安置方式")
    placements = {r.cells[0].text: r.cells[1].text for r in sp.rows[1:]}
    assert placements == {
        "随班就读": "361", "特殊教育学校": "32", "送教上门": "33", "办理免学": "125", "未入学/未安置": "11", "合计": "562"
    }  # fmt: skip
    towns = _table(doc, "乡镇")
    total = [c.text for c in towns.rows[-1].cells]
    assert total[0] == "合计" and total[1] == "25"
    overdue = M.followup_status(ledger.cases, ledger.followups, "2019-06-25", 14)["overdue"].sum()
    assert total[5] == str(overdue)
    # charts are images with captions
    assert len(doc.inline_shapes) == 2
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert any(c.startswith("图1") for c in captions) and any(c.startswith("表二") for c in captions)


def test_problems_come_from_the_data(ledger, settings):
    f = report.facts(ledger, M.Selection(as_of=AS_OF), settings)
    items = report.problems(f, 14)
    overdue = int(f.status["overdue"].sum())
    assert any(p.startswith("部分个案跟进不及时。") and f"有{overdue}人超期" in p for p in items)
    # 2019-03-12: two 建档立卡 children still out — the red line shows up as a problem
    early = report.facts(ledger, M.Selection(as_of=dt.date(2019, 3, 12)), settings)
    assert any("建档立卡家庭学生辍学尚未清零。仍有2人未返校" in p for p in report.problems(early, 14))


def test_full_name_annex_only_when_asked(ledger, settings, notice):
    names = set(M.open_at(ledger.cases, "2019-06-25")["name"])
    with_annex = report.build(ledger, M.Selection(as_of=AS_OF), settings, "总结", annex=True)
    doc = Document(io.BytesIO(with_annex.docx))
    annex = doc.tables[-1]
    listed = {r.cells[1].text for r in annex.rows[1:]}
    assert listed == names and with_annex.annex and not notice.annex
    assert "附件" in [p.text for p in doc.paragraphs]


def test_township_report_and_unknown_history(ledger, settings):
    r = report.build(ledger, M.Selection(townships=("黄练镇",), as_of=AS_OF), settings, "简报")
    text = _text(Document(io.BytesIO(r.docx)))
    assert "黄练镇在册辍学学生3人，较5月23日持平，较上年同期减少2人。" in text
    old = report.build(ledger, M.Selection(as_of=dt.date(2018, 6, 25)), settings, "简报")
    assert "台账不含上年同期数据" in _text(Document(io.BytesIO(old.docx)))
    with pytest.raises(report.ReportError):
        report.build(ledger, M.Selection(townships=("不存在",), as_of=AS_OF), settings)


# --- rendered by LibreOffice ----------------------------------------------------------------------------------


def _words(pdf: bytes) -> list[tuple[int, float, float, float, float, str]]:
    """(page, xmin, ymin, xmax, ymax, word) in points, from pdftotext -bbox."""
    out = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    words, page = [], 0
    for line in out.splitlines():
        if line.strip().startswith("<page "):
            page += 1
        m = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if m:
            words.append((page, *map(float, m.groups()[:4]), m.group(5)))
    return words


def _check_no_overflow(pdf: bytes) -> int:
    words = _words(pdf)
    pages = max(w[0] for w in words)
    mm = 72 / 25.4
    left, right = 28 * mm - 2, (210 - 26) * mm + 2
    top, bottom = 37 * mm - 4, (297 - 35) * mm + 2
    body = [w for w in words if w[4] <= bottom]
    footer = [w for w in words if w[4] > bottom]
    assert all(left <= w[1] and w[2] >= top for w in body), "text outside the text block"
    # a line may end in one hanging punctuation mark (标点悬挂, LibreOffice's CJK rule); nothing else passes
    wide = [w for w in body if w[3] > right]
    assert all(w[5][-1] in "。，、；：？！）”》" and w[3] - right <= 16 for w in wide), wide
    # the only text below the text block is each page's number, in order
    numbers = [int(w[5]) for w in footer if w[5].isdigit()]
    assert numbers == list(range(1, pages + 1))
    assert {w[5] for w in footer} <= {"—", *map(str, numbers)}
    return pages


def test_rendered_with_libreoffice_pages_fit(ledger, settings, notice):
    pdf = render.docx_to_pdf(notice.docx)
    pages = _check_no_overflow(pdf)
    assert 4 <= pages <= 9
    brief = report.build(ledger, M.Selection(as_of=AS_OF), settings, "简报")
    assert _check_no_overflow(render.docx_to_pdf(brief.docx)) == 1  # a 简报 is one page
    status = M.followup_status(ledger.cases, ledger.followups, "2019-06-25", 14)
    doc = case_file.build_case_file(ledger, status["case_id"].iloc[0], settings, "2019-06-25")
    assert _check_no_overflow(render.docx_to_pdf(doc)) <= 2


def test_case_file_masks_unless_unmasked(ledger, settings):
    status = M.followup_status(ledger.cases, ledger.followups, "2019-06-25", 14)
    row = status.iloc[0]
    masked = _text(
        Document(io.BytesIO(case_file.build_case_file(ledger, row["case_id"], settings, "2019-06-25")))
    )
    case = ledger.cases.set_index("case_id").loc[row["case_id"]]
    for secret in (case["name"], case["id_number"], case["guardian_phone"], case["guardian_name"]):
        assert secret not in masked
    assert case["name"][0] + "*" in masked and case["id_number"][:6] + "*" * 11 in masked
    timeline = M.timeline(row["case_id"], ledger.cases, ledger.followups)
    doc = Document(
        io.BytesIO(case_file.build_case_file(ledger, row["case_id"], settings, "2019-06-25", unmasked=True))
    )
    full = _text(doc)
    assert case["name"] in full and case["id_number"] in full and case["guardian_phone"] in full
    assert len(doc.tables[-1].rows) == len(timeline) + 1  # every registration, visit and notice
    assert "限期复学通知书" in full or "学校劝返" in full
    with pytest.raises(case_file.CaseFileError):
        case_file.build_case_file(ledger, "C999999", settings)
