"""The view and the frame: the shared sidebar (filters in the URL), page config, the Chinese menu, 汇报模式 and
its slide links, captions."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from kongchuo_metrics import access, metrics, schema, selection
from kongchuo_metrics.ingest import Ledger
from kongchuo_metrics.settings import Settings

from .data import _ledger_key, _options, _scoped, date_bounds, ledger_source, selected_cases
from .login import _logout_button, require_login
from .session import _audit, current_scope, settings
from .widgets import literal


@dataclass(frozen=True)
class View:
    """What a page renders from: the scoped ledger, the selection, the masking mode and the settings."""

    ledger: Ledger
    selection: metrics.Selection
    cases: pd.DataFrame  # cases matching the selection's place/stage/type filters (not yet the date)
    dates: list[pd.Timestamp]  # the ledger's own report dates up to the as-of date
    mode: str  # list | briefing | unmasked
    settings: Settings
    scope: access.Scope
    notices: tuple[str, ...] = ()  # URL parameters the sidebar could not honour, said in Chinese
    # what every result of this view depends on: ledger version and settings, scope, selection, mode
    key: tuple = ()

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.selection.as_of)

    @property
    def named(self) -> metrics.Selection:
        """The selection as titles name it: a township user's whole view is their township (Selection.named)."""
        return self.selection.named(self.ledger)


def sidebar() -> View:
    """Render the shared sidebar (filters bound to the URL) and return the view every page uses."""
    ledger_key = _ledger_key()  # one key for the whole run: the ledger, its options and every shared result
    led = _scoped(*ledger_key)
    scope = current_scope()
    # before the widgets clean them
    asked = {k: st.query_params.get_all(k) for k in ("asof", "tsp", "sch", "stage", "ctype")}
    with st.sidebar:
        st.markdown(f"**{literal(led.meta.get('district') or settings().district or '本区县')}控辍保学看板**")
        first, default_day = date_bounds(led, ledger_key)
        as_of = st.date_input(
            "统计日期",
            value=default_day,
            min_value=min(first, default_day),
            max_value=max(default_day, dt.date.today()),
            key="asof",
            bind="query-params",
            format="YYYY-MM-DD",
        )
        towns = _options(*ledger_key, None)
        townships = st.multiselect(
            "乡镇", towns, key="tsp", bind="query-params", placeholder="全部乡镇", select_all=False
        )
        school_opts = _options(*ledger_key, tuple(t for t in townships if t in towns))
        schools = st.multiselect(
            "学校", school_opts, key="sch", bind="query-params", placeholder="全部学校", select_all=False
        )
        stage = st.segmented_control(
            "学段", ["primary", "junior"], format_func=schema.STAGES.get, key="stage", bind="query-params"
        )
        types = st.multiselect(
            "类型",
            list(schema.CASE_TYPES),
            format_func=schema.CASE_TYPES.get,
            key="ctype",
            bind="query-params",
            placeholder="全部类型",
            select_all=False,
        )
        poor_only = st.toggle("仅看建档立卡", key="poor", bind="query-params")
        st.divider()
        briefing = st.toggle(
            "汇报模式",
            key="briefing",
            bind="query-params",
            help="姓名只显示姓氏、隐藏备注，放大字号，适合投屏",
        )
        unmask = False
        if briefing:
            st.session_state.pop("unmask", None)  # entering 汇报模式 turns full names off for good
        if scope.can_unmask and not briefing:
            unmask = st.toggle("显示完整姓名（将记入审计）", key="unmask")
        st.caption(
            f"当前用户：{literal(scope.user or '未登录')}（{access.ROLES.get(scope.role, '无角色')}，"
            f"{literal(scope.describe())}）"
        )
        _logout_button()
    sel = metrics.Selection(
        townships=tuple(t for t in townships if t in towns),
        schools=tuple(s for s in schools if s in school_opts),
        stage=stage,
        case_types=tuple(types),
        poor_only=bool(poor_only),
        as_of=as_of,
    )
    mode = "briefing" if briefing else ("unmasked" if unmask else "list")
    if mode == "unmasked" and not st.session_state.get("_unmask_logged"):
        _audit("unmask", filters=sel.describe())
        st.session_state["_unmask_logged"] = True
    if mode != "unmasked":
        st.session_state["_unmask_logged"] = False
    cases = selected_cases(led, ledger_key, sel)
    dates = sel.dates_upto(led.report_dates)
    notices = selection.dropped_params(
        asked, towns, school_opts, min(first, default_day), max(default_day, dt.date.today())
    ) + selection.after_filled(as_of, default_day)
    view = View(led, sel, cases, dates, mode, settings(), scope, notices, (ledger_key, sel, mode))
    return view


# Query parameters the frame's sidebar owns (bound to its widgets); the slide buttons carry exactly these.
FRAME_PARAMS = ("asof", "tsp", "sch", "stage", "ctype", "poor", "briefing")


# The view of the run in progress. Streamlit runs a session's script on its script thread, so a thread-local
# holds it for exactly this run; `run_app` clears it when the run ends however it ends.
_RUN = threading.local()


def briefing_requested() -> bool:
    """True when the URL asks for 汇报模式 (read before the sidebar's toggle exists, for the page config)."""
    return str(st.query_params.get("briefing", "")).lower() in ("true", "1")


def pages() -> list:
    """The dashboard's pages as st.Page objects, in menu order (the registry is labels.PAGES)."""
    from kongchuo_metrics.labels import PAGES

    return [
        st.Page(script, title=title, url_path=url, icon=icon, default=i == 0)
        for i, (script, title, url, icon, _) in enumerate(PAGES)
    ]


def slides(all_pages: list) -> list:
    """The pages 汇报模式 steps through (the import page is left out)."""
    from kongchuo_metrics.labels import PAGES

    in_slides = {title for _, title, _, _, slide in PAGES if slide}  # the default page's url_path is ""
    return [p for p in all_pages if p.title in in_slides]


def frame():
    """Everything around a page: page config, login, the Chinese menu, the shared sidebar and 汇报模式.

    One page mechanism, public API only. Streamlit starts a server whose entry script has a pages/ folder
    beside it in its old folder mode, and a first visit straight to /followup then runs pages/followup.py
    alone; that run reaches `current_view()`, which runs this same frame from inside the page. Calling
    st.navigation (public) ends folder mode for the server, so every later run goes through app.py. The menu
    is hidden (position="hidden") until the login has passed: the login page never shows a file-name menu.
    AppTest starts every run in folder mode, so it runs this very path on every page.

    Returns the current st.Page and the view, which the page reads with `current_view()` until the run ends.
    """
    briefing = briefing_requested()
    st.set_page_config(
        page_title="控辍保学数据看板",
        page_icon="📚",
        layout="wide",
        initial_sidebar_state="collapsed" if briefing else "expanded",
    )
    all_pages = pages()
    st.navigation(all_pages, position="hidden")  # no menu of any kind before the login
    require_login()
    current = st.navigation(all_pages, position="sidebar")
    view = sidebar()
    apply_presentation(view.mode == "briefing")
    if view.mode == "briefing":
        slide_buttons(slides(all_pages), current)
    _RUN.view = view
    return current, view


def run_app() -> None:
    """The whole app for one run: the frame, then the page the URL names (app.py is this call)."""
    from . import results

    # a new visitor's browser builds the page for a while after this run: the warming waits longer for it
    visitor = "kc_visited" not in st.session_state
    st.session_state["kc_visited"] = True
    results.run_started()
    try:
        page, view = frame()
        page.run()
    finally:
        results.run_ended(new_visitor=visitor)
        _RUN.view = None  # no Streamlit call here: during st.stop even session_state access raises
    results.warm(view, _options(*view.key[0], None))


def current_view() -> View:
    """The view the frame built for this run.

    When Streamlit ran the page file alone (folder mode, see `frame`), the whole app runs here instead, the
    page again inside it exactly as app.py runs it, and this bare run of the page ends.
    """
    view = getattr(_RUN, "view", None)
    if view is not None:
        return view
    run_app()
    st.stop()


def caption(view: View, rule: bool = True) -> None:
    """The line under every page title: filters in words (with the one 统计日期) and the ledger file; the
    counting rule in a fold unless the page states it under its chart (`rule=False`): once per page."""
    _, warning = ledger_source()
    if warning:
        st.warning(literal(warning))
    for notice in view.notices:
        st.warning(literal(notice))
    shown = view.named  # a township user's 全部 is their own townships
    st.caption(f"{literal(shown.describe())}　｜　{ledger_line(view)}")
    accepted = view.ledger.report.accepted_blocking
    if accepted:
        st.caption(
            f"⚠ 导入时已确认接受 {len(accepted)} 个会影响统计的问题："
            + "；".join(literal(b.message) for b in accepted)
        )
    if rule:
        with st.expander("统计口径", expanded=False):
            st.caption(metrics.counting_rule())


def ledger_line(view: View) -> str:
    """数据：version, file（填报时间 date）: the ledger's own date is named 填报时间, never a second 统计日期."""
    meta = view.ledger.meta
    stamp = meta.get("stat_date")
    version = f"版本 {meta['version']}，" if meta.get("version") else ""
    names = literal(meta.get("source_name", ""))
    towns = meta.get("submissions") or {}
    if len({v.get("file") for v in towns.values() if v.get("file")}) > 1:  # merged from several imports
        latest = f"，最新填报时间 {stamp}" if stamp else ""
        return f"数据：{version}{len(towns)} 个乡镇的台账汇总（最近导入 {names}{latest}）"
    filled = f"填报时间 {stamp}" if stamp else f"台账未写填报时间，文件日期 {meta.get('mtime', '')[:10]}"
    return f"数据：{version}{names}（{filled}）"


# 汇报模式 type, for the back of the room: the KPI number at 2.2x its label (the metric value is itself a
# markdown block, so the value rule is the more specific one). Each card is a size container and both sizes
# shrink with its width in the same ratio, so six cards still fit when the sidebar is opened by hand at 1280
# px. Tables zoomed, headings and padding tight so the
# page's key chart starts on the first screen at 1280x720. Charts get their larger fonts from figures(big=True).
BRIEFING_CSS = """<style>
html{font-size:18px}
.block-container, [data-testid='stMainBlockContainer']{padding-top:3.6rem;padding-bottom:1rem}
h1{font-size:2.1rem !important;padding:0 0 .2rem 0 !important}
h2, h3{font-size:1.5rem !important}
[data-testid='stMarkdownContainer'] p{font-size:1.15rem}
[data-testid='stMetric']{container-type:inline-size}
[data-testid='stMetricLabel'], [data-testid='stMetricLabel'] p{font-size:clamp(.8rem, 10cqi, 1.1rem) !important}
[data-testid='stMetricValue'], [data-testid='stMetricValue'] *{font-size:clamp(1.6rem, 22cqi, 2.4rem) !important;line-height:1.1}
[data-testid='stDataFrame']{zoom:1.3}
[data-testid='stCaptionContainer'], [data-testid='stCaptionContainer'] p{font-size:1rem}
[data-testid='stPageLink'] p{font-size:1.2rem;white-space:nowrap}
[data-testid='stMetricDelta'], [data-testid='stMetricDelta'] *{font-size:.8rem}
[data-testid='stMetricLabel'] *, [data-testid='stMetricDelta'] *{white-space:normal !important;overflow:visible !important;text-overflow:clip !important}
[data-testid='stMetricDelta']{height:auto !important}
</style>"""


def apply_presentation(briefing: bool) -> None:
    """Larger type for the projector in 汇报模式."""
    if briefing:
        st.html(BRIEFING_CSS)


def slide_buttons(slide_pages: list, current) -> None:
    """上一页 / 下一页 links that step through the pages like slides (汇报模式), keeping every filter.

    Links (st.page_link), as the menu is, not buttons calling st.switch_page: st.switch_page clears the query
    string, which Streamlit refuses while the filters are bound to it. The sidebar's widgets keep their values
    across pages and write them back to the URL, so the township filter and 汇报模式 stay on.
    """
    titles = [p.title for p in slide_pages]
    if current.title not in titles:
        st.caption("本页不在汇报页序中。")
        st.page_link(slide_pages[0], label=f"回到第一页：{slide_pages[0].title}")
        return
    i = titles.index(current.title)
    left, mid, right = st.columns([3, 2, 3], vertical_alignment="center")
    if i > 0:
        prev = slide_pages[i - 1]
        left.page_link(prev, label=f"上一页：{prev.title}", icon="◀")
    mid.caption(f"第 {i + 1} / {len(slide_pages)} 页")
    if i < len(slide_pages) - 1:
        nxt = slide_pages[i + 1]
        with right:
            with st.container(horizontal=True, horizontal_alignment="right"):
                st.page_link(nxt, label=f"下一页：{nxt.title}", icon="▶", icon_position="right")
