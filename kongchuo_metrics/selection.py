"""The selection a view, an export, the pack, the Word report or a CLI command covers: places, stage, case
types, 建档立卡 only and the as-of date, with the one implementation of filtering by them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd

from .categories import CASE_TYPES, STAGES
from .labels import cn_date


@dataclass(frozen=True)
class Selection:
    """Which cases a view covers; describes itself in Chinese for captions and file names.

    `as_of` is a `datetime.date` (or None before a page has chosen one); `day` is the same date as the
    pandas Timestamp that the metrics compare with.
    """

    townships: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()
    stage: str | None = None  # "primary" | "junior" | None (both)
    case_types: tuple[str, ...] = ()  # subset of schema.CASE_TYPES; () = all
    poor_only: bool = False
    as_of: dt.date | None = None

    def __post_init__(self) -> None:
        if isinstance(self.as_of, (pd.Timestamp, dt.datetime)):
            object.__setattr__(self, "as_of", pd.Timestamp(self.as_of).date())
        elif isinstance(self.as_of, str):
            object.__setattr__(self, "as_of", dt.date.fromisoformat(self.as_of[:10]))

    @property
    def day(self) -> pd.Timestamp | None:
        return pd.Timestamp(self.as_of) if self.as_of is not None else None

    @property
    def filtered(self) -> bool:
        return bool(self.townships or self.schools or self.stage or self.case_types or self.poor_only)

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """True for the rows of `frame` inside the selection's places, stage, types and 建档立卡 filter (a
        filter on a column the frame does not have, such as the stage of the special-education roster, is
        not applied to it)."""
        keep = pd.Series(True, index=frame.index)
        tests = (
            ("township", self.townships, lambda c: c.isin(self.townships)),
            ("school", self.schools, lambda c: c.isin(self.schools)),
            ("stage", self.stage, lambda c: c == self.stage),
            ("case_type", self.case_types, lambda c: c.isin(self.case_types)),
            ("poor", self.poor_only, lambda c: c.eq(True)),
        )
        for column, wanted, test in tests:
            if wanted and column in frame:
                keep &= test(frame[column]).fillna(False).astype(bool)
        return keep

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of `frame` in the selection (the frame itself when nothing is filtered)."""
        return frame[self.mask(frame)] if self.filtered else frame

    def places(self, ledger) -> tuple[list[str], list[str]]:
        """(townships, schools) of the ledger's cases and school table that the selection's places cover."""
        frames = [ledger.cases[["township", "school"]], ledger.schools[["township", "school"]]]
        both = pd.concat([f[self.mask(f)] for f in frames], ignore_index=True)  # mask skips absent columns
        return sorted(set(both["township"].dropna())), sorted(set(both["school"].dropna()))

    def named(self, ledger) -> Selection:
        """The selection as captions, export titles, the pack and the Word report name it: on a township's or
        school's part of the county (access.scoped_ledger, a township or school user) a selection naming no
        place covers that part, which is named, never the county. Only for naming: the figures come from the
        ledger as scoped and the selection as chosen."""
        part = ledger.meta.get("scope_places") or {}
        named = self
        if not self.townships and part.get("townships"):
            named = replace(named, townships=tuple(part["townships"]))
        if not self.schools and part.get("schools"):
            named = replace(named, schools=tuple(part["schools"]))
        return named

    def towns_word(self, each: bool = False) -> str:
        """How running text and headings name the selection's townships: 各乡镇 (各乡镇均 with `each`, before a
        verb) for the whole county, else the schools or townships it names: a township user reads
        「三里镇在控制目标以内」, never 「各乡镇…」."""
        named = "、".join(self.schools) or "、".join(self.townships)
        return named or ("各乡镇均" if each else "各乡镇")

    def dates_upto(self, report_dates) -> list[pd.Timestamp]:
        """The report dates on or before the as-of date, or the as-of date alone when there is none."""
        day = self.day
        return [d for d in report_dates if d <= day] or [day]

    def describe(self, dated: bool = True) -> str:
        """The filters in words, e.g. 乡镇：黄练镇；学段：初中；统计日期：2019年6月25日 (without the date when
        not `dated`: a 范围 line that states its date elsewhere)."""
        parts = [f"乡镇：{'、'.join(self.townships)}" if self.townships else "乡镇：全部"]
        if self.schools:
            parts.append(f"学校：{'、'.join(self.schools)}")
        if self.stage:
            parts.append(f"学段：{STAGES[self.stage]}")
        if self.case_types:
            parts.append("类型：" + "、".join(CASE_TYPES[t] for t in self.case_types))
        if self.poor_only:
            parts.append("仅建档立卡")
        if self.as_of and dated:
            parts.append(f"统计日期：{cn_date(self.as_of)}")
        return "；".join(parts)

    def slug(self) -> str:
        """A short file-name-safe form of the filters: 黄练镇_初中_20190625."""
        bits = list(self.townships[:3]) + (["等"] if len(self.townships) > 3 else [])
        bits += list(self.schools[:3]) + (["等"] if len(self.schools) > 3 else [])
        if self.stage:
            bits.append(STAGES[self.stage])
        bits += [CASE_TYPES[t] for t in self.case_types]
        if self.poor_only:
            bits.append("建档立卡")
        if self.as_of:
            bits.append(self.as_of.strftime("%Y%m%d"))
        return "_".join(bits) or "全部"


def select_cases(cases: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    """The cases matching the selection's place, stage and type filters (the date is applied by each metric)."""
    return sel.apply(cases)


def select_special(special: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    """The roster rows in the selection's townships (and schools), poor-only when asked."""
    return sel.apply(special)


def dropped_params(asked: dict, towns: list, schools: list, first: dt.date, last: dt.date) -> tuple[str, ...]:
    """Chinese notices for URL parameters the sidebar dropped (unknown township or school, a date that is not
    one or lies outside the ledger), instead of silently showing the whole county."""
    notices = []
    bad_towns = [t for t in asked.get("tsp", []) if t not in towns]
    if bad_towns:
        notices.append(f"网址中的乡镇「{'、'.join(bad_towns)}」不存在或不在您的查看范围内，已忽略。")
    bad_schools = [s for s in asked.get("sch", []) if s not in schools]
    if bad_schools:
        notices.append(f"网址中的学校「{'、'.join(bad_schools)}」不在所选范围内，已忽略。")
    # the stage and the case types are written into the URL in their Chinese words (小学, 初中; 辍学, ...)
    for param, words, what in (("stage", STAGES, "学段"), ("ctype", CASE_TYPES, "类型")):
        bad = [v for v in asked.get(param, []) if v not in words.values()]
        if bad:
            allowed = "、".join(words.values())
            notices.append(f"网址中的{what}「{'、'.join(bad)}」无法识别（可用：{allowed}），已忽略。")
    for raw in asked.get("asof", [])[:1]:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            notices.append(f"网址中的统计日期「{raw}」无法识别，已改用默认日期。")
            continue
        if not first <= day <= last:
            notices.append(
                f"网址中的统计日期 {cn_date(day)} 超出台账范围"
                f"（{cn_date(first)}至{cn_date(last)}），已改用范围内的日期。"
            )
    return tuple(notices)


def default_as_of(led) -> dt.date:
    """The date a view opens at: the ledger's 填报时间 (its 统计日期/填报时间 line), not the last event in it;
    else its last report date, else its last event, else today."""
    from .metrics import data_range  # metrics imports this module

    if led.meta.get("stat_date"):
        return dt.date.fromisoformat(str(led.meta["stat_date"])[:10])
    if led.report_dates:
        return max(led.report_dates).date()
    if len(led.cases):
        return data_range(led.cases)[1].date()
    return dt.date.today()


def after_filled(as_of: dt.date, filled: dt.date) -> tuple[str, ...]:
    """A notice when the as-of date lies after the ledger's 填报时间: what happened since is not reported yet."""
    if as_of <= filled:
        return ()
    return (
        f"统计日期 {cn_date(as_of)} 晚于台账的填报时间（{cn_date(filled)}）：之后的返校、新增辍学尚未报送，"
        "数字按填报时间的台账计算。",
    )
