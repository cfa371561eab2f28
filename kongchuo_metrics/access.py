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
            towns = "、".join(self.townships)
            # 三里镇/三里二中 -> 三里镇三里二中
            names = "、".join(s.replace(SCHOOL_SEP, "") for s in self.schools)
            return "学校：" + (f"{towns} " if towns else "") + names
        return "无权限"

    def key(self) -> tuple:
        """A hashable cache key."""
        return (self.role, self.townships, self.schools)


NO_ACCESS = Scope()


def _rows(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    return frame[mask.fillna(False).astype(bool)].reset_index(drop=True)


SCHOOL_SEP = "/"


def _in_pairs(frame: pd.DataFrame, pairs: pd.MultiIndex) -> pd.Series:
    if "school" not in frame or "township" not in frame:
        return pd.Series(False, index=frame.index)
    place = pd.MultiIndex.from_arrays([frame["township"], frame["school"]])
    return pd.Series(place.isin(pairs), index=frame.index)


def school_pairs(scope: Scope, ledger: Ledger) -> pd.MultiIndex:
    """The (township, school) pairs a school user covers.

    A school is named by township and school together: "三里镇/三里二中" in the users file, or a plain school
    name with the user's townships. A plain name without townships counts only when exactly one township of
    the ledger has a school of that name: a same-named school elsewhere never leaks to this user.
    """
    named = [s.split(SCHOOL_SEP, 1) for s in scope.schools if SCHOOL_SEP in s]
    plain = [s for s in scope.schools if SCHOOL_SEP not in s]
    pairs = [(t.strip(), n.strip()) for t, n in named]
    if scope.townships:
        pairs += [(t, n) for t in scope.townships for n in plain]
    elif plain:
        known = (
            pd.concat(
                [
                    f[["township", "school"]]
                    for f in (ledger.schools, ledger.cases, ledger.special_ed)
                    if "school" in f
                ]
            )
            .dropna()
            .drop_duplicates()
        )
        known = known[known["school"].isin(plain)]
        unique = known.groupby("school")["township"].transform("nunique") == 1
        pairs += list(known[unique].itertuples(index=False, name=None))
    return pd.MultiIndex.from_tuples(pairs or [("", "")], names=["township", "school"])


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
        pairs = school_pairs(scope, ledger)
        places = {
            "townships": tuple(dict.fromkeys(t for t, _ in pairs if t)),
            "schools": tuple(dict.fromkeys(n for _, n in pairs if n)),
        }
        cases = _rows(c, _in_pairs(c, pairs))
        schools = _rows(s, _in_pairs(s, pairs))
        special = _rows(sp, _in_pairs(sp, pairs))
        # a school user sees the villages its own cases live in
        place = pd.MultiIndex.from_frame(v[["township", "village"]])
        villages = _rows(
            v, pd.Series(place.isin(pd.MultiIndex.from_frame(cases[["township", "village"]])), index=v.index)
        )
    else:
        cases, schools, special, villages = c.iloc[0:0], s.iloc[0:0], sp.iloc[0:0], v.iloc[0:0]
    followups = _rows(fu, fu["case_id"].isin(cases["case_id"]))
    # a part of the county: its small counts follow the rule for places finer than the county
    meta = {**ledger.meta, "scope_part": scope.describe()}
    # the places it is the part of: named by titles and documents where a selection names none
    # (a school user's townships are those of its schools: "三里镇/三里二中" names 三里镇 and 三里二中)
    if scope.role == "township":
        meta["scope_places"] = {"townships": tuple(scope.townships), "schools": ()}
    elif scope.role == "school" and scope.schools:
        meta["scope_places"] = places
    return replace(
        ledger,
        cases=cases,
        followups=followups,
        special_ed=special,
        schools=schools,
        villages=villages,
        meta=meta,
    )
