"""Login: local accounts, OIDC (st.login) and a trusted proxy header; the session's scope, re-checked on
every run."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from kongchuo_metrics import access, audit, auth

from .session import _audit, _client, _end_login, audit_path, current_scope, settings, users_path
from .widgets import literal

LOCAL_USER = access.Scope("本机用户", "county_admin")


LOGIN_TITLE = "控辍保学数据看板 · 登录"


SESSION_ENDED = "登录已失效（账号已停用或变更、密码已重置，或登录已超过 8 小时），请重新登录。"


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
