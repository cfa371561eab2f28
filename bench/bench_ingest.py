"""Issue 2: load a generated 100,000-row xlsx ledger; rows/s and the ratio to a bare pandas.read_excel(calamine).

Run: .venv/bin/python bench/bench_ingest.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from bench.gen import generate  # noqa: E402
from kongchuo_metrics.ingest import load_ledger  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cases, *_ = generate(args.rows, 0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "台账.xlsx"
        t = time.perf_counter()
        with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
            title = pd.DataFrame([["XX区控辍保学台账（基准测试数据）"]])
            title.to_excel(xw, sheet_name="台账", header=False, index=False)
            cases.to_excel(xw, sheet_name="台账", startrow=2, index=False)
        print(
            f"wrote {args.rows:,} rows x {cases.shape[1]} columns in {time.perf_counter() - t:.1f}s "
            f"({path.stat().st_size / 1e6:.1f} MB)"
        )
        bare, ours = [], []
        for _ in range(args.repeat):
            # interleaved, each call from a collected heap, so neither pays for the other's garbage
            gc.collect()
            t = time.perf_counter()
            pd.read_excel(path, engine="calamine", sheet_name=None, header=2)
            bare.append(time.perf_counter() - t)
            gc.collect()
            t = time.perf_counter()
            ledger = load_ledger(path)
            ours.append(time.perf_counter() - t)
        r = ledger.report
        assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_excluded
        best_bare, best_ours = min(bare), min(ours)
        print(f"pandas.read_excel(engine='calamine'): {best_bare:.2f}s (best of {args.repeat})")
        print(f"load_ledger (parse, validate, account): {best_ours:.2f}s (best of {args.repeat})")
        print(
            f"rows loaded: {r.rows_loaded:,}  quarantined: {r.rows_quarantined:,}  problems: {len(r.problems):,}"
        )
        print(f"rows per second: {args.rows / best_ours:,.0f}")
        print(f"ratio ours / bare read_excel: {best_ours / best_bare:.2f}  (target <= 1.3)")
        print(f"ratio of the medians: {statistics.median(ours) / statistics.median(bare):.2f}")


if __name__ == "__main__":
    main()
