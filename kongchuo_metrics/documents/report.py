"""The Word report of a selection at a date: 情况通报 (to the townships), 工作总结 (to the government), 简报 (one page).

Sections in the genre's order — 一、基本情况 (figures as sentences with 环比/同比, 表一, 表二 with 合计, special-ed
placements, charts with captions), 二、主要做法 (highlighted placeholders for the author), 三、存在的问题 (from the
data: townships over target, overdue cases by step, open 建档立卡 cases, schools not reporting), 四、下一步工作
(placeholders), then 发文机关, 成文日期 and a 附注 with 数据截至 and the counting rule. The figures are
`compare.headline`, the same as the overview's. Names are surname-only (briefing mode); a county admin may add
the full-name annex (the caller audits it). No ID number, birth date or phone is ever written.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import pandas as pd

from .. import chart_images, compare, figures, metrics, privacy, reporting, schema
from ..ingest import Ledger
from ..labels import REPORT_KINDS
from ..ranking import previous_words
from ..settings import Settings
from . import layout as L
from .papers import Papers, papers

KINDS = REPORT_KINDS
ANNEX_ROWS = 3000  # a name list longer than this belongs in the dashboard, not on paper
REPORTING_DAYS = 30  # schools report monthly: no entry or visit for longer than this is "not reporting"


class ReportError(Exception):
    """The report cannot be made (unknown kind, empty selection); the message is Chinese."""


@dataclass(frozen=True)
class Report:
    """A generated report: the .docx bytes, its kind, whether the full-name annex is in it, the headline used."""

    docx: bytes
    kind: str
    annex: bool
    headline: compare.Headline
    seconds: float

    def file_name(self, selection: metrics.Selection) -> str:
        return f"控辍保学{KINDS[self.kind]}_{selection.slug()}.docx"


# --- the facts the text is built from ------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """Everything the report writes, computed once: the headline, tables (English columns) and problem lists."""

    head: compare.Headline
    district: str
    trend: pd.DataFrame  # 表一 with open_last_year
    schools: pd.DataFrame  # 表二 with change columns, names surname-only
    towns: (
        pd.DataFrame
    )  # per township: open, change_prev, change_last_year, returned_total, overdue, open_poor
    status: pd.DataFrame  # open cases with steps and overdue flags
    ladder: pd.DataFrame
    special: dict
    over_target: list[tuple[str, int, int]]  # township, open dropouts, ceiling
    silent_schools: list[tuple[str, int, int]]  # school, open, days since last entry or visit
    not_reported: str = ""  # townships whose report of this period is missing (reporting calendar)
    named: metrics.Selection = metrics.Selection()  # the selection as the text names it (Selection.named)


# the case columns the report reads: filtering a million rows moves every column, so carry only these
CASE_COLUMNS = metrics.FIGURE_COLUMNS


def facts(ledger: Ledger, sel: metrics.Selection, settings: Settings) -> Facts:
    """The report's facts for a selection (its as_of must be set)."""
    import dataclasses

    ledger = dataclasses.replace(ledger, cases=metrics.figure_columns(ledger.cases))
    as_of = pd.Timestamp(sel.as_of)
    cases = metrics.select_cases(ledger.cases, sel)
    status = metrics.followup_status(cases, ledger.followups, as_of, settings.overdue_days)
    head = compare.headline(ledger, sel, settings, status=status, cases=cases)
    c = head.comparison
    dates = sel.dates_upto(ledger.report_dates)
    start = compare.history_start(ledger.cases)
    trend = metrics.trend(cases, dates).merge(
        compare.last_year_line(cases, dates, start), on="date", how="left"
    )

    table2 = compare.school_changes(cases, as_of, c, mode="briefing")
    towns = compare.township_changes(cases, ledger.schools, as_of, c)
    overdue = status[status["overdue"]].groupby("township").size()
    notice_due = (
        status[status["overdue_reason"].str.contains("通知书", regex=False)].groupby("township").size()
    )
    towns["overdue"] = towns["township"].map(overdue).fillna(0).astype("int64")
    towns["notice_due"] = towns["township"].map(notice_due).fillna(0).astype("int64")
    towns = towns[(towns["open"] > 0) | (towns["change_prev"] != "0") | (towns["overdue"] > 0)]

    over = []
    for t, n in zip(towns["township"], towns["open_dropout"], strict=True):
        ceiling = metrics.target_ceiling(
            ledger.schools, settings.targets, dataclasses.replace(sel, townships=(t,))
        )
        if ceiling is not None and n > ceiling:
            over.append((t, int(n), int(ceiling)))

    last_visit = status.groupby("school")["last_visit"].max()
    entry = table2.set_index("school")["latest_entry"]
    latest = pd.concat([entry, last_visit.reindex(entry.index)], axis=1).max(axis=1)
    days = (as_of - latest).dt.days
    silent = [
        (s, int(table2.set_index("school").loc[s, "open"]), int(d))
        for s, d in days.items()
        if pd.notna(d) and d > REPORTING_DAYS
    ]
    return Facts(
        head=head,
        district=ledger.meta.get("district") or settings.district or "",
        trend=trend,
        schools=table2,
        towns=towns.reset_index(drop=True),
        status=status,
        ladder=metrics.ladder_counts(status),
        special=privacy.published_special(
            metrics.special_ed_summary(metrics.select_special(ledger.special_ed, sel)),
            privacy.finer_than_county(ledger, sel),
        ),
        over_target=over,
        silent_schools=sorted(silent, key=lambda x: -x[2]),
        not_reported=reporting.not_reported_words(
            reporting.for_ledger(
                ledger, settings.weekly_day, settings.monthly_day, as_of.date(), sel.townships
            )
        ),
        named=sel.named(ledger),
    )


# --- sentences -----------------------------------------------------------------------------------------------


def _pct(value: float | None, digits: int) -> str:
    return "无法计算" if value is None else f"{value:.{digits}f}%"


def rate_sentence(rates) -> str:
    """初中辍学率0.089%，控制在1.5%以内；… as one sentence ('' when nothing can be computed)."""
    parts = []
    for r in rates:
        if r.key == "poor_open" or r.value is None:
            continue
        digits = 3 if r.kind == "max" else 2
        if r.kind == "max":
            verdict = f"控制在{r.target:g}%以内" if r.met else f"超出{r.target:g}%的控制目标"
        else:
            verdict = f"达到{r.target:g}%的目标" if r.met else f"低于{r.target:g}%的目标"
        parts.append(f"{r.label}{_pct(r.value, digits)}，{verdict}")
    return ("；".join(parts) + "。") if parts else ""


def special_sentence(sp: dict, place: str) -> str:
    """The special-education placements as one sentence."""
    if not sp["total"]:
        return ""
    lessons = f"，累计送教{sp['home_lessons']}次" if sp.get("home_lessons") else ""
    return (
        f"{place}6—15周岁残疾儿童少年{sp['total']}人，其中随班就读{sp['mainstream']}人、"
        f"特殊教育学校就读{sp['special_school']}人、送教上门{sp['home_teaching']}人"
        f"（建档立卡家庭{sp['home_teaching_poor']}人{lessons}）、办理免学{sp['exempt']}人，"
        f"未入学（未安置）{sp['unplaced']}人。"
    )


def problems(f: Facts, overdue_days: int) -> list[str]:
    """三、存在的问题 from the data, one paragraph each; an item that does not occur is left out."""
    out = []
    if f.over_target:
        towns = "、".join(f"{t}（在册辍学{n}人，目标上限{c}人）" for t, n, c in f.over_target)
        out.append(f"部分乡镇辍学人数超出控制目标。{towns}，须制定专项措施，限期压降。")
    overdue = int(f.status["overdue"].sum())
    if overdue:
        steps = "、".join(
            f"{row.label}环节{int(row.overdue)}人" for row in f.ladder.itertuples() if row.overdue > 0
        )
        due = int(f.status["overdue_reason"].str.contains("通知书", regex=False).sum())
        out.append(
            f"部分个案跟进不及时。{f.head.place}在册学生中有{overdue}人超期（超过{overdue_days}天未跟进或限期复学通知书到期），"
            f"其中{steps}"
            + (f"；限期复学通知书已到期仍未返校{due}人，应及时启动行政督促或司法督促程序" if due else "")
            + "。"
        )
    if f.head.open_poor:
        towns = f.towns[f.towns["open_poor"] > 0]
        where = "、".join(
            f"{t}{privacy.SUPPRESSED if 0 < n < 5 else n}人"
            for t, n in zip(towns["township"], towns["open_poor"], strict=True)
        )
        out.append(
            f"建档立卡家庭学生辍学尚未清零。仍有{f.head.open_poor}人未返校（{where}），触碰红线，须逐人落实帮扶和劝返措施。"
        )
    if f.silent_schools:
        names = "、".join(f"{s}（{d}天）" for s, _, d in f.silent_schools[:8])
        more = f"等{len(f.silent_schools)}所学校" if len(f.silent_schools) > 8 else ""
        out.append(
            f"个别学校台账更新不及时。{names}{more}有未返校学生，但超过{REPORTING_DAYS}天没有新的登记、销号或劝返记录。"
        )
    if f.not_reported:
        out.append(f"部分乡镇未按时报送。{f.not_reported}统计数字中这些乡镇仍是上次报送的数据，须督促补报。")
    if not out:
        where = f.named.towns_word(each=True)
        out.append(f"从台账数据看，{where}在控制目标以内，无超期个案，建档立卡家庭学生辍学保持清零。")
    return out


# --- tables ----------------------------------------------------------------------------------------------------


def _n(v) -> str:
    if isinstance(v, str):  # a suppressed cell (privacy.SUPPRESSED)
        return v
    return "—" if v is None or pd.isna(v) else f"{int(v)}"


def _table_one(doc, f: Facts) -> None:
    t = f.trend
    rows = [
        [
            metrics.cn_date(d),
            _n(o),
            _n(p),
            "—" if i == 0 else _n(r),
            _n(rt),
            _n(ly),
        ]
        for i, (d, o, p, r, rt, ly) in enumerate(
            zip(
                t["date"],
                t["open"],
                t["open_poor"],
                t["returned"],
                t["returned_total"],
                t["open_last_year"],
                strict=True,
            )
        )
    ]
    total = [
        "合计",
        "—",
        "—",
        _n(t["returned"].iloc[1:].sum() if len(t) > 1 else 0),
        _n(t["returned_total"].iloc[-1]) if len(t) else "0",
        "—",
    ]
    L.caption(doc, "表一　各统计日劝返进度")
    L.table(
        doc,
        ["统计日期", "在册辍学人数", "其中建档立卡", "本期劝返", "累计劝返", "上年同期在册"],
        rows,
        widths_mm=[36, 24, 24, 22, 22, 28],
        total=total,
    )


def _table_two(doc, f: Facts) -> None:
    s = f.schools
    poor = privacy.published_poor(s)["open_poor"] if len(s) else s.get("open_poor")
    rows = [
        [str(i + 1), sc, tw, _n(o), str(p), cp, cl, names]
        for i, (sc, tw, o, p, cp, cl, names) in enumerate(
            zip(
                s["school"],
                s["township"],
                s["open"],
                poor,
                s["change_prev"],
                s["change_last_year"],
                s["names"],
                strict=True,
            )
        )
    ]
    total = ["合计", "", "", _n(s["open"].sum()), _n(s["open_poor"].sum()), "", "", ""]
    L.caption(doc, f"表二　{metrics.cn_date(f.head.as_of)}未返校学生分校统计")
    L.table(
        doc,
        ["序号", "学校", "乡镇", "未返校", "建档立卡", "较上期", "较上年同期", "未返校学生（姓氏）"],
        rows,
        widths_mm=[13, 22, 18, 14, 16, 15, 18, 40],
        total=total,
        left_columns=3,
    )


def _table_towns(doc, f: Facts, number: str) -> None:
    t = f.towns
    rows = [
        [tw, _n(o), cp, cl, _n(r), _n(od), _n(nd)]
        for tw, o, cp, cl, r, od, nd in zip(
            t["township"],
            t["open"],
            t["change_prev"],
            t["change_last_year"],
            t["returned_total"],
            t["overdue"],
            t["notice_due"],
            strict=True,
        )
    ]
    total = [
        "合计",
        _n(t["open"].sum()),
        "",
        "",
        _n(t["returned_total"].sum()),
        _n(t["overdue"].sum()),
        _n(t["notice_due"].sum()),
    ]
    L.caption(doc, f"表{number}　{f.named.towns_word()}在册与超期个案")
    L.table(
        doc,
        ["乡镇", "在册辍学", "较上期", "较上年同期", "累计劝返", "超期个案", "其中通知书到期"],
        rows,
        widths_mm=[26, 20, 20, 24, 20, 20, 26],
        total=total,
    )


def _table_special(doc, sp: dict, number: str) -> None:
    total = sp["total"] if isinstance(sp["total"], int) else 0
    rows = [
        [label, _n(sp[key]), f"{sp[key] / total * 100:.1f}%" if total and isinstance(sp[key], int) else "—"]
        for key, label in schema.PLACEMENTS.items()
    ]
    L.caption(doc, f"表{number}　残疾儿童少年入学安置情况")
    L.table(
        doc,
        ["安置方式", "人数", "占比"],
        rows,
        widths_mm=[60, 40, 40],
        total=["合计", _n(total), "100%" if total else "—"],
    )


def chart_pngs(figs: list[tuple[object, int, int]]) -> list[bytes]:
    """PNG bytes of (figure, width, height) through the process's one chart browser (MathJax off)."""
    return [chart_images.render(fig, "png", w, h, scale=2) for fig, w, h in figs]


def _charts(doc, f: Facts, first: int) -> int:
    figs = [
        (figures.trend_chart(f.trend, height=420, last_year=f.trend[["date", "open_last_year"]]), 900, 420)
    ]
    if int(f.ladder["open"].sum()):
        figs.append((figures.ladder_chart(f.ladder), 900, 360))
    pngs = chart_pngs(figs)
    L.picture(doc, pngs[0], width_mm=150)
    L.caption(doc, f"图{first}　在册辍学人数与每期劝返人数（虚线为上年同期在册）")
    if len(pngs) > 1:
        L.picture(doc, pngs[1], width_mm=140)
        L.caption(doc, f"图{first + 1}　未返校学生所处劝返环节（含超期人数）")
    return first + len(pngs)


def _annex(doc, f: Facts, ledger: Ledger, sel: metrics.Selection) -> None:
    """附件：未返校学生名单 with full names (county admin only; the caller has checked and audits it)."""
    L.page_break(doc)
    from docx.shared import Pt

    L.heading(doc, "附件", 1).paragraph_format.first_line_indent = Pt(0)
    L.title(doc, f"{metrics.cn_date(f.head.as_of)}未返校学生名单")
    s = f.status.sort_values(["township", "school", "registered"])
    more = len(s) - ANNEX_ROWS
    s = s.head(ANNEX_ROWS)
    person = r"[（(].*$"
    rows = [
        [str(i + 1), nm, tw, sc, schema.STEPS.get(st, st), rg.strftime("%Y-%m-%d"), _n(od), go, eo]
        for i, (nm, tw, sc, st, rg, od, go, eo) in enumerate(
            zip(
                s["name"],
                s["township"].fillna(""),
                s["school"].fillna(""),
                s["step"],
                s["registered"],
                s["open_days"],
                s["gov_owner"].fillna("").str.replace(person, "", regex=True),
                s["edu_owner"].fillna("").str.replace(person, "", regex=True),
                strict=True,
            )
        )
    ]
    L.table(
        doc,
        ["序号", "姓名", "乡镇", "学校", "所处环节", "辍学日期", "天数", "政府线", "教育线"],
        rows,
        widths_mm=[9, 15, 16, 18, 27, 23, 10, 19, 19],
        left_columns=4,
        font_pt=10.5,
    )
    if more > 0:
        L.paragraph(doc, f"另有{more}人未列出，请在看板个案跟踪页查看。")
    L.paragraph(doc, "本附件含学生完整姓名，仅供区县教育局留存，不得外传、翻拍或公开张贴。", indent=True)


# --- the document ------------------------------------------------------------------------------------------------


def _document_date(settings: Settings) -> dt.date:
    try:
        return dt.date.fromisoformat(settings.document_date) if settings.document_date else dt.date.today()
    except ValueError:
        return dt.date.today()


def _note(doc, f: Facts, sel: metrics.Selection) -> None:
    note = (
        f"（数据截至{metrics.cn_date(f.head.as_of)}，范围：{sel.describe()}。{metrics.counting_rule()}"
        "学生姓名只显示姓氏。）"
    )
    L.paragraph(doc, note)


def _school_year(day: pd.Timestamp) -> str:
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}—{start + 1}学年"


def build(
    ledger: Ledger,
    sel: metrics.Selection,
    settings: Settings,
    kind: str = "通报",
    annex: bool = False,
    duban: pd.DataFrame | None = None,
    ranking: pd.DataFrame | None = None,
) -> Report:
    """The Word report of `kind` (通报/总结/简报) for the selection at sel.as_of; `annex` adds full names;
    `duban` (records.workflows.duban_brief) opens a 通报/总结 with the 督办 items and their status; `ranking`
    (ranking.display_table) adds the township 考核 ranking after the township table of a county-wide report."""
    started = time.perf_counter()
    if kind not in KINDS:
        raise ReportError(f"未知的材料类型“{kind}”，可选：{'、'.join(KINDS)}")
    if sel.as_of is None:
        raise ReportError("请指定统计日期。")
    if metrics.select_cases(metrics.figure_columns(ledger.cases), sel).empty:
        raise ReportError("所选范围内没有个案，无法生成材料。")
    if kind != "简报":
        chart_images.start()  # the chart browser starts up while the figures are computed
    return _build(ledger, sel, settings, kind, annex, duban, ranking, started)


def _build(ledger, sel, settings, kind, annex, duban, ranking, started) -> Report:
    f = facts(ledger, sel, settings)
    h, c = f.head, f.head.comparison
    place = h.place
    paper = papers(ledger, f.district, settings.issuer)
    named = f.named  # a township user's report is about the township, never the county
    region = f.district if not (named.townships or named.schools) else place
    doc = L.new_document()
    if kind == "简报":
        _brief(doc, f, sel, settings, paper, region)
    else:
        if kind == "通报":
            L.title(doc, f"关于{region}控辍保学工作进展情况的通报")
            L.paragraph(doc, paper.notice_to, indent=False)
            L.paragraph(
                doc,
                f"现将截至{metrics.cn_date(h.as_of)}{region}控辍保学工作进展情况通报如下。",
            )
        else:
            L.title(doc, f"{region}{_school_year(h.as_of)}控辍保学工作总结")
            L.paragraph(doc, paper.summary_to, indent=False)
            L.paragraph(
                doc,
                f"{_school_year(h.as_of)}以来，{paper.working_with}认真落实控辍保学工作责任，现将工作情况总结如下。",
            )
        if duban is not None and len(duban):
            _duban_items(doc, duban)
        L.heading(doc, "一、基本情况", 1)
        L.heading(doc, "（一）辍学与劝返", 2)
        for s in compare.sentences(c, place):
            L.paragraph(doc, s)
        rate = rate_sentence(h.rates)
        if rate:
            L.paragraph(doc, rate)
        _table_one(doc, f)
        _charts(doc, f, 1)
        L.heading(doc, "（二）未返校学生分布", 2)
        L.paragraph(
            doc,
            f"截至{metrics.cn_date(h.as_of)}，未返校学生{int(f.schools['open'].sum())}人，分布在{len(f.schools)}所学校（见表二）。",
        )
        if len(f.schools):
            _table_two(doc, f)
        _table_towns(doc, f, "三")
        if (
            ranking is not None and len(ranking) and not (named.townships or named.schools)
        ):  # the county's papers
            _ranking(doc, ranking)
        if f.special["total"]:
            L.heading(doc, "（三）残疾儿童少年入学安置", 2)
            L.paragraph(doc, special_sentence(f.special, place))
            _table_special(doc, f.special, "四")
        L.heading(doc, "二、主要做法", 1)
        for lead, hint in (
            ("（一）压实双线责任。", "政府线、教育线责任人包保落实情况，联席会议召开情况"),
            ("（二）精准劝返复学。", "家访、限期复学通知书、行政督促和司法督促的开展情况与典型做法"),
            ("（三）强化保障措施。", "资助、送教上门、学业补偿和职业教育分流的落实情况"),
        ):
            L.heading(doc, lead, 2)
            L.placeholder(doc, hint)
        L.heading(doc, "三、存在的问题", 1)
        for i, p in enumerate(problems(f, settings.overdue_days)):
            L.paragraph(doc, f"{'一二三四五六'[i]}是{p}")
        L.heading(doc, "四、下一步工作", 1)
        L.placeholder(doc, "针对上述问题的整改措施、时限和责任单位", lead="（一）")
        if int(f.status["overdue"].sum()):
            L.placeholder(
                doc,
                f"对{int(f.status['overdue'].sum())}名超期个案逐人跟进的安排",
                lead="（二）",
            )
        L.placeholder(
            doc,
            "秋季学期开学前后的排查和动态销号安排",
            lead="（三）" if int(f.status["overdue"].sum()) else "（二）",
        )
        L.signature(doc, paper.issuer, metrics.cn_date(_document_date(settings)))
        _note(doc, f, named)  # a township user's 范围 is their township
    if annex:
        _annex(doc, f, ledger, sel)
    return Report(L.to_bytes(doc), kind, annex, h, time.perf_counter() - started)


def _ranking(doc, shown: pd.DataFrame) -> None:
    """乡镇考核排名: who is first and last (末位, 一票否决 named), then rank, township, points and flags."""
    first = "、".join(shown.loc[shown["名次"] == 1, "乡镇"])
    last = "、".join(shown.loc[shown["末位"] == "末位", "乡镇"])
    veto = "、".join(shown.loc[shown["一票否决"] == "否决", "乡镇"])
    L.paragraph(
        doc,
        f"按考核评分规则，{first}排名第一，{last}居末位"
        + (f"；{veto}有建档立卡（脱贫户）学生未返校，一票否决。" if veto else "。")
        + previous_words(shown),
    )
    cols = [
        "名次",
        "乡镇",
        "辍学率扣分",
        "劝返率加分",
        "超期个案扣分",
        "督办反馈扣分",
        "总分",
        "较上期",
        "一票否决",
        "末位",
    ]
    L.caption(doc, "乡镇控辍保学工作考核排名")
    L.table(doc, cols, shown[cols].astype("str").values.tolist(), left_columns=(1,), font_pt=10.5)


def _duban_items(doc, items: pd.DataFrame) -> None:
    """上次联席会议督办事项的落实情况: one sentence with the counts, then the items with their status."""
    done = int((items["状态"] == "已办结").sum())
    late = int((items["超时"] != "否").sum())
    L.paragraph(
        doc,
        f"上次联席会议交办的督办事项共{len(items)}件，已办结{done}件，"
        + (f"超时未办结{late}件（见督办事项表）。" if late else "均在时限内办理（见督办事项表）。"),
    )
    L.caption(doc, "督办事项落实情况")
    L.table(doc, list(items.columns), items.astype("str").values.tolist(), left_columns=(0, 2), font_pt=10.5)


def _brief(doc, f: Facts, sel, settings: Settings, paper: Papers, region: str) -> None:
    """简报: 报头 (name, 期号, 编发单位 and date over a red rule), one article, 报送 line; one page."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    h, c = f.head, f.head.comparison
    head = doc.add_paragraph("控辍保学工作简报", style="Title")
    head.runs[0].font.color.rgb = RGBColor(0xC0, 0, 0)
    head.runs[0].font.size = Pt(30)
    head.paragraph_format.line_spacing = Pt(L.LINE_PITCH_PT * 1.6)
    issue = L.placeholder(doc, "期号", lead="第")
    issue.add_run("期")
    issue.alignment = WD_ALIGN_PARAGRAPH.CENTER
    issue.paragraph_format.first_line_indent = Pt(0)
    line = L.paragraph(doc, f"{paper.issuer}编", indent=False)
    line.add_run("\t" + metrics.cn_date(_document_date(settings)))
    line.paragraph_format.tab_stops.add_tab_stop(Pt(L.text_width_mm() / 25.4 * 72), alignment=2)
    _rule(line)
    L.title(doc, f"{region}控辍保学工作进展")
    doc.paragraphs[-1]._p.getparent().remove(doc.paragraphs[-1]._p)  # no blank line after a 简报 title
    text = "".join(compare.sentences(c, h.place)) + rate_sentence(h.rates)
    L.paragraph(doc, text)
    overdue = int(f.status["overdue"].sum())
    issues = []
    if overdue:
        issues.append(f"超期个案{overdue}人")
    if f.over_target:
        issues.append("、".join(t for t, _, _ in f.over_target) + "超出辍学控制目标")
    if f.silent_schools:
        issues.append(f"{len(f.silent_schools)}所学校超过{REPORTING_DAYS}天未更新台账")
    if issues:
        L.paragraph(doc, "当前需关注：" + "；".join(issues) + "。")
    L.placeholder(doc, "本期工作动态或典型做法（一至两句）")
    note = L.paragraph(doc, f"（数据截至{metrics.cn_date(h.as_of)}，口径见看板说明。）")
    note.runs[0].font.size = Pt(12)
    foot = L.paragraph(doc, paper.brief_foot, indent=False)
    foot.runs[0].font.size = Pt(14)
    _rule(foot, top=True)


def _rule(paragraph, top: bool = False) -> None:
    """A red rule under (or over) a paragraph, as a 简报 报头 and 版记 have."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    ppr = paragraph._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    edge = OxmlElement("w:top" if top else "w:bottom")
    edge.set(qn("w:val"), "single")
    edge.set(qn("w:sz"), "12")
    edge.set(qn("w:space"), "1")
    edge.set(qn("w:color"), "C00000")
    bdr.append(edge)
    ppr.append(bdr)
