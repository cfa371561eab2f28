"""The server's start (app.py starts `preload` when the server imports it): before the first visitor
connects, a thread imports the dashboard, loads the current ledger version from its snapshot and computes the views each scope
opens first. A server restarted during a meeting shows its first figures as soon as a browser reconnects.

The thread never holds the server up: Streamlit accepts connections at once, and a visitor who arrives
before the work is done waits only for the part its own page needs (the shared caches build each entry once).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

LOG = logging.getLogger(__name__)

# what the start did, for the log and the benchmark: seconds from the preload's start to each step; with
# KONGCHUO_TIMELINE set, also written to that file as wall-clock times (bench/bench_restart.py reads them)
TIMELINE: dict[str, float] = {}
WALL: dict[str, float] = {}
READY = threading.Event()


_T0 = [time.perf_counter()]  # the preload's start (set again by preload)


_MARKS = threading.RLock()  # the sessions' script threads, the preload and the warming all mark


def first(step: str, times: int = 3) -> None:
    """Marks the first `times` times `step` happens (the first sessions' runs: when they start and end)."""
    with _MARKS:
        for n in range(1, times + 1):
            if f"{step} {n}" not in TIMELINE:
                _mark(f"{step} {n}", _T0[0])
                return


def _mark(step: str, t0: float) -> None:
    with _MARKS:
        TIMELINE[step] = time.perf_counter() - t0
        if path := os.environ.get("KONGCHUO_TIMELINE"):
            WALL[step] = time.time()
            try:  # replaced whole, so a reader never sees half of it; a timeline never stops a run
                with open(f"{path}.tmp", "w", encoding="utf-8") as f:
                    json.dump(WALL, f)
                os.replace(f"{path}.tmp", path)
            except OSError:
                LOG.warning("kongchuo timeline %s not written", path)


# HTTP requests in flight and when the last one ended (time.monotonic), counted by app.py's ASGI middleware
# (st.App's public `middleware`) and handed over by `preload`: a browser opening the dashboard fetches its
# scripts from this process and then builds the page on the machine's cores, so the warming keeps off meanwhile
_HTTP = [0, 0.0]


def http_quiet(seconds: float) -> bool:
    """True when no HTTP request is in flight and none ended in the last `seconds`."""
    return _HTTP[0] == 0 and time.monotonic() - _HTTP[1] >= seconds


def preload(http: list | None = None) -> None:
    global _HTTP  # noqa: PLW0603 - the server's one counter, shared with the middleware that keeps it
    if http is not None:
        _HTTP = http
    t0 = _T0[0] = time.perf_counter()
    _mark("start", t0)
    try:
        import ui  # noqa: F401 - pandas, plotly and the core: what the first run would import

        _mark("imported", t0)
        from . import persist, results
        from .data import _ledger_key, _scoped

        # each scope's opening view first (its first figures), then each scope's other pages and townships
        bases = []
        for scope in opening_scopes():
            _scoped(*_ledger_key(scope))
            if "loaded" not in TIMELINE:  # the first scope's ledger, from its snapshot
                _mark("loaded", t0)
            bases.append(results.opening(scope))
            if "first_scope" not in TIMELINE:
                _mark("first_scope", t0)
        _mark("opening_views", t0)
        for base in bases:  # kept on disk at once: a server stopped before its warming ends restarts as fast
            persist.save(base.key[0])
        _open_records()
        for base in bases:
            results.warm_townships(base)
        _mark("done", t0)
        LOG.info("kongchuo preload: %s", {k: round(v, 2) for k, v in TIMELINE.items()})
    except Exception:  # noqa: BLE001 - an optimisation: a visitor's own run reports what is wrong
        LOG.exception("kongchuo preload stopped")
    finally:
        READY.set()


def _open_records() -> None:
    """The records database, opened (and its modules imported) before a visitor's follow-up page needs it; a
    failure is left for that page to report."""
    try:
        from .data import open_records

        open_records()
        _mark("records", _T0[0])
    except Exception:  # noqa: BLE001 - the page states what is wrong with the database
        LOG.warning("kongchuo preload: the records database was not opened", exc_info=True)


def opening_scopes() -> list:
    """The scopes whose views are computed at the start: the local user when no users are configured, else
    each distinct scope of the enabled users, county-wide ones first."""
    from kongchuo_metrics import auth

    from .login import LOCAL_USER
    from .session import users_path

    if not auth.has_users(users_path()):
        return [LOCAL_USER]
    seen: dict[tuple, object] = {}
    for user in auth.list_users(users_path()):
        if not user.disabled and user.role:
            seen.setdefault(user.scope().key(), user.scope())
    return sorted(seen.values(), key=lambda s: (not s.county_wide, s.key()))
