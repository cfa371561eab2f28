"""Shared results kept on disk, so that a restarted server shows at once every page it had computed for the
current ledger version (issue 16: instant after a restart, for the townships' views as well as the county's).

When the start's warming has computed a scope's pages (ui.results), `save` writes that scope's shared results
to `<store>/results/<name>.pkl`; the next start's preload calls `restore` right after the ledger is loaded,
and a result asked for afterwards is taken from what was restored instead of being computed (`take`).

What is written: the figures, tables and map layers of ui.results, which hold counts per township, school,
village, date and step, never a row about a child: a result holding a table with a personal column (masked
or not: a case list, the special-education roster, the follow-up status) is left out and computed again, as
are the cases of a selection (SKIPPED). Results of the unmasked mode are never written.

What is trusted: a file named after the ledger key (the version's path and digest, the settings' stamp, the
coordinates, the scope) and RESULTS_VERSION (every module of the dashboard and the versions of the libraries
that build the results), whose SHA-256 matches its contents and which only this server's user may write. A
file failing any check is ignored and the results are computed as on a first start: a cache, never a source
of truth.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import sys
import tempfile
import threading
from pathlib import Path

LOG = logging.getLogger(__name__)

# names of shared results that hold rows about children (never written) or whole case frames
SKIPPED = frozenset({"cases", "case_list", "followup_status"})
LARGEST = 8 << 20  # bytes (ui.data._weigh) of one result still worth keeping
KEEP_FILES = 32  # newest result files kept in the folder; older ones go when a new one is written


def _results_version() -> str:
    from importlib.metadata import version

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(sys.version.encode())
    for lib in ("numpy", "pandas", "pyarrow", "plotly", "pydeck"):
        h.update(f"{lib} {version(lib)}".encode())
    for folder in ("ui", "kongchuo_metrics"):
        for path in sorted((root / folder).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


RESULTS_VERSION = _results_version()

# results read back from disk and not asked for yet: key -> pickled value (unpickled when first asked for)
_SPARE: dict[tuple, bytes] = {}
_SPARE_LOCK = threading.Lock()
_RESTORED: dict[tuple, frozenset] = {}  # ledger key -> the keys its restored file held


def folder() -> Path:
    from .session import store_dir

    return store_dir() / "results"


def file_for(ledger_key: tuple) -> Path:
    name = hashlib.sha256(repr((RESULTS_VERSION, ledger_key)).encode()).hexdigest()[:32]
    return folder() / f"{name}.pkl"


class _Pickler(pickle.Pickler):
    """Plotly figures go in as their plain spec without the template (plotly adds its default template again
    when the figure is built): unpickling a figure as such validates the whole template, ten times the time
    of building the figure again."""

    def reducer_override(self, obj):
        from plotly.basedatatypes import BaseFigure

        if isinstance(obj, BaseFigure):
            spec = obj.to_plotly_json()
            layout = {k: v for k, v in spec["layout"].items() if k != "template"}
            return _figure, ({"data": spec["data"], "layout": layout},)
        return NotImplemented


def _figure(spec: dict):
    import plotly.graph_objects as go

    # the spec of a figure that was validated when it was built: validating it again took 4x the time, for the
    # same JSON (tests/app/test_persisted_results.py)
    return go.Figure(spec, _validate=False)


def _dumps(value) -> bytes:
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return out.getvalue()


def _about_people(value) -> bool:
    """True when a table inside `value` has a personal column or lists children by name (schema.PERSONAL_FIELDS,
    schema.NAME_LIST_COLUMNS, or their Chinese labels)."""
    import pandas as pd

    from kongchuo_metrics import labels, schema

    if isinstance(value, pd.DataFrame):
        fields = schema.PERSONAL_FIELDS | schema.NAME_LIST_COLUMNS
        personal = (
            fields
            | {schema.field_label(f) for f in fields}
            | {labels.COLUMN_LABELS.get(f, f) for f in fields}
        )
        return any(str(c) in personal for c in value.columns)
    if isinstance(value, tuple | list):
        return any(_about_people(v) for v in value)
    if isinstance(value, dict):
        return any(_about_people(v) for v in value.values())
    return False


def _ledger_of(key: tuple) -> tuple | None:
    """The ledger key a shared result's key starts with; None for a result that is never written."""
    head = key[0]
    if not isinstance(head, tuple) or not head:
        return None
    if isinstance(head[0], str):  # (ledger key, name, ...): a per-version result such as the date bounds
        return head if key[1] not in SKIPPED else None
    if len(head) != 3:
        return None
    ledger_key, _selection, mode = head  # (view key, name, *extra)
    return ledger_key if mode != "unmasked" and key[1] not in SKIPPED else None


def save(ledger_key: tuple) -> int:
    """Write the shared results of `ledger_key` (with those restored and not yet asked for); returns how many.
    Nothing is written when they are exactly the ones the file already holds."""
    from .data import _RESULTS

    with _RESULTS.lock:
        held = [
            (k, v)
            for k, v in _RESULTS.items.items()
            if _ledger_of(k) == ledger_key and _RESULTS.weights.get(k, 0) <= LARGEST
        ]
    held = [(k, v) for k, v in held if not _about_people(v)]
    entries: dict[tuple, bytes] = {}
    with _SPARE_LOCK:
        entries.update((k, b) for k, b in _SPARE.items() if _ledger_of(k) == ledger_key)
    for k, v in held:
        try:
            entries[k] = _dumps(v)
        except Exception:  # noqa: BLE001 - a value that cannot be pickled is computed again next time
            continue
    if not entries or frozenset(entries) == _RESTORED.get(ledger_key):
        return 0
    payload = pickle.dumps(list(entries.items()), protocol=pickle.HIGHEST_PROTOCOL)
    target = file_for(ledger_key)
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".results-", dir=target.parent)  # created 0600
        with os.fdopen(fd, "wb") as f:
            f.write(hashlib.sha256(payload).digest())
            f.write(payload)
        os.replace(tmp, target)
        _prune(target.parent)
    except OSError:
        LOG.exception("could not keep the shared results in %s", target.parent)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)  # no half-written file left behind
        return 0
    _RESTORED[ledger_key] = frozenset(entries)
    return len(entries)


def _prune(where: Path) -> None:
    files = sorted(where.glob("*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP_FILES:]:
        old.unlink(missing_ok=True)


def restore(ledger_key: tuple) -> int:
    """Read back the results `save` kept for `ledger_key`, when the file passes every check; returns how many."""
    path = file_for(ledger_key)
    try:
        st = path.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            LOG.warning("ignored %s: writable by another user than the server's", path)
            return 0
        data = path.read_bytes()
    except OSError:
        return 0
    digest, payload = data[:32], data[32:]
    if hashlib.sha256(payload).digest() != digest:
        LOG.warning("ignored %s: its contents do not match their digest", path)
        return 0
    try:
        kept = {k: b for k, b in pickle.loads(payload) if _ledger_of(k) == ledger_key}
    except Exception:  # noqa: BLE001 - a damaged file is ignored, never trusted
        LOG.warning("ignored %s: unreadable", path)
        return 0
    with _SPARE_LOCK:
        _SPARE.update(kept)
    _RESTORED[ledger_key] = frozenset(kept)
    return len(kept)


def take(key: tuple, make):
    """The value restored for `key` when there is one (then no longer spare), else `make()`."""
    with _SPARE_LOCK:
        blob = _SPARE.pop(key, None)
    if blob is not None:
        try:
            return pickle.loads(blob)
        except Exception:  # noqa: BLE001 - computed instead
            LOG.warning("a restored result could not be read; computed again")
    return make()


def forget() -> None:
    """Drop what was restored (tests)."""
    with _SPARE_LOCK:
        _SPARE.clear()
    _RESTORED.clear()
