"""Issue 13: how long the Word report takes on the sample and on a generated 1,000,000-case ledger.

Run: .venv/bin/python bench/bench_report.py [--cases 1000000] [--followups 3000000]
Prints the time of report.build (figures, tables, charts, the .docx) after the ledger is loaded; the first
report of a process also starts kaleido's browser for the charts ("cold"), later ones reuse it ("warm").
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kongchuo_metrics import metrics  # noqa: E402
from kongchuo_metrics.documents import case_file, report  # noqa: E402
from kongchuo_metrics.ingest import load_ledger  # noqa: E402
from kongchuo_metrics.settings import load_settings  # noqa: E402


def timed(label: str, fn) -> object:
    t = time.perf_counter()
    out = fn()
    print(f"{label:<52} {time.perf_counter() - t:6.2f} s")
    return out


def one(label: str, folder: Path, as_of: dt.date) -> None:
    ledger = timed(f"{label}: load", lambda: load_ledger(folder))
    settings = load_settings(folder)
    sel = metrics.Selection(as_of=as_of)
    import kaleido

    kaleido.start_sync_server(mathjax=False, silence_warnings=True)  # as the app keeps it: one browser
    try:
        for kind in ("通报", "通报", "总结", "简报"):
            r = timed(f"{label}: {report.KINDS[kind]}", lambda k=kind: report.build(ledger, sel, settings, k))
        print(f"{'':<52} ({len(r.docx) / 1e3:.0f} kB 简报, 在册 {r.headline.open:,} 人)")
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    case = metrics.open_at(ledger.cases, as_of)["case_id"].iloc[0]
    timed(f"{label}: 一人一案 {case}", lambda: case_file.build_case_file(ledger, case, settings, as_of))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--followups", type=int, default=3_000_000)
    args = ap.parse_args()
    data = ROOT / "data"
    t = time.perf_counter()
    r = report.build(load_ledger(data), metrics.Selection(as_of=dt.date(2019, 6, 25)), load_settings(data))
    print(f"{'sample: 情况通报, cold (starts the chart browser)':<52} {time.perf_counter() - t:6.2f} s")
    del r
    one("sample", data, dt.date(2019, 6, 25))
    from bench.gen import generate

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp)
        cases, followups, schools, villages = generate(args.cases, args.followups)
        cases.to_parquet(big / "台账.parquet")
        followups.to_parquet(big / "劝返记录.parquet")
        schools.to_parquet(big / "学校.parquet")
        villages.to_parquet(big / "村屯.parquet")
        del cases, followups
        one(f"generated ({args.cases:,} cases)", big, dt.date(2019, 6, 30))


if __name__ == "__main__":
    main()
