"""The one module of shared Streamlit glue: cached loader, scope, sidebar filters, captions, downloads.

Pages import this module and `kongchuo_metrics`; they choose, call and render, nothing more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from kongchuo_metrics import access, audit, auth, exports, metrics, privacy, schema, storage
from kongchuo_metrics.ingest import Ledger, LedgerError, load_ledger
from kongchuo_metrics.records import notices, workflows
from kongchuo_metrics.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent


# Read from the environment at call time (tests and deployments point them elsewhere).
def data_dir() -> Path:
    """The shipped sample / settings folder."""
    return Path(os.environ.get("KONGCHUO_DATA", ROOT / "data"))


def store_dir() -> Path:
    """Where accepted ledgers are versioned."""
    return Path(os.environ.get("KONGCHUO_STORE", ROOT / "var" / "store"))


def users_path() -> Path:
    """The local users file (managed with `python -m kongchuo_metrics users ...`)."""
    return Path(os.environ.get("KONGCHUO_USERS", ROOT / "var" / "users.json"))


def audit_path() -> Path:
    """The append-only audit log."""
    return Path(os.environ.get("KONGCHUO_AUDIT", ROOT / "var" / "audit" / "audit.jsonl"))


EMPTY_MESSAGE = "当前筛选条件下没有个案。请调整左侧的统计日期、乡镇、学校或学段。"


# --- data ----------------------------------------------------------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner="正在读取台账…")
def _load(path: str, digest: str, coords: str) -> Ledger:
    # keyed on the file's digest: a new accepted version is a new entry, never a stale one
    return load_ledger(path, coords=coords)


@st.cache_resource(max_entries=32)
def _scoped(path: str, digest: str, coords: str, scope_key: tuple) -> Ledger:
    role, townships, schools = scope_key
    return access.scoped_ledger(_load(path, digest, coords), access.Scope("", role, townships, schools))


def _digest(path: Path) -> str:
    st_ = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{st_.st_mtime_ns}|{st_.st_size}".encode()).hexdigest()


def ledger_source() -> tuple[Path, str]:
    """The ledger file in use (the current accepted upload, else the shipped sample) and a warning."""
    version, warning = storage.current(store_dir())
    return (version.path, warning) if version else (data_dir(), warning)


def settings() -> Settings:
    """The bureau settings beside the shipped data (targets, overdue days, coordinates)."""
    return load_settings(data_dir())


def current_scope() -> access.Scope:
    """Who is looking, as set by `require_login` for this session; nobody (sees nothing) otherwise."""
    return st.session_state.get("scope") or access.NO_ACCESS


LOCAL_USER = access.Scope("本机用户", "county_admin")


LOGIN_TITLE = "控辍保学数据看板 · 登录"
# everything a login leaves in the session; ending it (logout, an unaudited login) removes all of them
_LOGIN_KEYS = ("auth", "scope", "oidc_user", "oidc_since", "_logout")


def _end_login() -> None:
    for key in _LOGIN_KEYS:
        st.session_state.pop(key, None)


def require_login() -> None:
    """Decide who is looking, or stop the page at a login form.

    No users configured: allowed only on a loopback address, as the single local user (masking stays on).
    Users configured, or any other address: a local login (scrypt, lockout, 8-hour sessions), the bureau's OIDC
    provider (st.login) or a trusted proxy header when settings.toml names one.
    """
    address = st.get_option("server.address")
    if not auth.has_users(users_path()):
        if not auth.is_loopback(address):
            st.error(
                f"拒绝启动：看板监听在 {address or '所有网卡'}，但还没有配置任何用户。局域网访问必须登录。"
                "请先用 `python -m kongchuo_metrics users add` 创建用户，或改为只在 127.0.0.1 上运行。"
            )
            st.stop()
        st.session_state["scope"] = LOCAL_USER
        st.session_state.pop("_logout", None)
        return
    cfg = settings()
    if cfg.oidc_provider:
        _oidc_login(cfg.oidc_provider, cfg.oidc_claim)
        return
    header = cfg.proxy_header
    if header:
        user = _active_user(st.context.headers.get(header))
        if user is not None:
            st.session_state["scope"] = user.scope()
            st.session_state.pop("_logout", None)
            return
    session = st.session_state.get("auth")
    if session and auth.session_valid(session["at"]):
        st.session_state["scope"] = session["user"].scope()
        st.session_state["_logout"] = "local"
        return
    st.session_state.pop("scope", None)
    st.title(LOGIN_TITLE)
    with st.form("login"):
        name = st.text_input("用户名", key="login_user")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录")
    if submitted:
        try:
            user = auth.authenticate(users_path(), name.strip(), password)
        except auth.AuthError as exc:
            audit.record(audit_path(), "login_failed", name.strip()[:40], "", "")
            st.error(str(exc))
        else:
            st.session_state["auth"] = {"user": user, "at": dt.datetime.now(dt.UTC)}
            st.session_state["scope"] = user.scope()
            _audit("login")
            st.rerun()
    st.stop()


def _active_user(name: str | None) -> auth.User | None:
    """The users-file entry of a name an outside login vouches for (OIDC claim, proxy header); None when the
    name is unknown or the account is disabled."""
    user = next((u for u in auth.list_users(users_path()) if u.name == name), None)
    return user if user is not None and not user.disabled else None


def _oidc_login(provider: str, claim: str) -> None:
    """Login through the bureau's OIDC provider (st.login); the role and scope still come from the users file.

    Streamlit keeps the identity cookie for 30 days; the bureau's 8-hour session is held against the token's
    issue time. An identity missing from the users file, or disabled there, sees nothing.
    """
    if not st.user.is_logged_in:
        st.session_state.pop("scope", None)
        st.title(LOGIN_TITLE)
        try:
            configured = "auth" in st.secrets
        except Exception:  # no secrets file at all
            configured = False
        if not configured:
            st.error(
                "settings.toml 已启用统一身份认证（oidc_provider），但 .streamlit/secrets.toml 中没有 [auth] 配置"
                "（redirect_uri、cookie_secret、client_id、client_secret、server_metadata_url），暂时无法登录。"
                "请联系系统管理员。"
            )
            st.stop()
        st.write("本看板使用单位统一身份认证登录，登录后按用户文件中的角色和范围显示数据。")
        if st.button("统一身份认证登录", key="oidc_login", type="primary"):
            st.login(None if provider == "default" else provider)
        st.stop()
    name = str(st.user.get(claim) or "")
    issued = st.user.get("iat")
    since = (
        dt.datetime.fromtimestamp(issued, dt.UTC)
        if isinstance(issued, (int, float))
        else st.session_state.setdefault("oidc_since", dt.datetime.now(dt.UTC))  # no iat claim: this session
    )
    expired = not auth.session_valid(since)
    user = _active_user(name)
    if expired or user is None:
        st.session_state.pop("scope", None)
        st.title(LOGIN_TITLE)
        if expired:
            st.warning("登录已超过 8 小时，请重新登录。")
        else:
            st.error(f"账号 {name or '（未知）'} 未在本看板登记或已停用，请联系区县管理员开通。")
        if st.button("退出并重新登录", key="oidc_logout"):
            _end_login()
            st.logout()
            st.rerun()
        st.stop()
    st.session_state["scope"] = user.scope()
    st.session_state["_logout"] = "oidc"
    if st.session_state.get("oidc_user") != name:  # one login line per session
        st.session_state["oidc_user"] = name
        _audit("login", method="oidc")


def _logout_button() -> None:
    """退出登录 in the sidebar, under the other controls, for a login this app holds (local or OIDC; not the
    loopback user, and not a proxy's header, which the proxy owns)."""
    kind = st.session_state.get("_logout")
    if kind and st.button("退出登录", key="logout"):
        _audit("logout")
        _end_login()
        if kind == "oidc":
            st.logout()
        st.rerun()  # this session shows the login page at once


def _ledger_key() -> tuple:
    path, _ = ledger_source()
    return str(path), _digest(path), settings().coords, current_scope().key()


def ledger() -> Ledger:
    """The ledger as the current scope may see it (the ONE way pages get data)."""
    return _scoped(*_ledger_key())


@st.cache_resource(max_entries=64)
def _options(path: str, digest: str, coords: str, scope_key: tuple, townships: tuple | None) -> list[str]:
    """Filter options from the scoped ledger: townships (townships=None), else the schools of those townships."""
    led = _scoped(path, digest, coords, scope_key)
    if townships is None:
        return sorted(set(led.cases["township"].dropna()) | set(led.schools["township"].dropna()))
    cases, schools = led.cases, led.schools
    if townships:
        cases, schools = (
            cases[cases["township"].isin(townships)],
            schools[schools["township"].isin(townships)],
        )
    return sorted(set(cases["school"].dropna()) | set(schools["school"].dropna()))


@st.cache_resource(max_entries=16)
def _status(
    path: str, digest: str, coords: str, scope_key: tuple, as_of: str, days: int, deliveries: str = ""
) -> pd.DataFrame:
    led = _scoped(path, digest, coords, scope_key)
    # `deliveries` changes with every 送达回证 recorded: delivered notices move the ladder and set deadlines
    delivered = (
        workflows.delivered_followups(records_engine(), access.Scope("", *scope_key), led.cases)
        if deliveries
        else None
    )
    return metrics.followup_status(led.cases, led.followups, as_of, days, delivered)


def followup_status(view: View, days: int | None = None) -> pd.DataFrame:
    """Open cases at the view's date with their ladder step and overdue state, for the view's selection.

    Computed once per ledger, scope, date and threshold for the whole scope (the follow-up log can hold
    millions of visits); a filter change then only selects rows.
    """
    path, _ = ledger_source()
    s = settings()
    full = _status(
        str(path),
        _digest(path),
        s.coords,
        current_scope().key(),
        view.as_of.isoformat(),
        int(days if days is not None else s.overdue_days),
        notices.delivery_token(records_engine()),
    )
    return metrics.select_cases(full, view.selection)


# --- filters ----------------------------------------------------------------------------------------------------


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

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.selection.as_of)


def _default_as_of(led: Ledger) -> dt.date:
    if led.report_dates:
        return max(led.report_dates).date()
    if len(led.cases):
        return metrics.data_range(led.cases)[1].date()
    return dt.date.today()


def sidebar() -> View:
    """Render the shared sidebar (filters bound to the URL) and return the view every page uses."""
    led = ledger()
    scope = current_scope()
    with st.sidebar:
        st.markdown(f"**{led.meta.get('district') or settings().district or '本区县'}控辍保学看板**")
        default_day = _default_as_of(led)
        first = (
            metrics.data_range(led.cases)[0].date()
            if len(led.cases)
            else default_day - dt.timedelta(days=365)
        )
        as_of = st.date_input(
            "统计日期",
            value=default_day,
            min_value=min(first, default_day),
            max_value=max(default_day, dt.date.today()),
            key="asof",
            bind="query-params",
            format="YYYY-MM-DD",
        )
        towns = _options(*_ledger_key(), None)
        townships = st.multiselect("乡镇", towns, key="tsp", bind="query-params", placeholder="全部乡镇")
        school_opts = _options(*_ledger_key(), tuple(t for t in townships if t in towns))
        schools = st.multiselect("学校", school_opts, key="sch", bind="query-params", placeholder="全部学校")
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
        if scope.can_unmask and not briefing:
            unmask = st.toggle("显示完整姓名（将记入审计）", key="unmask")
        st.caption(
            f"当前用户：{scope.user or '未登录'}（{access.ROLES.get(scope.role, '无角色')}，{scope.describe()}）"
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
    cases = metrics.select_cases(led.cases, sel)
    dates = [d for d in led.report_dates if d <= pd.Timestamp(as_of)] or [pd.Timestamp(as_of)]
    view = View(led, sel, cases, dates, mode, settings(), scope)
    st.session_state["_view"] = (view, _run_marker())
    return view


def _run_marker() -> object:
    # ScriptRunContext.reset() gives every script run a fresh `cursors` dict: holding it tells this run apart
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.cursors if ctx is not None else None


def current_view() -> View:
    """The view the sidebar built in this script run (app.py); built here when a page runs on its own."""
    stored = st.session_state.get("_view")
    if stored is not None and stored[1] is _run_marker():
        return stored[0]
    _leave_pages_folder_mode()
    require_login()
    return sidebar()


def _leave_pages_folder_mode() -> None:
    """Run the page again through app.py when Streamlit ran its file alone.

    A server that has a pages/ folder starts in Streamlit's old folder mode until some run calls
    st.navigation: the first visit straight to /followup would run pages/followup.py without app.py (English
    file names in the menu, no page config, no briefing controls). Leaving that mode and rerunning sends the
    same page (same url path, same page hash) through the frame. AppTest puts the server back in folder mode
    before every run by design, so there the page is built here instead, as it always was.
    """
    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager

    # config.get_option, not st.get_option: AppTest patches the module attribute
    if PagesManager.uses_pages_directory and not config.get_option("global.appTest"):
        PagesManager.uses_pages_directory = False
        st.rerun()


def apply_presentation(briefing: bool) -> None:
    """Larger type for the projector in 汇报模式."""
    if briefing:
        st.markdown(
            "<style>html{font-size:20px}[data-testid='stMetricValue']{font-size:3.2rem}"
            "[data-testid='stMarkdownContainer'] p{font-size:1.15rem}h1{font-size:2.6rem}</style>",
            unsafe_allow_html=True,
        )


def caption(view: View) -> None:
    """The line under every page title: filters in words, the ledger file and date, the counting rule."""
    meta = view.ledger.meta
    stamp = meta.get("stat_date") or meta.get("mtime", "")[:10]
    _, warning = ledger_source()
    if warning:
        st.warning(warning)
    st.caption(f"{view.selection.describe()}　｜　数据：{meta.get('source_name', '')}（统计日期 {stamp}）")
    with st.expander("统计口径", expanded=False):
        st.caption(metrics.counting_rule())


def counting_rule() -> None:
    st.caption(metrics.counting_rule())


def empty(frame: pd.DataFrame, message: str = EMPTY_MESSAGE) -> bool:
    """Show the short Chinese message and return True when there is nothing to draw."""
    if frame is None or len(frame) == 0:
        st.info(message)
        return True
    return False


def public(frame: pd.DataFrame, view: View, detail: bool = False) -> pd.DataFrame:
    """Case rows masked for the view's mode (server side, before rendering)."""
    return privacy.public_view(frame, view.mode, detail=detail)


SCREEN_ROWS = 500


def case_list(rows: pd.DataFrame, view: View, columns: list[str], title: str, key: str) -> None:
    """A masked list of case rows: the first SCREEN_ROWS on screen, every row in the (audited) download."""

    def masked(frame: pd.DataFrame) -> pd.DataFrame:
        shown = public(frame, view)
        return shown[[c for c in columns if c in shown]]

    if len(rows) > SCREEN_ROWS:
        st.caption(f"共 {len(rows):,} 条，屏幕上显示前 {SCREEN_ROWS} 条；完整名单请下载。")
    table(masked(rows.head(SCREEN_ROWS)))
    downloads(rows, view, title, key=key, prepare=masked)


def table(frame: pd.DataFrame, **kwargs) -> None:
    """A read-only table with Chinese headers and values."""
    from kongchuo_metrics.labels import for_display

    st.dataframe(for_display(frame), hide_index=True, width="stretch", **kwargs)


# --- downloads ------------------------------------------------------------------------------------------------


TABLE_LABELS = schema.TABLE_LABELS


def audit_event(event: str, **fields) -> dict:
    """Append an audit line for the current user (no personal values in `fields`)."""
    return _audit(event, **fields)


def _audit(event: str, **fields) -> dict:
    """Append an audit line; when the log cannot be written the action stops here with the reason (no
    unaudited login, unmask, upload or pack), and a login is undone."""
    scope = current_scope()
    try:
        return audit.record(audit_path(), event, scope.user, scope.role, scope.describe(), **fields)
    except audit.AuditError as exc:
        if event == "login":
            _end_login()
        st.error(str(exc))
        st.stop()


def audit_writable() -> bool:
    """True when the audit log can be appended to (otherwise downloads are refused)."""
    try:
        path = audit_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
    except OSError:
        return False


def _audited(build, view: View, name: str, rows: int, columns: list[str]):
    def data() -> bytes:
        payload = build()
        _audit(
            "download",
            file=name,
            filters=view.selection.describe(),
            rows=rows,
            columns=columns,
            sha256=hashlib.sha256(payload).hexdigest(),
            mode=view.mode,
        )
        return payload

    return data


def downloads(
    frame: pd.DataFrame, view: View, title: str, key: str, xlsx_sum: list[str] | None = None, prepare=None
) -> None:
    """CSV (and optionally government-format xlsx) download buttons for a table, audited, named after the filters.

    `prepare` (e.g. masking) runs on the frame when the button is clicked, so long lists cost nothing until then.
    """
    if len(frame) == 0:
        return
    if not audit_writable():
        st.error("审计日志无法写入，下载已停用。请联系管理员检查 var/audit 文件夹的权限。")
        return
    base = f"{title}_{view.selection.slug()}"
    columns = [str(c) for c in (prepare(frame.head(0)) if prepare else frame).columns]
    if prepare is not None:
        raw = frame
        frame = None  # built on click

        def final() -> pd.DataFrame:
            return prepare(raw)
    else:

        def final() -> pd.DataFrame:
            return frame

    rows = len(raw) if prepare is not None else len(frame)
    cols = st.columns([1, 1, 3] if xlsx_sum is not None else [1, 4])
    cols[0].download_button(
        "下载 CSV",
        data=_audited(lambda: exports.csv_bytes(final()), view, f"{base}.csv", rows, columns),
        file_name=f"{base}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
        icon=":material/download:",
    )
    if xlsx_sum is not None:
        district = view.ledger.meta.get("district") or view.settings.district or ""
        unit = view.ledger.meta.get("unit") or f"{district}教育局"

        def build():
            return exports.gov_xlsx(
                final(), f"{district}{title}", unit, metrics.cn_date(view.as_of), xlsx_sum
            )

        cols[1].download_button(
            "下载 Excel（公文格式）",
            data=_audited(build, view, f"{base}.xlsx", rows, columns),
            file_name=f"{base}.xlsx",
            key=f"{key}_xlsx",
            on_click="ignore",
            icon=":material/table:",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )


def pack_button(view: View) -> None:
    """Generate the briefing pack for the current filters and offer it for download (audited)."""
    from kongchuo_metrics import figures, pack

    if not pack.chromium_path():
        st.warning(pack.MISSING_CHROMIUM)
        return
    if not audit_writable():
        st.error("审计日志无法写入，汇报材料生成已停用。")
        return
    key = (view.selection, current_scope().key())
    if st.button("生成汇报材料（PDF / PPT）", key="pack_make", icon=":material/picture_as_pdf:"):
        with st.spinner("正在生成汇报材料…"):
            try:
                result = pack.make_pack(
                    workflows.with_notices(view.ledger, delivered_notices(view)),
                    view.selection,
                    view.settings,
                    figures.load_boundaries(data_dir()),
                    duban=duban_brief(view),
                )
            except pack.PackError as exc:
                st.error(str(exc))
                return
        _audit(
            "pack",
            filters=view.selection.describe(),
            pages=result.pages,
            sha256=hashlib.sha256(result.pdf).hexdigest(),
        )
        st.session_state["pack"] = (key, result)
    stored = st.session_state.get("pack")
    if stored and stored[0] == key:
        result = stored[1]
        name = f"控辍保学汇报材料_{view.selection.slug()}"
        c1, c2, _ = st.columns([1, 1, 3])
        c1.download_button(
            "下载 PDF",
            data=result.pdf,
            file_name=f"{name}.pdf",
            mime="application/pdf",
            key="pack_pdf",
            on_click="ignore",
        )
        if result.pptx:
            c2.download_button(
                "下载 PPT",
                data=result.pptx,
                file_name=f"{name}.pptx",
                key="pack_pptx",
                on_click="ignore",
                mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
            )
        st.caption(f"共 {result.pages} 页，用时 {result.seconds:.1f} 秒。学生姓名只显示姓氏。")


def report_button(view: View) -> None:
    """Generate the Word 情况通报/工作总结/简报 for the current filters; the download is audited like any other.

    A county admin may add the full-name annex: generating it writes an unmask line, downloading a download line.
    """
    from kongchuo_metrics.documents import report

    if not audit_writable():
        st.error("审计日志无法写入，Word 材料生成已停用。")
        return
    scope = current_scope()
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    kind = c1.selectbox("材料类型", list(report.KINDS), format_func=report.KINDS.get, key="ov_report_kind")
    annex = False
    if scope.can_unmask:
        annex = c2.checkbox("附完整姓名名单（将记入审计）", key="ov_report_annex")
    key = (view.selection, scope.key(), kind, annex)
    if st.button("生成 Word 通报", key="ov_report_make", icon=":material/description:"):
        with st.spinner("正在生成 Word 材料…"):
            try:
                result = report.build(
                    workflows.with_notices(view.ledger, delivered_notices(view)),
                    view.selection,
                    view.settings,
                    kind,
                    annex=annex,
                    duban=duban_brief(view),
                    ranking=ranking_brief(view),
                )
            except report.ReportError as exc:
                st.error(str(exc))
                return
        if annex:
            _audit("unmask", filters=view.selection.describe(), document="report_annex")
        st.session_state["ov_report"] = (key, result)
    stored = st.session_state.get("ov_report")
    if stored and stored[0] == key:
        result = stored[1]
        name = result.file_name(view.selection)
        st.download_button(
            f"下载 {report.KINDS[result.kind]}（Word）",
            data=_audited(lambda: result.docx, view, name, result.headline.open, ["report", result.kind]),
            file_name=name,
            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            key="ov_report_docx",
            on_click="ignore",
            icon=":material/download:",
        )
        st.caption(
            f"已生成（用时 {result.seconds:.1f} 秒）：在册 {result.headline.open} 人，"
            f"累计劝返 {result.headline.returned_total} 人。黄色底纹处请撰稿人补充；"
            + ("含完整姓名附件，请妥善保管。" if result.annex else "学生姓名只显示姓氏。")
        )


def case_file_button(view: View, case_id: str) -> None:
    """Download the 一人一案 file of one case (Word), audited; full names only in the unmasked (admin) mode."""
    from kongchuo_metrics.documents import case_file

    if not audit_writable():
        st.error("审计日志无法写入，下载已停用。")
        return
    unmasked = view.mode == "unmasked" and current_scope().can_unmask
    name = f"一人一案_{case_id}.docx"

    def build() -> bytes:
        led = workflows.with_notices(view.ledger, delivered_notices(view))
        return case_file.build_case_file(led, case_id, view.settings, view.as_of, unmasked=unmasked)

    st.download_button(
        "下载一人一案档案（Word）" + ("，含完整个人信息" if unmasked else ""),
        data=_audited(build, view, name, 1, ["case_file", "full_names" if unmasked else "masked"]),
        file_name=name,
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        key="fu_case_file",
        on_click="ignore",
        icon=":material/folder_shared:",
    )


__all__ = ["LedgerError", "View", "sidebar", "caption", "downloads", "empty", "public", "table", "ledger"]


def slide_buttons(pages: list, current) -> None:
    """Previous / next buttons that step through the pages like slides (汇报模式)."""
    titles = [p.title for p in pages]
    i = titles.index(current.title) if current.title in titles else 0
    left, mid, right = st.columns([1, 4, 1], vertical_alignment="center")
    if i > 0 and left.button(f"◀ 上一页：{titles[i - 1]}", key="slide_prev"):
        st.switch_page(pages[i - 1])
    mid.caption(f"第 {i + 1} / {len(pages)} 页")
    if i < len(pages) - 1 and right.button(f"下一页：{titles[i + 1]} ▶", key="slide_next"):
        st.switch_page(pages[i + 1])


# --- 数据比对 (三比对): uploaded lists -------------------------------------------------------------------------


LIST_TYPES = ["xlsx", "xlsm", "xls", "csv"]


def list_upload(kind: str, key: str):
    """An uploader for one list of `kind`; the list read through the ingest (audited upload), or None.

    The bytes are written to a staging file only while they are read, then deleted: the uploaded list lives
    in this session's memory, never on disk. A list that cannot be used shows its Chinese reason.
    """
    from kongchuo_metrics.reconcile import read_list

    upload = st.file_uploader(schema.LIST_LABELS[kind], type=LIST_TYPES, key=key)
    if upload is None:
        st.session_state.pop(f"{key}_read", None)
        return None
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    stored = st.session_state.get(f"{key}_read")
    if stored and stored[0] == digest:
        return stored[1]
    incoming = store_dir() / "incoming" / "lists"
    incoming.mkdir(parents=True, exist_ok=True)
    staged = incoming / (digest[:32] + Path(upload.name).suffix.lower())
    _audit("upload", file=upload.name, bytes=upload.size, list=kind, sha256=digest)
    try:
        staged.write_bytes(data)
        table = read_list(staged, kind, name=upload.name)
    except LedgerError as exc:
        st.error(f"{schema.LIST_LABELS[kind]}无法使用：{exc}")
        return None
    finally:
        staged.unlink(missing_ok=True)
    table.digest = digest
    st.session_state[f"{key}_read"] = (digest, table)
    return table


def list_report(listed) -> None:
    """One line per uploaded list: rows read, loaded, excluded, without a valid ID; its problems on demand."""
    excluded = sum(listed.excluded.values())
    st.caption(
        f"{listed.label}（{listed.source}）：读取 {listed.rows_read:,} 行，比对 {listed.rows_loaded:,} 行，"
        f"排除 {excluded:,} 行（空行/合计/表尾/重复表头），无有效身份证号 {listed.unmatchable:,} 行"
    )
    if len(listed.problems):
        with st.expander(f"{listed.label}的问题清单（{len(listed.problems)} 条）"):
            table(listed.problems.head(SCREEN_ROWS))


def reconcile_places(view: View) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The townships, or schools, a check's results are narrowed to: the scope's, within it the sidebar's."""
    sel, scope = view.selection, view.scope
    nowhere = ("\0",)  # matches no place: default deny
    if scope.county_wide:
        return ((), sel.schools) if sel.schools else (sel.townships, ())
    if scope.role == "township" and scope.townships:
        return tuple(t for t in (sel.townships or scope.townships) if t in scope.townships) or nowhere, ()
    if scope.role == "school" and scope.schools:
        return (), tuple(s for s in (sel.schools or scope.schools) if s in scope.schools) or nowhere
    return nowhere, ()


def feedback_download(view: View, pushed, result, key: str) -> None:
    """The feedback sheet (unmasked, for the sender): county admins only, every download audited."""
    from kongchuo_metrics.reconcile.feedback import feedback_xlsx

    if not view.scope.can_unmask:
        st.info("反馈表含完整姓名和身份证号，只有区县管理员可以下载。")
        return
    if not audit_writable():
        st.error("审计日志无法写入，下载已停用。请联系管理员检查 var/audit 文件夹的权限。")
        return
    name = f"{Path(pushed.source).stem}_核查反馈.xlsx"

    def data() -> bytes:
        payload = feedback_xlsx(pushed, result, checker=view.scope.user)
        _audit(
            "download",
            file=name,
            rows=len(result.pushed),
            columns=["原表各列", "核查结果", "核查日期", "核查人"],
            sha256=hashlib.sha256(payload).hexdigest(),
            mode="unmasked",
        )
        return payload

    st.download_button(
        "下载反馈表（推送名单原样 + 核查结果）",
        data=data,
        file_name=name,
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=key,
        on_click="ignore",
        icon=":material/assignment_return:",
    )


def check_run_section(view: View, lists: dict, full, places: tuple) -> None:
    """Saving a check run (county admins, audited) and what was resolved since the previous stored run."""
    from kongchuo_metrics.reconcile import store, within

    engine = records_engine()
    previous = store.previous_run(engine, view.as_of)
    if previous is not None:
        since = store.resolved_since(engine, previous, full)
        since = within(since, *places) if (places[0] or places[1]) else since
        st.subheader("与上次比对相比")
        c1, c2, _ = st.columns([1, 1, 2])
        c1.metric("上次需入户核查", len(since))
        c2.metric("已化解", int(since["resolved"].sum()))
        table(since)
    if view.scope.can_upload and view.scope.county_wide:
        if st.button("保存本次比对结果", key="rc_save", icon=":material/save:"):
            if not audit_writable():
                st.error("审计日志无法写入，不能保存比对结果。")
                st.stop()
            run_id = store.save_run(
                engine,
                full,
                lists,
                view.ledger.meta.get("sha256", ""),
                view.scope.user,
                view.scope.describe(),
            )
            _audit(
                "check_run",
                run_id=run_id,
                as_of=view.as_of.strftime("%Y-%m-%d"),
                inputs={k: t.digest for k, t in lists.items()},
            )
            st.success(f"已保存为第 {run_id} 次比对（下月比对时可查看哪些儿童已化解）。")
    with st.expander("历次比对"):
        table(store.runs(engine))


def check_history(view: View, case_id: str) -> None:
    """The 数据比对 history of one case's child (stored check runs), under the case timeline."""
    from kongchuo_metrics.reconcile import store

    case = view.cases[view.cases["case_id"] == case_id]
    if case.empty or not _valid_id(case["id_number"].iloc[0]):
        return
    history = store.history(records_engine(), store.child_key_of(case["id_number"].iloc[0]))
    if len(history):
        st.caption("数据比对记录")
        table(history)


def _valid_id(id_number) -> bool:
    """True for a valid ID number (only those are kept in check runs)."""
    from kongchuo_metrics import parsers

    return isinstance(id_number, str) and bool(parsers.valid_ids(pd.Series([id_number])).iloc[0])


# --- records database (督办单, notices, ranking) -----------------------------------------------------------------


def records_engine():
    """The records database ($KONGCHUO_DB, settings.toml [records] url, else var/records.sqlite), migrated on first
    use; the page stops with the reason when it cannot be opened."""
    from kongchuo_metrics import records

    try:
        return records.open_db(records.database_url(data_dir(), ROOT))
    except records.RecordsError as exc:
        st.error(str(exc))
        st.stop()


def paper_settings():
    """督办单 文号 prefix, notice number template and deadlines (settings.toml [duban], [notices])."""
    from kongchuo_metrics.records.config import load_paper_settings

    return load_paper_settings(data_dir())


def ranking_rules():
    """The 考核 scoring rules (settings.toml [ranking])."""
    from kongchuo_metrics import ranking

    return ranking.load_rules(data_dir())


def delivered_notices(view: View) -> pd.DataFrame:
    """Delivered notices of the view's scope as follow-up rows (for figures that take notices into account)."""
    return workflows.delivered_followups(records_engine(), view.scope, view.ledger.cases)


def ranking_brief(view: View) -> pd.DataFrame | None:
    """The township ranking (Chinese table) for the Word 通报 of a county-wide user; None for other scopes."""
    from kongchuo_metrics import ranking

    if not view.scope.county_wide:
        return None
    table = workflows.ranking_table(
        view.ledger, view.as_of, ranking_rules(), view.settings, records_engine(), delivered_notices(view)
    )
    return ranking.display_table(table)


def duban_brief(view: View) -> pd.DataFrame:
    """The 督办 items (and their status) of the view's scope and townships, for the pack and the Word 通报."""
    from kongchuo_metrics.records import duban

    return workflows.duban_brief(duban.items(records_engine(), view.scope), view.selection.townships)


def followups_with_notices(view: View) -> pd.DataFrame:
    """The ledger's follow-up log plus the delivered notices (for one child's timeline)."""
    return workflows.with_notices(view.ledger, delivered_notices(view)).followups


def document_download(label: str, build, view: View, name: str, key: str, mime: str, rows: int = 1) -> None:
    """A download button for a generated file (Word, xlsx), built on click and audited like every download."""
    if not audit_writable():
        st.error("审计日志无法写入，下载已停用。请联系管理员检查 var/audit 文件夹的权限。")
        return
    st.download_button(
        label,
        data=_audited(build, view, name, rows, []),
        file_name=name,
        mime=mime,
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def duban_form(view: View, engine, paper) -> None:
    """手工新建督办单 (a meeting decision): the county admin's form; the new item is numbered and audited."""
    from kongchuo_metrics.records import duban

    with st.expander("手工新建督办单（联席会议决定事项）"):
        towns = _options(*_ledger_key(), None)
        as_of = view.as_of.date()
        with st.form("db_new", clear_on_submit=True):
            township = st.selectbox("承办乡镇", towns, key="db_new_town")
            item = st.text_input("督办事项", key="db_new_item")
            content = st.text_area("督办内容", key="db_new_content")
            c1, c2 = st.columns(2)
            lead_unit = c1.text_input("牵头单位", key="db_new_lead")
            lead_person = c2.text_input("牵头领导/责任人", key="db_new_person")
            partners = c1.text_input("配合单位", key="db_new_partners")
            contact = c2.text_input("督办联系人", key="db_new_contact")
            due = c1.date_input("交办时限", value=as_of + dt.timedelta(days=10), key="db_new_due")
            cycle = c2.number_input("反馈周期（每 N 天，0 为办结后一次性反馈）", 0, 90, 0, key="db_new_cycle")
            if st.form_submit_button("交办"):
                try:
                    made = duban.add(
                        engine,
                        view.scope,
                        township=township or "",
                        item=item,
                        due=due,
                        lead_unit=lead_unit,
                        lead_person=lead_person,
                        partners=partners,
                        contact=contact,
                        content=content,
                        cycle_days=int(cycle) or None,
                        as_of=as_of,
                        template=paper.duban_template,
                        audit=audit_event,
                    )
                    st.success(f"已交办 {made['number']}")
                except duban.DubanError as exc:
                    st.error(str(exc))


def duban_actions(view: View, engine, item: dict) -> None:
    """The feedback form (the item's township user, or the county admin recording paper feedback) and 办结
    (county admin, once answered); both audited, then the page is drawn again."""
    from kongchuo_metrics.records import duban

    scope = view.scope
    may_answer = item["status_key"] != "closed" and (
        scope.role == "county_admin" or (scope.role == "township" and item["township"] in scope.townships)
    )
    if may_answer:
        with st.form("db_fb", clear_on_submit=True):
            body = st.text_area(
                "反馈内容", key="db_fb_text", placeholder="写明已开展的工作、劝返进展和下一步安排"
            )
            if st.form_submit_button("提交反馈"):
                try:
                    duban.feedback(engine, scope, item["id"], body, audit=audit_event)
                    st.rerun()
                except duban.DubanError as exc:
                    st.error(str(exc))
    if scope.role == "county_admin" and item["status_key"] == "answered":
        if st.button("办结", key="db_close", icon=":material/task_alt:"):
            duban.close(engine, scope, item["id"], audit=audit_event)
            st.rerun()


def notices_panel(view: View, status: pd.DataFrame, pick: str | None) -> None:
    """通知书与送达回证 on the case-tracking page: counts per township, then the notice controls."""
    st.subheader("通知书与送达回证")
    listing = notice_listing(view)
    counts = workflows.notice_counts(listing)
    if not empty(counts, "所选范围内尚未发出通知书。"):
        table(counts)
    notice_controls(view, status, pick, listing)


def notice_listing(view: View) -> pd.DataFrame:
    """The notices the view's scope may see, with each child's state in the current ledger."""
    return workflows.notice_listing(records_engine(), view.scope, view.ledger.cases, view.as_of)


def notice_controls(view: View, status: pd.DataFrame, pick: str | None, listing: pd.DataFrame) -> None:
    """Issue a notice for the picked case, list the notices, download one as Word, record its 送达回证."""
    engine, paper, scope = records_engine(), paper_settings(), view.scope
    may_act = scope.role in ("county_admin", "township", "school")
    kinds = (
        list(notices.KINDS) if scope.role != "school" else ["劝学通知书"]
    )  # a school issues only its own step
    if pick and may_act:
        kind = st.radio("为所选个案发出", kinds, key="fu_nt_kind", horizontal=True)
        if st.button("发出通知书", key="fu_nt_issue", icon=":material/mail:"):
            try:
                made = notices.issue(
                    engine,
                    scope,
                    kind=kind,
                    child=workflows.notice_child(status, view.ledger.cases, pick),
                    as_of=view.as_of.date(),
                    template=paper.notice_template,
                    deadline_days=paper.notice_days[kind],
                    audit=audit_event,
                )
                st.success(f"已发出《{kind}》{made['number']}。送达后请在下方登记送达回证。")
                listing = notice_listing(view)
            except notices.NoticeError as exc:
                st.error(str(exc))
    elif may_act:
        st.caption("在上方“个案时间线”中选择个案后，可为其发出劝学通知书或限期复学通知书。")
    if listing.empty:
        return
    table(workflows.notice_table(listing, view.mode))
    by_id = listing.set_index("id")
    chosen = st.selectbox(
        "选择通知书",
        by_id.index.tolist(),
        format_func=lambda i: f"{by_id.loc[i, 'number']}　{by_id.loc[i, 'kind']}",
        key="fu_nt_pick",
    )
    document_download(
        "下载通知书及送达回证（Word）",
        lambda: workflows.notice_docx(engine, scope, chosen, view.ledger.cases, view.mode == "unmasked"),
        view,
        f"{by_id.loc[chosen, 'kind']}_{by_id.loc[chosen, 'number']}.docx",
        key="fu_nt_docx",
        mime=DOCX,
    )
    if may_act and by_id.loc[chosen, "kind"] in kinds and pd.isna(by_id.loc[chosen, "delivered_on"]):
        with st.form("fu_nt_deliver", clear_on_submit=True):
            st.markdown(f"**登记送达回证：{by_id.loc[chosen, 'number']}**")
            day = st.date_input("送达日期", value=view.as_of.date(), key="fu_nt_date", format="YYYY-MM-DD")
            recipient = st.text_input("受送达人（监护人）", key="fu_nt_to")
            place = st.text_input("送达地点", key="fu_nt_place")
            if st.form_submit_button("登记送达"):
                try:
                    notices.deliver(engine, scope, int(chosen), day, recipient, place, audit=audit_event)
                    st.rerun()
                except notices.NoticeError as exc:
                    st.error(str(exc))
