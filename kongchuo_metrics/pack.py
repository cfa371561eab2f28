"""The briefing pack for a joint meeting: an A4 landscape PDF (and a PPTX) from the same numbers and figures.

HTML pages laid out here, charts from `figures` exported with kaleido (Debian's chromium, MathJax off), the
whole printed to PDF with headless chromium. Names appear surname-only (briefing mode); no ID numbers or
phones ever reach the pack.
"""

from __future__ import annotations

import datetime as dt
import html
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import chart_images, compare, figures, labels, metrics, privacy, programs, reporting, schema
from .ingest import Ledger
from .settings import Settings

MISSING_CHROMIUM = (
    "生成汇报材料需要 Chromium 浏览器和中文字体。请以管理员身份运行："
    "apt-get install -y chromium fonts-noto-cjk（或重新运行 ./run.sh，会自动安装）。"
)


class PackError(Exception):
    """The pack could not be made; the message is Chinese."""


def chromium_path() -> str | None:
    """Debian's chromium, if installed (looked up here so that a test can take it away)."""
    return programs.chromium_path()


@dataclass(frozen=True)
class Pack:
    """A generated pack: the PDF bytes, its page count and how long it took."""

    pdf: bytes
    pptx: bytes | None
    pages: int
    seconds: float


# Page geometry in CSS px (96 per inch): A4 landscape less the margins below is 1017 x 688.
PAGE_W = 1017
CHART_SIZES = {"trend": (1000, 330), "schools": (470, 560), "placements": (520, 430), "map": (1000, 560)}


TREND_ROWS = 12  # 表一 rows printed above the trend chart


def trend_height(rows: int) -> int:
    """The trend chart's height under a 表一 of `rows` rows: the page's room (table, chart and the counting
    rule above the footer, checked in a browser test) shrinks by one compact table row (16 px) per row past
    six; past six rows the table is printed compact (`_table(compact=True)`)."""
    return CHART_SIZES["trend"][1] - 16 * max(0, min(rows, TREND_ROWS) - 6)


def chart_size(name: str, fig) -> tuple[int, int]:
    """(width, height) a pack chart is printed at: its figure's own height where it was given one."""
    width, height = CHART_SIZES[name]
    return width, int(fig.layout.height or height)


def _svg(fig, name: str) -> str:
    """A chart as inline SVG at the size it is printed: its labels stay text in the PDF (searchable, never
    scaled down, and checked by the tests against the figure spec)."""
    width, height = chart_size(name, fig)
    data = chart_images.render(fig, "svg", width, height).decode("utf-8")
    return data[data.index("<svg") :]


def _png_bytes(fig, name: str) -> bytes:
    width, height = chart_size(name, fig)
    return chart_images.render(fig, "png", width, height, scale=2)


def _table(frame: pd.DataFrame, max_rows: int = 18, compact: bool = False) -> str:
    if frame.empty:
        return "<p class='note'>无。</p>"  # never a header over no rows
    shown = labels.for_screen(frame.head(max_rows))
    body = shown.to_html(
        index=False, escape=True, border=0, classes="t compact" if compact else "t", na_rep=""
    )
    more = (
        f"<p class='note'>另有 {len(frame) - max_rows} 行未列出，见看板。</p>"
        if len(frame) > max_rows
        else ""
    )
    note = (
        f"<p class='note'>{html.escape(privacy.SUPPRESSION_RULE)}</p>" if privacy.is_suppressed(frame) else ""
    )
    return body + more + note


def _page(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


CSS = """
@page { size: A4 landscape; margin: 12mm 14mm; }
body { font-family: 'Noto Sans CJK SC', 'Source Han Sans SC', sans-serif; color: #212529; margin: 0; }
section { page-break-after: always; height: 182mm; overflow: hidden; position: relative; }
section:last-child { page-break-after: auto; }
h1 { font-size: 28pt; margin: 38mm 0 8mm; } h2 { font-size: 18pt; margin: 0 0 4mm; border-bottom: 2px solid #d9480f; }
.cover p { font-size: 14pt; margin: 2mm 0; } .cover p.late { color: #C92A2A; font-size: 12pt; } .note { font-size: 9pt; color: #495057; }
.kpis { display: flex; flex-wrap: wrap; gap: 5mm; } .kpi { border: 1px solid #dee2e6; border-radius: 3mm;
  padding: 4mm 6mm; width: 70mm; } .kpi b { display: block; font-size: 26pt; } .kpi span { font-size: 11pt; }
.red { color: #c2255c; } .ok { color: #2b8a3e; }
table.t { border-collapse: collapse; font-size: 10pt; margin-bottom: 3mm; }
table.t th, table.t td { border: 1px solid #adb5bd; padding: 1.2mm 2.5mm; text-align: left; }
table.t th { background: #dbe4f0; }
table.t.compact { font-size: 8pt; margin-bottom: 1mm; } table.t.compact th, table.t.compact td { padding: .4mm 2.5mm; } .row { display: flex; gap: 6mm; } .row > div { flex: 1; }
svg { display: block; max-width: 100%; }
footer { position: absolute; bottom: 0; font-size: 8pt; color: #868e96; }
"""


@dataclass(frozen=True)
class Content:
    """Everything the pack shows, computed once for the PDF and the PPTX (the same eight parts)."""

    title: str
    scope: str
    as_of: pd.Timestamp
    district: str
    source: str
    head: compare.Headline  # the same headline figures as the overview, the Word report and `summary`
    trend: pd.DataFrame
    schools: pd.DataFrame
    by_town: pd.DataFrame
    owners: pd.DataFrame
    ladder: pd.DataFrame
    overdue: int
    notice: int
    placements: pd.DataFrame
    reasons: pd.DataFrame
    special: dict
    villages: pd.DataFrame
    missing: int
    quality: dict
    overdue_days: int
    figures: dict  # name -> plotly figure (trend, schools, placements, map), absent when there is nothing
    same: dict  # KPI field -> its 同比 caption (上年同期 …, or 台账不含上年同期数据)
    duban: pd.DataFrame | None = None  # the previous meeting's 督办 items (records.workflows.duban_brief)
    not_reported: str = (
        ""  # the townships whose report of this period is missing (reporting calendar), a sentence
    )


def content(
    ledger: Ledger,
    sel: metrics.Selection,
    settings: Settings,
    boundaries: dict | None,
    quality: dict | None = None,
    duban: pd.DataFrame | None = None,
) -> Content:
    """The pack's numbers, tables and figures for a selection (names surname-only, small counts suppressed)."""
    from .exports import scope_title

    as_of = pd.Timestamp(sel.as_of)
    cases = metrics.select_cases(metrics.figure_columns(ledger.cases), sel)  # only the columns it reads
    district = ledger.meta.get("district") or settings.district or ""
    dates = sel.dates_upto(ledger.report_dates)
    trend = metrics.trend(cases, dates)
    schools = privacy.published_poor(
        metrics.schools_table(cases, as_of, mode="briefing")
    )  # 建档立卡 per school
    towns = metrics.townships_table(cases, ledger.schools, as_of)
    status = metrics.followup_status(cases, ledger.followups, as_of, settings.overdue_days)
    head = compare.headline(ledger, sel, settings, status=status, cases=cases)
    local = privacy.finer_than_county(ledger, sel)
    sp = privacy.published_special(
        metrics.special_ed_summary(metrics.select_special(ledger.special_ed, sel)), local
    )
    villages, missing = metrics.village_table(status, ledger.villages)
    overdue = status[status["overdue"]]
    by_town = pd.DataFrame({"township": towns["township"], "open": towns["open"]}).merge(
        overdue.groupby("township").size().rename("overdue").reset_index(), how="left", on="township"
    )
    by_town["overdue"] = by_town["overdue"].fillna(0).astype(int)
    by_town = by_town[by_town["open"] > 0]
    placements = pd.DataFrame(
        {"placement": list(schema.PLACEMENTS.values()), "count": [sp[k] for k in schema.PLACEMENTS]}
    )
    cmp = head.comparison
    last_year = compare.last_year_line(cases, dates, compare.history_start(ledger.cases))
    figs = {"trend": figures.trend_chart(trend, height=trend_height(len(trend)), last_year=last_year)}
    if len(schools):
        figs["schools"] = figures.bar_chart(schools, "school", "open", height=CHART_SIZES["schools"][1])
    figs["placements"] = figures.placements_chart(sp, height=CHART_SIZES["placements"][1])
    if len(villages):
        figs["map"] = figures.static_map(villages, boundaries, height=CHART_SIZES["map"][1])
    named = sel.named(ledger)  # a township user's pack is titled with the township
    scope = named.describe(dated=False)
    return Content(
        title=scope_title("控辍保学工作情况汇报", named, district),
        scope=scope,
        as_of=as_of,
        district=district,
        source=str(ledger.meta.get("source_name", "")),
        head=head,
        trend=trend,
        schools=schools,
        by_town=by_town,
        owners=metrics.owners_table(status, "gov"),
        ladder=metrics.ladder_counts(status)[["label", "open", "overdue"]],
        overdue=len(overdue),
        notice=metrics.at_notice_or_beyond(status),
        placements=placements,
        reasons=privacy.published_reasons(sp, local),
        special=sp,
        villages=villages,
        missing=len(missing),
        quality=quality or {},
        overdue_days=settings.overdue_days,
        figures=figs,
        same={f: compare.last_year_caption(cmp, f) for f in compare.FIELDS},
        duban=duban,
        not_reported=reporting.not_reported_words(
            reporting.for_ledger(
                ledger, settings.weekly_day, settings.monthly_day, as_of.date(), sel.townships
            )
        ),
    )


def kpi_boxes(c: Content) -> list[tuple[str, str, str, str]]:
    """The KPI cards: (label, value, note, colour class) for the PDF and the PPTX alike."""
    h = c.head
    change = "较上一统计日" + (compare.change_words(h.change) or "无可比数据")
    boxes = [
        ("在册辍学人数", labels.cn_number(h.open), f"{change}；{c.same['open']}", ""),
        (
            "累计劝返人数（本学年）",
            labels.cn_number(h.returned_total),
            f"返校复学＋进入职业学校；{c.same['returned_total']}",
            "",
        ),
        (
            "建档立卡在册（红线）",
            labels.cn_number(h.open_poor),
            f"{'红线预警' if h.open_poor else '红线守住'}；{c.same['open_poor']}",
            "red" if h.open_poor > 0 else "ok",
        ),
    ]
    for r in h.rates:
        if r.key == "poor_open":
            continue
        value = "—" if r.value is None else (f"{r.value:.3f}%" if r.kind == "max" else f"{r.value:.2f}%")
        note = "达标" if r.met else ("未达标" if r.met is False else r.note)
        label = f"{r.label}（目标{'≤' if r.kind == 'max' else '≥'}{r.target}%）"
        boxes.append((label, value, note, "ok" if r.met else "red"))
    return boxes


def _missing_note(c: Content) -> str:
    return f"{c.missing} 个个案所在村缺少坐标，未画出。" if c.missing else ""


def section_titles(c: Content) -> list[str]:
    """The eight parts, in order (PDF pages and PPTX slides)."""
    total = int(c.schools["open"].sum()) if len(c.schools) else 0
    return [
        c.title,
        "一、关键指标",
        "二、劝返进度（表一）",
        f"三、未返校学生分校统计（表二，共 {total} 人）",
        "四、超期与限期复学通知书、司法督促个案",
        f"五、残疾儿童少年安置（共 {c.special['total']} 人）",
        "六、未返校学生村级分布",
        "七、口径说明与数据质量",
    ]


def quality_counts(ledger: Ledger) -> dict:
    """The load's counts the pack's last page states: the county's read, loaded, quarantined and excluded rows,
    or, on a township's or school's part of the county, only that part's cases (the county's counts are not
    theirs to see)."""
    if ledger.meta.get("scope_part"):
        return {"part_cases": len(ledger.cases)}
    return {
        k: getattr(ledger.report, k)
        for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_excluded")
    }


def _quality_text(c: Content) -> str:
    q = c.quality
    if "part_cases" in q:  # a township's or school's part: the county's load counts are not theirs to see
        return (
            f"数据质量：本范围载入个案 {q['part_cases']} 条；台账的读取、隔离和排除由区县在导入时统一核查。"
            f"缺少坐标的未返校个案 {c.missing} 个。"
        )
    return (
        f"数据质量：读取 {q.get('rows_read', '—')} 行，载入 {q.get('rows_loaded', '—')} 行，"
        f"隔离 {q.get('rows_quarantined', '—')} 行，排除 {q.get('rows_excluded', '—')} 行；"
        f"缺少坐标的未返校个案 {c.missing} 个。"
    )


DUBAN_TITLE = "上次会议督办事项落实情况"
RATE_RULE = "辍学率＝该学段在册“辍学”类个案÷该学段在校生数；巩固率＝毕业生数÷（入学年级人数＋转入－转出）；建档立卡辍学人数须为 0。"
PRIVACY_NOTE = "本材料中学生姓名只显示姓氏，不含身份证号、联系电话等个人信息，请勿翻拍外传。"
MAP_NOTE = "圆点大小＝未返校人数；颜色：红＝有建档立卡个案，橙＝有超期未跟进个案，灰蓝＝有未返校个案。只标到村，不标住址。"


def build_html(
    ledger: Ledger,
    sel: metrics.Selection,
    settings: Settings,
    boundaries: dict | None,
    quality: dict | None = None,
    c: Content | None = None,
) -> str:
    """The pack as one HTML document of eight A4 landscape pages (charts as inline SVG); a ninth, after the
    cover, lists the previous meeting's 督办 items and their status when the content has any."""
    c = c or content(ledger, sel, settings, boundaries, quality)
    t = section_titles(c)
    e = html.escape
    foot = f"<footer>{e(c.title)} · {metrics.cn_date(c.as_of)} · 姓名已脱敏</footer>"
    figs = {name: _svg(fig, name) for name, fig in c.figures.items()}
    pages = [
        "<section class='cover'>"
        f"<h1>{e(c.title)}</h1>"
        f"<p>范围：{e(c.scope)}</p><p>统计日期：{metrics.cn_date(c.as_of)}</p>"
        f"<p>数据：{e(c.source)}</p>"
        + (f"<p class='late'>{e(c.not_reported)}</p>" if c.not_reported else "")
        + f"<p>生成时间：{dt.datetime.now():%Y年%m月%d日 %H:%M}</p>{foot}</section>"
    ]
    if c.duban is not None and len(c.duban):
        pages.append(_page(DUBAN_TITLE, _table(c.duban, max_rows=14) + foot))
    boxes = "".join(
        f"<div class='kpi'><span>{e(label)}</span><b class='{cls}'>{e(value)}</b><span>{e(note)}</span></div>"
        for label, value, note, cls in kpi_boxes(c)
    )
    pages.append(_page(t[1], f"<div class='kpis'>{boxes}</div>{foot}"))
    pages.append(
        _page(
            t[2],
            f"<div class='row'><div>{_table(c.trend, TREND_ROWS, len(c.trend) > 6)}</div></div>{figs['trend']}"
            f"<p class='note'>{e(metrics.counting_rule())}</p>{foot}",
        )
    )
    school_cols = ["school", "township", "open", "open_poor", "names"]
    pages.append(
        _page(
            t[3],
            f"<div class='row'><div>{_table(c.schools[school_cols], 16)}</div>"
            + (f"<div>{figs['schools']}</div>" if "schools" in figs else "")
            + f"</div>{foot}",
        )
    )
    pages.append(
        _page(
            t[4],
            f"<p>超期个案 {c.overdue} 人（超过 {c.overdue_days} 天未跟进或通知书到期），"
            f"处于限期复学通知书及以上环节 {c.notice} 人。</p>"
            f"<div class='row'><div><b>按乡镇</b>{_table(c.by_town, 12)}</div>"
            f"<div><b>按政府线责任人</b>{_table(c.owners, 12)}</div>"
            f"<div><b>按环节</b>{_table(c.ladder, 8)}</div></div>{foot}",
        )
    )
    sp = c.special
    lessons = f"，累计送教 {sp['home_lessons']} 次" if sp["home_lessons"] is not None else ""
    pages.append(
        _page(
            t[5],
            f"<div class='row'><div>{_table(c.placements, 8)}"
            f"<p>送教上门 {sp['home_teaching']} 人，其中建档立卡家庭 {sp['home_teaching_poor']} 人{lessons}。</p>"
            f"<b>未入学/未安置原因</b>{_table(c.reasons, 10)}</div>"
            f"<div>{figs['placements']}</div></div>{foot}",
        )
    )
    pages.append(
        _page(
            t[6],
            (figs["map"] if "map" in figs else "<p>没有可标注的村。</p>")
            + f"<p class='note'>{MAP_NOTE}{_missing_note(c)}</p>{foot}",
        )
    )
    pages.append(
        _page(
            t[7],
            f"<p>{e(metrics.counting_rule())}</p><p>{RATE_RULE}</p><p>{e(privacy.SUPPRESSION_RULE)}</p>"
            f"<p>{_quality_text(c)}</p>"
            + (f"<p>{e(c.not_reported)}</p>" if c.not_reported else "")
            + f"<p>{PRIVACY_NOTE}</p>{foot}",
        )
    )
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{e(c.title)}</title><style>{CSS}</style></head><body>{''.join(pages)}</body></html>"
    )


def print_pdf(document: str, chromium: str | None = None, timeout: int = 120) -> bytes:
    """Print an HTML document to PDF with headless chromium (no network: data: images only)."""
    chromium = chromium or chromium_path()
    if not chromium:
        raise PackError(MISSING_CHROMIUM)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "pack.html", Path(tmp) / "pack.pdf"
        src.write_text(document, encoding="utf-8")
        cmd = [
            chromium,
            *programs.CHROMIUM_FLAGS,
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        try:
            subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PackError("Chromium 生成 PDF 超时。") from exc
        if not out.exists() or out.stat().st_size == 0:
            raise PackError("Chromium 未能生成 PDF，请检查 chromium 与 fonts-noto-cjk 是否安装完整。")
        return out.read_bytes()


def pdf_pages(pdf: bytes) -> int:
    """Page count of a PDF (counts /Type /Page objects)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def build_pptx(
    ledger: Ledger,
    sel: metrics.Selection,
    settings: Settings,
    boundaries: dict | None = None,
    c: Content | None = None,
) -> bytes:
    """The same eight parts as the PDF as 16:9 slides (python-pptx): KPIs, tables, charts and the map as
    images; names surname-only, small counts suppressed. Like the PDF, a slide after the cover lists the
    previous meeting's 督办 items when the content has any."""
    import io

    from pptx import Presentation
    from pptx.util import Emu, Pt

    c = c or content(ledger, sel, settings, boundaries)
    titles = section_titles(c)
    prs = Presentation()
    prs.slide_width, prs.slide_height = 12192000, 6858000
    left, top, width = Emu(457200), Emu(1300000), Emu(11277600)

    def slide(title: str):
        s = prs.slides.add_slide(prs.slide_layouts[5])
        s.shapes.title.text = title
        s.shapes.title.text_frame.paragraphs[0].font.size = Pt(30)
        return s

    def text(s, lines: list[str], x=left, y=top, w=width, size=16):
        box = s.shapes.add_textbox(x, y, w, Emu(600000)).text_frame
        box.word_wrap = True
        for i, line in enumerate(lines):
            para = box.paragraphs[0] if i == 0 else box.add_paragraph()
            para.text = line
            para.font.size = Pt(size)

    def table(s, frame: pd.DataFrame, x=left, y=top, w=width, rows_max=12, size=12, title: str = ""):
        if title:
            text(s, [title], x, y, w, size=size + 2)
            s.shapes[-1].text_frame.paragraphs[0].font.bold = True
            y += Emu(450000)
        if frame.empty:  # as the PDF: 「无。」, never a header over no rows
            text(s, ["无。"], x, y, w, size=size)
            return
        shown = labels.for_screen(frame.head(rows_max))
        rows, cols = len(shown) + 1, max(len(shown.columns), 1)
        shape = s.shapes.add_table(rows, cols, x, y, w, Emu(330000 * rows))
        for k, name in enumerate(shown.columns):
            shape.table.cell(0, k).text = str(name)
            shape.table.cell(0, k).text_frame.paragraphs[0].font.size = Pt(size)
        for r, rec in enumerate(shown.itertuples(index=False), start=1):
            for k, v in enumerate(rec):
                cell = shape.table.cell(r, k)
                cell.text = "" if v is None else str(v)
                cell.text_frame.paragraphs[0].font.size = Pt(size)

    def picture(s, name: str, x=left, y=top, w=width):
        if name in c.figures:
            s.shapes.add_picture(io.BytesIO(_png_bytes(c.figures[name], name)), x, y, width=w)

    cover = prs.slides.add_slide(prs.slide_layouts[0])
    cover.shapes.title.text = titles[0]
    cover.placeholders[1].text = (
        f"范围：{c.scope}\n统计日期：{metrics.cn_date(c.as_of)}\n数据：{c.source}"
        + (f"\n{c.not_reported}" if c.not_reported else "")
    )
    if c.duban is not None and len(c.duban):
        table(slide(DUBAN_TITLE), c.duban, rows_max=14, size=11)
    s = slide(titles[1])
    for i, (label, value, note, _) in enumerate(kpi_boxes(c)):
        x, y = left + Emu(3800000 * (i % 3)), top + Emu(1700000 * (i // 3))
        text(s, [label, value, note], x, y, Emu(3600000), size=18)
        s.shapes[-1].text_frame.paragraphs[1].font.size = Pt(40)
    s = slide(titles[2])
    table(s, c.trend, w=Emu(5400000), size=12)
    picture(s, "trend", x=left + Emu(5600000), w=Emu(5700000))
    s = slide(titles[3])
    table(s, c.schools[["school", "township", "open", "open_poor", "names"]], w=Emu(6200000), size=11)
    picture(s, "schools", x=left + Emu(6500000), w=Emu(4700000))
    s = slide(titles[4])
    text(s, [f"超期个案 {c.overdue} 人，处于限期复学通知书及以上环节 {c.notice} 人。"])
    table(s, c.by_town, y=top + Emu(700000), w=Emu(3600000), title="按乡镇")
    table(s, c.owners, x=left + Emu(3800000), y=top + Emu(700000), w=Emu(3600000), title="按政府线责任人")
    table(s, c.ladder, x=left + Emu(7600000), y=top + Emu(700000), w=Emu(3600000), title="按环节")
    s = slide(titles[5])
    table(s, c.placements, w=Emu(4200000))
    table(s, c.reasons, y=top + Emu(2300000), w=Emu(4200000), title="未入学/未安置原因")
    picture(s, "placements", x=left + Emu(4600000), w=Emu(6600000))
    s = slide(titles[6])
    picture(s, "map", w=Emu(9600000))
    text(s, [MAP_NOTE + _missing_note(c)], y=Emu(6300000), size=12)
    s = slide(titles[7])
    notes = [metrics.counting_rule(), RATE_RULE, privacy.SUPPRESSION_RULE, _quality_text(c)]
    text(s, notes + ([c.not_reported] if c.not_reported else []) + [PRIVACY_NOTE])
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def make_pack(
    ledger: Ledger,
    sel: metrics.Selection,
    settings: Settings,
    boundaries: dict | None,
    with_pptx: bool = True,
    duban: pd.DataFrame | None = None,
) -> Pack:
    """Build the PDF (and PPTX) for the selection; raises PackError (Chinese) when chromium is missing."""
    if not chromium_path():
        raise PackError(MISSING_CHROMIUM)
    start = time.perf_counter()
    quality = quality_counts(ledger)
    c = content(ledger, sel, settings, boundaries, quality, duban)
    document = build_html(ledger, sel, settings, boundaries, quality, c=c)
    pptx = build_pptx(ledger, sel, settings, boundaries, c=c) if with_pptx else None
    pdf = print_pdf(document)
    return Pack(pdf, pptx, pdf_pages(pdf), time.perf_counter() - start)
