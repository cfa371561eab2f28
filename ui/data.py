"""The ledger the session's scope may see, loaded once per version and shared between sessions, and the other
data the pages read (settings, follow-up status, records database, reporting calendar)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from kongchuo_metrics import access, metrics, storage
from kongchuo_metrics.ingest import Ledger, load_ledger

from . import persist
from .session import ROOT, current_scope, data_dir, settings, settings_fingerprint, store_dir

if TYPE_CHECKING:
    from .view import View


class OnFirstUse:
    """A module imported when one of its names is first used: the records modules import SQLAlchemy (about a
    second on a busy 2-core server), which the overview never needs; a fresh server shows its figures first."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


notices = OnFirstUse("kongchuo_metrics.records.notices")
workflows = OnFirstUse("kongchuo_metrics.records.workflows")


class _Held:
    """A small LRU kept in this process, outside Streamlit's caches.

    Any websocket client, even one that never logged in, can send "clear cache", which empties st.cache_data
    and st.cache_resource for everyone. The ledger itself lives on disk (the versioned store) and, once
    loaded, here: a cleared cache then only costs the cheap scoped views, never a reload of the file.

    `budget` bounds the entries' total size in bytes as well as their number (`_weigh` sizes a value). Only one
    thread builds a missing entry; the others that ask for it meanwhile wait for that one result instead of
    repeating the work (thirty sessions opening the same page at a meeting build its figures once).
    """

    def __init__(self, size: int, budget: float | None = None) -> None:
        self.size = size
        self.budget = budget
        self.items: dict[tuple, object] = {}
        self.weights: dict[tuple, int] = {}
        self.lock = threading.Lock()
        self.building: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple, make):
        with self.lock:
            if key in self.items:
                self.items[key] = self.items.pop(key)  # most recently used last
                return self.items[key]
            gate = self.building.setdefault(key, threading.Lock())
        with gate:
            with self.lock:
                if key in self.items:  # built by the thread we waited for
                    return self.items[key]
            try:
                return self.put(key, make())
            finally:
                with self.lock:
                    self.building.pop(key, None)

    def full(self, share: float = 0.8) -> bool:
        """True when the entries take `share` of the count or byte bound (warming stops there)."""
        with self.lock:
            return len(self.items) >= share * self.size or bool(
                self.budget and sum(self.weights.values()) >= share * self.budget
            )

    def put(self, key: tuple, value):
        weight = _weigh(value) if self.budget else 0
        with self.lock:
            self.items.pop(key, None)
            self.items[key] = value
            self.weights[key] = weight
            while len(self.items) > 1 and (
                len(self.items) > self.size or (self.budget and sum(self.weights.values()) > self.budget)
            ):
                oldest = next(iter(self.items))
                self.items.pop(oldest)
                self.weights.pop(oldest, None)
        return value


def _weigh(value) -> int:
    """Bytes held by a cached result: its frames' buffers (tuples and dicts of results summed), else 1 KB."""
    # the arrays' own sizes: memory_usage() builds a labelled Series per call, 6x the time at every put
    if isinstance(value, pd.DataFrame):
        return int(sum(col.array.nbytes for _, col in value.items()) + value.index.nbytes)
    if isinstance(value, pd.Series):
        return int(value.array.nbytes + value.index.nbytes)
    if isinstance(value, tuple | list):
        return sum(_weigh(v) for v in value) + 64
    if isinstance(value, dict):
        return sum(_weigh(v) for v in value.values()) + 64
    return 1024


_LEDGERS = _Held(4)

# the server's own threads (no session, no Streamlit element): the start's preload and the warming
BACKGROUND_THREADS = ("kongchuo-preload", "kongchuo-warm")


_SOURCES = _Held(8)


def _load(path: str, digest: str, coords: str) -> Ledger:
    # keyed on the file's digest and the settings file's: a new version or mapping is a new entry, never stale.
    # Held in the process, not in Streamlit's caches: a client's clear_cache message drops nothing.
    return _LEDGERS.get((path, digest, coords), lambda: _read_ledger(path, coords))


def _read_ledger(path: str, coords: str) -> Ledger:
    # a store version is read from its Arrow snapshot (rebuilt from the raw files when stale), never parsed again
    # a spinner needs a session: the server's start (ui.serve) loads the ledger before anyone has one
    background = threading.current_thread().name in BACKGROUND_THREADS
    with contextlib.nullcontext() if background else st.spinner("正在读取台账…"):
        if storage.is_version(Path(path)):
            return storage.load_folder(path, coords).held()
        return load_ledger(path, coords=coords, mapping=settings().mapping).held()


_STARTED: dict[str, int] = {}


def _start_once(store: str) -> int:
    """At server start: unconfirmed uploads older than a day and half-written versions are removed."""
    with _STARTED_LOCK:
        if store not in _STARTED:
            _STARTED[store] = storage.sweep_incoming(store) + storage.clean_pending(store)
        return _STARTED[store]


_STARTED_LOCK = threading.Lock()


_SCOPED = _Held(32)


def _scoped(path: str, digest: str, coords: str, scope_key: tuple) -> Ledger:
    """The ledger as a scope may see it, once per version and scope (also from the warming thread); the
    scope's results kept on disk by an earlier run of the server are read back with it (ui.persist)."""
    role, townships, schools = scope_key
    scope = access.Scope("", role, townships, schools)
    key = (path, digest, coords, scope_key)

    def make() -> Ledger:
        led = access.scoped_ledger(_load(path, digest, coords), scope)
        persist.restore(key)
        return led

    return _SCOPED.get(key, make)


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
    return "|" + settings_fingerprint()


def _ledger_key(scope: access.Scope | None = None) -> tuple:
    """(ledger path, its digest with the settings', coordinates, scope key): of the session's scope, or of
    `scope` (the server's start, before any session)."""
    path, _ = ledger_source()
    scope = scope or current_scope()
    return str(path), _digest(path) + _settings_stamp(), settings().coords, scope.key()


# Results that depend only on the ledger version (and settings), the scope, the selection and the mode:
# tables, figures, map layers. Computed once and shared by every session with the same key; bounded in number
# and bytes. The scope is part of every key, so a result is never handed to a session of another scope.
_RESULTS = _Held(512, budget=768e6)


def forget_results() -> None:
    """Drop every shared result, scoped ledger and follow-up status, and what was restored from disk (tests
    start from nothing; the loaded ledgers stay), and which ledgers were warmed."""
    from . import results

    persist.forget()
    results.forget_warming()
    for held in (_RESULTS, _STATUS, _SCOPED, _OPTIONS):
        with held.lock:
            held.items.clear()
            held.weights.clear()


def shared(view: View, name: str, make, *extra):
    """`make()` for this view, computed once for all sessions with the same ledger version, scope, selection
    and mode, and the same `name` and `extra` (anything else the result depends on, such as a page's choice).

    The result is shared: callers never modify it in place (pandas copy-on-write: derived frames are new).
    """
    key = (view.key, name, *extra)
    return _RESULTS.get(key, lambda: persist.take(key, make))


def date_bounds(led: Ledger, key: tuple) -> tuple[dt.date, dt.date]:
    """The ledger's first registration and the day a view opens at (selection.default_as_of), once per
    version and scope."""
    from kongchuo_metrics import selection

    def bounds() -> tuple[dt.date, dt.date]:
        default_day = selection.default_as_of(led)
        if not len(led.cases):
            return default_day - dt.timedelta(days=365), default_day
        return metrics.data_range(led.cases)[0].date(), default_day

    return _RESULTS.get((key, "date_bounds"), lambda: persist.take((key, "date_bounds"), bounds))


def selected_cases(led: Ledger, key: tuple, sel) -> pd.DataFrame:
    """The ledger's cases in the selection's places, stage, types and 建档立卡 filter (any date), shared."""
    import dataclasses

    from kongchuo_metrics import selection

    return _RESULTS.get(
        (key, "cases", dataclasses.replace(sel, as_of=None)), lambda: selection.select_cases(led.cases, sel)
    )


_OPTIONS = _Held(64)


def _options(path: str, digest: str, coords: str, scope_key: tuple, townships: tuple | None) -> list[str]:
    """Filter options from the scoped ledger: townships (townships=None), else the schools of those townships."""
    key = (path, digest, coords, scope_key, townships)
    return _OPTIONS.get(key, lambda: _options_of(*key))


def _options_of(path: str, digest: str, coords: str, scope_key: tuple, townships: tuple | None) -> list[str]:
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


_STATUS = _Held(16)


def _status(
    path: str, digest: str, coords: str, scope_key: tuple, as_of: str, days: int, deliveries: str = ""
) -> pd.DataFrame:
    key = (path, digest, coords, scope_key, as_of, days, deliveries)
    return _STATUS.get(key, lambda: _status_of(*key))


def _status_of(
    path: str, digest: str, coords: str, scope_key: tuple, as_of: str, days: int, deliveries: str
) -> pd.DataFrame:
    led = _scoped(path, digest, coords, scope_key)
    # `deliveries` changes with every 送达回证 recorded: delivered notices move the ladder and set deadlines
    delivered = (
        workflows.delivered_followups(records_engine(), access.Scope("", *scope_key), led.cases)
        if deliveries
        else None
    )
    return metrics.followup_status(led.cases, led.followups, as_of, days, delivered)


def followup_stamp(view: View, days: int | None = None) -> tuple:
    """What the view's follow-up status depends on beyond the view itself: the overdue threshold and the
    delivered notices (which move the ladder). Part of the key of every result derived from that status."""
    threshold = int(days if days is not None else view.settings.overdue_days)
    return threshold, notices.delivery_token(records_engine())


def followup_status(view: View, days: int | None = None, stamp: tuple | None = None) -> pd.DataFrame:
    """Open cases at the view's date with their ladder step and overdue state, for the view's selection.

    Computed once per ledger, scope, date and threshold for the whole scope (the follow-up log can hold
    millions of visits); the selection's rows are then shared by every session with the same view.
    `stamp` is followup_stamp(view, days) when the page has it already.
    """
    stamp = stamp or followup_stamp(view, days)

    def make() -> pd.DataFrame:
        # the view's own ledger key (its version AND settings stamp: a changed column mapping is another ledger)
        full = _status(*view.key[0], view.as_of.isoformat(), *stamp)
        return metrics.select_cases(full, view.selection)

    return shared(view, "followup_status", make, stamp)


def reporting_calendar(view: View, day: dt.date) -> pd.DataFrame:
    """Per township in the view's scope: last submission, rhythm, deadline and this period's state at `day`."""
    from kongchuo_metrics import reporting

    s = view.settings
    return shared(
        view,
        "calendar",
        lambda: reporting.for_ledger(view.ledger, s.weekly_day, s.monthly_day, day, view.selection.townships),
        day,
    )


def open_records():
    """The records database ($KONGCHUO_DB, settings.toml [records] url, else var/records.sqlite), migrated on first
    use; raises records.RecordsError when it cannot be opened."""
    from kongchuo_metrics import records

    return records.open_db(records.database_url(data_dir(), ROOT))


def records_engine():
    """open_records(); the page stops with the reason when it cannot be opened."""
    from kongchuo_metrics import records

    try:
        return open_records()
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
