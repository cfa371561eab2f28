"""Issues 6 and 16: a bounded loopback load test. N websocket sessions x M reruns against `streamlit run app.py`.

Each rerun of a session goes to another page and another township (session i, rerun j: page (i + j) mod 6,
township (i + 2j) mod 11 of the sample's ten townships and "all"), the way a joint meeting and the townships
watching the same dashboard click through it. Targets only 127.0.0.1 (the server is started here on a free
loopback port). Prints errors, p50/p95 latency per rerun, the server's memory before and after, the machine's
load average (the machine may be shared) and, from one session alone afterwards, the server time per warm
rerun (no queueing).

Run: .venv/bin/python bench/bench_load.py [--sessions 30] [--reruns 3] [--same-page] [--settle | --restart]
(--same-page is the issue-6 pattern: every rerun of a session on one page, township alternating.)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import websocket  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from tests.browser.conftest import start_server  # noqa: E402

PAGES = ["", "trend", "schools", "village_map", "special_ed", "followup"]
TOWNSHIPS = [
    "",
    "三里镇",
    "樟木乡",
    "东龙镇",
    "五里镇",
    "蒙公乡",
    "黄练镇",
    "石卡镇",
    "山北乡",
    "覃塘镇",
    "大岭乡",
]


def plan(i: int, reruns: int, same_page: bool) -> list[tuple[str, str]]:
    """(page, township) of each rerun of session i."""
    if same_page:
        return [(PAGES[i % len(PAGES)], "" if j % 2 == 0 else "三里镇") for j in range(reruns)]
    return [(PAGES[(i + j) % len(PAGES)], TOWNSHIPS[(i + 2 * j) % len(TOWNSHIPS)]) for j in range(reruns)]


def session(url: str, steps: list, latencies: list, errors: list, timeout: float = 120) -> None:
    host = url.replace("http://", "")
    try:
        ws = websocket.create_connection(
            f"ws://{host}/_stcore/stream", subprotocols=["streamlit"], timeout=timeout
        )
    except Exception as exc:  # noqa: BLE001 - a load test counts every failure
        errors.append(f"connect: {exc}")
        return
    try:
        for page, township in steps:
            msg = BackMsg()
            msg.rerun_script.query_string = urllib.parse.urlencode({"tsp": township}) if township else ""
            msg.rerun_script.page_name = page
            t = time.perf_counter()
            ws.send_binary(msg.SerializeToString())
            while True:
                data = ws.recv()
                fwd = ForwardMsg()
                fwd.ParseFromString(data)
                kind = fwd.WhichOneof("type")
                if (
                    kind == "delta"
                    and fwd.delta.WhichOneof("type") == "new_element"
                    and fwd.delta.new_element.WhichOneof("type") == "exception"
                ):
                    errors.append(f"exception on '{page}': {fwd.delta.new_element.exception.message[:80]}")
                if kind == "script_finished":
                    latencies.append(time.perf_counter() - t)
                    break
    except Exception as exc:  # noqa: BLE001
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        ws.close()


def wait_idle(server, timeline: Path, quiet: float = 1.0, limit: float = 300) -> float:
    """Block until the server's start has ended its warming (its timeline's "done": the warming also waits a
    while after a new visitor, when the server is idle but not done) and the process has then used under 5%
    of a core for `quiet` seconds; returns the time."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        try:
            if "done" in json.loads(timeline.read_text()):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    while time.perf_counter() < deadline:
        before = sum(server.cpu_times()[:2])
        time.sleep(quiet)
        if sum(server.cpu_times()[:2]) - before < 0.05 * quiet:
            break
    return time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--reruns", type=int, default=3)
    ap.add_argument("--same-page", action="store_true", help="issue 6's pattern: one page per session")
    ap.add_argument(
        "--settle",
        action="store_true",
        help="after the first visit, wait until the server is idle (its warming done) before the load",
    )
    ap.add_argument(
        "--restart",
        action="store_true",
        help="a first server warms up and stops; the load runs against a second one started on the same store "
        "(the kept results, ui.persist), right after its first visit",
    )
    ap.add_argument(
        "--visited",
        action="store_true",
        help="every (page, township) of the plan visited once by one session before the load (earlier visitors)",
    )
    ap.add_argument(
        "--profile",
        metavar="FILE",
        help="sample the server with py-spy during the load (pip install py-spy) into FILE, collapsed stacks",
    )
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        timeline = Path(tmp) / "timeline.json"
        env = {
            "KONGCHUO_STORE": f"{tmp}/store",
            "KONGCHUO_AUDIT": f"{tmp}/audit.jsonl",
            "KONGCHUO_TIMELINE": str(timeline),
        }
        proc, url = start_server(env, Path(tmp))
        if args.restart:  # the server that ran before: visited, warmed up (its results kept on disk), stopped
            session(url, [("", "")], [], [])
            wait_idle(psutil.Process(proc.pid), timeline)
            proc.terminate()
            proc.wait(10)
            timeline.unlink()
            proc, url = start_server(env, Path(tmp))
        try:
            server = psutil.Process(proc.pid)
            warm: list = []
            t0 = time.perf_counter()
            session(url, [("", "")], warm, [])
            settled = None
            if args.settle:  # a meeting's first visitor opens the dashboard before the others join
                settled = wait_idle(server, timeline) - t0
            plans = [plan(i, args.reruns, args.same_page) for i in range(args.sessions)]
            if args.visited:  # every pair of the plan once, by one session (earlier visitors)
                session(url, sorted({step for steps in plans for step in steps}), warm, [])
            before = server.memory_info().rss
            cpu_before = server.cpu_times()
            latencies: list[float] = []
            errors: list[str] = []
            threads = [
                threading.Thread(target=session, args=(url, steps, latencies, errors)) for steps in plans
            ]
            spy = None
            if args.profile:
                spy = subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(proc.pid), "-r", "200"]
                    + ["-f", "raw", "-o", args.profile, "--nonblocking"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1.0)
            t = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t
            if spy:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            after = server.memory_info().rss
            cpu_after = server.cpu_times()
            load_after = os.getloadavg()
            # one session alone, the same steps again (warm): the server time of a rerun without queueing
            solo: list[float] = []
            solo_cpu = server.cpu_times()
            session(url, [step for steps in plans[:12] for step in steps], solo, errors)
            solo_cpu_after = server.cpu_times()
        finally:
            proc.terminate()
            proc.wait(10)
    lat = sorted(latencies)
    p95 = lat[max(0, int(len(lat) * 0.95) - 1)] if lat else float("nan")
    print(f"sessions {args.sessions} x reruns {args.reruns} on {url} in {wall:.1f}s")
    if args.restart:
        print("a restarted server: the first one warmed up and stopped; this one keeps its results")
    if settled is not None:
        print(f"server idle {settled:.1f}s after the first visit began (warming done), then the load started")
    print(f"completed reruns: {len(lat)} / {args.sessions * args.reruns}")
    print(f"errors: {len(errors)}" + (f"  first: {errors[:3]}" if errors else ""))
    if lat:
        print(f"latency p50 {statistics.median(lat):.2f}s  p95 {p95:.2f}s  max {lat[-1]:.2f}s")
    print(f"server memory before {before / 1e6:.0f} MB, after {after / 1e6:.0f} MB")
    cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    print(f"server CPU during the load {cpu:.1f} s = {cpu / max(1, len(lat)) * 1000:.0f} ms per rerun")
    distinct = len({step for steps in plans for step in steps})
    print(f"distinct (page, township) pairs: {distinct} of {len(lat)} reruns")
    if solo:
        solo_s = (solo_cpu_after.user + solo_cpu_after.system) - (solo_cpu.user + solo_cpu.system)
        print(
            f"one session alone, warm: {len(solo)} reruns, median {statistics.median(solo) * 1000:.0f} ms, "
            f"max {max(solo) * 1000:.0f} ms, server CPU {solo_s / len(solo) * 1000:.0f} ms per rerun"
        )
    print(
        "load average (1/5/15 min) before "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.2f}" for x in load_after)
        + f" on {os.cpu_count()} CPUs"
    )
    if os.environ.get("CI"):
        sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
