"""Issue 3 (and 5): the metrics at national scale on a generated Parquet ledger.

1,000,000 cases, 3,000,000 follow-ups, 200 schools, 2,000 villages. Prints load time, peak memory, the time of
the trend at 52 weekly dates, the school table, the village aggregation, the overdue list, the ratio of our trend
to DuckDB computing the same table on the same Parquet, and the bytes the map sends to the browser.

Run: .venv/bin/python bench/bench_scale.py [--cases 1000000] [--followups 3000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from bench.gen import generate, write_folder  # noqa: E402
from kongchuo_metrics import figures, metrics  # noqa: E402
from kongchuo_metrics.ingest import load_ledger  # noqa: E402


def timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    print(f"{label:<42} {time.perf_counter() - t:8.2f} s")
    return out


def deck_bytes(villages: pd.DataFrame) -> int:
    deck = figures.village_deck(villages, None)
    return len(deck.to_json().encode("utf-8"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--followups", type=int, default=3_000_000)
    args = ap.parse_args()
    sample = load_ledger(Path(__file__).resolve().parents[1] / "data")
    sample_status = metrics.followup_status(sample.cases, sample.followups, max(sample.report_dates), 14)
    sample_villages, _ = metrics.village_table(sample_status, sample.villages)
    print(
        f"{'map payload on the sample (' + str(len(sample_villages)) + ' villages)':<42} "
        f"{deck_bytes(sample_villages) / 1e3:8.1f} KB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_folder(folder, timed("generate", lambda: generate(args.cases, args.followups)))
        ledger = timed("load_ledger (4 Parquet files)", lambda: load_ledger(folder))
        print(
            f"{'peak memory (ru_maxrss)':<42} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MB"
        )
        r = ledger.report
        print(
            f"rows: cases {r.tables['cases']:,}, followups {r.tables['followups']:,}, "
            f"quarantined {r.rows_quarantined:,}, excluded {r.rows_excluded:,}"
        )
        end = metrics.data_range(ledger.cases)[1]
        dates = metrics.report_dates(ledger.cases, (), "weekly", end=end.date(), periods=52)
        ours = timed("trend at 52 weekly dates", lambda: metrics.trend(ledger.cases, dates))
        timed(
            "trend at 52 dates split by township", lambda: metrics.trend(ledger.cases, dates, by="township")
        )
        as_of = dates[-10]
        timed("school table (表二)", lambda: metrics.schools_table(ledger.cases, as_of))
        status = timed(
            "overdue list (follow-up status)",
            lambda: metrics.followup_status(ledger.cases, ledger.followups, as_of, 14),
        )
        village_table, missing = timed(
            "village aggregation", lambda: metrics.village_table(status, ledger.villages)
        )
        payload = deck_bytes(village_table)
        print(
            f"{'map payload (deck JSON, ' + str(len(village_table)) + ' villages)':<42} {payload / 1e6:8.3f} MB"
        )

        import duckdb

        parquet = folder / "cases_canonical.parquet"
        ledger.cases[["registered", "closed", "outcome_category", "poor"]].to_parquet(parquet)
        con = duckdb.connect()
        con.execute(
            "CREATE TABLE d AS SELECT * FROM (SELECT unnest(?::DATE[]) AS date)", [[d.date() for d in dates]]
        )
        sql = f"""
            WITH c AS (SELECT CAST(registered AS DATE) r, CAST(closed AS DATE) cl,
                              outcome_category IN ('returned', 'vocational') ret, coalesce(poor, false) p
                       FROM read_parquet('{parquet}')),
                 -- returns count within the school year (from 1 September), as metrics.trend counts them
                 dd AS (SELECT date, lag(date) OVER (ORDER BY date) prev,
                               make_date(year(date) - CASE WHEN month(date) >= 9 THEN 0 ELSE 1 END, 8, 31) eve
                        FROM d)
            SELECT date,
                   count(*) FILTER (WHERE r <= date AND (cl IS NULL OR cl > date)) AS open,
                   count(*) FILTER (WHERE r <= date AND (cl IS NULL OR cl > date) AND p) AS open_poor,
                   count(*) FILTER (WHERE ret AND cl <= date AND cl > greatest(coalesce(prev, eve), eve)) AS returned,
                   count(*) FILTER (WHERE ret AND cl <= date AND cl > eve) AS returned_total
            FROM dd, c GROUP BY date ORDER BY date"""
        t = time.perf_counter()
        duck = con.execute(sql).df()
        duck_time = time.perf_counter() - t
        t = time.perf_counter()
        ours = metrics.trend(ledger.cases, dates)
        our_time = time.perf_counter() - t
        same = (
            duck[["open", "open_poor", "returned", "returned_total"]].to_numpy()
            == ours[["open", "open_poor", "returned", "returned_total"]].to_numpy()
        ).all()
        print(f"{'DuckDB trend (same Parquet, same table)':<42} {duck_time:8.2f} s   identical: {same}")
        print(f"{'ratio ours / DuckDB (target <= 2)':<42} {our_time / duck_time:8.2f}")
        print(
            json.dumps(
                {
                    "cases": args.cases,
                    "trend_s": round(our_time, 3),
                    "duckdb_s": round(duck_time, 3),
                    "map_bytes": payload,
                }
            )
        )


if __name__ == "__main__":
    main()
