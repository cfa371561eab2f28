"""Issue 7: how long the briefing pack takes on the sample and on a generated 1,000,000-case ledger.

Run: .venv/bin/python bench/bench_pack.py [--cases 1000000] [--followups 3000000]
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

from kongchuo_metrics import figures, metrics, pack  # noqa: E402
from kongchuo_metrics.ingest import load_ledger  # noqa: E402
from kongchuo_metrics.settings import load_settings  # noqa: E402


def one(label: str, folder: Path, as_of: dt.date, boundaries) -> None:
    ledger = load_ledger(folder)
    t = time.perf_counter()
    result = pack.make_pack(ledger, metrics.Selection(as_of=as_of), load_settings(folder), boundaries)
    print(
        f"{label:<44} {time.perf_counter() - t:6.1f} s  ({result.pages} pages, {len(result.pdf) / 1e6:.1f} MB PDF)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--followups", type=int, default=3_000_000)
    args = ap.parse_args()
    data = ROOT / "data"
    one("sample ledger", data, dt.date(2019, 6, 25), figures.load_boundaries(data))
    from bench.gen import generate

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp)
        cases, followups, schools, villages = generate(args.cases, args.followups)
        cases.to_parquet(big / "台账.parquet")
        followups.to_parquet(big / "劝返记录.parquet")
        schools.to_parquet(big / "学校.parquet")
        villages.to_parquet(big / "村屯.parquet")
        del cases, followups
        one(f"generated ledger ({args.cases:,} cases)", big, dt.date(2019, 6, 30), None)


if __name__ == "__main__":
    main()
