"""The records database for what the app itself creates: 督办单, notices and their delivery, ranking snapshots,
and (issue 15) reconciliation results.

The public API is small:

    from kongchuo_metrics import records

    url = records.database_url(settings_folder)   # $KONGCHUO_DB > settings.toml [records] url > var/records.sqlite
    engine = records.open_db(url)                 # SQLAlchemy 2 Engine, migrated to the latest schema
    with records.transaction(engine) as conn:     # one transaction (BEGIN IMMEDIATE on SQLite)
        n = records.next_number(conn, "series")   # gap-free numbering inside that transaction
        conn.execute(sqlalchemy.text("INSERT ..."), {...})
    records.child_keys(cases)                     # stable keys of ledger rows (case_id, child_key, alt_key)
    records.locate(refs, cases)                   # current case_id of stored keys, <NA> when the child left

Adding tables: append a `Migration` to `records.migrations.MIGRATIONS` (see that module's docstring).
Times are stored as ISO-8601 text with +08:00 (`records.now()`); dates as YYYY-MM-DD text.
"""

from .db import (
    RecordsError,
    database_url,
    dispose_all,
    migrate,
    next_number,
    now,
    open_db,
    schema_version,
    transaction,
)
from .keys import child_keys, locate
from .migrations import MIGRATIONS, Migration

__all__ = [
    "MIGRATIONS",
    "Migration",
    "RecordsError",
    "child_keys",
    "database_url",
    "dispose_all",
    "locate",
    "migrate",
    "next_number",
    "now",
    "open_db",
    "schema_version",
    "transaction",
]
