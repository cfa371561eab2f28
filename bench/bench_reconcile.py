"""Issue 15: a province's 学籍 export (5,000,000 rows, generated) reconciled against the sample ledger.

Writes a GBK or UTF-8 CSV laid out like a real export (a title row, 学校标识码, 身份证件号, 全国学籍号 = G + ID,
学生状态), with lowercase x, 学籍号-only and ID-less rows mixed in, and a 10,000-row pushed list; then times
reading the export through the list ingest and the whole check. Prints seconds, rows/s and peak memory.

Run: .venv/bin/python bench/bench_reconcile.py [--rows 5000000] [--encoding utf-8|gbk] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from kongchuo_metrics import reconcile  # noqa: E402
from kongchuo_metrics.ingest import load_ledger  # noqa: E402
from kongchuo_metrics.parsers import id_check_digit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STATUSES = np.array(["在读"] * 17 + ["休学", "转出", "毕业"])
SURNAMES = np.array(
    list(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    )
)
GIVEN = np.array(list("子涵欣怡梓轩浩宇雨晨一诺俊杰思远佳怡嘉豪明轩晓婷文博雅琪志强丽娟"))


def ids(n: int, rng: np.random.Generator, ledger_ids: np.ndarray) -> np.ndarray:
    """n checksummed IDs of children born 2006–2018 in a few counties; the ledger's children among them."""
    regions = rng.choice(np.array(["450802", "450803", "450804", "450821", "450881", "451102", "451121"]), n)
    birth = (np.datetime64("2006-01-01") + rng.integers(0, 13 * 365, n)).astype("datetime64[D]")
    ymd = pd.Series(birth).dt.strftime("%Y%m%d").to_numpy()
    seq = pd.Series(rng.integers(0, 1000, n)).astype("str").str.zfill(3).to_numpy()
    first17 = pd.Series(regions.astype(object) + ymd.astype(object) + seq.astype(object), dtype="str")
    out = (first17 + id_check_digit(first17).astype("str")).to_numpy(dtype=object)
    out[: len(ledger_ids)] = ledger_ids
    return out


def write_export(path: Path, rows: int, encoding: str, ledger_ids: np.ndarray) -> None:
    rng = np.random.default_rng(2024)
    idn = ids(rows, rng, ledger_ids)
    lower = rng.random(rows) < 0.02
    idn = np.where(lower, pd.Series(idn, dtype="str").str.lower().to_numpy(), idn)
    student_no = "G" + pd.Series(idn, dtype="str").str.upper()
    only_g = rng.random(rows) < 0.03  # the ID column left empty, the 学籍号 carries it
    none = rng.random(rows) < 0.001  # neither
    id_col = pd.Series(idn, dtype="str").mask(only_g | none, "")
    student_no = student_no.mask(none, "")
    school_no = rng.integers(0, 4000, rows)
    frame = pd.DataFrame(
        {
            "序号": np.arange(1, rows + 1),
            "学校标识码": 2145000000 + school_no,
            "学校名称": pd.Series(school_no, dtype="str").radd("第").add("学校"),
            "姓名": pd.Series(rng.choice(SURNAMES, rows)).astype("str")
            + pd.Series(rng.choice(GIVEN, rows)).astype("str")
            + pd.Series(rng.choice(GIVEN, rows)).astype("str"),
            "性别": np.where(rng.random(rows) < 0.5, "男", "女"),
            "身份证件类型": "居民身份证",
            "身份证件号": id_col,
            "全国学籍号": student_no,
            "年级": pd.Series(rng.integers(1, 10, rows), dtype="str") + "年级",
            "班级": pd.Series(rng.integers(1, 12, rows), dtype="str") + "班",
            "学生状态": rng.choice(STATUSES, rows),
        }
    )
    with open(path, "w", encoding=encoding, newline="") as fh:
        fh.write("2024年秋季学期全省义务教育学生学籍信息导出" + "," * (frame.shape[1] - 1) + "\r\n")
        frame.to_csv(fh, index=False, lineterminator="\r\n", chunksize=500_000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--encoding", default="utf-8", choices=("utf-8", "gbk"))
    ap.add_argument("--keep", action="store_true", help="keep the generated file in bench/out/")
    args = ap.parse_args()
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    ledger = load_ledger(ROOT / "data")
    ledger_ids = ledger.cases["id_number"].to_numpy(dtype=object)[:80]
    path = out / f"学籍导出_{args.rows}_{args.encoding}.csv"
    t = time.perf_counter()
    if not path.exists():
        write_export(path, args.rows, args.encoding, ledger_ids)
    print(
        f"export: {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB {args.encoding} ({time.perf_counter() - t:.1f}s to write)"
    )
    pushed = out / "推送名单_10000.csv"
    rng = np.random.default_rng(7)
    pushed_ids = ids(10_000, rng, ledger_ids[:20])
    pd.DataFrame(
        {
            "序号": np.arange(1, 10_001),
            "姓名": "某某",
            "身份证件号": pushed_ids,
            "推送原因": "学籍异动",
            "核查结果": "",
        }
    ).to_csv(pushed, index=False, encoding="utf-8-sig")

    t0, c0 = time.perf_counter(), time.process_time()
    xueji = reconcile.read_list(path, "xueji")
    t1, c1 = time.perf_counter(), time.process_time()
    lists = {"xueji": xueji, "pushed": reconcile.read_list(pushed, "pushed")}
    result = reconcile.reconcile(ledger, lists, "2024-10-08")
    t2, c2 = time.perf_counter(), time.process_time()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"read 学籍 export: {t1 - t0:.1f}s ({xueji.rows_read / (t1 - t0):,.0f} rows/s), rows loaded {xueji.rows_loaded:,}, unmatchable {xueji.unmatchable:,}"
    )
    print(f"check (pushed 10,000 + ledger): {t2 - t1:.1f}s")
    print(
        f"total: {t2 - t0:.1f}s wall (target < 60 s), {c2 - c0:.1f}s CPU (all threads)  peak RSS {peak:,.0f} MB"
    )
    print(
        f"CPU: read {c1 - c0:.1f}s, check {c2 - c1:.1f}s; machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print("summary:", result.summary())
    if not args.keep:
        path.unlink()
        pushed.unlink()


if __name__ == "__main__":
    main()
