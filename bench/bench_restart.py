"""Issue 16 item 1: a fresh server on an imported 1,000,000-case store shows its first figures in the browser.

Generates a 1,000,000-case ledger (Parquet folder: cases, follow-ups, schools, villages), imports it once with
the CLI (`import FOLDER --store DIR --scope county`), then starts `streamlit run app.py` on that store and
measures, in Debian's chromium, the time from the server process start until the overview's first KPI figure
is drawn. Also prints the in-process time to read the stored snapshot against parsing the raw files again,
and the server's peak memory.

Run: .venv/bin/python bench/bench_restart.py [--cases 1000000] [--followups 1000000] [--runs 5] [--dir DIR]
(--dir keeps the generated ledger and the imported store there, and reuses them when present)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gen import generate, write_folder  # noqa: E402
from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, free_port  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _wait_health(port: int, t0: float, limit: float = 120) -> float:
    """Poll the health check (a plain HTTP client, as a load balancer would) until it answers; its time."""
    import urllib.request

    while time.perf_counter() - t0 < limit:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return time.perf_counter()
        except OSError:
            time.sleep(0.01)
    raise TimeoutError("the server never answered its health check")


def _start(env: dict, port: int) -> tuple[subprocess.Popen, Path, float]:
    timeline = Path(tempfile.mkdtemp()) / "timeline.json"
    wall0 = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT,
        env={**env, "KONGCHUO_TIMELINE": str(timeline)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, timeline, wall0


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


METRIC = (
    "() => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => /\\d/.test(e.innerText))"
)


def first_figures(env: dict, opener) -> tuple[float, float, float]:
    """Seconds from the server process's start to the first KPI value in the browser, the same from the moment
    the server accepts connections (its health check answers), and the server's peak MB.

    `opener`: a Browser (each page its own new profile) or a BrowserContext (pages share its HTTP cache). The
    page is open before the server starts and goes to the URL as soon as the health check answers. (A page
    left open on the dashboard while the server restarts keeps showing its figures: Streamlit reconnects
    without rerunning, so there is nothing to time there.)"""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    page = opener.new_page()  # the browser is open before the server starts
    t0 = time.perf_counter()
    proc, timeline, wall0 = _start(env, port)
    try:
        up = _wait_health(port, t0)
        page.goto(url, timeout=120000, wait_until="commit")
        loaded = time.perf_counter() - t0
        page.wait_for_function(METRIC, timeout=120000, polling=50)
        done = time.perf_counter()
        seconds = done - t0
        figure = page.locator("[data-testid='stMetricValue']").first.inner_text()
        print(
            f"  first figure {figure!r} after {seconds:.2f} s ({done - up:.2f} s after the server accepted connections)"
        )
        steps = json.loads(timeline.read_text()) if timeline.exists() else {}
        phases = {"accepting": up - t0, "page loaded": loaded}
        phases |= {
            f"server {k}": v - wall0
            for k, v in steps.items()
            if k in ("start", "loaded", "first_scope") or k.startswith("run_")
        }
        print("    " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(phases.items(), key=lambda kv: kv[1])))
        page.close()
        return seconds, done - up, peak_rss_mb(proc.pid)
    finally:
        _stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--followups", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", help="keep the generated ledger and store here (reused when present)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from kongchuo_metrics import storage
    from kongchuo_metrics.ingest import load_ledger

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(args.dir) if args.dir else Path(tmp)
        tmp.mkdir(parents=True, exist_ok=True)
        ledger = tmp / "全区台账"
        store = tmp / "store"
        env = {**os.environ, "KONGCHUO_STORE": str(store), "KONGCHUO_AUDIT": str(tmp / "audit.jsonl")}
        env.pop("KONGCHUO_USERS", None)
        print(f"load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not (ledger / "台账.parquet").exists():
            ledger.mkdir(exist_ok=True)
            write_folder(ledger, generate(args.cases, args.followups))
        if storage.current(store)[0] is None:
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "kongchuo_metrics", "import", str(ledger), "--scope", "county"],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            print(
                f"import (validate once, write raw + snapshot), whole process   {time.perf_counter() - t:8.2f} s"
            )
        name = storage.current(store)[0].name
        t = time.perf_counter()
        led = storage.load(store, name)
        snap = time.perf_counter() - t
        del led
        t = time.perf_counter()
        load_ledger(ledger)
        raw = time.perf_counter() - t
        print(f"read the stored snapshot (memory-mapped Arrow, digests checked)  {snap:8.2f} s")
        print(
            f"parse and validate the raw files again                           {raw:8.2f} s  ({raw / snap:.1f}×)"
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            print("a new browser profile each time (the dashboard's scripts and styles not cached):")
            results = [first_figures(env, browser) for _ in range(args.runs)]
            # a meeting's browser has had the dashboard open before: its HTTP cache holds the static files
            context = browser.new_context()
            print("a browser that has opened the dashboard before (its cache kept; the server restarted):")
            first_figures(env, context)
            again = [first_figures(env, context) for _ in range(args.runs)]
            browser.close()
        for label, runs in (
            ("new browser profile", results),
            ("browser that had the dashboard open", again),
        ):
            seconds = sorted(r[0] for r in runs)
            print(
                f"fresh server -> first figures, {label}: best {seconds[0]:.2f} s, median "
                f"{statistics.median(seconds):.2f} s, worst {seconds[-1]:.2f} s of {len(runs)} from the process's "
                f"start; best {min(r[1] for r in runs):.2f} s from accepting connections (target <= 3 s); "
                f"server peak memory {max(r[2] for r in runs):.0f} MB (the start's preload and warming included)"
            )


if __name__ == "__main__":
    main()
