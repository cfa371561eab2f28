"""Records database under concurrent writers: 20 processes × N feedback writes and N notice numbers each, on
SQLite (WAL) and on a PostgreSQL server started for the run. Prints wall time, writes per second, and checks that
every write is kept and the numbers have no gaps or repeats."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kongchuo_metrics import records  # noqa: E402
from kongchuo_metrics.access import Scope  # noqa: E402
from kongchuo_metrics.records import duban, notices  # noqa: E402

ADMIN = Scope("bench", "county_admin")
PROCS, EACH = 20, 10
DAY = dt.date(2019, 6, 25)


def _worker(url, item_id, n, barrier):
    records.dispose_all(close=False)
    engine = records.open_db(url)
    barrier.wait()
    for i in range(EACH):
        duban.feedback(engine, ADMIN, item_id, f"{n}-{i}")
        child = {
            "township": "三里镇",
            "label": "x",
            "child_key": f"k{n}-{i}",
            "alt_key": "a",
            "step": "school_visit",
        }
        notices.issue(engine, ADMIN, kind="劝学通知书", child=child, as_of=DAY)


def run(url: str, label: str) -> None:
    engine = records.open_db(url)
    item = duban.add(engine, ADMIN, township="三里镇", item="bench", due=DAY, as_of=DAY)
    records.dispose_all()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCS + 1)
    procs = [ctx.Process(target=_worker, args=(url, item["id"], n, barrier)) for n in range(PROCS)]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    for p in procs:
        p.join()
    took = time.perf_counter() - start
    engine = records.open_db(url)
    kept = len(duban.get(engine, ADMIN, item["id"])["feedback"])
    seqs = sorted(int(n.split("第")[1].rstrip("号")) for n in notices.listing(engine, ADMIN)["number"])
    writes = PROCS * EACH * 2
    print(
        f"{label:10s} {PROCS} processes × {EACH} feedback + {EACH} numbered notices: {took:.2f} s, "
        f"{writes / took:.0f} writes/s; feedback kept {kept}/{PROCS * EACH}; "
        f"numbers 1..{len(seqs)} without gaps or repeats: {seqs == list(range(1, PROCS * EACH + 1))}"
    )
    records.dispose_all()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.sqlite", "SQLite")
    from tests.pgserver import PostgresServer

    server = PostgresServer()
    try:
        run(server.start(), "PostgreSQL")
    finally:
        server.stop()
