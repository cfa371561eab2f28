"""Issue 16: the start's warming never takes the server while a visitor's page is being built. A real server
(`streamlit run app.py`, so app.py's HTTP middleware is in place) is visited by new sessions over the websocket
and by a browser's file fetches; its timeline (KONGCHUO_TIMELINE) holds the start of every warming step. No
step may start while a file is being fetched or within HTTP_QUIET after, nor within VISITOR_QUIET after a new
visitor's first run; and the warming still runs to its end once the visitors are quiet, however often a
load balancer checks the server's health."""

from __future__ import annotations

import json
import time
import urllib.request

from bench.bench_load import session
from tests.browser.conftest import start_server, stop_server
from ui.results import HTTP_QUIET, VISITOR_QUIET

MARGIN = 0.2  # the client sees a run end and a fetch finish a little after the server does


def test_warming_waits_for_new_visitors_and_file_fetches(tmp_path):
    timeline = tmp_path / "timeline.json"
    env = {
        "KONGCHUO_STORE": str(tmp_path / "store"),
        "KONGCHUO_AUDIT": str(tmp_path / "audit.jsonl"),
        "KONGCHUO_TIMELINE": str(timeline),
    }
    proc, url = start_server(env, tmp_path)
    try:
        index = urllib.request.urlopen(f"{url}/", timeout=10).read().decode()
        script = index.split('src="./')[1].split('"')[0]  # the page's main script, as a browser fetches it
        keep_off: list[tuple[float, float]] = []  # wall-clock spans in which no warming step may start
        for _ in range(2):
            latencies: list[float] = []
            errors: list[str] = []
            session(url, [("", "")], latencies, errors)  # a new visitor's first run, no fetch after it
            assert errors == [] and len(latencies) == 1
            ended = time.time()
            keep_off.append((ended, ended + VISITOR_QUIET - MARGIN))
            time.sleep(VISITOR_QUIET + 0.5)
            for _ in range(3):  # a browser fetching the dashboard's files, now and then
                sent = time.time()
                assert urllib.request.urlopen(f"{url}/{script}", timeout=10).read()
                keep_off.append((sent + MARGIN / 4, time.time() + HTTP_QUIET - MARGIN))
                time.sleep(0.4)
            time.sleep(HTTP_QUIET + 0.5)
        deadline = time.time() + 60
        steps: list[float] = []
        while time.time() < deadline:  # the visitors are gone: the warming goes on to its end
            # a load balancer's health checks, more often than HTTP_QUIET, are not a page being built
            assert urllib.request.urlopen(f"{url}/_stcore/health", timeout=10).read() == b"ok"
            marks = json.loads(timeline.read_text()) if timeline.exists() else {}
            steps = sorted(v for k, v in marks.items() if k.startswith("warm_step"))
            if "done" in marks:
                break
            time.sleep(0.3)
        assert "done" in marks, "the warming never finished"
        assert len(steps) >= 6  # the scope's pages and its townships' pages
        assert steps[0] > keep_off[0][0], "the warming was over before the first visitor: nothing was tested"
        during = [t for t in steps for a, b in keep_off if a <= t < b]
        assert during == [], f"warming steps started while a visitor's page was being built: {during}"
    finally:
        stop_server(proc)
    log = "".join(p.read_text() for p in tmp_path.glob("server-*.log"))
    assert "missing ScriptRunContext" not in log  # the start's work outside a session logs no warning
