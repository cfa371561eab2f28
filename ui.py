"""The one module of shared Streamlit glue: cached loader, scope, sidebar filters, captions, downloads.

Pages import this module and `kongchuo_metrics`; they choose, call and render, nothing more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from kongchuo_metrics import access, audit, auth, exports, metrics, privacy, schema, storage
from kongchuo_metrics.ingest import Ledger, LedgerError, load_ledger
from kongchuo_metrics.ingest import mapping as column_mapping
from kongchuo_metrics.settings import Settings, load_settings, save_mapping, settings_path

ROOT = Path(__file__).resolve().parent


class _OnFirstUse:
    """A module imported when one of its names is first used: the records modules import SQLAlchemy (about a
    second on a busy 2-core server), which the overview never needs; a fresh server shows its figures first."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


notices = _OnFirstUse("kongchuo_metrics.records.notices")
workflows = _OnFirstUse("kongchuo_metrics.records.workflows")


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


class _Held:
    """A small LRU of loaded ledgers kept in this process, outside Streamlit's caches.

    Any websocket client, even one that never logged in, can send "clear cache", which empties st.cache_data
    and st.cache_resource for everyone. The ledger itself lives on disk (the versioned store) and, once
    loaded, here: a cleared cache then only costs the cheap scoped views, never a reload of the file.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[tuple, object] = {}
        self.lock = threading.Lock()

    def get(self, key: tuple, make):
        with self.lock:
            if key in self.items:
                self.items[key] = self.items.pop(key)  # most recently used last
                return self.items[key]
        return self.put(key, make())

    def put(self, key: tuple, value):
        with self.lock:
            self.items.pop(key, None)
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.pop(next(iter(self.items)))
        return value


_LEDGERS = _Held(4)
_SOURCES = _Held(8)


def _load(path: str, digest: str, coords: str) -> Ledger:
    # keyed on the file's digest and the settings file's: a new version or mapping is a new entry, never stale.
    # Held in the process, not in Streamlit's caches: a client's clear_cache message drops nothing.
    return _LEDGERS.get((path, digest, coords), lambda: _read_ledger(path, coords))


def _read_ledger(path: str, coords: str) -> Ledger:
    # a store version is read from its Arrow snapshot (rebuilt from the raw files when stale), never parsed again
    with st.spinner("正在读取台账…"):
        if storage.is_version(Path(path)):
            return storage.load_folder(path, coords)
        return load_ledger(path, coords=coords, mapping=settings().mapping)


@st.cache_resource
def _start_once(store: str) -> int:
    """At server start: unconfirmed uploads older than a day and half-written versions are removed."""
    return storage.sweep_incoming(store) + storage.clean_pending(store)


@st.cache_resource(max_entries=32)
def _scoped(path: str, digest: str, coords: str, scope_key: tuple) -> Ledger:
    role, townships, schools = scope_key
    return access.scoped_ledger(_load(path, digest, coords), access.Scope("", role, townships, schools))


def _digest(path: Path) -> str:
    st_ = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{st_.st_mtime_ns}|{st_.st_size}".encode()).hexdigest()


def _stat(path: Path) -> tuple:
    try:
        s = path.stat()
    except OSError:
        return ()
    return (s.st_ino, s.st_mtime_ns, s.st_size)


def _store_signature(store: Path) -> tuple:
    # the pointer and every other file at the top of the store, and the versions folder (a new version)
    try:
        tops = sorted((p.name, _stat(p)) for p in store.iterdir() if p.is_file())
    except OSError:
        tops = []
    return (str(store), tuple(tops), _stat(store / "versions"))


def ledger_source() -> tuple[Path, str]:
    """The ledger file in use (the current accepted upload, else the shipped sample) and a warning.

    The store's checksum check (a SHA-256 of the whole file) runs once per version: again only when the
    pointer, the store's folder or the version file itself changes on disk, not on every rerun.
    """
    store = store_dir()
    _start_once(str(store))
    signature = _store_signature(store)

    def check() -> tuple:
        version, warning = storage.current(store)
        return version, warning, _stat(version.path) if version else ()

    version, warning, seen = _SOURCES.get(signature, check)
    if version is not None and _stat(version.path) != seen:  # the file changed in place: check it again
        version, warning, seen = _SOURCES.put(signature, check())
    return (version.folder, warning) if version else (data_dir(), warning)


def settings() -> Settings:
    """The bureau settings beside the shipped data (targets, overdue days, coordinates)."""
    return load_settings(data_dir())


def current_scope() -> access.Scope:
    """Who is looking, as set by `require_login` for this session; nobody (sees nothing) otherwise."""
    return st.session_state.get("scope") or access.NO_ACCESS


LOCAL_USER = access.Scope("本机用户", "county_admin")


LOGIN_TITLE = "控辍保学数据看板 · 登录"
SESSION_ENDED = "登录已失效（账号已停用或变更、密码已重置，或登录已超过 8 小时），请重新登录。"
# everything a login leaves in the session; ending it (logout, an unaudited login) removes all of them
_LOGIN_KEYS = ("auth", "scope", "oidc_user", "oidc_since", "_logout", "_method")


def _end_login() -> None:
    for key in _LOGIN_KEYS:
        st.session_state.pop(key, None)


def literal(text: object) -> str:
    """Text (ledger values, file names, user names) made safe to place inside Streamlit markdown: shown as
    typed, never as a link, image, HTML, formula, colour directive or icon."""
    out = str("" if text is None else text).replace("\r", " ").replace("\n", " ")
    # GFM turns bare URLs and e-mail addresses into links after escapes are resolved: an invisible word joiner
    # after the scheme, "www" or "@" keeps them text
    out = _AUTOLINK.sub(lambda m: m.group(0) + "\u2060", out)
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), out)


# every ASCII punctuation mark may be backslash-escaped in CommonMark; these are the ones that start markup
# (links, images, HTML, emphasis, code, tables, math, :icons: and :colour[...] directives, bare URLs)
_AUTOLINK = re.compile(r"(?i)(?:https?|ftps?|mailto|www|xmpp)(?=[:.])|@")
_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~:/$&=\"']")


def _client() -> str:
    """The client's address as Streamlit sees it (lockout per address); "" when unknown."""
    try:
        return str(st.context.ip_address or "")
    except Exception:  # no request context (AppTest)
        return ""


def _local_session() -> access.Scope | None:
    """The scope of this session's local login as the users file says now, or None when it has lapsed: the
    account is disabled, removed or changed (role, places, password), or the login is older than 8 hours."""
    session = st.session_state.get("auth")
    if not session or not auth.session_valid(session["at"]):
        return None
    if auth.fingerprint(users_path(), session["user"]) != session["fp"]:
        return None
    user = auth.current_user(users_path(), session["user"])
    return user.scope() if user is not None else None


def _oidc_identity() -> tuple[str, bool]:
    """(claimed name, token younger than 8 hours) of the OIDC login."""
    cfg = settings()
    name = str(st.user.get(cfg.oidc_claim) or "")
    issued = st.user.get("iat")
    since = (
        dt.datetime.fromtimestamp(issued, dt.UTC)
        if isinstance(issued, (int, float))
        else st.session_state.setdefault("oidc_since", dt.datetime.now(dt.UTC))  # no iat claim: this session
    )
    return name, auth.session_valid(since)


def revalidate() -> access.Scope | None:
    """Who this session is right now, checked again against the users file and the login's age (for actions
    that run outside a page run, such as a download click); None when the session is no longer valid."""
    method = st.session_state.get("_method")
    if method == "loopback":
        ok = not auth.has_users(users_path()) and auth.is_loopback(st.get_option("server.address"))
        return LOCAL_USER if ok else None
    if method == "local":
        return _local_session()
    if method == "proxy":
        header = settings().proxy_header
        user = auth.current_user(users_path(), st.context.headers.get(header) or "") if header else None
        return user.scope() if user is not None else None
    if method == "oidc":
        if not st.user.is_logged_in:
            return None
        name, fresh = _oidc_identity()
        user = auth.current_user(users_path(), name) if fresh else None
        return user.scope() if user is not None and name == st.session_state.get("oidc_user") else None
    return None


def _lapse(reason: str) -> None:
    """End a session that is no longer valid, audited, and say why on the login page."""
    scope = current_scope()
    try:
        audit.record(audit_path(), "session_end", scope.user, scope.role, scope.describe(), reason=reason)
    except audit.AuditError:
        pass  # the session ends anyway
    _end_login()
    st.session_state["_notice"] = SESSION_ENDED


def _notice() -> None:
    """A message left by a refused download or an ended session, shown once."""
    message = st.session_state.pop("_notice", None)
    if message:
        st.warning(message)


def require_login() -> None:
    """Decide who is looking, or stop the page at a login form. Runs at the top of every run.

    No users configured: allowed only on a loopback address, as the single local user (masking stays on).
    Users configured, or any other address: a local login (scrypt, lockout, 8-hour sessions), the bureau's OIDC
    provider (st.login) or a trusted proxy header when settings.toml names one. Every run checks the session
    against the users file again: a disabled or changed account, or an old login, ends at once.
    """
    address = st.get_option("server.address")
    if not auth.has_users(users_path()):
        if not auth.is_loopback(address):
            st.error(
                f"拒绝启动：看板监听在 {literal(address or '所有网卡')}，但还没有配置任何用户。局域网访问必须登录。"
                "请先用 `python -m kongchuo_metrics users add` 创建用户，或改为只在 127.0.0.1 上运行。"
            )
            st.stop()
        st.session_state["scope"] = LOCAL_USER
        st.session_state["_method"] = "loopback"
        st.session_state.pop("_logout", None)
        return
    if st.session_state.get("_method") == "loopback":  # users were added since: log in
        _end_login()
    cfg = settings()
    if cfg.oidc_provider:
        _oidc_login(cfg.oidc_provider, cfg.oidc_claim)
        return
    header = cfg.proxy_header
    if header:
        user = auth.current_user(users_path(), st.context.headers.get(header) or "")
        if user is not None:
            st.session_state["scope"] = user.scope()
            st.session_state["_method"] = "proxy"
            st.session_state.pop("_logout", None)
            return
    if st.session_state.get("auth"):
        scope = _local_session()
        if scope is not None:
            st.session_state["scope"] = scope
            st.session_state["_logout"] = "local"
            st.session_state["_method"] = "local"
            return
        _lapse("local session no longer valid")
    st.session_state.pop("scope", None)
    st.title(LOGIN_TITLE)
    _notice()
    with st.form("login"):
        name = st.text_input("用户名", key="login_user")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录")
    if submitted:
        name = name.strip()
        try:
            user = auth.authenticate(users_path(), name, password, client=_client())
        except auth.LoginRefused as exc:
            try:
                audit.record(
                    audit_path(), "login_failed", name[:40], "", "", reason=exc.reason, client=_client()
                )
            except audit.AuditError:
                pass  # refused either way
            st.error(auth.LOGIN_FAILED)
        else:
            st.session_state["auth"] = {
                "user": user.name,
                "at": dt.datetime.now(dt.UTC),
                "fp": auth.fingerprint(users_path(), user.name),
            }
            st.session_state["scope"] = user.scope()
            st.session_state["_method"] = "local"
            _audit("login", client=_client())
            st.rerun()
    st.stop()


def _oidc_login(provider: str, claim: str) -> None:
    """Login through the bureau's OIDC provider (st.login); the role and scope still come from the users file.

    Streamlit keeps the identity cookie for 30 days; the bureau's 8-hour session is held against the token's
    issue time. An identity missing from the users file, or disabled there, sees nothing.
    """
    if not st.user.is_logged_in:
        st.session_state.pop("scope", None)
        st.title(LOGIN_TITLE)
        _notice()
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
    name, fresh = _oidc_identity()
    user = auth.current_user(users_path(), name)
    if not fresh or user is None:
        st.session_state.pop("scope", None)
        st.session_state.pop("_method", None)
        st.title(LOGIN_TITLE)
        if not fresh:
            st.warning("登录已超过 8 小时，请重新登录。")
        else:
            st.error(f"账号 {literal(name or '（未知）')} 未在本看板登记或已停用，请联系区县管理员开通。")
        if st.button("退出并重新登录", key="oidc_logout"):
            _end_login()
            st.logout()
            st.rerun()
        st.stop()
    st.session_state["scope"] = user.scope()
    st.session_state["_logout"] = "oidc"
    st.session_state["_method"] = "oidc"
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


def _settings_stamp() -> str:
    p = settings_path(data_dir())
    return f"{p.stat().st_mtime_ns}|{p.stat().st_size}" if p.exists() else ""


def _ledger_key() -> tuple:
    path, _ = ledger_source()
    return str(path), _digest(path) + _settings_stamp(), settings().coords, current_scope().key()


def ledger() -> Ledger:
    """The ledger as the current scope may see it (the ONE way pages get data)."""
    return _scoped(*_ledger_key())


@st.cache_resource(max_entries=64)
def _options(path: str, digest: str, coords: str, scope_key: tuple, townships: tuple | None) -> list[str]:
    """Filter options from the scoped ledger: townships (townships=None), else the schools of those townships."""
    led = _scoped(path, digest, coords, scope_key)
    if townships is None:
        return sorted(set(led.cases["township"].dropna().unique()) | set(led.schools["township"].dropna()))
    cases, schools = led.cases, led.schools
    if townships:
        cases, schools = (
            cases[cases["township"].isin(townships)],
            schools[schools["township"].isin(townships)],
        )
    return sorted(set(cases["school"].dropna().unique()) | set(schools["school"].dropna()))


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
    notices: tuple[str, ...] = ()  # URL parameters the sidebar could not honour, said in Chinese

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.selection.as_of)


def dropped_params(asked: dict, towns: list, schools: list, first: dt.date, last: dt.date) -> tuple[str, ...]:
    """Chinese notices for URL parameters the sidebar dropped (unknown township or school, a date that is not
    one or lies outside the ledger), instead of silently showing the whole county."""
    notices = []
    bad_towns = [t for t in asked.get("tsp", []) if t not in towns]
    if bad_towns:
        notices.append(f"网址中的乡镇「{'、'.join(bad_towns)}」不存在或不在您的查看范围内，已忽略。")
    bad_schools = [s for s in asked.get("sch", []) if s not in schools]
    if bad_schools:
        notices.append(f"网址中的学校「{'、'.join(bad_schools)}」不在所选范围内，已忽略。")
    for raw in asked.get("asof", [])[:1]:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            notices.append(f"网址中的统计日期「{raw}」无法识别，已改用默认日期。")
            continue
        if not first <= day <= last:
            notices.append(
                f"网址中的统计日期 {metrics.cn_date(day)} 超出台账范围"
                f"（{metrics.cn_date(first)}至{metrics.cn_date(last)}），已改用范围内的日期。"
            )
    return tuple(notices)


def _default_as_of(led: Ledger) -> dt.date:
    # the ledger's 填报时间 (its 统计日期/填报时间 line), not the last event in it
    if led.meta.get("stat_date"):
        return dt.date.fromisoformat(str(led.meta["stat_date"])[:10])
    if led.report_dates:
        return max(led.report_dates).date()
    if len(led.cases):
        return metrics.data_range(led.cases)[1].date()
    return dt.date.today()


def sidebar() -> View:
    """Render the shared sidebar (filters bound to the URL) and return the view every page uses."""
    led = ledger()
    scope = current_scope()
    asked = {k: st.query_params.get_all(k) for k in ("asof", "tsp", "sch")}  # before the widgets clean them
    with st.sidebar:
        st.markdown(f"**{literal(led.meta.get('district') or settings().district or '本区县')}控辍保学看板**")
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
        townships = st.multiselect(
            "乡镇", towns, key="tsp", bind="query-params", placeholder="全部乡镇", select_all=False
        )
        school_opts = _options(*_ledger_key(), tuple(t for t in townships if t in towns))
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
    cases = metrics.select_cases(led.cases, sel)
    dates = [d for d in led.report_dates if d <= pd.Timestamp(as_of)] or [pd.Timestamp(as_of)]
    notices = dropped_params(
        asked, towns, school_opts, min(first, default_day), max(default_day, dt.date.today())
    )
    view = View(led, sel, cases, dates, mode, settings(), scope, notices)
    return view


# --- the frame: page config, login, navigation, briefing controls ---------------------------------------------

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
    page, _ = frame()
    try:
        page.run()
    finally:
        _RUN.view = None  # no Streamlit call here: during st.stop even session_state access raises


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
    st.caption(f"{literal(view.selection.describe())}　｜　{ledger_line(view)}")
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
    filled = f"填报时间 {stamp}" if stamp else f"台账未写填报时间，文件日期 {meta.get('mtime', '')[:10]}"
    version = f"版本 {meta['version']}，" if meta.get("version") else ""
    return f"数据：{version}{literal(meta.get('source_name', ''))}（{filled}）"


def reporting_calendar(view: View, day: dt.date) -> pd.DataFrame:
    """Per township in the view's scope: last submission, rhythm, deadline and this period's state at `day`."""
    from kongchuo_metrics import reporting

    s = view.settings
    return reporting.for_ledger(view.ledger, s.weekly_day, s.monthly_day, day)


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
    """A read-only table with Chinese headers and values; blanks as blanks; the small-count rule stated under
    a table that hides cells (privacy.suppress)."""
    from kongchuo_metrics.labels import for_screen

    st.dataframe(for_screen(frame), hide_index=True, width="stretch", **kwargs)
    if privacy.is_suppressed(frame):
        st.caption(privacy.SUPPRESSION_RULE)


def choice(label: str, options: dict[str, str], key: str, where=st) -> str:
    """A page-level choice among `options` (code -> Chinese words, from the label book): one always chosen, the
    first by default, kept in the URL under `key`. Returns the chosen code."""
    return where.segmented_control(
        label,
        list(options),
        default=next(iter(options)),
        required=True,
        format_func=options.get,
        key=key,
        bind="query-params",
    )


def chart(fig, key: str) -> None:
    """A plotly chart with the dashboard's chart config: no (English) mode bar, no zoom by accident."""
    from kongchuo_metrics.figures import PLOTLY_CONFIG

    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG, width="stretch")


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


class _Handoff:
    """Bytes passed from a download button's click callback (the script thread, which knows the session) to
    the button's data callable (a worker thread without the script context, which hands the bytes over).

    The callback runs first in the rerun the click starts, so it re-checks the session and writes the audit
    line before any byte exists for the callable; a refusal leaves None, and the callable delivers nothing.
    """

    START_WAIT = 15.0  # a click's callback starts within seconds; a bare file request gets nothing
    BUILD_WAIT = 600.0  # building a very long list may take minutes

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.items: dict[str, tuple[float, str, bytes | None]] = {}

    def _set(self, token: str, state: str, payload: bytes | None = None) -> None:
        with self.cond:
            now = time.monotonic()
            # a released file nobody fetched (a forged click without its file request) goes after a minute
            stale = [
                k
                for k, (at, st_, _) in self.items.items()
                if now - at > (60 if st_ == "done" else self.BUILD_WAIT)
            ]
            for old in stale:
                del self.items[old]
            self.items[token] = (now, state, payload)
            self.cond.notify_all()

    def start(self, token: str) -> None:
        self._set(token, "building")

    def give(self, token: str, payload: bytes | None) -> None:
        self._set(token, "done", payload)

    def take(self, token: str) -> bytes | None:
        with self.cond:
            if not self.cond.wait_for(lambda: token in self.items, self.START_WAIT):
                return None
            self.cond.wait_for(lambda: self.items.get(token, (0, "done"))[1] == "done", self.BUILD_WAIT)
            _, state, payload = self.items.pop(token, (0, "", None))
            return payload if state == "done" else None


_HANDOFF = _Handoff()

REFUSED_AUDIT = (
    "下载已拒绝：审计日志无法写入，文件没有生成。请联系管理员检查 var/audit 文件夹（磁盘空间、权限）。"
)
REFUSED_SCOPE = "下载已拒绝：您的账号、角色或范围在页面打开后有变化，请刷新页面后重新下载。"


class DownloadRefused(Exception):
    """A download the session or the audit log does not allow; nothing is delivered."""


def _identity(scope: access.Scope) -> dict:
    return {"user": scope.user, "role": scope.role, "scope": scope.describe(), "key": scope.key()}


def _serve(token: str, ticket: dict, build) -> str | None:
    """The click callback: the session is checked again, the audit line written, then the bytes released.
    Returns the Chinese reason of a refusal (None when the file was released)."""
    _HANDOFF.start(token)
    payload = None
    try:
        now = revalidate()
        if now is None:
            return SESSION_ENDED
        who = ticket["who"]
        if (now.user, now.key()) != (who["user"], who["key"]):
            return REFUSED_SCOPE
        data = build()
        data = data.encode("utf-8") if isinstance(data, str) else data
        fields = {k: v for k, v in ticket.items() if k != "who"}
        try:
            audit.record(
                audit_path(),
                "download",
                who["user"],
                who["role"],
                who["scope"],
                **fields,
                sha256=hashlib.sha256(data).hexdigest(),
                bytes=len(data),
            )
        except audit.AuditError:
            return REFUSED_AUDIT
        payload = data
        return None
    finally:
        _HANDOFF.give(token, payload)


def audited_download(
    label: str,
    build,
    file_name: str,
    key: str,
    *,
    rows: int,
    columns: list[str],
    mime: str | None = None,
    filters: str = "",
    mode: str = "",
    icon: str | None = ":material/download:",
    target=None,
) -> None:
    """A download button whose file exists only after its audit line does.

    Who is looking (user, role, scope), the filters, row count and columns are captured now, when the button is
    drawn; the click re-checks the session against the users file and writes the line with the SHA-256 of the
    bytes; when the session has lapsed or the line cannot be written, the user gets a Chinese message and no
    file. A download refused this way leaves no bytes on the server.
    """
    scope = current_scope()
    token = secrets.token_urlsafe(16)
    ticket = {
        "who": _identity(scope),
        "file": file_name,
        "filters": filters,
        "rows": int(rows),
        "columns": [str(c) for c in columns],
        "mode": mode,
    }
    notice = st.session_state.get("_download_refused")
    if notice and notice[0] == key:
        st.session_state.pop("_download_refused")
        (target or st).error(notice[1])

    def data() -> bytes:
        payload = _HANDOFF.take(token)
        if payload is None:
            raise DownloadRefused("download refused (see the page for the reason)")
        return payload

    def click() -> None:
        refusal = _serve(token, ticket, build)
        if refusal == SESSION_ENDED:
            st.session_state["_notice"] = refusal  # the rerun shows the login page, with this line
        elif refusal:
            st.session_state["_download_refused"] = (key, refusal)

    (target or st).download_button(
        label,
        data=data,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click=click,
        icon=icon,
    )


def downloads(
    frame: pd.DataFrame, view: View, title: str, key: str, xlsx_sum: list[str] | None = None, prepare=None
) -> None:
    """CSV (and optionally government-format xlsx) download buttons for a table, audited, named after the filters.

    `prepare` (e.g. masking) runs on the frame when the button is clicked, so long lists cost nothing until then.
    """
    if len(frame) == 0:
        return
    if not audit_writable():
        st.session_state.pop("_download_refused", None)
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
    district = view.ledger.meta.get("district") or view.settings.district or ""
    scoped = export_title(view, title)
    scope = "；".join(p for p in view.selection.describe().split("；") if not p.startswith("统计日期"))
    heading = f"{scoped}（{scope}；统计日期：{metrics.cn_date(view.as_of)}）"
    # a row that sizes to its buttons: no column cuts 「下载 Excel（公文格式）」 short
    row = st.container(horizontal=True, gap="small")
    common = {"rows": rows, "columns": columns, "filters": view.selection.describe(), "mode": view.mode}
    audited_download(
        "下载 CSV",
        lambda: exports.csv_bytes(final(), title=heading),
        f"{base}.csv",
        f"{key}_csv",
        mime="text/csv",
        target=row,
        **common,
    )
    if xlsx_sum is not None:
        unit = view.ledger.meta.get("unit") or f"{district}教育局"

        def build():
            return exports.gov_xlsx(final(), scoped, unit, metrics.cn_date(view.as_of), xlsx_sum, scope=scope)

        audited_download(
            "下载 Excel（公文格式）",
            build,
            f"{base}.xlsx",
            f"{key}_xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table:",
            target=row,
            **common,
        )


def export_title(view: View, title: str) -> str:
    """The title of an export of `title` for the view: the place, stage and type it covers, never the county
    name alone for a filtered view."""
    district = view.ledger.meta.get("district") or view.settings.district or ""
    return exports.scope_title(title, view.selection, district)


def pack_button(view: View) -> None:
    """Generate the briefing pack for the current filters and offer it for download (audited)."""
    from kongchuo_metrics import figures, pack

    if view.mode == "briefing":  # the projector shows the dashboard; the pack is made before the meeting
        return
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
        common = {
            "rows": result.pages,
            "columns": [],
            "filters": view.selection.describe(),
            "mode": "briefing",
        }
        audited_download(
            "下载 PDF",
            lambda: result.pdf,
            f"{name}.pdf",
            "pack_pdf",
            mime="application/pdf",
            target=c1,
            **common,
        )
        if result.pptx:
            audited_download(
                "下载 PPT",
                lambda: result.pptx,
                f"{name}.pptx",
                "pack_pptx",
                mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                target=c2,
                **common,
            )
        st.caption(f"共 {result.pages} 页，用时 {result.seconds:.1f} 秒。学生姓名只显示姓氏。")


@st.cache_resource
def _chart_browser() -> bool:
    """kaleido's chart browser, started once per server so a Word report does not wait for it (MathJax off)."""
    import kaleido

    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    return True


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
            _chart_browser()
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
        audited_download(
            f"下载 {report.KINDS[result.kind]}（Word）",
            lambda: result.docx,
            name,
            "ov_report_docx",
            rows=result.headline.open,
            columns=["report", result.kind],
            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            filters=view.selection.describe(),
            mode="unmasked" if result.annex else view.mode,
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

    audited_download(
        "下载一人一案档案（Word）" + ("，含完整个人信息" if unmasked else ""),
        build,
        name,
        "fu_case_file",
        rows=1,
        columns=["case_file", "full_names" if unmasked else "masked"],
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        filters=view.selection.describe(),
        mode=view.mode,
        icon=":material/folder_shared:",
    )


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
[data-testid='stMetricLabel'], [data-testid='stMetricLabel'] p{font-size:min(1.1rem, 10cqi) !important}
[data-testid='stMetricValue'], [data-testid='stMetricValue'] *{font-size:min(2.4rem, 22cqi) !important;line-height:1.1}
[data-testid='stDataFrame']{zoom:1.3}
[data-testid='stCaptionContainer'], [data-testid='stCaptionContainer'] p{font-size:1rem}
[data-testid='stPageLink'] p{font-size:1.2rem;white-space:nowrap}
[data-testid='stMetricDelta'], [data-testid='stMetricDelta'] *{font-size:.8rem}
[data-testid='stMetricLabel'] *, [data-testid='stMetricDelta'] *{white-space:normal !important;overflow:visible !important;text-overflow:clip !important}
[data-testid='stMetricDelta']{height:auto !important}
</style>"""


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
        st.error(f"{schema.LIST_LABELS[kind]}无法使用：{literal(exc)}")
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

    audited_download(
        "下载反馈表（推送名单原样 + 核查结果）",
        lambda: feedback_xlsx(pushed, result, checker=view.scope.user),
        name,
        key,
        rows=len(result.pushed),
        columns=["原表各列", "核查结果", "核查日期", "核查人"],
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filters=view.selection.describe(),
        mode="unmasked",
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


def followups_with_notices(view: View) -> pd.DataFrame:
    """The ledger's follow-up log plus the delivered notices (for one child's timeline)."""
    return workflows.with_notices(view.ledger, delivered_notices(view)).followups


def document_download(label: str, build, view: View, name: str, key: str, mime: str, rows: int = 1) -> None:
    """A download button for a generated file (Word, xlsx), built on click and audited like every download."""
    if not audit_writable():
        st.error("审计日志无法写入，下载已停用。请联系管理员检查 var/audit 文件夹的权限。")
        return
    audited_download(
        label,
        build,
        name,
        key,
        rows=rows,
        columns=[],
        mime=mime,
        filters=view.selection.describe(),
        mode=view.mode,
    )


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def notices_panel(view: View, status: pd.DataFrame, pick: str | None) -> None:
    """通知书与送达回证 on the case-tracking page: counts per township, then the notice controls."""
    st.subheader("通知书与送达回证")
    listing = notice_listing(view)
    counts = workflows.notice_counts(listing)
    if not empty(counts, "所选范围内尚未发出通知书。"):
        table(counts)
    notice_controls(view, status, pick, listing)


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


# --- import: column mapping and blocking problems -------------------------------------------------------------


def mapping_step(candidate: Ledger, settings_dir: Path) -> bool:
    """The import wizard's mapping step for a candidate ledger: every column with what it was taken to be, a
    select box per column of one sheet to change it, the resolution texts to classify, and the blocking problems
    to fix or accept. Choices are saved into settings.toml in `settings_dir` (then the page reruns and the
    candidate is read again with them). Returns True when nothing blocks the import any more."""
    r = candidate.report
    cols = r.columns
    st.subheader("列对应")
    st.caption(
        "每一列被识别成了什么、有多大把握、前三个样例（已脱敏）。把握低于 90% 且影响统计的列必须确认；"
        "识别错了或没识别出来的列，在下面选择正确的标准表头，或标为“不使用”。"
    )
    table(column_mapping.mapping_table(cols))
    for s in r.sheets:
        if s.table is None:  # every sheet is accounted for, the ignored ones with their rows and the reason
            st.caption(f"工作表“{s.sheet}”（{s.source}）：{s.status}，{s.rows_read} 行，{s.note or '—'}")
    chosen: dict[int, str] = {}
    sheets = list(dict.fromkeys((c.source, c.sheet) for c in cols))
    if sheets:
        attention = [
            s
            for s in sheets
            if any((c.source, c.sheet) == s and (not c.field or c.confidence < 0.9) for c in cols)
        ]
        labels = [f"{src}/{sheet}" for src, sheet in sheets]
        first = sheets.index(attention[0]) if attention else 0
        pick = st.selectbox("修改哪张表的列", labels, index=first, key="up_map_sheet")
        source, sheet = sheets[labels.index(pick)]
        for pos, c in enumerate(cols):
            if (c.source, c.sheet) != (source, sheet):
                continue
            options = column_mapping.field_choices(c.table)
            current = column_mapping.choice_of(c)
            note = f"（把握 {c.confidence:.0%}，{c.how}）" if c.field else "（未识别）"
            chosen[pos] = st.selectbox(
                f"第 {c.index + 1} 列“{c.header or '（无表头）'}”{note}",
                options,
                index=options.index(current) if current in options else 0,
                key=f"up_col_{labels.index(pick)}_{c.index}",
                help="样例：" + ("、".join(c.samples) or "（空）"),
            )
    outcomes: dict[str, str] = {}
    if r.unknown_outcomes:
        st.subheader("无法识别的处置情况")
        st.caption("这些原文目前按“未销号”统计。请逐条归类，归类会保存，以后导入同样的原文不再询问。")
        names = list(column_mapping.OUTCOME_LABELS)
        for i, (text, n) in enumerate(sorted(r.unknown_outcomes.items(), key=lambda kv: -kv[1])):
            picked = st.selectbox(
                f"“{text}”（{n} 个个案）",
                [column_mapping.OUTCOME_LABELS[k] for k in names],
                index=None,
                placeholder="请选择归类",
                key=f"up_outcome_{i}",
            )
            if picked:
                outcomes[text] = names[[column_mapping.OUTCOME_LABELS[k] for k in names].index(picked)]
    accepted: dict[str, str] = {}
    sha = candidate.meta.get("content_sha256", "")
    if r.blocking:
        st.subheader(f"阻断导入的问题（{len(r.open_blocking)} 个未处理）")
        for i, b in enumerate(r.blocking):
            if b.accepted:
                st.info(f"已确认接受：{b.message}")
                continue
            st.error(b.message)
            if b.fix == "accept" or b.code.startswith(("cases:quarantined", "schools:", "sheet:")):
                if st.checkbox(
                    "我已知晓，接受这个后果并照此导入（将记入审计日志，并在各页说明中注明）",
                    key=f"up_accept_{i}",
                ):
                    accepted[column_mapping.acceptance_key(b.code, sha)] = (
                        f"{current_scope().user}：{b.message}"
                    )
    to_save = column_mapping.columns_to_save(cols, chosen)
    if st.button("保存列对应、归类和确认", key="up_map_save", icon=":material/save:"):
        current = load_settings(settings_dir).mapping
        save_mapping(
            settings_dir,
            columns=current.columns_dict() | to_save,
            outcomes=current.outcomes_dict() | outcomes,
            accepted=current.accepted_dict() | accepted,
        )
        audit_event(
            "mapping",
            file=candidate.meta.get("source_name", ""),
            columns=to_save,
            outcomes=outcomes,
            accepted=sorted(accepted),
        )
        for key in accepted:
            audit_event("accept_problem", file=candidate.meta.get("source_name", ""), problem=key)
        st.rerun()
    ready = not r.open_blocking
    if not ready:
        st.warning("还有会改变统计数字的问题没有处理：请在上面指定列、归类处置情况或确认接受，并点“保存”。")
    return ready


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


def rate_cards(cols: list, rates: list) -> None:
    """The dropout and consolidation rates as metric cards against their targets (达标 / 未达标 / 无法计算)."""
    for col, rate in zip(cols, rates, strict=True):
        sign = "≤" if rate.kind == "max" else "≥"
        if rate.value is None:
            col.metric(rate.label, "—", help=rate.note)
            col.caption(rate.note)
            continue
        verdict = "达标" if rate.met else "未达标"
        col.metric(
            rate.label,
            f"{rate.value:.3f}%" if rate.kind == "max" else f"{rate.value:.2f}%",
            delta=f"目标 {sign}{rate.target}%　{verdict}",
            delta_color="normal" if rate.met else "inverse",
            delta_arrow="off",
        )
