"""Local users: salted scrypt hashes in a JSON file, roles and scopes, lockout after repeated failures.

Managed from the command line (`python -m kongchuo_metrics users ...`); no outside service is needed.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .access import ROLES, Scope

MAX_FAILURES = 5
LOCK_MINUTES = 15
SESSION_HOURS = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class AuthError(Exception):
    """A login or user-management problem; the message is Chinese."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hash_password(password: str, salt: bytes | None = None) -> str:
    """scrypt$<salt b64>$<hash b64>."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=64 * 1024 * 1024, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison of a password against a stored scrypt hash."""
    try:
        _, salt_b64, _ = stored.split("$")
    except ValueError:
        return False
    return hmac.compare_digest(hash_password(password, base64.b64decode(salt_b64)), stored)


@dataclass(frozen=True)
class User:
    """A user record (without the hash)."""

    name: str
    role: str
    townships: tuple[str, ...]
    schools: tuple[str, ...]
    disabled: bool

    def scope(self) -> Scope:
        return Scope(self.name, self.role if not self.disabled else "", self.townships, self.schools)


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read(path: Path) -> dict:
    if not path.exists():
        return {"users": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def has_users(path: str | Path) -> bool:
    """True when the users file defines at least one enabled user."""
    return any(not u.get("disabled") for u in _read(Path(path))["users"].values())


def list_users(path: str | Path) -> list[User]:
    """Every user, sorted by name."""
    data = _read(Path(path))
    return [
        User(
            n, u["role"], tuple(u.get("townships", ())), tuple(u.get("schools", ())), bool(u.get("disabled"))
        )
        for n, u in sorted(data["users"].items())
    ]


def add_user(path: str | Path, name: str, password: str, role: str, townships=(), schools=()) -> User:
    """Create a user; township users need townships, school users need schools."""
    if role not in ROLES:
        raise AuthError(f"未知角色“{role}”，可选：{'、'.join(ROLES)}")
    if role == "township" and not townships:
        raise AuthError("乡镇用户必须指定至少一个乡镇（--township）")
    if role == "school" and not schools:
        raise AuthError("学校用户必须指定至少一所学校（--school）")
    if len(password) < 8:
        raise AuthError("密码至少 8 位")
    path = Path(path)
    with _locked(path):
        data = _read(path)
        if name in data["users"]:
            raise AuthError(f"用户“{name}”已存在")
        data["users"][name] = {
            "role": role,
            "townships": list(townships),
            "schools": list(schools),
            "hash": hash_password(password),
            "disabled": False,
            "failures": [],
            "locked_until": None,
        }
        _write(path, data)
    return User(name, role, tuple(townships), tuple(schools), False)


def set_password(path: str | Path, name: str, password: str) -> None:
    """Replace a user's password and clear its lockout."""
    if len(password) < 8:
        raise AuthError("密码至少 8 位")
    path = Path(path)
    with _locked(path):
        data = _read(path)
        if name not in data["users"]:
            raise AuthError(f"没有用户“{name}”")
        data["users"][name].update(hash=hash_password(password), failures=[], locked_until=None)
        _write(path, data)


def disable_user(path: str | Path, name: str) -> None:
    """Disable a user (kept in the file for the audit trail)."""
    path = Path(path)
    with _locked(path):
        data = _read(path)
        if name not in data["users"]:
            raise AuthError(f"没有用户“{name}”")
        data["users"][name]["disabled"] = True
        _write(path, data)


def authenticate(path: str | Path, name: str, password: str, now: dt.datetime | None = None) -> User:
    """The user when name and password match; AuthError (Chinese) otherwise. Five failures lock for 15 minutes."""
    path = Path(path)
    now = now or _now()
    with _locked(path):
        data = _read(path)
        rec = data["users"].get(name)
        if rec is None:
            hash_password(password)  # same cost as a real check: no user enumeration by timing
            raise AuthError("用户名或密码错误")
        if rec.get("disabled"):
            raise AuthError("该账号已停用")
        until = rec.get("locked_until")
        if until and dt.datetime.fromisoformat(until) > now:
            raise AuthError(f"连续登录失败次数过多，账号已锁定，请 {LOCK_MINUTES} 分钟后再试")
        if not check_password(password, rec["hash"]):
            recent = [
                f
                for f in rec.get("failures", [])
                if dt.datetime.fromisoformat(f) > now - dt.timedelta(minutes=LOCK_MINUTES)
            ]
            recent.append(now.isoformat())
            rec["failures"] = recent
            if len(recent) >= MAX_FAILURES:
                rec["locked_until"] = (now + dt.timedelta(minutes=LOCK_MINUTES)).isoformat()
                rec["failures"] = []
            _write(path, data)
            raise AuthError("用户名或密码错误")
        rec["failures"], rec["locked_until"] = [], None
        _write(path, data)
        return User(name, rec["role"], tuple(rec.get("townships", ())), tuple(rec.get("schools", ())), False)


def session_valid(logged_in_at: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Sessions expire SESSION_HOURS after login."""
    return (now or _now()) - logged_in_at < dt.timedelta(hours=SESSION_HOURS)


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost (what a single local user may run on)."""
    if not address:
        return False
    return address in ("localhost", "::1") or address.startswith("127.")
