"""ui.turns: at most TURNS script runs compute at once; a long step gives its turn to the others; a run that
finds no turn within WAIT goes ahead; a run's nested take/give hold one turn."""

from __future__ import annotations

import threading
import time

import pytest

from ui import turns


@pytest.fixture
def one_turn(monkeypatch):
    monkeypatch.setattr(turns, "_SLOTS", threading.BoundedSemaphore(1))
    monkeypatch.setattr(turns, "_RUNNING", [0])
    monkeypatch.setattr(turns, "WAIT", 5.0)
    return turns


def _run(log: list, name: str, hold: float, aside: float = 0.0) -> None:
    turns.take()
    try:
        log.append((name, "start", time.monotonic(), turns.running()))
        time.sleep(hold)
        if aside:
            with turns.step_aside():
                log.append((name, "aside", time.monotonic(), turns.running()))
                time.sleep(aside)
        log.append((name, "end", time.monotonic(), turns.running()))
    finally:
        turns.give()


def test_one_run_at_a_time(one_turn):
    log: list = []
    threads = [threading.Thread(target=_run, args=(log, f"r{i}", 0.05)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log) == 12 and all(running == 1 for *_, running in log)
    # the runs do not overlap: each starts after the one before it ended
    spans = sorted(
        (s[2], e[2]) for s in log if s[1] == "start" for e in log if e[0] == s[0] and e[1] == "end"
    )
    assert all(b[0] >= a[1] for a, b in zip(spans, spans[1:], strict=False))
    assert turns.running() == 0


def test_a_long_step_lets_the_others_run(one_turn):
    log: list = []
    long = threading.Thread(target=_run, args=(log, "pack", 0.01, 0.6))
    long.start()
    time.sleep(0.1)  # the pack run is in its long step
    t0 = time.monotonic()
    short = threading.Thread(target=_run, args=(log, "page", 0.01))
    short.start()
    short.join()
    assert time.monotonic() - t0 < 0.4  # it did not wait for the pack to end
    long.join()
    ends = {name: at for name, what, at, _ in log if what == "end"}
    assert ends["page"] < ends["pack"]
    assert turns.running() == 0


def test_a_run_finding_no_turn_goes_ahead_after_wait(one_turn, monkeypatch):
    monkeypatch.setattr(turns, "WAIT", 0.2)
    stuck = threading.Event()
    release = threading.Event()

    def holder():
        turns.take()
        stuck.set()
        release.wait(5)
        turns.give()

    t = threading.Thread(target=holder)
    t.start()
    stuck.wait(5)
    log: list = []
    t0 = time.monotonic()
    _run(log, "late", 0.0)
    assert 0.15 < time.monotonic() - t0 < 2.0  # waited WAIT, then went ahead
    release.set()
    t.join()
    assert turns.running() == 0
    assert turns._SLOTS.acquire(timeout=0.1)  # no turn was lost or added: exactly one is free again
    turns._SLOTS.release()


def test_nested_takes_hold_one_turn_and_stray_gives_do_nothing(one_turn):
    turns.give()  # a give without a take (a run that never started) changes nothing
    turns.take()
    turns.take()  # folder mode: the page's run reaches run_app again
    assert turns.running() == 1
    turns.give()
    assert turns.running() == 1
    turns.give()
    assert turns.running() == 0
    turns.give()
    assert turns.running() == 0
