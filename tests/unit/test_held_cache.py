"""Issue 16 (2): the process cache behind ui.shared: one build for many askers, bounded by count and bytes."""

from __future__ import annotations

import threading
import time

import pandas as pd

from ui.data import _Held


def test_concurrent_askers_wait_for_one_build():
    held = _Held(8)
    builds = []

    def make():
        builds.append(1)
        time.sleep(0.2)  # long enough for every thread to ask while it builds
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(held.get(("k",), make))) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(builds) == 1 and len(got) == 12 and len({id(g) for g in got}) == 1


def test_a_failed_build_is_not_kept_and_the_next_asker_builds_again():
    held = _Held(8)

    def broken():
        raise RuntimeError("no")

    try:
        held.get(("k",), broken)
    except RuntimeError:
        pass
    assert held.get(("k",), lambda: 42) == 42 and not held.building


def test_the_byte_budget_drops_the_least_recently_used():
    frame = pd.DataFrame({"x": range(1000)})  # 8 kB of int64 plus its index
    held = _Held(100, budget=3 * frame.memory_usage().sum())
    for i in range(3):
        held.get((i,), lambda: frame.copy())
    held.get((0,), lambda: None)  # 0 used again: 1 is now the oldest
    held.get((3,), lambda: frame.copy())
    assert set(held.items) == {(0,), (2,), (3,)}
    assert held.full()


def test_the_count_bound_holds_without_a_budget():
    held = _Held(2)
    for i in range(5):
        held.get((i,), lambda i=i: i)
    assert list(held.items) == [(3,), (4,)]
