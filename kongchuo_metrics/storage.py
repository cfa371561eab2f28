"""Accepted ledgers on disk: each a new version folder, swapped in atomically, the previous ones kept.

Layout under the store folder:
  versions/v0003/<original file name>   the accepted file, never modified
  versions/v0003/manifest.json          name, sha256, accepted_at, user, rows
  CURRENT                               the version in use (written with os.replace)
A damaged current version (checksum mismatch, missing file) falls back to the newest intact one with a warning.
Two uploads at once: a file lock serialises the swap, so one wins whole and nobody sees mixed rows.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CST = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Version:
    """One stored ledger version."""

    name: str
    path: Path  # the ledger file itself
    sha256: str
    accepted_at: str
    user: str


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def _locked(store: Path):
    store.mkdir(parents=True, exist_ok=True)
    with open(store / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _versions(store: Path) -> list[Path]:
    root = store / "versions"
    return sorted(p for p in root.glob("v*") if p.is_dir()) if root.exists() else []


def _read(folder: Path) -> Version | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        path = folder / manifest["file"]
        if not path.exists() or _sha(path) != manifest["sha256"]:
            return None
        return Version(
            folder.name, path, manifest["sha256"], manifest["accepted_at"], manifest.get("user", "")
        )
    except (OSError, ValueError, KeyError):
        return None


def accept(store: str | Path, source: Path, original_name: str, user: str) -> Version:
    """Store `source` as a new version and make it current (atomically); return the new version."""
    store = Path(store)
    with _locked(store):
        existing = _versions(store)
        number = int(existing[-1].name[1:]) + 1 if existing else 1
        name = f"v{number:04d}"
        root = store / "versions"
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
        safe_name = Path(original_name).name.replace("/", "_") or "ledger.xlsx"
        shutil.copyfile(source, tmp / safe_name)
        manifest = {
            "file": safe_name,
            "sha256": _sha(tmp / safe_name),
            "user": user,
            "accepted_at": dt.datetime.now(CST).isoformat(timespec="seconds"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        os.rename(tmp, root / name)
        pointer = store / "CURRENT.tmp"
        pointer.write_text(name, encoding="utf-8")
        os.replace(pointer, store / "CURRENT")
        return Version(name, root / name / safe_name, manifest["sha256"], manifest["accepted_at"], user)


def current(store: str | Path) -> tuple[Version | None, str]:
    """The version in use and a Chinese warning ("" when fine). Falls back to the newest intact version."""
    store = Path(store)
    try:
        name = (store / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        return None, ""
    version = _read(store / "versions" / name)
    if version:
        return version, ""
    for folder in reversed(_versions(store)):
        if folder.name != name and (fallback := _read(folder)):
            return (
                fallback,
                f"当前台账版本 {name} 校验失败（文件损坏或被改动），已回退到上一版本 {fallback.name}。",
            )
    return None, f"当前台账版本 {name} 校验失败，且没有可用的历史版本，已改用样例数据。"


def history(store: str | Path) -> list[Version]:
    """Every intact version, newest first."""
    return [v for v in (_read(f) for f in reversed(_versions(Path(store)))) if v]
