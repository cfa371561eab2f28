"""Issue 4: render time of every page with AppTest, on the sample and on a generated 1,000,000-case ledger.

For each ledger: the first run (load + render) of the overview, then each page with a warm cache, then a
"filter change" (a new township in the URL) on each page. Target on the large ledger: a rerun after a filter
change in under 1 s.

Run: .venv/bin/python bench/bench_pages.py [--cases 1000000] [--followups 3000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

PAGES = {
    "总览": None,
    "辍学趋势": "pages/trend.py",
    "学校明细": "pages/schools.py",
    "村级地图": "pages/village_map.py",
    "特殊教育": "pages/special_ed.py",
    "个案跟踪": "pages/followup.py",
    "数据导入": "pages/upload.py",
}


def run(page: str | None, query: dict | None = None) -> float:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    t = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t
    assert not at.exception, [e.value for e in at.exception]
    return elapsed


def measure(label: str, township: str) -> None:
    print(f"\n== {label}")
    print(f"{'first load (overview, cold cache)':<36} {run(None):7.2f} s")
    for name, page in PAGES.items():
        warm = run(page)
        changed = run(page, {"tsp": township})
        print(f"{name:<10} warm {warm:6.2f} s   after a township filter change {changed:6.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--followups", type=int, default=3_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["KONGCHUO_STORE"] = str(Path(tmp) / "store")
        os.environ["KONGCHUO_AUDIT"] = str(Path(tmp) / "audit.jsonl")
        measure("sample ledger (data/)", "三里镇")
        from bench.gen import generate, write_folder

        big = Path(tmp) / "big"
        big.mkdir()
        write_folder(big, generate(args.cases, args.followups))
        os.environ["KONGCHUO_DATA"] = str(big)
        measure(f"generated ledger: {args.cases:,} cases, {args.followups:,} follow-ups", "第03镇")


if __name__ == "__main__":
    main()
