"""The result types of a load: Ledger, its IngestReport and SheetReports, and LedgerError."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

PROBLEM_COLUMNS = ["table", "sheet", "row", "column", "value", "problem", "severity"]


class LedgerError(Exception):
    """A ledger that cannot be used at all; the message is Chinese and meant for the user."""


@dataclass(frozen=True)
class SheetReport:
    """What happened to one sheet or file."""

    source: str
    sheet: str
    table: str | None
    status: str  # 已读取 / 已忽略 / 隐藏（已忽略）
    header_row: int | None = None
    rows_read: int = 0
    note: str = ""


@dataclass
class IngestReport:
    """Counts and problems of one load; rows_read == rows_loaded + rows_quarantined + rows_excluded."""

    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_excluded: int = 0
    excluded: dict[str, int] = field(
        default_factory=lambda: {"blank": 0, "total": 0, "footer": 0, "header": 0, "duplicate": 0}
    )
    tables: dict[str, int] = field(default_factory=dict)
    sheets: list[SheetReport] = field(default_factory=list)
    merged_filled: int = 0
    unmapped_columns: dict[str, list[str]] = field(default_factory=dict)
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))

    def as_dict(self) -> dict:
        """The report as JSON-ready data (problem values are already masked)."""
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_excluded": self.rows_excluded,
            "excluded": dict(self.excluded),
            "tables": dict(self.tables),
            "merged_cells_filled": self.merged_filled,
            "sheets": [s.__dict__ for s in self.sheets],
            "unmapped_columns": self.unmapped_columns,
            "problems": [
                {k: (None if pd.isna(v) else (int(v) if k == "row" else str(v))) for k, v in rec.items()}
                for rec in self.problems[PROBLEM_COLUMNS].to_dict("records")
            ],
        }


@dataclass(frozen=True)
class Ledger:
    """A loaded ledger: canonical tables (English column names), ledger-level facts and the ingest report."""

    cases: pd.DataFrame
    followups: pd.DataFrame
    special_ed: pd.DataFrame
    schools: pd.DataFrame
    villages: pd.DataFrame
    report_dates: tuple[pd.Timestamp, ...]
    report: IngestReport
    meta: dict
