"""Turns: how many sessions' script runs compute at once (issue 16: a meeting's thirty viewers on two cores).

Python runs one thread at a time. Thirty script runs started together take turns every few milliseconds, each
holding the others back, and each finishes only when nearly all have: every viewer waits for the whole
burst, and the switching costs CPU too (measured with bench/bench_load.py: 48 ms of server CPU per rerun
against 30 ms with one turn). So a run waits for one of TURNS turns before it starts, and the viewers'
runs end one after another instead of all at the end.

A long step of a run gives its turn back meanwhile (`step_aside`: the pack, which a browser draws and
prints; a Word report; reading an uploaded ledger or list; committing an import), so the other viewers'
short runs go on beside it, as they would without turns, instead of waiting for it to end. A run that finds
no turn within WAIT seconds goes ahead anyway: a run stuck somewhere can slow the others, never stop them.
"""

from __future__ import annotations

import contextlib
import os
import threading

TURNS = max(1, int(os.environ.get("KONGCHUO_SCRIPT_TURNS", "1")))
WAIT = 10.0  # seconds a run waits for a turn at most

_SLOTS = threading.BoundedSemaphore(TURNS)
_HELD = threading.local()  # on a script run's thread: how deep it is in take() (a turn is held while > 0)
_COUNT_LOCK = threading.Lock()
_RUNNING = [0]  # runs holding a turn (tests and benchmarks read it)


def take() -> None:
    """Wait for a turn (at most WAIT seconds), once per script run's thread; nested calls only count."""
    depth = getattr(_HELD, "depth", 0)
    if depth == 0:
        _HELD.got = _SLOTS.acquire(timeout=WAIT)
        if _HELD.got:
            with _COUNT_LOCK:
                _RUNNING[0] += 1
    _HELD.depth = depth + 1


def give() -> None:
    """End of a script run: its turn goes to the next run waiting."""
    depth = getattr(_HELD, "depth", 0)
    if depth <= 0:
        return
    _HELD.depth = depth - 1
    if _HELD.depth == 0:
        _release()


def _release() -> None:
    if getattr(_HELD, "got", False):
        _HELD.got = False
        with _COUNT_LOCK:
            _RUNNING[0] -= 1
        _SLOTS.release()


@contextlib.contextmanager
def step_aside():
    """A long step of a run (seconds, not the tens of milliseconds of a page): the run's turn goes to the
    others meanwhile, and the run takes one again (or waits WAIT seconds) before it goes on."""
    held = getattr(_HELD, "depth", 0) > 0 and getattr(_HELD, "got", False)
    if held:
        _release()
    try:
        yield
    finally:
        if held:
            _HELD.got = _SLOTS.acquire(timeout=WAIT)
            if _HELD.got:
                with _COUNT_LOCK:
                    _RUNNING[0] += 1


def running() -> int:
    """Script runs holding a turn now."""
    return _RUNNING[0]
