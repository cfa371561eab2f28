"""Where a real server's time goes under the load test: `streamlit run app.py` in this process under cProfile.

The main thread (Tornado: websockets, message serialisation) and every script-run thread (through
threading.setprofile) are profiled while the load test's sessions (bench_load.plan) run against it; the stats
are written to PROFILE_OUT (default /tmp/profile_server.prof). Read them with pstats.

Run: .venv/bin/python bench/profile_server.py [--port 8599] [--sessions 30] [--reruns 3]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_profiles: list[cProfile.Profile] = []


def _start_in_thread(frame, event, arg):
    sys.setprofile(None)
    if not threading.current_thread().name.startswith("ScriptRunner"):
        return  # the load test's own client threads
    # each thread's own CPU time (the default wall clock would count the time a thread waits for the GIL)
    prof = cProfile.Profile(time.thread_time)
    _profiles.append(prof)
    prof.enable()


def drive(url: str, sessions: int, reruns: int, out: str, visited: bool = False) -> None:
    from bench.bench_load import plan, session  # imported by main() already (no import race)

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    session(url, [("", "")], [], [])
    if visited:  # every pair of the plan once before the profile: the shared results are warm
        session(url, sorted({step for i in range(sessions) for step in plan(i, reruns, False)}), [], [])
    for prof in _profiles:
        prof.disable()
    _profiles.clear()
    threading.setprofile(_start_in_thread)
    latencies: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=session, args=(url, plan(i, reruns, False), latencies, errors))
        for i in range(sessions)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    threading.setprofile(None)
    stats = pstats.Stats(_profiles[0])
    for prof in _profiles[1:]:
        stats.add(prof)
    stats.dump_stats(out)
    print(f"{len(latencies)} reruns, {len(errors)} errors; profile of {len(_profiles)} threads in {out}")
    os._exit(0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8599)
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--reruns", type=int, default=3)
    ap.add_argument("--visited", action="store_true", help="visit every pair of the plan once first (warm)")
    args = ap.parse_args()
    out = os.environ.get("PROFILE_OUT", "/tmp/profile_server.prof")
    tmp = tempfile.mkdtemp()
    os.environ.setdefault("KONGCHUO_STORE", f"{tmp}/store")
    os.environ.setdefault("KONGCHUO_AUDIT", f"{tmp}/audit.jsonl")
    os.chdir(ROOT)
    url = f"http://127.0.0.1:{args.port}"
    # the main thread (Tornado: websocket, message serialisation) is profiled too, by a thread started first
    from streamlit.web import bootstrap

    import bench.bench_load  # noqa: F401

    main_prof = cProfile.Profile(time.thread_time)
    _profiles.append(main_prof)
    threading.Thread(
        target=drive, args=(url, args.sessions, args.reruns, out, args.visited), daemon=True
    ).start()

    main_prof.enable()
    bootstrap.load_config_options({"server_port": args.port, "server_headless": True})
    bootstrap.run(str(ROOT / "app.py"), False, [], {"server_port": args.port, "server_headless": True})


if __name__ == "__main__":
    main()
