"""Issue 16: whole-process command-line runs against their peers, printed as ratios.

1. `trend` at 52 weekly dates on a generated 1,000,000-case Parquet ledger, against DuckDB in its own process
   computing the same table (returns counted within the school year from 1 September, as metrics.trend
   does): (a) from the loaded cases (the canonical registered/closed/outcome/poor columns,
   i.e. what a validated snapshot holds): identical numbers by construction, checked; (b) straight from the raw
   Parquet, parsing its date text with strptime but without any validation (no duplicate or conflict checks,
   so its numbers may differ: printed for scale).
2. `validate` (default text report) on a generated 100,000-row xlsx, against a bare
   pandas.read_excel(engine="calamine") of the same workbook in its own process.

Each run is a fresh `python` process (imports included); best of --repeat, interleaved; wall time and peak RSS
(os.wait4). Also prints the machine's load average: the machine may be shared.

Run: .venv/bin/python bench/bench_cli.py [--cases 1000000] [--rows 100000] [--repeat 3] [--only trend|validate]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PY = sys.executable

DUCK_TREND = """
import json, sys, duckdb
path, dates, raw = sys.argv[1], sys.argv[2].split(","), sys.argv[3] == "raw"
duckdb.execute("SET enable_progress_bar = false")  # a slow query would print a progress bar into stdout
cases = (
    '''SELECT strptime("辍学时间", '%Y.%-m.%-d')::DATE AS r,
              CASE WHEN "返校时间" <> '' THEN strptime("返校时间", '%Y/%-m/%-d')::DATE END AS cl,
              "处置情况" = '已返校就读' AS ret, coalesce("是否建档立卡" = '是', false) AS p FROM read_parquet(?)'''
    if raw else
    '''SELECT CAST(registered AS DATE) AS r, CAST(closed AS DATE) AS cl,
              outcome_category IN ('returned', 'vocational') AS ret, coalesce(poor, false) AS p
       FROM read_parquet(?)'''
)
rows = duckdb.execute(f'''
    WITH c AS ({cases}),
         d0 AS (SELECT date, lag(date) OVER (ORDER BY date) AS prev FROM (SELECT unnest(?::DATE[]) AS date)),
         -- returns count within the school year: eve = the 31 August before the date's school year
         dd AS (SELECT date, prev,
                       make_date(year(date) - CASE WHEN month(date) >= 9 THEN 0 ELSE 1 END, 8, 31) AS eve FROM d0)
    SELECT strftime(date, '%Y-%m-%d'),
           count(*) FILTER (WHERE r <= date AND (cl IS NULL OR cl > date)),
           count(*) FILTER (WHERE r <= date AND (cl IS NULL OR cl > date) AND p),
           count(*) FILTER (WHERE ret AND cl <= date AND cl > greatest(coalesce(prev, eve), eve)),
           count(*) FILTER (WHERE ret AND cl <= date AND cl > eve)
    FROM dd, c GROUP BY date ORDER BY date''', [path, dates]).fetchall()
keys = ["date", "open", "open_poor", "returned", "returned_total"]
print(json.dumps([dict(zip(keys, r)) for r in rows]))
"""

PREPARE = """
import sys
from kongchuo_metrics import metrics
from kongchuo_metrics.ingest import load_ledger
raw, canonical, dates_file = sys.argv[1:4]
ledger = load_ledger(raw)
ledger.cases[["registered", "closed", "outcome_category", "poor"]].to_parquet(canonical)
end = metrics.data_range(ledger.cases)[1]
dates = metrics.report_dates(ledger.cases, (), "weekly", end=end.date(), periods=52)
open(dates_file, "w", encoding="utf-8").write(",".join(d.strftime("%Y-%m-%d") for d in dates))
"""

WRITE_XLSX = """
import sys
import pandas as pd
from bench.gen import generate
path, rows = sys.argv[1], int(sys.argv[2])
cases, *_ = generate(rows, 0)
with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
    pd.DataFrame([["XX区控辍保学台账（基准测试数据）"]]).to_excel(xw, sheet_name="台账", header=False, index=False)
    cases.to_excel(xw, sheet_name="台账", startrow=2, index=False)
"""

WRITE_PARQUET = """
import sys
from bench.gen import generate
cases, *_ = generate(int(sys.argv[2]), 0)
cases.to_parquet(sys.argv[1])
"""

BARE_CALAMINE = (
    "import sys, pandas; pandas.read_excel(sys.argv[1], engine='calamine', sheet_name=None, header=2)"
)


def run(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, bytes, float]:
    """Wall seconds, peak RSS (MB), stdout and CPU seconds (user + system, all threads) of one whole process.

    `ok`: the exit codes that count as a finished run (validate exits 2 when it reports a blocking problem)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode not in ok:
        raise RuntimeError(f"{cmd[:4]} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime


def best(label: str, results: list) -> tuple[float, float, bytes, float]:
    wall = min(r[0] for r in results)
    rss = max(r[1] for r in results)
    cpu = min(r[3] for r in results)
    print(f"  {label:<58} {wall:6.2f} s   CPU {cpu:6.2f} s   peak {rss:6.0f} MB")
    return wall, rss, results[0][2], cpu


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def bench_trend(folder: Path, n: int, repeat: int) -> None:
    raw = folder / "台账.parquet"
    canonical = folder / "cases_loaded.parquet"
    dates_file = folder / "dates.txt"
    if not raw.exists():  # children, so that this process stays small (see PREPARE)
        subprocess.run([PY, "-c", WRITE_PARQUET, str(raw), str(n)], cwd=ROOT, check=True)
    if not canonical.exists() or not dates_file.exists():
        # in a child process: a parent holding the loaded ledger would inflate every child's peak RSS (fork)
        subprocess.run([PY, "-c", PREPARE, str(raw), str(canonical), str(dates_file)], cwd=ROOT, check=True)
    text = dates_file.read_text(encoding="utf-8")
    dates = text.split(",")
    print(f"\n== trend at {len(dates)} weekly dates, {n:,} cases (load average {load()})")
    ours_cmd = [PY, "-m", "kongchuo_metrics", "trend", str(raw), "--dates", text]
    duck_cmd = [PY, "-c", DUCK_TREND, str(canonical), text, "loaded"]
    duck_raw_cmd = [PY, "-c", DUCK_TREND, str(raw), text, "raw"]
    runs: dict[str, list] = {"ours": [], "duck": [], "duck_raw": []}
    for _ in range(repeat):
        runs["ours"].append(run(ours_cmd))
        runs["duck"].append(run(duck_cmd))
        runs["duck_raw"].append(run(duck_raw_cmd))
    ours = best("python -m kongchuo_metrics trend (raw Parquet, validated)", runs["ours"])
    duck = best("DuckDB process on the loaded cases (snapshot columns)", runs["duck"])
    duck_raw = best("DuckDB process on the raw Parquet (no validation)", runs["duck_raw"])
    fields = ["open", "open_poor", "returned", "returned_total"]
    mine = [[r[k] for k in fields] for r in json.loads(ours[2])]
    same = mine == [[r[k] for k in fields] for r in json.loads(duck[2])]
    same_raw = mine == [[r[k] for k in fields] for r in json.loads(duck_raw[2])]
    print(f"  identical numbers: loaded-cases peer {same}, raw peer {same_raw}")
    print(
        f"  ratio ours / DuckDB on the loaded cases (target <= 2): {ours[0] / duck[0]:.2f}  (CPU {ours[3] / duck[3]:.2f})"
    )
    print(f"  ratio ours / DuckDB on the raw Parquet: {ours[0] / duck_raw[0]:.2f}")
    print(f"  load average after: {load()}")


def bench_validate(folder: Path, rows: int, repeat: int) -> None:
    path = folder / "台账.xlsx"
    if not path.exists():
        # in a child process, for the same reason as above
        subprocess.run([PY, "-c", WRITE_XLSX, str(path), str(rows)], cwd=ROOT, check=True)
    print(f"\n== validate, {rows:,}-row xlsx ({path.stat().st_size / 1e6:.1f} MB; load average {load()})")
    ours_cmd = [PY, "-m", "kongchuo_metrics", "validate", str(path)]
    bare_cmd = [PY, "-c", BARE_CALAMINE, str(path)]
    ours_runs, bare_runs = [], []
    for _ in range(repeat):
        ours_runs.append(run(ours_cmd, ok=(0, 2)))  # the generated ledger has no school sheet: blocking
        bare_runs.append(run(bare_cmd))
    ours = best("python -m kongchuo_metrics validate (text report)", ours_runs)
    bare = best("python -c pandas.read_excel(engine='calamine')", bare_runs)
    print("  " + ours[2].decode("utf-8").splitlines()[0])
    print(
        f"  ratio ours / bare calamine read (target <= 1.3): {ours[0] / bare[0]:.2f}  (CPU {ours[3] / bare[3]:.2f})"
    )
    print(f"  load average after: {load()}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=("trend", "validate"))
    ap.add_argument("--dir", help="keep the generated ledgers here (reused when present)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{os.cpu_count()} CPUs; {PY}")
        if args.only in (None, "trend"):
            sub = folder / f"trend{args.cases}"
            sub.mkdir(exist_ok=True)
            bench_trend(sub, args.cases, args.repeat)
        if args.only in (None, "validate"):
            sub = folder / f"validate{args.rows}"
            sub.mkdir(exist_ok=True)
            bench_validate(sub, args.rows, args.repeat)


if __name__ == "__main__":
    main()
