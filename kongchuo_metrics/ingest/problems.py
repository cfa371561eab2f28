"""The problem table: one call per rule, whole columns at a time, values masked when personal."""

from __future__ import annotations

import pandas as pd

from .. import privacy, schema
from ..arrowtext import all_empty, const_text
from ..parsers import as_text
from .ledger import PROBLEM_COLUMNS

ERROR, WARNING, EXCLUDED = "错误", "警告", "排除"


class Problems:
    """Collects problems as whole columns at a time (no per-row Python).

    Every rule is one call: ``add`` with a message per row ("" where the rule does not apply) or ``where``
    with a mask and one message. The frame carries the Excel row (``rows``, default ``_row``) and the sheet
    (``_sheet``); the shown value is the frame's own column unless ``values`` says otherwise.
    """

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(
        self,
        df: pd.DataFrame,
        table: str,
        column: str,
        messages: pd.Series,
        *,
        severity: str = WARNING,
        values: pd.Series | None = None,
        rows: str = "_row",
    ) -> None:
        """Record `messages` (one per row of `df`, empty where nothing is wrong) against `column`."""
        if all_empty(messages):  # the usual case: a clean column, nothing to record
            return
        mask = messages.notna() & (messages != "")
        if not mask.any():
            return
        if values is None:
            values = df[column] if column in df else pd.Series("", index=df.index)
        shown = privacy.mask_value(
            column, as_text(values[mask]) if values.dtype == object else values[mask].astype("str")
        )
        self.parts.append(
            pd.DataFrame(
                {
                    "table": schema.TABLE_LABELS[table],
                    "sheet": df["_sheet"][mask],
                    "row": df[rows][mask].astype("int64"),
                    "column": schema.field_label(column) if column else "",
                    "value": shown,
                    "problem": messages[mask],
                    "severity": severity,
                }
            )
        )

    def where(
        self,
        df: pd.DataFrame,
        table: str,
        column: str,
        mask: pd.Series,
        message: str,
        *,
        severity: str = WARNING,
        values: pd.Series | None = None,
        rows: str = "_row",
    ) -> None:
        """Record one `message` for the rows of `df` where `mask` holds."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        messages = const_text("", df.index).mask(mask, message)
        self.add(df, table, column, messages, severity=severity, values=values, rows=rows)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=PROBLEM_COLUMNS)
        out = pd.concat(self.parts, ignore_index=True)
        return out.sort_values(["table", "sheet", "row"], kind="stable").reset_index(drop=True)


def _quarantine(
    df: pd.DataFrame, table: str, reason: pd.Series, column: pd.Series, probs: Problems
) -> pd.Series:
    """Record quarantine problems (one line per row, its first reason) and return the keep mask."""
    q = reason != ""
    if q.any():
        for col in column[q].unique():
            m = q & (column == col)
            probs.add(df, table, col, reason.where(m, ""), severity=ERROR)
    return ~q


def _first_reason(reason: pd.Series, column: pd.Series, cond: pd.Series, msg: str | pd.Series, col: str):
    new = (reason == "") & cond
    reason = reason.mask(new, msg)
    column = column.mask(new, col)
    return reason, column
