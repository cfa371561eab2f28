"""The briefing pack for a joint meeting: an A4 landscape PDF (and a PPTX) from the same numbers and figures.

HTML pages laid out here, charts from `figures` exported with kaleido (Debian's chromium, MathJax off), the
whole printed to PDF with headless chromium. Names appear surname-only (briefing mode); no ID numbers or
phones ever reach the pack.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import figures, labels, metrics, privacy, schema
from .ingest import Ledger
from .settings import Settings

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
MISSING_CHROMIUM = (
    "生成汇报材料需要 Chromium 浏览器和中文字体。请以管理员身份运行："
    "apt-get install -y chromium fonts-noto-cjk（或重新运行 ./run.sh，会自动安装）。"
)


class PackError(Exception):
    """The pack could not be made; the message is Chinese."""


def chromium_path() -> str | None:
    """Debian's chromium, if installed."""
    for c in CHROMIUM_CANDIDATES:
        if Path(c).exists():
            return c
    return shutil.which("chromium")


@dataclass(frozen=True)
class Pack:
    """A generated pack: the PDF bytes, its page count and how long it took."""

    pdf: bytes
    pptx: bytes | None
    pages: int
    seconds: float


def _png(fig, width: int = 1400, height: int = 560) -> str:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "kopts ignored if using a server": the server has them
        data = fig.to_image(format="png", width=width, height=height, scale=1)
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _table(frame: pd.DataFrame, max_rows: int = 18) -> str:
    shown = labels.for_display(frame.head(max_rows))
    body = shown.to_html(index=False, escape=True, border=0, classes="t", na_rep="—")
    more = (
        f"<p class='note'>另有 {len(frame) - max_rows} 行未列出，见看板。</p>"
        if len(frame) > max_rows
        else ""
    )
    return body + more


def _page(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


CSS = """
@page { size: A4 landscape; margin: 12mm 14mm; }
body { font-family: 'Noto Sans CJK SC', 'Source Han Sans SC', sans-serif; color: #212529; margin: 0; }
section { page-break-after: always; height: 182mm; overflow: hidden; position: relative; }
section:last-child { page-break-after: auto; }
h1 { font-size: 30pt; margin: 38mm 0 8mm; } h2 { font-size: 18pt; margin: 0 0 4mm; border-bottom: 2px solid #d9480f; }
.cover p { font-size: 14pt; margin: 2mm 0; } .note { font-size: 9pt; color: #495057; }
.kpis { display: flex; flex-wrap: wrap; gap: 5mm; } .kpi { border: 1px solid #dee2e6; border-radius: 3mm;
  padding: 4mm 6mm; width: 70mm; } .kpi b { display: block; font-size: 26pt; } .kpi span { font-size: 11pt; }
.red { color: #c2255c; } .ok { color: #2b8a3e; }
table.t { border-collapse: collapse; font-size: 10pt; margin-bottom: 3mm; }
table.t th, table.t td { border: 1px solid #adb5bd; padding: 1.2mm 2.5mm; text-align: left; }
table.t th { background: #dbe4f0; } .row { display: flex; gap: 6mm; } .row > div { flex: 1; }
img { max-width: 100%; }
footer { position: absolute; bottom: 0; font-size: 8pt; color: #868e96; }
"""


def build_html(
    ledger: Ledger,
    sel: metrics.Selection,
    settings: Settings,
    boundaries: dict | None,
    quality: dict | None = None,
    duban: pd.DataFrame | None = None,
) -> str:
    """The pack as one HTML document of eight A4 landscape pages (a ninth, after the cover, with the 督办 items
    and their status when `duban` — records.workflows.duban_brief — has any)."""
    as_of = pd.Timestamp(sel.as_of)
    cases = metrics.select_cases(ledger.cases, sel)
    district = ledger.meta.get("district") or settings.district or ""
    dates = [d for d in ledger.report_dates if d <= as_of] or [as_of]
    kpi = metrics.summary(cases, ledger.schools, dates, as_of, settings.targets, sel.townships, sel.schools)
    trend = metrics.trend(cases, dates)
    schools = metrics.schools_table(cases, as_of, mode="briefing")
    towns = metrics.townships_table(cases, ledger.schools, as_of)
    status = metrics.followup_status(cases, ledger.followups, as_of, settings.overdue_days)
    special = metrics.select_special(ledger.special_ed, sel)
    sp = metrics.special_ed_summary(special)
    villages, missing = metrics.village_table(status, ledger.villages)
    stamp = ledger.meta.get("stat_date") or ledger.meta.get("mtime", "")[:10]
    foot = f"<footer>{html.escape(district)}控辍保学汇报材料 · {metrics.cn_date(as_of)} · 姓名已脱敏</footer>"

    pages = [
        "<section class='cover'>"
        f"<h1>{html.escape(district)}控辍保学工作情况汇报</h1>"
        f"<p>统计日期：{metrics.cn_date(as_of)}</p><p>范围：{html.escape(sel.describe())}</p>"
        f"<p>数据：{html.escape(ledger.meta.get('source_name', ''))}（统计日期 {html.escape(stamp)}）</p>"
        f"<p>生成时间：{dt.datetime.now():%Y年%m月%d日 %H:%M}</p>{foot}</section>"
    ]
    if duban is not None and len(duban):
        pages.append(_page("上次会议督办事项落实情况", _table(duban, max_rows=14) + foot))
    change = "—" if kpi["change"] is None else f"{kpi['change']:+d}"
    red = "red" if kpi["open_poor"] > 0 else "ok"
    rate_boxes = "".join(
        f"<div class='kpi'><span>{r.label}（目标{'≤' if r.kind == 'max' else '≥'}{r.target}%）</span>"
        f"<b class='{'ok' if r.met else 'red'}'>{'—' if r.value is None else f'{r.value:.3f}%'}</b>"
        f"<span>{'达标' if r.met else ('未达标' if r.met is False else html.escape(r.note))}</span></div>"
        for r in kpi["rates"]
        if r.key != "poor_open"
    )
    pages.append(
        _page(
            "一、关键指标",
            (
                "<div class='kpis'>"
                f"<div class='kpi'><span>在册辍学人数</span><b>{kpi['open']}</b><span>较上一统计日 {change}</span></div>"
                f"<div class='kpi'><span>累计劝返人数</span><b>{kpi['returned_total']}</b><span>返校复学＋进入职业学校</span></div>"
                f"<div class='kpi'><span>建档立卡在册（红线）</span><b class='{red}'>{kpi['open_poor']}</b>"
                f"<span>{'红线预警' if kpi['open_poor'] else '红线守住'}</span></div>{rate_boxes}</div>"
            )
            + foot,
        )
    )
    pages.append(
        _page(
            "二、劝返进度（表一）",
            (
                f"<div class='row'><div>{_table(trend, 12)}</div></div>"
                f"<img src='{_png(figures.trend_chart(trend, height=480), 1400, 480)}'>"
                f"<p class='note'>{html.escape(metrics.counting_rule())}</p>"
            )
            + foot,
        )
    )
    school_chart = figures.bar_chart(schools, "school", "open", height=480) if len(schools) else None
    pages.append(
        _page(
            f"三、未返校学生分校统计（表二，共 {int(schools['open'].sum()) if len(schools) else 0} 人）",
            (
                f"<div class='row'><div>{_table(schools[['school', 'township', 'open', 'open_poor', 'names']], 16)}</div>"
                + (f"<div><img src='{_png(school_chart, 700, 520)}'></div>" if school_chart else "")
                + "</div>"
            )
            + foot,
        )
    )
    overdue = status[status["overdue"]]
    notice = status[status["step"].isin(["notice", "administrative", "judicial"])]
    by_town = pd.DataFrame(
        {
            "township": towns["township"],
            "open": towns["open"],
        }
    ).merge(overdue.groupby("township").size().rename("overdue").reset_index(), how="left", on="township")
    by_town["overdue"] = by_town["overdue"].fillna(0).astype(int)
    by_town = by_town[by_town["open"] > 0]
    owners = metrics.owners_table(status, "gov")
    pages.append(
        _page(
            "四、超期与限期复学通知书、司法督促个案",
            (
                f"<p>超期个案 {len(overdue)} 人（超过 {settings.overdue_days} 天未跟进或通知书到期），"
                f"处于限期复学通知书及以上环节 {len(notice)} 人。</p>"
                f"<div class='row'><div><b>按乡镇</b>{_table(by_town, 12)}</div>"
                f"<div><b>按政府线责任人</b>{_table(owners, 12)}</div>"
                f"<div><b>按环节</b>{_table(metrics.ladder_counts(status)[['label', 'open', 'overdue']], 8)}</div></div>"
            )
            + foot,
        )
    )
    unplaced = pd.DataFrame(
        {"unplaced_reason": list(sp["unplaced_reasons"]), "count": list(sp["unplaced_reasons"].values())}
    )
    placements = pd.DataFrame(
        {"placement": list(schema.PLACEMENTS.values()), "count": [sp[k] for k in schema.PLACEMENTS]}
    )
    pages.append(
        _page(
            f"五、残疾儿童少年安置（共 {sp['total']} 人）",
            (
                f"<div class='row'><div>{_table(placements, 8)}"
                f"<p>送教上门 {sp['home_teaching']} 人，其中建档立卡家庭 {sp['home_teaching_poor']} 人"
                + (f"，累计送教 {sp['home_lessons']} 次" if sp["home_lessons"] is not None else "")
                + "。</p>"
                f"<b>未入学/未安置原因</b>{_table(unplaced, 10)}</div>"
                f"<div><img src='{_png(figures.placements_chart(sp, height=460), 760, 460)}'></div></div>"
            )
            + foot,
        )
    )
    map_img = _png(figures.static_map(villages, boundaries, height=620), 1200, 620) if len(villages) else ""
    pages.append(
        _page(
            "六、未返校学生村级分布",
            (
                (f"<img src='{map_img}' style='height:150mm'>" if map_img else "<p>没有可标注的村。</p>")
                + f"<p class='note'>圆点大小＝未返校人数；颜色：红＝有建档立卡个案，橙＝有超期个案。只标到村，不标住址。"
                f"{len(missing)} 个个案所在村缺少坐标，未画出。</p>"
            )
            + foot,
        )
    )
    q = quality or {}
    pages.append(
        _page(
            "七、口径说明与数据质量",
            (
                f"<p>{html.escape(metrics.counting_rule())}</p>"
                "<p>辍学率＝该学段在册“辍学”类个案÷该学段在校生数；巩固率＝毕业生数÷（入学年级人数＋转入－转出）；"
                "建档立卡辍学人数须为 0。</p>"
                f"<p>数据质量：读取 {q.get('rows_read', '—')} 行，载入 {q.get('rows_loaded', '—')} 行，"
                f"隔离 {q.get('rows_quarantined', '—')} 行，排除 {q.get('rows_excluded', '—')} 行；"
                f"缺少坐标的未返校个案 {len(missing)} 个。</p>"
                "<p>本材料中学生姓名只显示姓氏，不含身份证号、联系电话等个人信息，请勿翻拍外传。</p>"
            )
            + foot,
        )
    )
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>控辍保学汇报材料</title><style>{CSS}</style></head><body>{''.join(pages)}</body></html>"
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
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
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


def build_pptx(ledger: Ledger, sel: metrics.Selection, settings: Settings) -> bytes:
    """A short slide deck with the same headline figures and tables (python-pptx), names surname-only."""
    import io

    from pptx import Presentation
    from pptx.util import Pt

    as_of = pd.Timestamp(sel.as_of)
    cases = metrics.select_cases(ledger.cases, sel)
    dates = [d for d in ledger.report_dates if d <= as_of] or [as_of]
    district = ledger.meta.get("district") or settings.district or ""
    prs = Presentation()
    prs.slide_width, prs.slide_height = 12192000, 6858000
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    slide.shapes.title.text = f"{district}控辍保学工作情况汇报"
    slide.placeholders[1].text = f"统计日期：{metrics.cn_date(as_of)}\n{sel.describe()}"

    def table_slide(title: str, frame: pd.DataFrame) -> None:
        s = prs.slides.add_slide(prs.slide_layouts[5])
        s.shapes.title.text = title
        shown = labels.for_display(frame.head(15))
        rows, cols = len(shown) + 1, len(shown.columns)
        shape = s.shapes.add_table(rows, cols, 457200, 1371600, 11277600, 400000 * rows)
        for c, name in enumerate(shown.columns):
            shape.table.cell(0, c).text = str(name)
        for r, rec in enumerate(shown.itertuples(index=False), start=1):
            for c, v in enumerate(rec):
                cell = shape.table.cell(r, c)
                cell.text = "" if pd.isna(v) else str(v)
                cell.text_frame.paragraphs[0].font.size = Pt(12)

    table_slide("劝返进度（表一）", metrics.trend(cases, dates))
    table_slide(
        "未返校学生分校统计（表二）",
        metrics.schools_table(cases, as_of, mode="briefing")[
            ["school", "township", "open", "open_poor", "names"]
        ],
    )
    sp = metrics.special_ed_summary(metrics.select_special(ledger.special_ed, sel))
    table_slide(
        "残疾儿童少年安置",
        pd.DataFrame(
            {"placement": list(schema.PLACEMENTS.values()), "count": [sp[k] for k in schema.PLACEMENTS]}
        ),
    )
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
    quality = {
        k: getattr(ledger.report, k)
        for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_excluded")
    }
    import kaleido

    # one browser for every chart, MathJax off: kaleido's default would fetch MathJax from a CDN
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    try:
        document = build_html(ledger, sel, settings, boundaries, quality, duban)
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    pdf = print_pdf(document)
    pptx = build_pptx(ledger, sel, settings) if with_pptx else None
    return Pack(pdf, pptx, pdf_pages(pdf), time.perf_counter() - start)


assert privacy  # names reach the pack only through metrics' masked outputs (mode="briefing")
