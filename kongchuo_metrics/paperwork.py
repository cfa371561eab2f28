"""Word files for 督办单 and for notices with their 送达回证, in the GB/T 9704 公文 page layout.

A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm; title 2号 (22 pt) 小标宋, body 3号 (16 pt) 仿宋 on a
fixed 28.95 pt line (22 lines a page); page numbers "— 1 —" in 4号 宋体. (A minimal builder of its own until the
shared documents/layout module lands; the text stays editable.)
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEAD_FONT = "黑体"
PAGE_FONT = "宋体"
LAW = (
    "根据《中华人民共和国义务教育法》第五条、第十一条和《中华人民共和国未成年人保护法》第十六条的规定，"
    "适龄儿童、少年的父母或者其他法定监护人应当依法保证其按时入学接受并完成义务教育。"
)


def _font(run, name: str, size: float, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        fonts.set(qn(attr), name)


def _para(
    doc,
    text: str = "",
    size: float = 16,
    font: str = BODY_FONT,
    align=None,
    indent: bool = False,
    bold: bool = False,
):
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing = Pt(28.95)
    fmt.space_before = fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    if align is not None:
        p.alignment = align
    if text:
        _font(p.add_run(text), font, size, bold)
    return p


def _page_number(section) -> None:
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run("— "), PAGE_FONT, 14)
    run = p.add_run()
    _font(run, PAGE_FONT, 14)
    for kind, body in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = body
        run._element.append(el)
    _font(p.add_run(" —"), PAGE_FONT, 14)


def new_document():
    """An empty A4 document with the 公文 margins and page numbers."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _page_number(section)
    style = doc.styles["Normal"]
    style.font.name = BODY_FONT
    style.font.size = Pt(16)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    return doc


def _title(doc, text: str, number: str = "") -> None:
    _para(doc, text, 22, TITLE_FONT, WD_ALIGN_PARAGRAPH.CENTER)
    if number:
        _para(doc, number, 16, BODY_FONT, WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc)


def _grid(doc, rows: list[tuple[str, str]], widths=(45, 111)) -> None:
    """A two-column form: label (黑体) | value (仿宋), 4号 text; newlines in a value become lines."""
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in rows:
        cells = table.add_row().cells
        for cell, content, width, font in (
            (cells[0], label, widths[0], HEAD_FONT),
            (cells[1], value, widths[1], BODY_FONT),
        ):
            cell.width = Mm(width)
            for i, line in enumerate(str(content).split("\n")):
                p = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
                p.paragraph_format.line_spacing = Pt(24)
                _font(p.add_run(line), font, 14)


def _bytes(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def duban_docx(item: dict, district: str, children: list[dict], issuer: str = "") -> bytes:
    """A 督办单 (督办事项, 文号, 内容, 牵头/配合单位, 时限, 反馈周期, 联系人, 状态, children masked, feedback history)."""
    doc = new_document()
    _title(doc, f"{district}控辍保学工作督办单", item["number"])
    cycle = f"每 {item['cycle_days']} 天反馈一次" if item.get("cycle_days") else "办结后一次性反馈"
    kids = "\n".join(
        f"{i}. {c['label']}　{c.get('school') or ''}　{c.get('step') or ''}　{c.get('present') or ''}".rstrip()
        for i, c in enumerate(children, start=1)
    )
    feedback = "\n".join(f"{f['at'][:10]}　{f['text']}" for f in item.get("feedback", [])) or "（尚未反馈）"
    status = item["status"] + (f"（超时：{item['overdue_reason']}）" if item.get("overdue") else "")
    _grid(
        doc,
        [
            ("督办事项", item["item"]),
            ("督办内容", item.get("content") or item["item"]),
            ("承办乡镇", item["township"]),
            (
                "牵头单位/牵头领导",
                "　".join(x for x in (item.get("lead_unit"), item.get("lead_person")) if x) or "—",
            ),
            ("配合单位", item.get("partners") or "—"),
            ("交办时限", item["due"]),
            ("反馈周期", cycle),
            ("督办联系人", item.get("contact") or "—"),
            ("办理状态", status),
            *([("涉及儿童（已脱敏）", kids)] if children else []),
            ("反馈情况", feedback),
        ],
    )
    _para(doc)
    _para(doc, f"{issuer or district + '控辍保学工作领导小组办公室'}（盖章）", align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, f"交办日期：{item['created_at'][:10]}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    return _bytes(doc)


def notice_docx(notice: dict, child: dict, as_of: str) -> bytes:
    """A 劝学通知书 or 限期复学通知书 and, on its own page, the 送达回证.

    notice: kind, number, deadline_days, township, (delivered_on, recipient, place); child: name (as the caller
    chose to print it: masked unless unmasked and audited), school, grade, registered (text).
    """
    doc = new_document()
    kind, number, days = notice["kind"], notice["number"], int(notice["deadline_days"])
    name, school = child.get("name") or "＿＿＿＿", child.get("school") or "＿＿＿＿"
    _title(doc, kind, number)
    _para(doc, f"{name}同学的监护人：")
    since = child.get("registered") or "＿＿＿＿"
    if kind == "劝学通知书":
        issuer = school
        body = (
            f"你的子女{name}系{school}{child.get('grade') or ''}学生，自{since}起未到校上学。{LAW}"
            f"请你自收到本通知书之日起{days}日内送子女返校就读。逾期仍未返校的，学校将报请"
            f"{notice['township']}人民政府依法督促复学。"
        )
    else:
        issuer = f"{notice['township']}人民政府"
        body = (
            f"你的子女{name}（原就读{school}）自{since}起辍学，经学校和村（社区）多次劝返，至今仍未返校。{LAW}"
            f"现责令你于收到本通知书之日起{days}日内送子女到{school}复学。逾期仍不送子女复学的，本机关将依照"
            "《中华人民共和国义务教育法》第五十八条的规定给予批评教育、责令限期改正，并可依法申请人民法院督促复学。"
        )
    _para(doc, body, indent=True)
    _para(doc, "特此通知。", indent=True)
    _para(doc)
    _para(doc, f"{issuer}（盖章）", align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, as_of, align=WD_ALIGN_PARAGRAPH.RIGHT)
    doc.paragraphs[-1].runs[-1].add_break(WD_BREAK.PAGE)
    _title(doc, "送达回证")
    delivered = notice.get("delivered_on") or ""
    _grid(
        doc,
        [
            ("送达文书名称及文号", f"《{kind}》{number}"),
            ("受送达人", notice.get("recipient") or "\n"),
            ("送达地点", notice.get("place") or "\n"),
            ("送达时间", delivered or "　　年　　月　　日　　时"),
            ("送达方式", "直接送达"),
            ("受送达人签名或盖章", "\n\n　　　　　　　　　　　　年　　月　　日"),
            ("送达人签名或盖章", "\n\n　　　　　　　　　　　　年　　月　　日"),
            ("备注", "受送达人拒绝签收的，送达人应在备注栏注明情况，并由见证人签名。\n"),
        ],
    )
    return _bytes(doc)
