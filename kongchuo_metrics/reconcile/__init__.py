"""三比对: the ledger checked against 学籍, 脱贫户, pushed, 户籍 and special-education lists (pure core).

lists   reading a list through the ledger's ingest, ID keys
checks  statuses, findings, red-line figures, per-township table
feedback  the pushed list returned as received with 核查结果, 核查日期, 核查人
"""

from .checks import (
    FINDINGS,
    LIST_COLUMNS,
    PRECEDENCE,
    PUSHED_STATUSES,
    Reconciliation,
    reconcile,
    restrict,
    school_age_window,
    school_year,
    status_options,
    status_rows,
    suppressed,
    township_table,
    within,
)
from .lists import ListTable, id_keys, read_list

__all__ = [
    "FINDINGS",
    "LIST_COLUMNS",
    "PRECEDENCE",
    "PUSHED_STATUSES",
    "ListTable",
    "Reconciliation",
    "id_keys",
    "read_list",
    "reconcile",
    "restrict",
    "school_age_window",
    "school_year",
    "status_options",
    "status_rows",
    "suppressed",
    "township_table",
    "within",
]
