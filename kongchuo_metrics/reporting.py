"""The reporting calendar (四个一): each township's last submission and whether this period's is missing or late.

Rhythms come from settings.toml `[calendar]`: 周报 due on a weekday of each Monday–Sunday week, 月报 due by
a day of each calendar month (the month's last day when it is shorter). A submission dated on or before the
period's deadline is on time, after it (in the same period) late; with none in the period the report is
missing once the deadline has passed, and still due before.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from dataclasses import dataclass

import pandas as pd

from .labels import REPORT_STATES as STATES
from .labels import WEEKDAYS


@dataclass(frozen=True)
class Rhythm:
    """One reporting rhythm: kind weekly (day = ISO weekday 1–7) or monthly (day = 1–31)."""

    kind: str
    day: int

    @property
    def label(self) -> str:
        if self.kind == "weekly":
            return f"周报（每{WEEKDAYS[self.day - 1]}）"
        return f"月报（每月 {self.day} 日前）"

    def period(self, day: dt.date) -> tuple[dt.date, dt.date, dt.date]:
        """(first day, last day, deadline) of the period that holds `day`."""
        if self.kind == "weekly":
            start = day - dt.timedelta(days=day.weekday())
            return start, start + dt.timedelta(days=6), start + dt.timedelta(days=self.day - 1)
        last = _cal.monthrange(day.year, day.month)[1]
        start = day.replace(day=1)
        return start, day.replace(day=last), day.replace(day=min(self.day, last))


def rhythms(weekly_day: int, monthly_day: int) -> list[Rhythm]:
    """The rhythms a bureau set (0 = not required)."""
    out = []
    if 1 <= weekly_day <= 7:
        out.append(Rhythm("weekly", weekly_day))
    if 1 <= monthly_day <= 31:
        out.append(Rhythm("monthly", monthly_day))
    return out


def state(rhythm: Rhythm, submitted: list[dt.date], today: dt.date) -> tuple[str, dt.date]:
    """(state key, deadline) of the period holding `today` for one township's submission dates."""
    start, end, deadline = rhythm.period(today)
    inside = [d for d in submitted if start <= d <= min(end, today)]
    if inside:
        return ("on_time" if min(inside) <= deadline else "late"), deadline
    if today > deadline:
        return "missing", deadline
    # not due yet: a township that reported before but skipped the previous period is said to have skipped it
    # (a bare 待报 read as "fine" for one whose last report was months ago)
    before, last, _ = rhythm.period(start - dt.timedelta(days=1))
    skipped = not any(before <= d <= last for d in submitted) and any(d < before for d in submitted)
    return ("due_missed" if skipped else "due"), deadline


def submissions(meta: dict, townships: list[str], fallback: str = "") -> dict[str, list[dt.date]]:
    """Submission dates per township from a ledger's meta (`submissions`, each with its 填报时间, else its import
    date); townships with none get `fallback` (the ledger's own 填报时间) when given."""
    out: dict[str, list[dt.date]] = {t: [] for t in townships}
    for town, info in (meta.get("submissions") or {}).items():
        for d in info.get("history", ()):
            out.setdefault(town, []).append(dt.date.fromisoformat(d[:10]))
        day = info.get("filled") or info.get("imported")
        if day:
            out.setdefault(town, []).append(dt.date.fromisoformat(day[:10]))
    if fallback:
        for days in out.values():
            if not days:
                days.append(dt.date.fromisoformat(fallback[:10]))
    return out


CALENDAR_COLUMNS = ["township", "last_submission", "rhythm", "report_deadline", "state"]


def calendar_table(dates: dict[str, list[dt.date]], rules: list[Rhythm], today: dt.date) -> pd.DataFrame:
    """Per township and rhythm: township, last_submission, rhythm (Chinese), deadline, state (Chinese)."""
    rows = []
    for town in sorted(dates):
        days = sorted(set(dates[town]))
        for rule in rules:
            key, deadline = state(rule, days, today)
            rows.append(
                {
                    "township": town,
                    "last_submission": days[-1].isoformat() if days else "从未报送",
                    "rhythm": rule.label,
                    "report_deadline": deadline.isoformat(),
                    "state": STATES[key],
                }
            )
    return pd.DataFrame(rows, columns=CALENDAR_COLUMNS)


def not_reported(table: pd.DataFrame) -> list[str]:
    """Townships whose report of this period is missing (past its deadline)."""
    return sorted(set(table.loc[table["state"] == STATES["missing"], "township"]))


def for_ledger(ledger, weekly_day: int, monthly_day: int, day: dt.date, townships=()) -> pd.DataFrame:
    """`calendar_table` of a loaded ledger at `day`: its townships (cases and school table; only `townships`
    when given), their submission dates from the ledger's meta, else the ledger's own 填报时间."""
    towns = set(ledger.cases["township"].dropna().unique()) | set(ledger.schools["township"].dropna())
    if townships:
        towns &= set(townships)
    meta = ledger.meta
    dates = submissions(meta, sorted(towns), "" if meta.get("submissions") else meta.get("stat_date", ""))
    dates = {t: d for t, d in dates.items() if t in towns}
    return calendar_table(dates, rhythms(weekly_day, monthly_day), day)


def not_reported_words(table: pd.DataFrame) -> str:
    """本期未报送的乡镇 as one Chinese sentence for the pack and the Word 通报 ('' when every township reported):
    per rhythm and deadline, the townships whose report is missing."""
    missing = table[table["state"] == STATES["missing"]]
    if missing.empty:
        return ""
    parts = []
    for (rhythm, deadline), g in missing.groupby(["rhythm", "report_deadline"], sort=True):
        d = dt.date.fromisoformat(deadline)
        parts.append(f"{rhythm}截至{d.month}月{d.day}日未报送的有{'、'.join(sorted(g['township']))}")
    return f"本期有{missing['township'].nunique()}个乡镇未按时报送台账：" + "；".join(parts) + "。"
