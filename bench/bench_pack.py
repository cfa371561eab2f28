"""Issue 7: how long the briefing pack takes on the sample and on a generated 1,000,000-case ledger.

Run: .venv/bin/python bench/bench_pack.py [--cases 1000000] [--followups 3000000] [--folder DIR]
Prints the wall and CPU time of pack.content (the pack's figures and tables, the metrics it shares with the Word
report) and of the whole pack (charts, PDF, PPTX; the CPU time is this process's, not the browsers'), with the
process's peak resident memory and the machine's load average. `--folder` reuses a generated ledger written by
an earlier run (bench_report.py writes the same files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_report import measured, write_generated  # noqa: E402
from kongchuo_metrics import figures, metrics, pack  # noqa: E402
from kongchuo_metrics.ingest import load_ledger  # noqa: E402
from kongchuo_metrics.settings import load_settings  # noqa: E402


def one(label: str, folder: Path, as_of: dt.date, boundaries) -> None:
    ledger = load_ledger(folder)
    settings = load_settings(folder)
    sel = metrics.Selection(as_of=as_of)
    print(f"-- {label}, as of {as_of}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for _ in range(2):
        measured(f"{label}: content", lambda: pack.content(ledger, sel, settings, boundaries))
    result = measured(f"{label}: whole pack", lambda: pack.make_pack(ledger, sel, settings, boundaries))
    print(f"{'':<44} {result.pages} pages, {len(result.pdf) / 1e6:.1f} MB PDF")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--followups", type=int, default=3_000_000)
    ap.add_argument("--folder", help="a generated ledger from an earlier run (written there when empty)")
    args = ap.parse_args()
    data = ROOT / "data"
    one("sample ledger", data, dt.date(2019, 6, 25), figures.load_boundaries(data))
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(args.folder) if args.folder else Path(tmp)
        big.mkdir(parents=True, exist_ok=True)
        if not (big / "台账.parquet").exists():
            write_generated(big, args.cases, args.followups)
        one(f"generated ledger ({args.cases:,} cases)", big, dt.date(2019, 6, 30), None)


if __name__ == "__main__":
    main()
