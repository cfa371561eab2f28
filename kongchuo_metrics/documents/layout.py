"""GB/T 9704-2012 page, fonts and styles for every Word document the dashboard writes (reports, notices, files).

A4; margins top 37 mm, bottom 35 mm, left (binding side) 28 mm, right 26 mm; title 2号 (22 pt) 小标宋; body 3号
(16 pt) 仿宋 at a fixed 28.95 pt line pitch, which gives 22 lines a page; level-1 headings 黑体, level-2 楷体;
page numbers "— 1 —" in 4号 宋体 at the foot, odd pages on the right and even pages on the left, one character in.

Fonts are named as Word knows them on a government PC (方正小标宋简体, 仿宋_GB2312, 黑体, 楷体_GB2312, 宋体). The
document's font table gives each one an alternative name (Windows' own 宋体/仿宋/楷体/黑体) and the GB2312
character set, so Word on a machine without the 方正/GB2312 fonts substitutes the right family instead of a
Western default; LibreOffice substitutes through fontconfig. Use: `doc = new_document()`, then `title`,
`heading`, `paragraph`, `placeholder`, `table`, `picture`, `caption`, `signature`, and `to_bytes(doc)`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

# --- the page and the fonts ----------------------------------------------------------------------------------

PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
LINE_PITCH_PT = 28.95  # (297 - 37 - 35) mm = 637.8 pt of text height / 22 lines, rounded down as templates do
LINES_PER_PAGE = 22
CHARS_PER_LINE = 28

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
SONG_FONT = "宋体"
LATIN_FONT = "Times New Roman"  # digits and Latin letters in 公文 bodies

TITLE_PT, BODY_PT, PAGE_NUMBER_PT, TABLE_PT, CAPTION_PT = 22, 16, 14, 12, 14

# a missing font is replaced by the first that the machine has: Windows names, then what Debian ships
FONT_ALTERNATIVES = {
    TITLE_FONT: ("宋体", "SimSun", "Noto Serif CJK SC"),
    BODY_FONT: ("仿宋", "FangSong", "Noto Serif CJK SC"),
    HEADING1_FONT: ("SimHei", "Noto Sans CJK SC"),
    HEADING2_FONT: ("楷体", "KaiTi", "Noto Serif CJK SC"),
    SONG_FONT: ("SimSun", "Noto Serif CJK SC"),
}
_FONT_FAMILY = {TITLE_FONT: "roman", BODY_FONT: "modern", HEADING1_FONT: "modern", HEADING2_FONT: "modern"}

PLACEHOLDER_MARK = "【请填写："  # every author placeholder starts with this and is highlighted yellow


def _fonts(run_or_style, east_asia: str, size: float | None = None, bold: bool | None = None) -> None:
    """Set the East Asian and Latin fonts (and size) of a run or a style."""
    font = run_or_style.font
    font.name = LATIN_FONT
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    element = run_or_style.element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)
    # a CJK-named font must win for Chinese text even where the theme says otherwise
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)


def _paragraph_format(style_or_par, first_indent_chars: float = 0, align=None) -> None:
    pf = style_or_par.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(LINE_PITCH_PT)
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    pf.first_line_indent = Pt(BODY_PT * first_indent_chars) if first_indent_chars else Pt(0)
    if align is not None:
        pf.alignment = align


def _font_table(doc) -> None:
    """Declare each CJK font with its alternative name and the GB2312 character set in word/fontTable.xml."""
    from lxml import etree

    part = next((p for p in doc.part.package.iter_parts() if p.partname == "/word/fontTable.xml"), None)
    if part is None:
        return
    root = etree.fromstring(part.blob)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    for name, alternatives in FONT_ALTERNATIVES.items():
        font = etree.SubElement(root, f"{{{w}}}font")
        font.set(f"{{{w}}}name", name)
        alt = etree.SubElement(font, f"{{{w}}}altName")
        alt.set(f"{{{w}}}val", alternatives[0])
        charset = etree.SubElement(font, f"{{{w}}}charset")
        charset.set(f"{{{w}}}val", "86")  # GB2312
        family = etree.SubElement(font, f"{{{w}}}family")
        family.set(f"{{{w}}}val", _FONT_FAMILY.get(name, "auto"))
        pitch = etree.SubElement(font, f"{{{w}}}pitch")
        pitch.set(f"{{{w}}}val", "variable")
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _styles(doc) -> None:
    styles = doc.styles
    normal = styles["Normal"]
    _fonts(normal, BODY_FONT, BODY_PT, bold=False)
    normal.font.color.rgb = RGBColor(0, 0, 0)
    _paragraph_format(normal, first_indent_chars=2, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    # East Asian line breaking rules and no widow control: lines stay on the 22-line grid
    normal.paragraph_format.widow_control = False

    title = styles["Title"]
    _fonts(title, TITLE_FONT, TITLE_PT, bold=False)
    title.font.color.rgb = RGBColor(0, 0, 0)
    _paragraph_format(title, align=WD_ALIGN_PARAGRAPH.CENTER)
    title.paragraph_format.line_spacing = Pt(LINE_PITCH_PT * 1.2)  # 2号 needs more than one 3号 line
    _remove_borders(title)

    for name, font in (("Heading 1", HEADING1_FONT), ("Heading 2", HEADING2_FONT), ("Heading 3", BODY_FONT)):
        st = styles[name]
        _fonts(st, font, BODY_PT, bold=name == "Heading 3")
        st.font.italic = False
        st.font.color.rgb = RGBColor(0, 0, 0)
        _paragraph_format(st, first_indent_chars=2, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
        st.paragraph_format.keep_with_next = True

    caption = styles["Caption"]
    _fonts(caption, HEADING1_FONT, CAPTION_PT, bold=False)
    caption.font.italic = False
    caption.font.color.rgb = RGBColor(0, 0, 0)
    _paragraph_format(caption, align=WD_ALIGN_PARAGRAPH.CENTER)

    from docx.enum.style import WD_STYLE_TYPE

    cell = styles.add_style("表格文字", WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    _fonts(cell, BODY_FONT, TABLE_PT)
    cell.paragraph_format.first_line_indent = Pt(0)
    cell.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cell.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    cell.paragraph_format.line_spacing = Pt(TABLE_PT + 4)

    footer = styles["Footer"]
    _fonts(footer, SONG_FONT, PAGE_NUMBER_PT)
    footer.paragraph_format.first_line_indent = Pt(0)
    footer.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE


def _remove_borders(style) -> None:
    ppr = style.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)


def _page_number(paragraph) -> None:
    """— PAGE — as a field code, so Word and LibreOffice number every page themselves."""
    paragraph.add_run("— ")
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for el in (begin, instr, separate):
        paragraph.add_run()._r.append(el)
    paragraph.add_run("1")
    paragraph.add_run()._r.append(end)
    paragraph.add_run(" —")
    for run in paragraph.runs:
        _fonts(run, SONG_FONT, PAGE_NUMBER_PT)


def _footers(doc, section) -> None:
    doc.settings.odd_and_even_pages_header_footer = True
    for footer, align in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),  # odd pages: right, one character in
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        footer.is_linked_to_previous = False
        par = footer.paragraphs[0]
        par.style = doc.styles["Footer"]
        par.alignment = align
        indent = Pt(PAGE_NUMBER_PT)
        if align == WD_ALIGN_PARAGRAPH.RIGHT:
            par.paragraph_format.right_indent = indent
        else:
            par.paragraph_format.left_indent = indent
        _page_number(par)


def _grid(section) -> None:
    """Word's document grid: 22 lines a page (the line pitch in twentieths of a point)."""
    sect = section._sectPr
    for old in sect.findall(qn("w:docGrid")):
        sect.remove(old)
    grid = OxmlElement("w:docGrid")
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(round(LINE_PITCH_PT * 20)))
    sect.append(grid)


def new_document(page_numbers: bool = True):
    """A blank GB/T 9704 document: A4 portrait, the 公文 margins, styles, fonts and "— 1 —" page numbers."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.header_distance = Mm(15)
    section.footer_distance = Mm(21)  # the number's line sits about 7 mm below the text block
    _grid(section)
    _styles(doc)
    _font_table(doc)
    lang = doc.styles.element.find(qn("w:docDefaults"))
    if lang is not None:
        rpr = lang.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
        if rpr is not None:
            el = OxmlElement("w:lang")
            el.set(qn("w:val"), "en-US")
            el.set(qn("w:eastAsia"), "zh-CN")
            rpr.append(el)
    if page_numbers:
        _footers(doc, section)
    return doc


def text_width_mm() -> float:
    """The width of the text block (156 mm)."""
    return PAGE_WIDTH_MM - MARGINS_MM["left"] - MARGINS_MM["right"]


# --- blocks -------------------------------------------------------------------------------------------------------


def title(doc, text: str):
    """The document title in 2号 小标宋, centred, followed by one blank line."""
    par = doc.add_paragraph(text, style="Title")
    doc.add_paragraph("", style="Normal")
    return par


def heading(doc, text: str, level: int = 1):
    """一、 (level 1, 黑体) or （一） (level 2, 楷体) heading on the body grid."""
    return doc.add_paragraph(text, style=f"Heading {level}")


def paragraph(doc, text: str = "", indent: bool = True, align=None, bold_lead: str | None = None):
    """A body paragraph in 3号 仿宋, first line indented two characters; `bold_lead` starts it in bold."""
    par = doc.add_paragraph(style="Normal")
    if bold_lead:
        run = par.add_run(bold_lead)
        run.bold = True
    if text:
        par.add_run(text)
    if not indent:
        par.paragraph_format.first_line_indent = Pt(0)
    if align is not None:
        par.alignment = align
    return par


def placeholder(doc, hint: str, lead: str | None = None):
    """A paragraph the author must write: 【请填写：hint】 highlighted yellow, after an optional plain lead."""
    par = doc.add_paragraph(style="Normal")
    if lead:
        par.add_run(lead)
    run = par.add_run(f"{PLACEHOLDER_MARK}{hint}】")
    run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    return par


def caption(doc, text: str):
    """A table or figure caption (黑体 4号, centred)."""
    return doc.add_paragraph(text, style="Caption")


def _cell_text(
    cell, text: str, bold: bool = False, align=WD_ALIGN_PARAGRAPH.CENTER, size: float | None = None
) -> None:
    par = cell.paragraphs[0]
    par.style = "表格文字"
    par.alignment = align
    run = par.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
        par.paragraph_format.line_spacing = Pt(size + 4)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)
    cant = OxmlElement("w:cantSplit")
    trpr.append(cant)


def table(
    doc,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths_mm: Sequence[float] | None = None,
    total: Sequence[object] | None = None,
    left_columns: int | Sequence[int] = 1,
    font_pt: float | None = None,
):
    """A real Word table: a bold header row repeated on each page (none when `header` is empty), the rows, and
    an optional bold 合计 row. `left_columns` is how many leading columns are left-aligned, or their indexes.

    Values are written as text (numbers as the caller formatted them); the first `left_columns` columns are
    left-aligned, the others centred. Widths default to an even split of the 156 mm text block; `font_pt`
    overrides the 小四 (12 pt) table text, e.g. 10.5 (五号) for a wide list.
    """
    n = len(header) if header else len(rows[0])
    left = set(range(left_columns)) if isinstance(left_columns, int) else set(left_columns)
    t = doc.add_table(rows=1 if header else 0, cols=n)
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    widths = list(widths_mm) if widths_mm else [text_width_mm() / n] * n
    if header:
        for i, h in enumerate(header):
            _cell_text(t.rows[0].cells[i], str(h), bold=True, size=font_pt)
        _repeat_header(t.rows[0])
    body = list(rows) + ([total] if total is not None else [])
    for r, values in enumerate(body):
        cells = t.add_row().cells
        is_total = total is not None and r == len(body) - 1
        for i, v in enumerate(values):
            align = WD_ALIGN_PARAGRAPH.LEFT if i in left and not is_total else WD_ALIGN_PARAGRAPH.CENTER
            _cell_text(cells[i], "" if v is None else str(v), bold=is_total, align=align, size=font_pt)
    _fixed_widths(t, widths)
    for row in t.rows:
        row.allow_break_across_pages = False
        for i, cell in enumerate(row.cells):
            cell.width = Mm(widths[i])
    return t


def _fixed_widths(t, widths_mm: Sequence[float]) -> None:
    """Column widths in the table grid, a fixed layout and the table's total width (Word and LibreOffice)."""
    for col, w in zip(t.columns, widths_mm, strict=True):
        col.width = Mm(w)
    tblpr = t._tbl.tblPr
    width = tblpr.find(qn("w:tblW"))
    if width is None:
        width = OxmlElement("w:tblW")
        tblpr.append(width)
    width.set(qn("w:w"), str(round(sum(widths_mm) / 25.4 * 1440)))
    width.set(qn("w:type"), "dxa")
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)


def picture(doc, png: bytes, width_mm: float | None = None):
    """A chart image centred in the text block (full width by default)."""
    par = doc.add_paragraph(style="Normal")
    par.paragraph_format.first_line_indent = Pt(0)
    par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    par.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE  # an exact pitch would crop the image
    par.add_run().add_picture(io.BytesIO(png), width=Mm(width_mm or text_width_mm()))
    return par


def signature(doc, issuer: str, date_text: str) -> None:
    """发文机关署名 and 成文日期, right-aligned four characters in, after one blank line (GB/T 9704 7.3.5)."""
    doc.add_paragraph("", style="Normal")
    for text in (issuer, date_text):
        par = paragraph(doc, text, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
        par.paragraph_format.right_indent = Pt(BODY_PT * 4)


def page_break(doc) -> None:
    """Start a new page."""
    from docx.enum.text import WD_BREAK

    doc.add_paragraph(style="Normal").add_run().add_break(WD_BREAK.PAGE)


def to_bytes(doc) -> bytes:
    """The .docx file as bytes."""
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
