"""The records database schema as an ordered list of versioned SQL steps (applied by `db.migrate`).

To change the schema, APPEND a `Migration` with the next version number; never edit one that has shipped
(databases in the field have already applied it). Steps are plain SQL that both SQLite and PostgreSQL accept,
with three placeholders filled per dialect:

    {pk}    an auto-numbered integer primary key column type
    {ts}    a timestamp column (stored as ISO-8601 text with +08:00, so both engines compare it the same way)
    {json}  a JSON document column (text)

Example (issue 15, reconciliation results):

    MIGRATIONS.append(Migration(4, "reconciliation check runs", (
        "CREATE TABLE check_runs (id {pk}, started_at {ts} NOT NULL, ledger_sha256 TEXT NOT NULL, summary {json})",
    )))
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema version: its number, a short English name and the SQL statements that reach it."""

    version: int
    name: str
    steps: tuple[str, ...]


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "counters and 督办单",
        (
            # one row per numbering series (e.g. "督办|2019"); allocating a number bumps `last` in the same
            # transaction as the insert that uses it, so a failed insert gives its number back (no gaps)
            "CREATE TABLE counters (series TEXT PRIMARY KEY, last INTEGER NOT NULL)",
            """CREATE TABLE duban (
                id {pk},
                year INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                number TEXT NOT NULL UNIQUE,
                township TEXT NOT NULL,
                item TEXT NOT NULL,
                content TEXT NOT NULL DEFAULT '',
                lead_unit TEXT NOT NULL DEFAULT '',
                lead_person TEXT NOT NULL DEFAULT '',
                partners TEXT NOT NULL DEFAULT '',
                contact TEXT NOT NULL DEFAULT '',
                due TEXT NOT NULL,
                cycle_days INTEGER,
                status TEXT NOT NULL DEFAULT 'open',
                source TEXT NOT NULL DEFAULT 'manual',
                as_of TEXT,
                created_at {ts} NOT NULL,
                created_by TEXT NOT NULL DEFAULT '',
                closed_at {ts},
                closed_by TEXT,
                UNIQUE (year, seq)
            )""",
            "CREATE INDEX duban_township ON duban (township)",
            """CREATE TABLE duban_feedback (
                id {pk},
                duban_id INTEGER NOT NULL REFERENCES duban (id) ON DELETE CASCADE,
                text TEXT NOT NULL,
                at {ts} NOT NULL,
                by_user TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX duban_feedback_item ON duban_feedback (duban_id)",
            # the children a 督办单 made from the overdue list names: stable keys plus what was shown then
            """CREATE TABLE duban_children (
                duban_id INTEGER NOT NULL REFERENCES duban (id) ON DELETE CASCADE,
                child_key TEXT NOT NULL,
                alt_key TEXT NOT NULL,
                label TEXT NOT NULL,
                school TEXT NOT NULL DEFAULT '',
                step TEXT NOT NULL DEFAULT '',
                days_since INTEGER,
                PRIMARY KEY (duban_id, child_key)
            )""",
        ),
    ),
    Migration(
        2,
        "numbered notices and their 送达回证",
        (
            """CREATE TABLE notices (
                id {pk},
                kind TEXT NOT NULL,
                series TEXT NOT NULL,
                seq INTEGER NOT NULL,
                number TEXT NOT NULL UNIQUE,
                township TEXT NOT NULL,
                school TEXT NOT NULL DEFAULT '',
                child_key TEXT NOT NULL,
                alt_key TEXT NOT NULL,
                label TEXT NOT NULL,
                issued_on TEXT NOT NULL,
                deadline_days INTEGER NOT NULL,
                issued_at {ts} NOT NULL,
                issued_by TEXT NOT NULL DEFAULT '',
                delivered_on TEXT,
                recipient TEXT,
                place TEXT,
                delivered_by TEXT,
                delivered_at {ts},
                UNIQUE (series, seq)
            )""",
            "CREATE INDEX notices_child ON notices (child_key)",
            "CREATE INDEX notices_township ON notices (township)",
        ),
    ),
    Migration(
        3,
        "township ranking snapshots",
        (
            """CREATE TABLE ranking_snapshots (
                id {pk},
                as_of TEXT NOT NULL,
                township TEXT NOT NULL,
                score REAL NOT NULL,
                rank INTEGER NOT NULL,
                veto INTEGER NOT NULL,
                components {json} NOT NULL,
                saved_at {ts} NOT NULL,
                saved_by TEXT NOT NULL DEFAULT '',
                UNIQUE (as_of, township)
            )""",
        ),
    ),
]

# issue 15: each 三比对 check run, its inputs' digests, and one row per child it found (keys, never IDs)
MIGRATIONS.append(
    Migration(
        4,
        "reconciliation check runs",
        (
            """CREATE TABLE check_runs (
                id {pk},
                as_of TEXT NOT NULL,
                run_at {ts} NOT NULL,
                run_by TEXT NOT NULL DEFAULT '',
                scope TEXT NOT NULL DEFAULT '',
                ledger_sha256 TEXT NOT NULL,
                inputs {json} NOT NULL,
                summary {json} NOT NULL
            )""",
            "CREATE INDEX check_runs_as_of ON check_runs (as_of)",
            """CREATE TABLE check_results (
                id {pk},
                run_id INTEGER NOT NULL REFERENCES check_runs (id) ON DELETE CASCADE,
                item TEXT NOT NULL,
                status TEXT NOT NULL,
                child_key TEXT NOT NULL,
                position INTEGER,
                township TEXT NOT NULL DEFAULT '',
                label TEXT NOT NULL DEFAULT '',
                detail TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX check_results_run ON check_results (run_id)",
            "CREATE INDEX check_results_child ON check_results (child_key)",
        ),
    )
)
