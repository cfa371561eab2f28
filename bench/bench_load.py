"""Issue 6: a bounded loopback load test. N websocket sessions x M reruns against `streamlit run app.py`.

Targets only 127.0.0.1 (the server is started here on a free loopback port). Prints errors, p50/p95 latency
per rerun and the server's memory before and after.

Run: .venv/bin/python bench/bench_load.py [--sessions 30] [--reruns 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import websocket  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from tests.browser.conftest import start_server  # noqa: E402

PAGES = ["", "trend", "schools", "village_map", "special_ed", "followup"]


def session(url: str, reruns: int, page: str, latencies: list, errors: list, timeout: float = 120) -> None:
    host = url.replace("http://", "")
    try:
        ws = websocket.create_connection(
            f"ws://{host}/_stcore/stream", subprotocols=["streamlit"], timeout=timeout
        )
    except Exception as exc:  # noqa: BLE001 - a load test counts every failure
        errors.append(f"connect: {exc}")
        return
    try:
        for i in range(reruns):
            msg = BackMsg()
            msg.rerun_script.query_string = "" if i % 2 == 0 else "tsp=%E4%B8%89%E9%87%8C%E9%95%87"
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--reruns", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"KONGCHUO_STORE": f"{tmp}/store", "KONGCHUO_AUDIT": f"{tmp}/audit.jsonl"}
        proc, url = start_server(env, Path(tmp))
        try:
            server = psutil.Process(proc.pid)
            warm: list = []
            session(url, 1, "", warm, [])
            before = server.memory_info().rss
            latencies: list[float] = []
            errors: list[str] = []
            threads = [
                threading.Thread(
                    target=session, args=(url, args.reruns, PAGES[i % len(PAGES)], latencies, errors)
                )
                for i in range(args.sessions)
            ]
            t = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t
            after = server.memory_info().rss
        finally:
            proc.terminate()
            proc.wait(10)
    lat = sorted(latencies)
    p95 = lat[max(0, int(len(lat) * 0.95) - 1)] if lat else float("nan")
    print(f"sessions {args.sessions} x reruns {args.reruns} on {url} in {wall:.1f}s")
    print(f"completed reruns: {len(lat)} / {args.sessions * args.reruns}")
    print(f"errors: {len(errors)}" + (f"  first: {errors[:3]}" if errors else ""))
    if lat:
        print(f"latency p50 {statistics.median(lat):.2f}s  p95 {p95:.2f}s  max {lat[-1]:.2f}s")
    print(f"server memory before {before / 1e6:.0f} MB, after {after / 1e6:.0f} MB")
    if os.environ.get("CI"):
        sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
