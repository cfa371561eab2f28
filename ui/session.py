"""The session and its paths: where the data, the store, the users file and the audit log are; the settings;
who is looking; the audit line every action writes for that person."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import streamlit as st

from kongchuo_metrics import access, audit
from kongchuo_metrics.settings import Settings, load_settings, settings_path

ROOT = Path(__file__).resolve().parents[1]  # the project folder (app.py, data/, var/)


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


def settings_fingerprint() -> str:
    """The digest of the settings file's contents ("" without one): part of every cached result's key, so a
    changed target or mapping is another set of results even when the file keeps its size and time."""
    try:
        return hashlib.sha256(settings_path(data_dir()).read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


def settings() -> Settings:
    """The bureau settings beside the shipped data (targets, overdue days, coordinates): parsed again only when
    the file's contents change (a page asks for them several times per run)."""
    folder = data_dir()
    stamp = (str(settings_path(folder)), settings_fingerprint())
    held = _SETTINGS.get("last")
    if held is None or held[0] != stamp:
        held = (stamp, load_settings(folder))
        _SETTINGS["last"] = held
    return held[1]


_SETTINGS: dict[str, tuple] = {}


def current_scope() -> access.Scope:
    """Who is looking, as set by `require_login` for this session; nobody (sees nothing) otherwise."""
    return st.session_state.get("scope") or access.NO_ACCESS


# everything a login leaves in the session; ending it (logout, an unaudited login) removes all of them
_LOGIN_KEYS = ("auth", "scope", "oidc_user", "oidc_since", "_logout", "_method")


def _end_login() -> None:
    for key in _LOGIN_KEYS:
        st.session_state.pop(key, None)


def _client() -> str:
    """The client's address as Streamlit sees it (lockout per address); "" when unknown."""
    try:
        return str(st.context.ip_address or "")
    except Exception:  # no request context (AppTest)
        return ""


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
    return audit.writable(audit_path())
