"""Who sees what: scopes and the ONE function that applies a scope to a ledger.

Every table, chart, map layer, KPI, filter option, caption and download in the app is computed from the
ledger returned by `scoped_ledger`. Default deny: an identity with no role or no place sees nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from .ingest import Ledger

ROLES = {
    "county_admin": "区县管理员",
    "county_viewer": "区县查看",
    "township": "乡镇用户",
    "school": "学校用户",
}


@dataclass(frozen=True)
class Scope:
    """An identity's reach: role plus the townships or schools it covers (for township/school roles)."""

    user: str = ""
    role: str = ""
    townships: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()

    @property
    def can_upload(self) -> bool:
        return self.role == "county_admin"

    @property
    def can_unmask(self) -> bool:
        return self.role == "county_admin"

    @property
    def county_wide(self) -> bool:
        return self.role in ("county_admin", "county_viewer")

    def describe(self) -> str:
        """范围 in Chinese: 全区县 / 乡镇：甲镇 / 学校：甲一中 / 无权限."""
        if self.county_wide:
            return "全区县"
        if self.role == "township" and self.townships:
            return "乡镇：" + "、".join(self.townships)
        if self.role == "school" and self.schools:
            return "学校：" + "、".join(self.schools)
        return "无权限"

    def key(self) -> tuple:
        """A hashable cache key."""
        return (self.role, self.townships, self.schools)


NO_ACCESS = Scope()


def _rows(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    return frame[mask.fillna(False).astype(bool)].reset_index(drop=True)


def scoped_ledger(ledger: Ledger, scope: Scope) -> Ledger:
    """The ledger restricted to what `scope` may see (a new Ledger; the input is not changed)."""
    if scope.county_wide:
        return ledger
    c, s, sp, v, fu = ledger.cases, ledger.schools, ledger.special_ed, ledger.villages, ledger.followups
    if scope.role == "township" and scope.townships:
        t = set(scope.townships)
        cases = _rows(c, c["township"].isin(t))
        schools = _rows(s, s["township"].isin(t))
        special = _rows(sp, sp["township"].isin(t))
        villages = _rows(v, v["township"].isin(t))
    elif scope.role == "school" and scope.schools:
        names = set(scope.schools)
        cases = _rows(c, c["school"].isin(names))
        schools = _rows(s, s["school"].isin(names))
        special = _rows(sp, sp["school"].isin(names))
        # a school user sees the villages its own cases live in
        place = pd.MultiIndex.from_frame(v[["township", "village"]])
        villages = _rows(
            v, pd.Series(place.isin(pd.MultiIndex.from_frame(cases[["township", "village"]])), index=v.index)
        )
    else:
        cases, schools, special, villages = c.iloc[0:0], s.iloc[0:0], sp.iloc[0:0], v.iloc[0:0]
    followups = _rows(fu, fu["case_id"].isin(cases["case_id"]))
    return replace(
        ledger, cases=cases, followups=followups, special_ed=special, schools=schools, villages=villages
    )
