"""The server's start (app.py starts `preload` when the server imports it): before the first visitor
connects, a thread imports the dashboard, loads the current ledger version from its snapshot and computes the views each scope
opens first. A server restarted during a meeting shows its first figures as soon as a browser reconnects.

The thread never holds the server up: Streamlit accepts connections at once, and a visitor who arrives
before the work is done waits only for the part its own page needs (the shared caches build each entry once).
"""

from __future__ import annotations

import logging
import threading
import time

LOG = logging.getLogger(__name__)

# what the start did, for the log and the benchmark: seconds from the lifespan's start to each step
TIMELINE: dict[str, float] = {}
READY = threading.Event()


def preload() -> None:
    t0 = time.perf_counter()
    try:
        import ui  # noqa: F401 - pandas, plotly and the core: what the first run would import

        TIMELINE["imported"] = time.perf_counter() - t0
        from . import results

        # each scope's opening view first (its first figures), then each scope's townships
        bases = []
        for scope in opening_scopes():
            bases.append(results.opening(scope))
            TIMELINE.setdefault("first_scope", time.perf_counter() - t0)
        TIMELINE["opening_views"] = time.perf_counter() - t0
        for base in bases:
            results.warm_townships(base)
        TIMELINE["done"] = time.perf_counter() - t0
        LOG.info("kongchuo preload: %s", {k: round(v, 2) for k, v in TIMELINE.items()})
    except Exception:  # noqa: BLE001 - an optimisation: a visitor's own run reports what is wrong
        LOG.exception("kongchuo preload stopped")
    finally:
        READY.set()


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
