"""Issue 13: how long the Word report takes on the sample and on a generated 1,000,000-case ledger.

Run: .venv/bin/python bench/bench_report.py [--cases 1000000] [--followups 3000000] [--folder DIR]
For each of 情况通报, 工作总结 and 简报 it prints the wall time and the CPU time of report.build (figures,
tables, charts, the .docx) once the ledger is loaded, and the process's peak resident memory during the build
(and how far it rose above the memory held before it). The first report starts the chart browser (kaleido) for its charts, as the CLI does; then
the browser is started once and kept, as the app keeps it. The generated ledger is measured twice: as generated
(no report dates of its own, so no 环比/同比) and with monthly report dates and an as-of date a year after its
first registration, so that the comparisons at the previous report date and at the same date last year run.
The machine's load average is printed with each block: on a shared machine compare the CPU times.
`--folder` reuses a generated ledger written by an earlier run (台账/劝返记录/学校/村屯.parquet).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kongchuo_metrics import metrics  # noqa: E402
from kongchuo_metrics.documents import case_file, report  # noqa: E402
from kongchuo_metrics.ingest import load_ledger  # noqa: E402
from kongchuo_metrics.settings import load_settings  # noqa: E402


def _rss(field: str) -> int:
    """A memory figure of this process from /proc (kB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (the peak) to the current RSS
    except OSError:
        pass


def measured(label: str, fn) -> object:
    """Run fn, print wall, CPU and the peak memory above the memory held before."""
    before = _rss("VmRSS")
    _reset_peak()
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    peak = _rss("VmHWM")
    print(
        f"{label:<44} wall {wall:6.2f} s   CPU {cpu:6.2f} s   "
        f"peak RSS {peak / 1024:6.0f} MB (+{(peak - before) / 1024:4.0f})",
        flush=True,
    )
    return out


def one(label: str, ledger, settings, as_of: dt.date) -> None:
    sel = metrics.Selection(as_of=as_of)
    print(f"-- {label}, as of {as_of}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    r = None
    for kind in ("通报", "通报", "总结", "简报"):
        r = measured(f"{label}: {report.KINDS[kind]}", lambda k=kind: report.build(ledger, sel, settings, k))
    c = r.headline.comparison
    print(
        f"{'':<44} 在册 {r.headline.open:,} 人；环比 {'有' if c.previous.known else '无'}，"
        f"同比 {'有' if c.last_year.known else '无'}；简报 {len(r.docx) / 1e3:.0f} kB"
    )
    case = metrics.open_at(ledger.cases, as_of)["case_id"].iloc[0]
    measured(f"{label}: 一人一案", lambda: case_file.build_case_file(ledger, case, settings, as_of))


def write_generated(folder: Path, n_cases: int, n_followups: int) -> None:
    from bench.gen import generate, write_folder

    write_folder(folder, generate(n_cases, n_followups))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--followups", type=int, default=3_000_000)
    ap.add_argument("--folder", help="a generated ledger from an earlier run (written there when empty)")
    args = ap.parse_args()
    import kaleido

    data = ROOT / "data"
    sample = load_ledger(data)
    sel = metrics.Selection(as_of=dt.date(2019, 6, 25))
    measured(
        "sample: 情况通报, starting the chart browser",  # as the CLI does: one browser for the report's charts
        lambda: report.build(sample, sel, load_settings(data)),
    )
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)  # as the app keeps it: one browser
    try:
        one("sample", sample, load_settings(data), dt.date(2019, 6, 25))
        with tempfile.TemporaryDirectory() as tmp:
            big = Path(args.folder) if args.folder else Path(tmp)
            big.mkdir(parents=True, exist_ok=True)
            if not (big / "台账.parquet").exists():
                write_generated(big, args.cases, args.followups)
            t, c = time.perf_counter(), time.process_time()
            ledger = load_ledger(big)
            print(
                f"generated ledger loaded: {len(ledger.cases):,} cases, {len(ledger.followups):,} follow-ups "
                f"(wall {time.perf_counter() - t:.1f} s, CPU {time.process_time() - c:.1f} s)"
            )
            settings = load_settings(big)
            one(f"generated ({len(ledger.cases):,} cases)", ledger, settings, dt.date(2019, 6, 30))
            first = pd.Timestamp(ledger.cases["registered"].min())
            dated = dataclasses.replace(
                ledger, report_dates=tuple(pd.date_range(first, "2019-09-30", freq="ME"))
            )
            one("generated, monthly report dates", dated, settings, (first + pd.DateOffset(years=1)).date())
    finally:
        kaleido.stop_sync_server(silence_warnings=True)


if __name__ == "__main__":
    main()
