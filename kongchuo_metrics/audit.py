"""Append-only audit log: JSON lines chained by HMAC-SHA256 under a secret key, a head file, +08:00 times.

Each line carries `prev` (the previous line's MAC) and `hash` (HMAC-SHA256, keyed, of its own content without
`hash`). The key lives in a file readable only by the service user (mode 0600), created at first start; without
it nobody can recompute a chain after removing lines. The head file (`audit.head`: line count and last MAC) is
replaced atomically with every append, so a deleted tail, which leaves a valid chain behind, still shows.
`verify` walks the chain and compares it with the head. No personal values are ever written here.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

CST = dt.timezone(dt.timedelta(hours=8))
GENESIS = "0" * 64
ALG = "hmac-sha256"
EVENTS = (
    "login",
    "login_failed",
    "logout",
    "session_end",
    "upload",
    "accept",
    "unmask",
    "download",
    "pack",
    "mapping",  # column mappings / outcome classes saved from the upload page
    "accept_problem",  # a blocking import problem whose consequence was explicitly accepted
    "download_refused",
)
# changes to the records database (督办单, notices, ranking snapshots)
EVENTS += ("duban_add", "duban_feedback", "duban_close", "notice_issue", "notice_deliver", "ranking_save")
EVENTS += ("check_run",)  # a 三比对 run kept in the records database


class AuditError(Exception):
    """The audit log could not be written; the action that needed it must be refused."""


def writable(log: str | Path) -> bool:
    """True when the log can be appended to (its folder made if need be); actions that must be audited are
    refused beforehand otherwise."""
    try:
        path = Path(log)
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
    except OSError:
        return False


def key_path(log: str | Path) -> Path:
    """The chain key beside the log (audit.key)."""
    return Path(log).with_suffix(".key")


def head_path(log: str | Path) -> Path:
    """The head file beside the log (audit.head)."""
    return Path(log).with_suffix(".head")


def ensure_key(log: str | Path) -> bytes:
    """The chain key, created (32 random bytes, mode 0600, folder 0700) when it does not exist yet."""
    path = key_path(log)
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex())
        fh.flush()
        os.fsync(fh.fileno())
    return key


def _body(record: dict) -> bytes:
    return json.dumps(
        {k: v for k, v in record.items() if k != "hash"}, ensure_ascii=False, sort_keys=True
    ).encode("utf-8")


def _mac(key: bytes, record: dict) -> str:
    return hmac.new(key, _body(record), hashlib.sha256).hexdigest()


def _legacy_digest(record: dict) -> str:
    # lines written before the keyed chain: plain SHA-256, accepted only as the log's first lines
    return hashlib.sha256(_body(record)).hexdigest()


def _last_hash(path: Path) -> str:
    if not path.exists() or path.stat().st_size == 0:
        return GENESIS
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 65536))
        tail = fh.read().splitlines()
    for line in reversed(tail):
        if line.strip():
            return json.loads(line)["hash"]
    return GENESIS


def _count(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def read_head(log: str | Path) -> dict | None:
    """The head file's content ({"lines": n, "hash": last MAC, "time": ...}), None when absent."""
    try:
        return json.loads(head_path(log).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"lines": -1, "hash": ""}


def _write_head(log: Path, lines: int, last: str, when: str) -> None:
    head = head_path(log)
    tmp = head.with_name(head.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"lines": lines, "hash": last, "time": when}))
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, head)
    dir_fd = os.open(log.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def record(path: str | Path, event: str, user: str, role: str, scope: str, **fields) -> dict:
    """Append one event; return the written record. Raises AuditError when the log cannot be written."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ensure_key(path)
        with open(path, "a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                os.chmod(path, 0o600)
                head = read_head(path)
                prev = _last_hash(path)
                # the head's count, not the file's: a tail deleted behind our back stays visible in `verify`
                count = head["lines"] if head and head.get("lines", -1) >= 0 else _count(path)
                rec = {
                    "time": dt.datetime.now(CST).isoformat(timespec="seconds"),
                    "event": event,
                    "user": user,
                    "role": role,
                    "scope": scope,
                    **fields,
                    "alg": ALG,
                    "prev": prev,
                }
                rec["hash"] = _mac(key, rec)
                fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                _write_head(path, count + 1, rec["hash"], rec["time"])
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise AuditError(f"审计日志无法写入（{reason}），操作已拒绝。") from exc
    return rec


def verify(path: str | Path) -> tuple[bool, int, str]:
    """(ok, line of the first problem or lines checked, message in Chinese).

    Reports: a changed line (its MAC), a removed or inserted line (the next line's `prev`), a chain recomputed
    without the key (every MAC), and a deleted tail or a replaced log (the head file's count and last MAC).
    """
    path = Path(path)
    head = read_head(path)
    if not path.exists():
        if head and head.get("lines", 0) > 0:
            return False, 0, f"审计日志文件不存在，但头文件记录了 {head['lines']} 行：日志被删除"
        return True, 0, "审计日志为空"
    try:
        key = bytes.fromhex(key_path(path).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        key = None
    prev = GENESIS
    n = 0
    legacy = 0
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                return False, n, f"第 {n} 行不是有效的 JSON"
            if rec.get("prev") != prev:
                return False, n, f"第 {n} 行的前序哈希不符：之前的行被删除、插入或改动"
            if rec.get("alg") == ALG:
                if key is None:
                    return False, n, "缺少审计密钥文件（audit.key），无法校验带密钥的哈希链"
                if not hmac.compare_digest(_mac(key, rec), str(rec.get("hash"))):
                    return False, n, f"第 {n} 行的密钥哈希不符：该行被修改，或哈希链被无密钥地重新计算"
            elif legacy == n - 1 and _legacy_digest(rec) == rec.get("hash"):
                legacy = n  # an old unkeyed line at the start of the log
            else:
                return False, n, f"第 {n} 行内容与其哈希不符：该行被修改"
            prev = rec["hash"]
    if head is not None:
        if head.get("lines") != n or head.get("hash") != prev:
            if isinstance(head.get("lines"), int) and 0 <= n < head["lines"]:
                return False, n, f"日志只有 {n} 行，头文件记录了 {head['lines']} 行：末尾的行被删除"
            return False, n, "日志的行数或最后一行哈希与头文件不符：日志被改写或替换"
    elif n > legacy:
        return False, n, "缺少审计头文件（audit.head），无法确认日志末尾没有被删除"
    note = f"（其中前 {legacy} 行为启用密钥前的旧格式）" if legacy else ""
    return True, n, f"校验通过，共 {n} 行{note}"
