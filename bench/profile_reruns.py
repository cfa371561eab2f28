"""Where a page rerun's server time goes: AppTest reruns (each another page and township) under cProfile.

Every script thread is profiled (threading.setprofile starts a cProfile.Profile inside each new thread), so the
figures are the script run itself: data access, metrics, figures and Streamlit's element marshalling.
Prints the wall time per rerun (cold first pass, warm second pass) and the functions that take the most time.

Run: .venv/bin/python bench/profile_reruns.py [--rounds 2] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

PAGES = [
    None,
    "pages/trend.py",
    "pages/schools.py",
    "pages/village_map.py",
    "pages/special_ed.py",
    "pages/followup.py",
]
TOWNSHIPS = ["", "三里镇", "樟木乡", "东龙镇", "五里镇", "蒙公乡"]

_profiles: list[cProfile.Profile] = []


def _start_in_thread(frame, event, arg):
    sys.setprofile(None)
    prof = cProfile.Profile()
    _profiles.append(prof)
    prof.enable()


def rerun(page: str | None, township: str) -> float:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    if township:
        at.query_params["tsp"] = township
    if page:
        at.switch_page(page)
    t = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t
    assert not at.exception, [e.value for e in at.exception]
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("KONGCHUO_STORE", str(Path(tmp) / "store"))
        os.environ.setdefault("KONGCHUO_AUDIT", str(Path(tmp) / "audit.jsonl"))
        combos = [(p, t) for i, p in enumerate(PAGES) for t in TOWNSHIPS[i:] + TOWNSHIPS[:i]]
        for rnd in range(args.rounds):
            if rnd == args.rounds - 1:
                threading.setprofile(_start_in_thread)
            times = [rerun(p, t) for p, t in combos]
            label = "cold" if rnd == 0 else "warm"
            print(
                f"round {rnd + 1} ({label}): {len(times)} reruns, mean {statistics.mean(times) * 1000:.0f} ms, "
                f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
            )
        threading.setprofile(None)
        by_page: dict[str, list[float]] = {}
        for (p, _), t in zip(combos, times, strict=True):
            by_page.setdefault(p or "pages/overview.py", []).append(t)
        for p, ts in by_page.items():
            print(f"  {p:<24} mean {statistics.mean(ts) * 1000:6.0f} ms")
    stats = pstats.Stats(_profiles[0])
    for prof in _profiles[1:]:
        stats.add(prof)
    stats.dump_stats(os.environ.get("PROFILE_OUT", "/tmp/profile_reruns.prof"))
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
