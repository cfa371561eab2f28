"""Local users: salted scrypt hashes in a JSON file, roles and scopes, lockout after repeated failures.

Managed from the command line (`python -m kongchuo_metrics users ...`); no outside service is needed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .access import ROLES, Scope
from .locks import exclusive

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


def _locked(path: Path):
    return exclusive(Path(str(path) + ".lock"))


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
        _clear_locks(path, name)


def _clear_locks(path: Path, name: str) -> None:
    throttle = _read_throttle(path)
    pairs = throttle.get("pairs", {})
    for key in [k for k in pairs if k.split("\x1f")[0] == name]:
        del pairs[key]
    _write_throttle(path, throttle)


def disable_user(path: str | Path, name: str) -> None:
    """Disable a user (kept in the file for the audit trail)."""
    path = Path(path)
    with _locked(path):
        data = _read(path)
        if name not in data["users"]:
            raise AuthError(f"没有用户“{name}”")
        data["users"][name]["disabled"] = True
        _write(path, data)


LOGIN_FAILED = "登录失败：用户名或密码错误，或该账号暂时不能登录。请核对后重试，多次失败需等待一段时间。"
CLIENT_FAILURES = 20  # failures from one address (any user names) before that address waits
MAX_LOCK_MINUTES = 8 * 60


class LoginRefused(AuthError):
    """A refused login. The message is the same for every cause (no account enumeration); `reason` is for the
    audit log only: unknown, wrong_password, locked, client_locked, disabled."""

    def __init__(self, reason: str, until: dt.datetime | None = None):
        super().__init__(LOGIN_FAILED)
        self.reason = reason
        self.until = until


def _throttle_path(path: Path) -> Path:
    return path.with_name(path.name + ".throttle.json")


def _read_throttle(path: Path) -> dict:
    try:
        return json.loads(_throttle_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_throttle(path: Path, data: dict) -> None:
    _write(_throttle_path(path), data)


def _backoff(entry: dict, now: dt.datetime) -> None:
    """Lock an entry for LOCK_MINUTES, doubling with each lock in the last day, at most MAX_LOCK_MINUTES."""
    locks = [t for t in entry.get("locks", []) if dt.datetime.fromisoformat(t) > now - dt.timedelta(days=1)]
    minutes = min(LOCK_MINUTES * 2 ** len(locks), MAX_LOCK_MINUTES)
    entry["locks"] = [*locks, now.isoformat()]
    entry["until"] = (now + dt.timedelta(minutes=minutes)).isoformat()
    entry["failures"] = []


def _locked_until(entry: dict | None, now: dt.datetime) -> dt.datetime | None:
    until = (entry or {}).get("until")
    if until and dt.datetime.fromisoformat(until) > now:
        return dt.datetime.fromisoformat(until)
    return None


def _fail(entry: dict, now: dt.datetime, limit: int) -> None:
    recent = [
        f
        for f in entry.get("failures", [])
        if dt.datetime.fromisoformat(f) > now - dt.timedelta(minutes=LOCK_MINUTES)
    ]
    entry["failures"] = [*recent, now.isoformat()]
    if len(entry["failures"]) >= limit:
        _backoff(entry, now)


def authenticate(
    path: str | Path, name: str, password: str, now: dt.datetime | None = None, client: str = ""
) -> User:
    """The user when name and password match; LoginRefused (one Chinese message for every cause) otherwise.

    Lockout is kept per (user, client address) and per client address, each with back-off (15 minutes,
    doubling with each lock in a day, at most 8 hours): repeated failures from one browser lock that browser
    out, never the account for everybody else. Every refusal costs one scrypt hash, whatever its cause.
    """
    path = Path(path)
    now = now or _now()
    client = client or "unknown"
    with _locked(path):
        data = _read(path)
        throttle = _read_throttle(path)
        pairs = throttle.setdefault("pairs", {})
        clients = throttle.setdefault("clients", {})
        pair_key = f"{name}\x1f{client}"
        rec = data["users"].get(name)
        refusal = None
        if until := _locked_until(clients.get(client), now):
            refusal = LoginRefused("client_locked", until)
        elif until := _locked_until(pairs.get(pair_key), now):
            refusal = LoginRefused("locked", until)
        if rec is not None:
            ok = check_password(password, rec["hash"])
        else:
            hash_password(password)  # same cost as a real check: no user enumeration by timing
            ok = False
        if refusal is None:
            if rec is None:
                refusal = LoginRefused("unknown")
            elif rec.get("disabled"):
                refusal = LoginRefused("disabled")
            elif not ok:
                refusal = LoginRefused("wrong_password")
        if refusal is not None:
            if refusal.reason in ("unknown", "wrong_password", "disabled"):
                _fail(pairs.setdefault(pair_key, {}), now, MAX_FAILURES)
                _fail(clients.setdefault(client, {}), now, CLIENT_FAILURES)
            _write_throttle(path, throttle)
            raise refusal
        pairs.pop(pair_key, None)
        _write_throttle(path, throttle)
        return User(name, rec["role"], tuple(rec.get("townships", ())), tuple(rec.get("schools", ())), False)


def fingerprint(path: str | Path, name: str) -> str | None:
    """A short fingerprint of a user's current record (role, places, password hash, disabled); None when the
    user is unknown. A session holds the fingerprint of its login: any change to the record shows at once."""
    rec = _read(Path(path))["users"].get(name)
    if rec is None:
        return None
    body = json.dumps(
        [
            rec.get("role"),
            rec.get("townships", []),
            rec.get("schools", []),
            rec.get("hash"),
            rec.get("disabled"),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]


def current_user(path: str | Path, name: str) -> User | None:
    """The users-file entry for `name` as it is now; None when unknown or disabled."""
    user = next((u for u in list_users(path) if u.name == name), None)
    return user if user is not None and not user.disabled else None


def session_valid(logged_in_at: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Sessions expire SESSION_HOURS after login."""
    return (now or _now()) - logged_in_at < dt.timedelta(hours=SESSION_HOURS)


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost (what a single local user may run on)."""
    if not address:
        return False
    return address in ("localhost", "::1") or address.startswith("127.")
