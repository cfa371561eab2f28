"""Issue 16: a real server with one turn (ui.turns) serves a burst of sessions, each rerun another page and
township, without an error and without a turn ever lost: a run that kept its turn would make every later
run wait WAIT seconds for one."""

from __future__ import annotations

import threading

from bench.bench_load import plan, session
from tests.browser.conftest import start_server, stop_server
from ui.turns import WAIT


def test_a_burst_on_one_turn_completes_without_a_lost_turn(tmp_path):
    env = {
        "KONGCHUO_STORE": str(tmp_path / "store"),
        "KONGCHUO_AUDIT": str(tmp_path / "audit.jsonl"),
        "KONGCHUO_SCRIPT_TURNS": "1",
    }
    proc, url = start_server(env, tmp_path)
    try:
        latencies: list[float] = []
        errors: list[str] = []
        steps = [plan(i, 3, False) for i in range(10)]
        # a rerun stopped by st.stop (an empty follow-up view) and one cut short by the next request
        steps[0] = [("followup", "大岭乡"), ("", ""), ("trend", "三里镇")]
        threads = [threading.Thread(target=session, args=(url, s, latencies, errors)) for s in steps]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(latencies) == 30
        # one more session afterwards: a turn lost on the way would hold it WAIT seconds
        after: list[float] = []
        session(url, [("schools", "樟木乡"), ("", "")], after, errors)
        assert errors == [] and len(after) == 2
        assert max(after) < WAIT / 2, after
    finally:
        stop_server(proc)
