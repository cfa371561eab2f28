"""The result types of a load: Ledger, its IngestReport and SheetReports, and LedgerError."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

PROBLEM_COLUMNS = ["table", "sheet", "row", "column", "value", "problem", "severity"]


@dataclass(frozen=True)
class ColumnInfo:
    """One column of one sheet as the import understood it (the upload page's mapping table)."""

    source: str
    sheet: str
    table: str
    index: int  # 0-based column in the sheet
    header: str  # the header text as written (two header rows joined)
    field: str | None  # canonical field, None when unused
    confidence: float  # 1.0 listed or set by the bureau; below header_match.CERTAIN is a guess to confirm
    how: str  # 标准表头/别名 | 去掉修饰词 | 按含义 | 设置 | 未识别 | 设置为不使用 | 重复
    samples: tuple[str, ...] = ()  # up to three values, masked where they may be personal
    counts: bool = False  # the field changes the figures


@dataclass(frozen=True)
class Blocking:
    """A problem that would change a figure: import waits until it is fixed or its consequence accepted."""

    code: str  # stable key, e.g. "cases:closed:missing", used in [accepted]
    table: str
    column: str
    message: str  # Chinese: what is wrong and what it does to the figures
    rows: int  # rows affected
    total: int  # rows of the table
    fix: str  # map | classify | accept
    accepted: bool = False


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
    columns: list[ColumnInfo] = field(default_factory=list)
    unknown_outcomes: dict[str, int] = field(default_factory=dict)  # resolution texts nobody classified
    blocking: list[Blocking] = field(default_factory=list)  # open and accepted ones (see .open_blocking)

    @property
    def open_blocking(self) -> list[Blocking]:
        """The blocking problems not yet accepted: while any is left the import must not be confirmed."""
        return [b for b in self.blocking if not b.accepted]

    @property
    def accepted_blocking(self) -> list[Blocking]:
        return [b for b in self.blocking if b.accepted]

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
            "columns": [c.__dict__ | {"samples": list(c.samples)} for c in self.columns],
            "unknown_outcomes": dict(self.unknown_outcomes),
            "blocking": [b.__dict__ for b in self.open_blocking],
            "accepted": [b.__dict__ for b in self.accepted_blocking],
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

    def held(self) -> Ledger:
        """The ledger as the dashboard's server holds it: a ledger of fewer than PYTHON_TEXT_BELOW cases keeps
        its text columns in Python string storage (the same values, dtype str).

        pyarrow strings pay a fixed cost of tens of microseconds per operation, which on a county's few
        thousand cases and each township's few hundred is most of a page's time: the follow-up, village and
        township tables of the sample's eleven places took 3.5x as long (2.8 s against 0.9 s of CPU for
        the same figures). Larger ledgers keep pyarrow, whose kernels win there and whose snapshot is read
        memory-mapped."""
        if len(self.cases) >= PYTHON_TEXT_BELOW:
            return self
        tables = {
            name: _python_text(getattr(self, name))
            for name in ("cases", "followups", "special_ed", "schools", "villages")
        }
        return dataclasses.replace(self, **tables)


PYTHON_TEXT_BELOW = 50_000
_PYTHON_TEXT = pd.StringDtype("python", na_value=float("nan"))


def _python_text(frame: pd.DataFrame) -> pd.DataFrame:
    text = [
        c
        for c, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and dtype.na_value is not pd.NA
    ]
    return frame.astype({c: _PYTHON_TEXT for c in text}) if text else frame
