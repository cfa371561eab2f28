"""The ledger the session's scope may see, loaded once per version and shared between sessions, and the other
data the pages read (settings, follow-up status, records database, reporting calendar)."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from kongchuo_metrics import access, metrics, storage
from kongchuo_metrics.ingest import Ledger, load_ledger
from kongchuo_metrics.records import notices, workflows
from kongchuo_metrics.settings import settings_path

from .session import ROOT, current_scope, data_dir, settings, store_dir

if TYPE_CHECKING:
    from .view import View


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


def reporting_calendar(view: View, day: dt.date) -> pd.DataFrame:
    """Per township in the view's scope: last submission, rhythm, deadline and this period's state at `day`."""
    from kongchuo_metrics import reporting

    s = view.settings
    return reporting.for_ledger(view.ledger, s.weekly_day, s.monthly_day, day)


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


def notice_listing(view: View) -> pd.DataFrame:
    """The notices the view's scope may see, with each child's state in the current ledger."""
    return workflows.notice_listing(records_engine(), view.scope, view.ledger.cases, view.as_of)
