"""Append-only audit log: JSON lines chained by SHA-256, times in +08:00, no personal values.

Each line carries `prev` (the previous line's hash) and `hash` (SHA-256 of its own content without `hash`).
`verify` walks the chain; a changed, removed or inserted line breaks it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from pathlib import Path

CST = dt.timezone(dt.timedelta(hours=8))
GENESIS = "0" * 64
EVENTS = ("login", "login_failed", "logout", "upload", "accept", "unmask", "download", "pack")
# changes to the records database (督办单, notices, ranking snapshots)
EVENTS += ("duban_add", "duban_feedback", "duban_close", "notice_issue", "notice_deliver", "ranking_save")
EVENTS += ("check_run",)  # a 三比对 run kept in the records database


class AuditError(Exception):
    """The audit log could not be written; the action that needed it must be refused."""


def _digest(record: dict) -> str:
    body = json.dumps({k: v for k, v in record.items() if k != "hash"}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _last_hash(path: Path) -> str:
    if not path.exists() or path.stat().st_size == 0:
        return GENESIS
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        tail = fh.read().splitlines()
    for line in reversed(tail):
        if line.strip():
            return json.loads(line)["hash"]
    return GENESIS


def record(path: str | Path, event: str, user: str, role: str, scope: str, **fields) -> dict:
    """Append one event; return the written record. Raises AuditError when the log cannot be written."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                rec = {
                    "time": dt.datetime.now(CST).isoformat(timespec="seconds"),
                    "event": event,
                    "user": user,
                    "role": role,
                    "scope": scope,
                    **fields,
                    "prev": _last_hash(path),
                }
                rec["hash"] = _digest(rec)
                fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    except OSError as exc:
        raise AuditError(f"审计日志无法写入（{exc.strerror or exc}），操作已拒绝。") from exc
    return rec


def verify(path: str | Path) -> tuple[bool, int, str]:
    """(ok, lines checked, message in Chinese)."""
    path = Path(path)
    if not path.exists():
        return True, 0, "审计日志为空"
    prev = GENESIS
    n = 0
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                return False, n, f"第 {n} 行不是有效的 JSON"
            if rec.get("prev") != prev:
                return False, n, f"第 {n} 行的前序哈希不符：日志被删改或插入"
            if _digest(rec) != rec.get("hash"):
                return False, n, f"第 {n} 行内容与其哈希不符：该行被修改"
            prev = rec["hash"]
    return True, n, f"校验通过，共 {n} 行"
