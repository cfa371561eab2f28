"""Kept check runs: a run and its findings in the records database, what was resolved since, a child's history.

A run stores its inputs' SHA-256 digests and row counts, the summary figures, and one row per child it listed
(the pushed list's children with their status; each finding's children). Children are stored by the records
database's stable child key (a digest of the ID number, as records.child_keys makes it), with a masked name:
no ID number or full name is written.
"""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Engine, text

from .. import privacy, records
from .checks import FINDINGS, PUSHED_STATUSES, Reconciliation
from .lists import ListTable

_NS = "kongchuo-child-v1|"
NOT_LISTED = "不在本次推送名单"


def _keys(ids: pd.Series) -> pd.Series:
    """The records child_key of valid ID numbers ('' where there is none), as records.keys digests them."""
    import hashlib

    text_ids = ids.astype("str").str.upper()
    return text_ids.map(
        lambda s: hashlib.sha256((_NS + "id:" + s).encode("utf-8")).hexdigest()[:32], na_action="ignore"
    ).fillna("")


def _rows(result: Reconciliation) -> pd.DataFrame:
    parts = []
    if result.pushed is not None:
        p = result.pushed
        valid = p["id_state"].eq("ok")
        parts.append(
            pd.DataFrame(
                {
                    "item": "pushed",
                    "status": p["status"],
                    "child_key": _keys(p["id_number"].where(valid)),
                    "position": p["position"],
                    "township": p["township"].fillna(""),
                    "label": privacy.mask_names(p["name"]).fillna(""),
                    "detail": p["detail"].fillna(""),
                }
            )
        )
    for name, frame in result.findings.items():
        if frame is not None and len(frame):
            parts.append(
                pd.DataFrame(
                    {
                        "item": name,
                        "status": name,
                        "child_key": _keys(frame["id_number"]),
                        "position": None,
                        "township": frame["township"].fillna(""),
                        "label": privacy.mask_names(frame["name"]).fillna(""),
                        "detail": frame["detail"].fillna(""),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def save_run(
    engine: Engine,
    result: Reconciliation,
    lists: dict[str, ListTable],
    ledger_sha256: str,
    user: str,
    scope: str,
) -> int:
    """Store one check run (county-wide results) with its findings; return its id."""
    inputs = {
        kind: {
            "file": t.source,
            "sha256": t.digest,
            "rows_read": t.rows_read,
            "rows_loaded": t.rows_loaded,
            "unmatchable": t.unmatchable,
        }
        for kind, t in lists.items()
    }
    rows = _rows(result)
    with records.transaction(engine) as conn:
        run_id = conn.execute(
            text(
                "INSERT INTO check_runs (as_of, run_at, run_by, scope, ledger_sha256, inputs, summary) "
                "VALUES (:a, :t, :u, :s, :l, :i, :m) RETURNING id"
            ),
            {
                "a": result.as_of.strftime("%Y-%m-%d"),
                "t": records.now(),
                "u": user,
                "s": scope,
                "l": ledger_sha256,
                "i": json.dumps(inputs, ensure_ascii=False),
                "m": json.dumps(result.summary(), ensure_ascii=False),
            },
        ).scalar_one()
        if len(rows):
            full = rows.assign(run_id=int(run_id), position=rows["position"].astype("Int64")).astype(object)
            records_ = full.where(full.notna(), None).to_dict("records")
            conn.execute(
                text(
                    "INSERT INTO check_results (run_id, item, status, child_key, position, township, label, detail) "
                    "VALUES (:run_id, :item, :status, :child_key, :position, :township, :label, :detail)"
                ),
                records_,
            )
    return int(run_id)


def runs(engine: Engine, limit: int = 24) -> pd.DataFrame:
    """The latest check runs: id, as_of, run_at, run_by, files, and the pushed / 需入户核查 counts."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT id, as_of, run_at, run_by, inputs, summary FROM check_runs "
                "ORDER BY as_of DESC, id DESC LIMIT :n"
            ),
            {"n": limit},
        ).all()
    rows = []
    for run_id, as_of, run_at, run_by, inputs, summary in found:
        pushed = (json.loads(summary) or {}).get("pushed") or {}
        rows.append(
            {
                "run_id": int(run_id),
                "as_of": as_of,
                "run_at": run_at,
                "run_by": run_by,
                "files": "、".join(v["file"] for v in json.loads(inputs).values()),
                "pushed": sum(pushed.values()) if pushed else None,
                "visit": pushed.get(PUSHED_STATUSES["visit"]) if pushed else None,
            }
        )
    return pd.DataFrame(rows, columns=["run_id", "as_of", "run_at", "run_by", "files", "pushed", "visit"])


def previous_run(engine: Engine, as_of) -> int | None:
    """The latest stored run checked before `as_of` (last month's), or None."""
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT id FROM check_runs WHERE as_of < :a ORDER BY as_of DESC, id DESC LIMIT 1"),
            {"a": pd.Timestamp(as_of).strftime("%Y-%m-%d")},
        ).first()
    return None if found is None else int(found[0])


def resolved_since(engine: Engine, run_id: int, result: Reconciliation) -> pd.DataFrame:
    """The children a stored run left at 需入户核查 and what they are now: township, child (masked), status_then,
    status_now (a status in words, or 不在本次推送名单), resolved (True when no longer 需入户核查)."""
    with engine.connect() as conn:
        then = pd.DataFrame(
            conn.execute(
                text(
                    "SELECT child_key, township, label FROM check_results "
                    "WHERE run_id = :r AND item = 'pushed' AND status = 'visit' AND child_key <> ''"
                ),
                {"r": run_id},
            ).all(),
            columns=["child_key", "township", "label"],
        )
    now = pd.Series(dtype="str")
    if result.pushed is not None:
        p = result.pushed[result.pushed["id_state"].eq("ok")]
        now = pd.Series(p["status"].to_numpy(), index=_keys(p["id_number"]).to_numpy())
        now = now[~now.index.duplicated()]
    status_now = then["child_key"].map(now).map(PUSHED_STATUSES).fillna(NOT_LISTED)
    return pd.DataFrame(
        {
            "township": then["township"],
            "child": then["label"],
            "status_then": PUSHED_STATUSES["visit"],
            "status_now": status_now,
            "resolved": status_now.ne(PUSHED_STATUSES["visit"]) & status_now.ne(NOT_LISTED),
        }
    )


def history(engine: Engine, child_key: str) -> pd.DataFrame:
    """One child's check history, newest first: as_of, item (in words), status (in words), detail."""
    with engine.connect() as conn:
        found = pd.DataFrame(
            conn.execute(
                text(
                    "SELECT r.as_of, c.item, c.status, c.detail FROM check_results c "
                    "JOIN check_runs r ON r.id = c.run_id WHERE c.child_key = :k ORDER BY r.as_of DESC, r.id DESC, c.id"
                ),
                {"k": child_key},
            ).all(),
            columns=["as_of", "item", "status", "detail"],
        )
    words = {**PUSHED_STATUSES, **FINDINGS}
    return found.assign(
        item=found["item"].map({"pushed": "推送名单", **FINDINGS}).fillna(found["item"]),
        status=found["status"].map(words).fillna(found["status"]),
    )


def child_key_of(id_number: str) -> str:
    """The stored key of one ledger child's (valid) ID number."""
    return _keys(pd.Series([id_number])).iloc[0]
