"""The versioned ledger store: each import or restore a new version, switched in atomically, none deleted.

Layout under the store folder (KONGCHUO_STORE):
  versions/v0003/raw/<file>        the files of this import, never modified
  versions/v0003/manifest.json     version, kind (import | restore), created, user, scope, tables, files
                                   (name, sha256), parent (the version it was merged into), source (restore),
                                   headline figures
  versions/v0003/snapshot/         the merged tables as Arrow (see snapshot.py), rebuilt from raw when stale
  CURRENT                          the version in use (written to a temporary file, fsynced, os.replace'd)
  incoming/                        uploads waiting for 确认导入 (0700 folder, 0600 files, gone within a day)
A version's tables are its parent's with this import's scopes replaced (merge.py); rebuilding replays the
chain from raw files. A damaged raw file makes that version unusable and the newest intact one is used, with
a warning. One lock serialises commits: two imports at once both land, one after the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import merge, snapshot
from .ingest import Ledger, LedgerError, file_digest, load_ledger
from .locks import exclusive
from .settings import Mapping

CST = dt.timezone(dt.timedelta(hours=8))
INCOMING_MAX_AGE = 24 * 3600  # seconds an unconfirmed upload may stay on disk
PAUSE_ENV = "KONGCHUO_PAUSE_BEFORE_SWITCH"  # tests: a file to touch, then wait, between writing and switching


class VersionError(Exception):
    """A version that cannot be used or made (damaged raw file, unknown name); the message is Chinese."""


@dataclass(frozen=True)
class Version:
    """One stored version as its manifest describes it."""

    name: str
    folder: Path
    kind: str  # import | restore
    created: str
    user: str
    scope: str  # in Chinese
    files: tuple[str, ...]
    parent: str = ""
    source: str = ""  # the restored version
    headline: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def accepted_at(self) -> str:
        return self.created

    @property
    def path(self) -> Path:
        """The first raw file of this version (the folder for a restore, which has none)."""
        raw = sorted((self.folder / "raw").glob("*")) if (self.folder / "raw").exists() else []
        return raw[0] if raw else self.folder


def _now() -> str:
    return dt.datetime.now(CST).isoformat(timespec="seconds")


def _locked(store: Path):
    return exclusive(store / ".lock")


def _folders(store: Path) -> list[Path]:
    root = store / "versions"
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("v") and p.name[1:].isdigit())


def _manifest(folder: Path) -> dict:
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if "files" not in data:  # a version written before scopes: one file, the whole county, file beside it
        data = {
            "version": folder.name,
            "kind": "import",
            "created": data["accepted_at"],
            "user": data.get("user", ""),
            "scope": merge.ImportScope("county").as_dict(),
            "tables": list(merge.MERGE_TABLES),
            "files": [{"name": data["file"], "sha256": data["sha256"], "path": data["file"]}],
            "parent": "",
        }
    return data


def _version(folder: Path, m: dict) -> Version:
    scopes = m.get("scopes") or [m.get("scope") or {}]
    scope = merge.combine_scopes([merge.ImportScope.from_dict(s) for s in scopes]).describe()
    return Version(
        name=folder.name,
        folder=folder,
        kind=m.get("kind", "import"),
        created=m.get("created", ""),
        user=m.get("user", ""),
        scope=scope if m.get("kind") != "restore" else f"恢复为 {m.get('source', '')}",
        files=tuple(f["name"] for f in m.get("files", ())),
        parent=m.get("parent", ""),
        source=m.get("source", ""),
        headline=m.get("headline", {}),
    )


_verified: dict[
    tuple, str
] = {}  # (path, size, mtime_ns, inode) -> sha256: each raw file hashed once per change


def _raw_digest(path: Path) -> str:
    """SHA-256 of a stored raw file (or of a folder's table files, names and bytes), once per change."""
    parts = sorted(path.iterdir()) if path.is_dir() else [path]
    key = (str(path), *((p.name, p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino) for p in parts))
    if key not in _verified:
        _verified[key] = file_digest(path) if path.is_dir() else snapshot.sha256_file(path)
    return _verified[key]


def _raw_ok(folder: Path, m: dict) -> bool:
    try:
        return all(_raw_digest(folder / f["path"]) == f["sha256"] for f in m.get("files", ()))
    except OSError:
        return False


def _intact(store: Path, name: str, seen: frozenset = frozenset()) -> bool:
    """The version's raw files and those of every version it is built on hash to their manifests."""
    folder = store / "versions" / name
    try:
        m = _manifest(folder)
    except (OSError, ValueError, KeyError):
        return False
    if name in seen or not _raw_ok(folder, m):
        return False
    base = m.get("source") if m.get("kind") == "restore" else m.get("parent")
    return not base or _intact(store, base, seen | {name})


def _inputs(store: Path, name: str) -> str:
    """A digest of everything a version's tables are built from: its files, scopes, tables and its base's."""
    m = _manifest(store / "versions" / name)
    if m.get("kind") == "restore":
        return _inputs(store, m["source"])
    parent = _inputs(store, m["parent"]) if m.get("parent") else ""
    body = json.dumps(
        {
            "parent": parent,
            "files": [[f["sha256"], f.get("mapping")] for f in m["files"]],
            "scopes": m.get("scopes") or [m.get("scope")],
            "tables": m.get("file_tables") or [m.get("tables")],
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _build(store: Path, name: str, coords: str) -> Ledger:
    """A version's tables from raw: its base version's tables with this import's scopes replaced."""
    folder = store / "versions" / name
    m = _manifest(folder)
    if m.get("kind") == "restore":
        return load(store, m["source"], coords)
    base = load(store, m["parent"], coords) if m.get("parent") else None
    scopes = m.get("scopes") or [m["scope"]] * len(m["files"])
    tables = m.get("file_tables") or [m["tables"]] * len(m["files"])
    subs = [
        merge.Submission(
            f["name"],
            _as_named(
                load_ledger(folder / f["path"], coords=coords, mapping=_mapping(f.get("mapping"))), f["name"]
            ),
            merge.ImportScope.from_dict(s),
            tuple(t),
        )
        for f, s, t in zip(m["files"], scopes, tables, strict=True)
    ]
    return merge.apply(base, subs, imported=m["created"][:10], version=name)


def load(store: str | Path, name: str, coords: str = "wgs84") -> Ledger:
    """A version's tables: from its snapshot when it is current and intact, else rebuilt from raw (and the
    snapshot rewritten). Raises VersionError when a raw file of the version or of its chain is damaged."""
    store = Path(store)
    folder = store / "versions" / name
    if not _intact(store, name):
        raise VersionError(f"台账版本 {name} 的原始文件缺失或校验失败。")
    inputs = _inputs(store, name)
    ledger = snapshot.read(folder, inputs, coords)
    if ledger is None:
        snapshot.write(folder, _with_version(_build(store, name, coords), folder), inputs, coords)
        # read back: a rebuilt version is handed out exactly as a snapshot one would be
        ledger = snapshot.read(folder, inputs, coords)
        if ledger is None:
            raise VersionError(f"台账版本 {name} 的快照无法写入。")
    return ledger


def _with_version(ledger: Ledger, folder: Path) -> Ledger:
    m = _manifest(folder)
    return snapshot.with_meta(ledger, version=folder.name, created=m.get("created", ""))


def is_version(path: Path) -> bool:
    """True when `path` is a version folder of a store."""
    return path.is_dir() and path.parent.name == "versions" and (path / "manifest.json").exists()


def load_folder(path: str | Path, coords: str = "wgs84") -> Ledger:
    """`load` for a version folder path (what the app caches on)."""
    path = Path(path)
    return load(path.parent.parent, path.name, coords)


def current(store: str | Path) -> tuple[Version | None, str]:
    """The version in use and a Chinese warning ("" when fine). Falls back to the newest intact version."""
    store = Path(store)
    try:
        name = (store / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        return None, ""
    folder = store / "versions" / name
    if _intact(store, name):
        return _version(folder, _manifest(folder)), ""
    for older in reversed(_folders(store)):
        if older.name != name and _intact(store, older.name):
            return (
                _version(older, _manifest(older)),
                f"当前台账版本 {name} 校验失败（文件损坏或被改动），已回退到上一版本 {older.name}。",
            )
    return None, f"当前台账版本 {name} 校验失败，且没有可用的历史版本，已改用样例数据。"


def history(store: str | Path) -> list[Version]:
    """Every intact version, newest first."""
    store = Path(store)
    return [_version(f, _manifest(f)) for f in reversed(_folders(store)) if _intact(store, f.name)]


# --- making versions --------------------------------------------------------------------------------------------


@dataclass
class Batch:
    """Files loaded and merged for a preview: what 确认导入 commits (all of them, or none)."""

    files: list[tuple[Path, str]]  # (staged path, original name)
    subs: list[merge.Submission]
    base_version: str  # the version the preview merged into ("" for an empty store)
    base: Ledger | None
    after: Ledger | None
    errors: dict[str, str]  # file name -> why it cannot be imported (Chinese)

    @property
    def ok(self) -> bool:
        return not self.errors and self.after is not None


def load_submission(
    path: Path,
    name: str,
    coords: str,
    scope: merge.ImportScope | None = None,
    mapping: Mapping | None = None,
    base: Ledger | None = None,
) -> merge.Submission:
    """One file loaded (with the bureau's column mapping), its scope (inferred when not given, with the current
    data `base` for a file without a 乡镇 column) and tables."""
    ledger = _as_named(load_ledger(path, coords=coords, mapping=mapping), name)
    scope = scope or merge.infer_scope(ledger, base)
    return merge.Submission(name, ledger, scope, merge.present_tables(ledger), mapping)


def _mapping_dict(mapping: Mapping | None) -> dict:
    m = mapping or Mapping()
    return {k: [list(p) for p in getattr(m, k)] for k in ("columns", "outcomes", "accepted")}


def _mapping(data: dict | None) -> Mapping:
    data = data or {}
    return Mapping(*(tuple(tuple(p) for p in data.get(k, ())) for k in ("columns", "outcomes", "accepted")))


def open_blocking(sub: merge.Submission, base: Ledger | None = None) -> list:
    """The file's blocking problems not yet fixed or accepted (ingest's report.open_blocking), less those about
    a table the file does not carry while the current version has it: that table is kept, not emptied."""
    found = list(getattr(sub.ledger.report, "open_blocking", None) or [])
    if base is None:
        return found
    kept = {t for t in merge.PLACE_TABLES if len(getattr(base, t)) and t not in sub.tables}
    return [b for b in found if getattr(b, "table", None) not in kept]


def _as_named(ledger: Ledger, name: str) -> Ledger:
    """The ledger as if read from a file called `name` (staged and stored copies carry other names)."""
    from dataclasses import replace

    report = replace(ledger.report, sheets=[replace(s, source=name) for s in ledger.report.sheets])
    return replace(
        ledger,
        cases=ledger.cases.assign(source=name + "/" + ledger.cases["source"].str.split("/", n=1).str[1]),
        report=report,
        meta={**ledger.meta, "source_name": name},
    )


def current_ledger(store: Path, coords: str) -> tuple[str, Ledger | None]:
    """(name, tables) of the version in use; ("", None) for an empty store."""
    version, _ = current(store)
    if version is None:
        return "", None
    return version.name, load(store, version.name, coords)


def prepare(
    store: str | Path,
    subs: list[merge.Submission],
    files: list[tuple[Path, str]],
    coords: str,
    current: tuple[str, Ledger | None] | None = None,
) -> Batch:
    """Merge the submissions into the current version (or `current`, already loaded) for a preview; errors
    instead of exceptions."""
    store = Path(store)
    name, base = current if current is not None else current_ledger(store, coords)
    try:
        after = merge.apply(base, subs, imported=dt.date.today().isoformat())
        errors = {}
    except merge.ScopeError as exc:
        after, errors = None, {"范围": str(exc)}
    return Batch(files, subs, name, base, after, errors)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _write_json(path: Path, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def _switch(store: Path, name: str) -> None:
    pointer = store / "CURRENT.tmp"
    with open(pointer, "w", encoding="utf-8") as fh:
        fh.write(name)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer, store / "CURRENT")
    snapshot.fsync_dir(store)


def _next_name(store: Path) -> str:
    existing = _folders(store)
    return f"v{int(existing[-1].name[1:]) + 1 if existing else 1:04d}"


def _pause_for_tests() -> None:
    marker = os.environ.get(PAUSE_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()))
        time.sleep(60)


Audit = Callable[..., object]


def _publish(store: Path, pending: Path, name: str, audit: Audit | None, fields: dict) -> None:
    """Intent line, rename into place, switch the pointer, done line. Raises (and removes `pending`) when
    the intent cannot be written; nothing is switched then."""
    try:
        if audit:
            audit("intent", version=name, **fields)
        _pause_for_tests()
        os.rename(pending, store / "versions" / name)
    except BaseException:
        shutil.rmtree(pending, ignore_errors=True)
        raise
    snapshot.fsync_dir(store / "versions")
    _switch(store, name)
    if audit:
        audit("done", version=name, **fields)


def commit(
    store: str | Path, batch: Batch, user: str, coords: str = "wgs84", audit: Audit | None = None
) -> Version:
    """Store the batch's files as one new version and make it current; return it.

    The merge is redone under the lock on whatever version is current then (another admin may have imported
    meanwhile), so nobody's import overwrites another's. `audit(phase, **fields)` is called with "intent"
    before the switch and "done" after it.
    """
    store = Path(store)
    if batch.errors or not batch.subs:
        raise VersionError("有文件无法导入，本批次没有导入任何文件：" + "；".join(batch.errors.values()))
    with _locked(store):
        base_name, base = current_ledger(store, coords)
        name = _next_name(store)
        created = _now()
        after = merge.apply(base, batch.subs, imported=created[:10], version=name)
        root = store / "versions"
        root.mkdir(parents=True, exist_ok=True)
        pending = Path(tempfile.mkdtemp(prefix=".pending-", dir=root))
        try:
            (pending / "raw").mkdir()
            files = []
            for i, ((path, original), sub) in enumerate(zip(batch.files, batch.subs, strict=True)):
                safe = f"{i + 1:02d}_" + (Path(original).name.replace("/", "_") or "ledger.xlsx")
                if Path(path).is_dir():  # a folder ledger (one file per table)
                    shutil.copytree(path, pending / "raw" / safe)
                    for part in (pending / "raw" / safe).iterdir():
                        _fsync_file(part)
                else:
                    shutil.copyfile(path, pending / "raw" / safe)
                    _fsync_file(pending / "raw" / safe)
                files.append(
                    {
                        "name": sub.name,
                        "sha256": _raw_digest(pending / "raw" / safe),
                        "path": f"raw/{safe}",
                        "mapping": _mapping_dict(sub.mapping),
                        "accepted_blocking": [b.code for b in open_blocking(sub, base)],
                    }
                )
            snapshot.fsync_dir(pending / "raw")
            manifest = {
                "version": name,
                "kind": "import",
                "created": created,
                "user": user,
                "scope": merge.combine_scopes([s.scope for s in batch.subs]).as_dict(),
                "scopes": [s.scope.as_dict() for s in batch.subs],
                "tables": sorted({t for s in batch.subs for t in s.tables}),
                "file_tables": [list(s.tables) for s in batch.subs],
                "files": files,
                "parent": base_name,
                "headline": merge.headline(after),
            }
            _write_json(pending / "manifest.json", manifest)
            ledger = snapshot.with_meta(after, version=name, created=created)
            snapshot.write(pending, ledger, _pending_inputs(store, manifest), coords)
            snapshot.fsync_dir(pending)
        except BaseException:
            shutil.rmtree(pending, ignore_errors=True)
            raise
        fields = {
            "files": [f["name"] for f in files],
            "sha256": [f["sha256"] for f in files],
            "import_scope": _version(pending, manifest).scope,
            "parent": base_name,
            "rows": after.report.rows_loaded,
        }
        _publish(store, pending, name, audit, fields)
        return _version(root / name, manifest)


def _pending_inputs(store: Path, manifest: dict) -> str:
    parent = _inputs(store, manifest["parent"]) if manifest.get("parent") else ""
    body = json.dumps(
        {
            "parent": parent,
            "files": [[f["sha256"], f.get("mapping")] for f in manifest["files"]],
            "scopes": manifest["scopes"],
            "tables": manifest["file_tables"],
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def accept(
    store: str | Path,
    source: Path,
    original_name: str,
    user: str,
    coords: str = "wgs84",
    audit: Audit | None = None,
) -> Version:
    """Import one file as the whole county (the scope an old single-file store had); return the new version."""
    sub = load_submission(Path(source), Path(original_name).name, coords, merge.ImportScope("county"))
    return commit(
        store, Batch([(Path(source), original_name)], [sub], "", None, None, {}), user, coords, audit
    )


def restore(
    store: str | Path, name: str, user: str, coords: str = "wgs84", audit: Audit | None = None
) -> Version:
    """Make version `name`'s tables current again as a new version (kind restore); nothing is deleted."""
    store = Path(store)
    with _locked(store):
        if not _intact(store, name):
            raise VersionError(f"没有可恢复的版本 {name}（不存在或文件已损坏）。")
        base_name = current(store)[0]
        ledger = load(store, name, coords)
        new = _next_name(store)
        created = _now()
        root = store / "versions"
        pending = Path(tempfile.mkdtemp(prefix=".pending-", dir=root))
        try:
            manifest = {
                "version": new,
                "kind": "restore",
                "created": created,
                "user": user,
                "source": name,
                "parent": base_name.name if base_name else "",
                "files": [],
                "headline": merge.headline(ledger),
            }
            _write_json(pending / "manifest.json", manifest)
            snapshot.write(
                pending,
                snapshot.with_meta(ledger, version=new, created=created),
                _inputs(store, name),
                coords,
            )
            snapshot.fsync_dir(pending)
        except BaseException:
            shutil.rmtree(pending, ignore_errors=True)
            raise
        _publish(store, pending, new, audit, {"restored": name, "parent": manifest["parent"]})
        return _version(root / new, manifest)


def clean_pending(store: str | Path) -> int:
    """Remove half-written versions left by an import that died before its switch; return how many."""
    root = Path(store) / "versions"
    gone = 0
    if root.exists():
        with _locked(Path(store)):
            for p in root.glob(".pending-*"):
                shutil.rmtree(p, ignore_errors=True)
                gone += 1
    return gone


# --- uploads waiting for confirmation ---------------------------------------------------------------------------


def incoming_dir(store: str | Path) -> Path:
    """The staging folder (created 0700; tightened if it exists with wider rights)."""
    folder = Path(store) / "incoming"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def stage(store: str | Path, data: bytes, original_name: str, owner: str) -> Path:
    """Write one uploaded file to the staging folder, readable by the service user only; return its path.

    `owner` (a session token) keeps two admins' copies of the same file apart, so one's confirm or cancel
    never removes the other's."""
    folder = incoming_dir(store)
    suffix = "".join(c for c in Path(original_name).suffix.lower() if c.isalnum() or c == ".")[:8]
    path = folder / f"{owner}-{hashlib.sha256(data).hexdigest()[:24]}{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)
    return path


def discard(paths) -> None:
    """Delete staged files (confirmed, rejected or abandoned)."""
    for p in paths:
        Path(p).unlink(missing_ok=True)


def sweep_incoming(store: str | Path, max_age: float = INCOMING_MAX_AGE, now: float | None = None) -> int:
    """Delete staged uploads older than `max_age` seconds; return how many went."""
    folder = Path(store) / "incoming"
    if not folder.exists():
        return 0
    limit = (now if now is not None else time.time()) - max_age
    gone = 0
    for p in folder.iterdir():
        try:
            if p.is_file() and p.stat().st_mtime < limit:
                p.unlink()
                gone += 1
        except OSError:
            continue
    return gone


# --- the audit view of imports ----------------------------------------------------------------------------------


def audit_states(log: str | Path) -> dict[str, str]:
    """Per version named in the audit log: "done" or "intent" (an intent line without its done line)."""
    states: dict[str, str] = {}
    try:
        with open(log, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if (
                    rec.get("event") == "accept"
                    and rec.get("phase") in ("intent", "done")
                    and rec.get("version")
                ):
                    if states.get(rec["version"]) != "done":
                        states[rec["version"]] = rec["phase"]
    except OSError:
        return {}
    return states


AUDIT_STATES = {
    "done": "完整（开始与完成）",
    "intent": "只有开始记录，没有完成记录",
    "": "审计日志中没有记录",
}


def versions_frame(versions: list[Version], current_name: str, states: dict[str, str]):
    """The version list as a table: version, created, user, scope, files, headline figures, audit, current."""
    import pandas as pd

    rows = [
        {
            "version": v.name,
            "created": v.created.replace("T", " ")[:16],
            "user": v.user,
            "scope": v.scope,
            "files": "、".join(v.files) or "—",
            "cases": v.headline.get("cases"),
            "open": v.headline.get("open"),
            "returned_total": v.headline.get("returned"),
            "open_poor": v.headline.get("open_poor"),
            "special_ed": v.headline.get("special_ed"),
            "schools": v.headline.get("schools"),
            "audit": AUDIT_STATES[states.get(v.name, "")],
            "current": "当前" if v.name == current_name else "",
        }
        for v in versions
    ]
    return pd.DataFrame(rows)


def unfinished(log: str | Path) -> list[str]:
    """Versions whose import or restore wrote an intent line but no done line."""
    return sorted(v for v, s in audit_states(log).items() if s == "intent")


__all__ = ["LedgerError", "Version", "VersionError", "commit", "current", "history", "load", "restore"]
