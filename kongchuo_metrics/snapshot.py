"""Loaded-ledger snapshots: the tables as Arrow IPC files (memory-mapped on read), stamped and digested.

A snapshot sits in a version folder beside the raw files it was built from:
  snapshot/cases.arrow … reports.arrow, problems.arrow   one Arrow IPC file per table (uncompressed)
  snapshot/stamp.json   code version, coordinate system, the inputs' digest, each table file's SHA-256 (and
                        the SHA-256 of each of its 16 MiB blocks), the report counts, report dates and the
                        ledger facts (meta)
`read` trusts a snapshot only when its code version, coordinates and inputs' digest match what the caller
expects and every block of every table file hashes to its recorded digest (the blocks are checked on every
core at once: a million cases are 600 MB); anything else returns None and the caller rebuilds from the raw
files (a snapshot is a cache, never a source of truth).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .ingest import PROBLEM_COLUMNS, IngestReport, Ledger, SheetReport
from .ingest.files import content_digest
from .ingest.ledger import Blocking

TABLES = ("cases", "followups", "special_ed", "schools", "villages")
_PACKAGE = Path(__file__).resolve().parent
# the modules whose code decides what a loaded table holds (reading, merging, the sample and everything they
# import; tests/unit/test_snapshot_code.py checks the list against the imports): a change to any of them
# invalidates every snapshot
_CODE_FILES = (
    "ingest",
    "parsers",
    "arrowtext",
    "schema",
    "categories",
    "header_match",
    "geo",
    "privacy",
    "settings",
    "merge",
    "metrics",
    "followup",
    "grouping",
    "labels",
    "selection",
    "snapshot",
    "sample",
)


def _code_version() -> str:
    h = hashlib.sha256()
    for name in _CODE_FILES:
        for path in sorted([*_PACKAGE.glob(f"{name}.py"), *_PACKAGE.glob(f"{name}/**/*.py")]):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


CODE_VERSION = _code_version()


BLOCK = 16 << 20


def _block_digest(path: Path, offset: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(os.pread(fh.fileno(), BLOCK, offset)).hexdigest()  # hashlib frees the GIL


def block_digests(paths: list[Path]) -> list[list[str]]:
    """The SHA-256 of each BLOCK-sized piece of each file, hashed on every core at once."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [
        (i, path, off) for i, path in enumerate(paths) for off in range(0, max(path.stat().st_size, 1), BLOCK)
    ]
    out: list[list[str]] = [[] for _ in paths]
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        for (i, _, _), digest in zip(jobs, pool.map(lambda j: _block_digest(j[1], j[2]), jobs), strict=True):
            out[i].append(digest)
    return out


# files whose blocks were checked in this process: (path, inode, size, mtime, ctime) -> their digests; a file
# written since (even to the same size) has another mtime and ctime and is checked again
_checked: dict[tuple, list[str]] = {}


def _file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _blocks_match(paths: list[Path], expected: list[list[str]]) -> bool:
    keys = [_file_key(p) for p in paths]
    todo = [i for i, k in enumerate(keys) if _checked.get(k) != expected[i]]
    for i, got in zip(todo, block_digests([paths[i] for i in todo]), strict=True):
        if got != expected[i]:
            return False
        _checked[keys[i]] = got
    return True


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_arrow(frame: pd.DataFrame, path: Path) -> str:
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    with open(path, "wb") as fh:
        with pa.ipc.new_file(fh, table.schema) as writer:
            writer.write_table(table)
        fh.flush()
        os.fsync(fh.fileno())
    return content_digest(path)


def _read_arrow(path: Path) -> pd.DataFrame:
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all().to_pandas()


def _report_dict(report: IngestReport) -> dict:
    return {
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "rows_excluded": report.rows_excluded,
        "excluded": dict(report.excluded),
        "tables": dict(report.tables),
        "sheets": [s.__dict__ for s in report.sheets],
        "merged_filled": report.merged_filled,
        "unmapped_columns": report.unmapped_columns,
        "unknown_outcomes": dict(getattr(report, "unknown_outcomes", {})),
        "blocking": [dict(b.__dict__) for b in getattr(report, "blocking", [])],
    }


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def write(folder: Path, ledger: Ledger, inputs: str, coords: str) -> dict:
    """Write `ledger` as the snapshot in `folder/snapshot` (replacing any old one atomically); return the stamp."""
    folder = Path(folder)
    if ledger.meta.get("fields"):
        raise ValueError("a ledger loaded for some fields only (load_ledger(fields=...)) is never stored")
    tmp = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=folder))
    digests = {t: _write_arrow(getattr(ledger, t), tmp / f"{t}.arrow") for t in TABLES}
    problems = ledger.report.problems.reindex(columns=PROBLEM_COLUMNS)
    problems = problems.astype({c: "str" for c in PROBLEM_COLUMNS if c != "row"}).assign(
        row=pd.to_numeric(problems["row"], errors="coerce").astype("Int64")
    )
    digests["problems"] = _write_arrow(problems, tmp / "problems.arrow")
    names = (*TABLES, "problems")
    blocks = dict(zip(names, block_digests([tmp / f"{n}.arrow" for n in names]), strict=True))
    stamp = {
        "code_version": CODE_VERSION,
        "coords": coords,
        "inputs": inputs,
        "tables": digests,
        "blocks": blocks,
        "report": _report_dict(ledger.report),
        "report_dates": [d.date().isoformat() for d in ledger.report_dates],
        "meta": _json_safe(ledger.meta),
    }
    with open(tmp / "stamp.json", "w", encoding="utf-8") as fh:
        json.dump(stamp, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    fsync_dir(tmp)
    final = folder / "snapshot"
    old = folder / ".snapshot-old"
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
    os.rename(tmp, final)
    fsync_dir(folder)
    shutil.rmtree(old, ignore_errors=True)
    return stamp


def read(folder: Path, inputs: str, coords: str) -> Ledger | None:
    """The ledger stored in `folder/snapshot`, or None when it is missing, stale or fails a digest."""
    snap = Path(folder) / "snapshot"
    try:
        stamp = json.loads((snap / "stamp.json").read_text(encoding="utf-8"))
        if (stamp["code_version"], stamp["coords"], stamp["inputs"]) != (CODE_VERSION, coords, inputs):
            return None
        names = (*TABLES, "problems")
        if set(stamp["tables"]) != set(names):
            return None
        if set(stamp["blocks"]) != set(names):
            return None
        if not _blocks_match([snap / f"{n}.arrow" for n in names], [stamp["blocks"][n] for n in names]):
            return None
        frames = {name: _read_arrow(snap / f"{name}.arrow") for name in names}
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None
    rep = stamp["report"]
    report = IngestReport(
        rows_read=rep["rows_read"],
        rows_loaded=rep["rows_loaded"],
        rows_quarantined=rep["rows_quarantined"],
        rows_excluded=rep["rows_excluded"],
        excluded=rep["excluded"],
        tables=rep["tables"],
        sheets=[SheetReport(**s) for s in rep["sheets"]],
        merged_filled=rep["merged_filled"],
        unmapped_columns=rep["unmapped_columns"],
        problems=frames.pop("problems"),
        unknown_outcomes=rep.get("unknown_outcomes", {}),
        blocking=[Blocking(**b) for b in rep.get("blocking", [])],
    )
    return Ledger(
        **frames,
        report_dates=tuple(pd.Timestamp(d) for d in stamp["report_dates"]),
        report=report,
        meta=dict(stamp["meta"]),
    )


def table_digests(folder: Path) -> dict:
    """Each table file's SHA-256 as recorded in the snapshot's stamp ({} when there is none)."""
    try:
        return json.loads((Path(folder) / "snapshot" / "stamp.json").read_text(encoding="utf-8"))["tables"]
    except (OSError, ValueError, KeyError):
        return {}


def with_meta(ledger: Ledger, **meta) -> Ledger:
    """The same ledger with extra facts in `meta`."""
    return replace(ledger, meta={**ledger.meta, **meta})
