"""Township submissions into the county ledger: import scopes, the merge, per-township figures and the diff.

An import covers a scope (the whole county, some townships, or one school of one township) and some tables.
It replaces exactly the rows of that scope in exactly those tables and keeps every other row as it was.
Cases of the replaced scope keep their case number when the same child comes back (stable key: valid ID
number, else 学籍号, else name + school + registration date), so their follow-ups follow them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from . import metrics, schema
from .ingest import IngestReport, Ledger
from .labels import CHANGE_LABELS

MERGE_TABLES = ("cases", "special_ed", "schools", "villages", "followups", "reports")
PLACE_TABLES = ("special_ed", "schools", "villages")  # replaced by township (and school where they have one)
FOLLOWUP_KEY = ["case_id", "visit_date", "step", "method", "person", "result"]


class ScopeError(ValueError):
    """An import scope that cannot be applied (unknown place, two files claiming one township); Chinese."""


@dataclass(frozen=True)
class ImportScope:
    """What one file replaces: kind county | township | school, the townships, and the school's name."""

    kind: str = "township"
    townships: tuple[str, ...] = ()
    school: str = ""  # with kind == "school": the school, inside townships[0]

    def describe(self) -> str:
        """全区县（整体替换） / 乡镇：甲镇、乙镇 / 学校：甲镇一中（甲镇）."""
        if self.kind == "county":
            return "全区县（整体替换）"
        if self.kind == "school":
            return f"学校：{self.school}（{self.townships[0] if self.townships else '?'}）"
        return "乡镇：" + ("、".join(self.townships) or "未识别（请选择所属乡镇）")

    def as_dict(self) -> dict:
        return {"kind": self.kind, "townships": list(self.townships), "school": self.school}

    @classmethod
    def from_dict(cls, data: dict) -> ImportScope:
        return cls(data.get("kind", "county"), tuple(data.get("townships", ())), data.get("school", ""))

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """True on the rows of `frame` this scope covers."""
        if self.kind == "county":
            return pd.Series(True, index=frame.index)
        if "township" not in frame:
            return pd.Series(False, index=frame.index)
        inside = frame["township"].isin(self.townships).fillna(False).astype(bool)
        if self.kind == "school":
            if "school" not in frame:
                return pd.Series(False, index=frame.index)
            inside &= frame["school"].eq(self.school).fillna(False).astype(bool)
        return inside


def present_tables(ledger: Ledger) -> tuple[str, ...]:
    """The tables a loaded file actually carries (rows after loading)."""
    counts = {
        "cases": len(ledger.cases),
        "special_ed": len(ledger.special_ed),
        "schools": len(ledger.schools),
        "villages": len(ledger.villages),
        "followups": len(ledger.followups),
        "reports": len(ledger.report_dates),
    }
    return tuple(t for t in MERGE_TABLES if counts[t])


def school_townships(ledger: Ledger) -> dict[str, str]:
    """School -> township where a ledger's school table and cases agree on one township for the school."""
    pairs = pd.concat(
        [ledger.schools[["school", "township"]], ledger.cases[["school", "township"]]], ignore_index=True
    ).dropna()
    towns = pairs.drop_duplicates().groupby("school")["township"].agg(list)
    return {school: t[0] for school, t in towns.items() if len(t) == 1}


def file_townships(ledger: Ledger, base: Ledger | None = None) -> list[str]:
    """The townships a file covers: those its rows name; for a file without a 乡镇 column, the township of its
    schools in the current data (`base`), else the one known township its title or 填报单位 line names."""
    towns = sorted(
        set(ledger.cases["township"].dropna().unique()) | set(ledger.special_ed["township"].dropna().unique())
    )
    if towns or base is None:
        return towns
    by_school = school_townships(base)
    schools = set(ledger.cases["school"].dropna()) | set(ledger.special_ed["school"].dropna())
    found = {by_school[s] for s in schools if s in by_school}
    if len(found) == 1:
        return sorted(found)
    known = set(base.cases["township"].dropna()) | set(base.schools["township"].dropna())
    text = f"{ledger.meta.get('title') or ''} {ledger.meta.get('unit') or ''}"
    named = {t for t in known if t and t in text}
    return sorted(named) if len(named) == 1 else []


def placed(sub: Submission) -> Submission:
    """A township's (or school's) file whose rows name no township: those rows are that township's (the clerk
    chose or confirmed the scope), so that the import replaces and keeps exactly what the preview says."""
    if sub.scope.kind == "county" or len(sub.scope.townships) != 1:
        return sub
    town = sub.scope.townships[0]
    changes = {}
    for table in ("cases", "special_ed"):
        frame = getattr(sub.ledger, table)
        if "township" in frame and frame["township"].isna().any():
            changes[table] = frame.assign(township=frame["township"].fillna(town))
    if not changes:
        return sub
    return replace(sub, ledger=replace(sub.ledger, **changes))


def infer_scope(ledger: Ledger, base: Ledger | None = None) -> ImportScope:
    """The scope a file's rows suggest: one school when the 填报单位 line names the only school in it, else the
    townships it covers (`file_townships`). Never the whole county: that is chosen explicitly."""
    towns = file_townships(ledger, base)
    schools = ledger.cases["school"].dropna().unique()
    unit = str(ledger.meta.get("unit") or "")
    if len(towns) == 1 and len(schools) == 1 and schools[0] and schools[0] in unit:
        return ImportScope("school", (towns[0],), str(schools[0]))
    return ImportScope("township", tuple(towns))


def parse_scope(text: str, ledger: Ledger) -> ImportScope:
    """county | township:NAME | school:NAME (the school's township from the file) -> ImportScope."""
    kind, _, name = text.partition(":")
    kind, name = kind.strip(), name.strip()
    if kind == "county" and not name:
        return ImportScope("county")
    if kind == "township" and name:
        return ImportScope("township", (name,))
    if kind == "school" and name:
        rows = ledger.cases[ledger.cases["school"].eq(name).fillna(False).astype(bool)]
        towns = sorted(set(rows["township"].dropna()))
        if len(towns) != 1:
            raise ScopeError(f"文件中没有学校“{name}”的个案，或它出现在多个乡镇，无法确定所属乡镇。")
        return ImportScope("school", (towns[0],), name)
    raise ScopeError(f"无法识别的导入范围“{text}”，请写成 county、township:乡镇名 或 school:学校名。")


def combine_scopes(scopes: list[ImportScope]) -> ImportScope:
    """Several township scopes as one (for a batch's description); a county or school scope stays as is."""
    if len(scopes) == 1:
        return scopes[0]
    if any(s.kind == "county" for s in scopes):
        return ImportScope("county")
    towns = tuple(sorted({t for s in scopes for t in s.townships}))
    return ImportScope("township", towns)


@dataclass(frozen=True)
class Submission:
    """One file of an import: its loaded tables, the scope it replaces and the tables it replaces."""

    name: str
    ledger: Ledger
    scope: ImportScope
    tables: tuple[str, ...]
    mapping: object = None  # the settings.Mapping the file was loaded with (kept to rebuild it the same way)


def check_overlap(subs: list[Submission]) -> None:
    """Raise ScopeError when two files of one batch replace the same place in the same table."""
    for i, a in enumerate(subs):
        for b in subs[i + 1 :]:
            shared = set(a.tables) & set(b.tables) - {"reports"}
            if not shared:
                continue
            if a.scope.kind == "county" or b.scope.kind == "county":
                raise ScopeError(f"“{a.name}”与“{b.name}”同时替换全区县，请分两次导入。")
            both = set(a.scope.townships) & set(b.scope.townships)
            if both and not (a.scope.kind == b.scope.kind == "school" and a.scope.school != b.scope.school):
                raise ScopeError(f"“{a.name}”与“{b.name}”都包含{'、'.join(sorted(both))}，请只保留一个文件。")


# --- stable keys ---------------------------------------------------------------------------------------------


def child_keys(cases: pd.DataFrame) -> pd.Series:
    """The child of each case as a re-import finds it again: valid ID number, else 学籍号, else name + school +
    registration date."""
    ids_ok = cases["child_key"].str.startswith("id:").fillna(False).astype(bool)
    student = cases["student_no"].str.strip()
    has_student = student.notna() & student.ne("")
    reg = cases["registered"].dt.strftime("%Y%m%d").fillna("?")
    fallback = "n:" + cases["name"].fillna("?") + "|" + cases["school"].fillna("?") + "|" + reg
    return fallback.mask(has_student, "s:" + student).mask(ids_ok, cases["child_key"])


def episode_keys(cases: pd.DataFrame) -> pd.Series:
    """A key per case episode that survives a re-import: the child (child_keys) plus the episode's rank among
    that child's episodes by registration date."""
    child = child_keys(cases)
    order = pd.DataFrame({"child": child, "reg": cases["registered"]}).sort_values(
        ["child", "reg"], kind="stable"
    )
    rank = order.groupby("child", sort=False).cumcount().reindex(cases.index)
    return child + "#" + rank.astype("str")


def _case_number(ids: pd.Series) -> int:
    digits = pd.to_numeric(ids.str.lstrip("C"), errors="coerce")
    return int(digits.max()) if digits.notna().any() else 0


# --- the merge -----------------------------------------------------------------------------------------------


def _empty_like(ledger: Ledger) -> Ledger:
    return replace(
        ledger,
        cases=ledger.cases.iloc[0:0],
        followups=ledger.followups.iloc[0:0],
        special_ed=ledger.special_ed.iloc[0:0],
        schools=ledger.schools.iloc[0:0],
        villages=ledger.villages.iloc[0:0],
        report_dates=(),
        meta={},
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)


def _report(subs: list[Submission]) -> IngestReport:
    out = IngestReport()
    for s in subs:
        r = s.ledger.report
        out.rows_read += r.rows_read
        out.rows_loaded += r.rows_loaded
        out.rows_quarantined += r.rows_quarantined
        out.rows_excluded += r.rows_excluded
        out.merged_filled += r.merged_filled
        for k, v in r.excluded.items():
            out.excluded[k] = out.excluded.get(k, 0) + v
        for k, v in r.tables.items():
            out.tables[k] = out.tables.get(k, 0) + v
        out.sheets.extend(r.sheets)
        out.unmapped_columns.update(r.unmapped_columns)
        out.blocking.extend(b for b in getattr(r, "blocking", []) if b.accepted)
        out.unknown_outcomes.update(getattr(r, "unknown_outcomes", {}))
    problems = [s.ledger.report.problems for s in subs if len(s.ledger.report.problems)]
    if problems:
        out.problems = pd.concat(problems, ignore_index=True)
    return out


def filled_date(ledger: Ledger) -> str:
    """The ledger's 填报时间 (its 统计日期/填报时间 line), else its last report date, else its last event."""
    if ledger.meta.get("stat_date"):
        return str(ledger.meta["stat_date"])
    if ledger.report_dates:
        return max(ledger.report_dates).date().isoformat()
    if len(ledger.cases):
        return metrics.data_range(ledger.cases)[1].date().isoformat()
    return ""


def apply(base: Ledger | None, subs: list[Submission], imported: str = "", version: str = "") -> Ledger:
    """The ledger after the submissions replace their scopes in `base` (None: an empty store).

    Every row of `base` outside the submissions' scopes stays unchanged and in its order; the incoming rows of
    each scope are appended. Raises ScopeError when two submissions claim the same place.
    """
    if not subs:
        raise ScopeError("没有要导入的文件。")
    subs = [placed(s) for s in subs]
    check_overlap(subs)
    base = base if base is not None else _empty_like(subs[0].ledger)
    out: dict[str, pd.DataFrame] = {}
    for table in PLACE_TABLES:
        frame = getattr(base, table)
        parts, drop = [], pd.Series(False, index=frame.index)
        for s in subs:
            if table in s.tables:
                drop |= s.scope.mask(frame)
                incoming = getattr(s.ledger, table)
                parts.append(incoming[s.scope.mask(incoming)])
        out[table] = _concat([frame[~drop], *parts]) if parts else frame

    # cases: the replaced scope's old rows give their case numbers to the same children coming back
    cases = base.cases
    replaced = pd.Series(False, index=cases.index)
    for s in subs:
        if "cases" in s.tables:
            replaced |= s.scope.mask(cases)
    old = cases[replaced]
    old_ids = pd.Series(old["case_id"].to_numpy(), index=episode_keys(old).to_numpy())
    next_number = _case_number(cases["case_id"])
    new_parts, id_maps = [], []
    for s in subs:
        if "cases" not in s.tables:
            continue
        incoming = s.ledger.cases[s.scope.mask(s.ledger.cases)]
        keys = episode_keys(incoming)
        kept = keys.map(old_ids)
        fresh = kept.isna()
        numbers = next_number + np.arange(1, int(fresh.sum()) + 1)
        next_number += int(fresh.sum())
        ids = kept.to_numpy(dtype=object)
        ids[fresh.to_numpy()] = [f"C{n:06d}" for n in numbers]
        new_id = pd.Series(ids, index=kept.index, dtype="str")
        id_maps.append(pd.Series(new_id.to_numpy(), index=incoming["case_id"].to_numpy()))
        new_parts.append(incoming.assign(case_id=new_id))
    out["cases"] = _concat([cases[~replaced], *new_parts]) if new_parts else cases

    # follow-ups: every earlier visit stays with its child; visits of children no longer in the ledger go
    fu_parts = [base.followups]
    for s, id_map in zip([s for s in subs if "cases" in s.tables], id_maps, strict=True):
        if "followups" in s.tables:
            fu = s.ledger.followups
            mapped = fu["case_id"].map(id_map)
            fu_parts.append(fu[mapped.notna()].assign(case_id=mapped[mapped.notna()].astype("str")))
    followups = _concat(fu_parts)
    followups = followups[followups["case_id"].isin(out["cases"]["case_id"])]
    key = [c for c in FOLLOWUP_KEY if c in followups]
    out["followups"] = followups.drop_duplicates(key, keep="first").reset_index(drop=True)

    dates = set(base.report_dates)
    if any("reports" in s.tables and s.scope.kind == "county" for s in subs):
        dates = set()
    for s in subs:
        if "reports" in s.tables:
            dates |= set(s.ledger.report_dates)

    meta = {k: v for k, v in base.meta.items() if k not in ("sha256", "mtime")}
    submissions = dict(meta.get("submissions") or {})
    for s in subs:
        for town in s.scope.townships or sorted(set(s.ledger.cases["township"].dropna().unique())):
            before = submissions.get(town) or {}
            earlier = [*before.get("history", ()), *([before["filled"]] if before.get("filled") else [])]
            submissions[town] = {
                "history": earlier[-60:],
                "filled": filled_date(s.ledger),
                "imported": imported,
                "file": s.name,
                "version": version,
                "scope": s.scope.describe(),
            }
        for k in ("district", "unit", "title"):
            if s.ledger.meta.get(k) and (s.scope.kind == "county" or not meta.get(k)):
                meta[k] = s.ledger.meta[k]
    filled = [v["filled"] for v in submissions.values() if v.get("filled")]
    if filled:
        meta["stat_date"] = max(filled)
    meta["submissions"] = submissions
    meta["source_name"] = "、".join(s.name for s in subs)
    meta.setdefault("district", "")
    return Ledger(
        out["cases"],
        out["followups"],
        out["special_ed"],
        out["schools"],
        out["villages"],
        tuple(sorted(dates)),
        _report(subs),
        meta,
    )


# --- figures for the preview, the version list and the diff ----------------------------------------------------

FIGURE_COLUMNS = ["cases", "open", "returned", "open_poor", "special_ed", "schools"]
# their Chinese headers (with 现在/导入后 and the like) are in labels.FIGURE_LABELS


def township_figures(ledger: Ledger, as_of) -> pd.DataFrame:
    """Per township: cases, open at `as_of`, returned (累计劝返: within the school year, as the overview counts
    them), 建档立卡 open, special-ed records, schools."""
    day = pd.Timestamp(as_of)
    eve = pd.Timestamp(metrics.school_year_eve(np.array([day.to_datetime64()]))[0])
    c = ledger.cases
    is_open = ((c["registered"] <= day) & ~(c["closed"] <= day)).fillna(False).astype(bool)
    returned = (
        c["outcome_category"].isin(schema.RETURN_OUTCOMES) & (c["closed"] <= day) & (c["closed"] > eve)
    ).fillna(False)
    poor = c["poor"].eq(True).fillna(False).astype(bool)
    town = c["township"].fillna("（未填乡镇）")
    per_case = (
        pd.DataFrame(
            {
                "township": town,
                "cases": 1,
                "open": is_open.astype(int),
                "returned": returned.astype(bool).astype(int),
                "open_poor": (is_open & poor).astype(int),
            }
        )
        .groupby("township")[["cases", "open", "returned", "open_poor"]]
        .sum()
    )
    special = ledger.special_ed["township"].fillna("（未填乡镇）").value_counts().rename("special_ed")
    schools = ledger.schools["township"].fillna("（未填乡镇）").value_counts().rename("schools")
    out = pd.concat([per_case, special, schools], axis=1).fillna(0).astype("int64")
    out.index.name = "township"
    return out.reindex(columns=FIGURE_COLUMNS).sort_index().reset_index()


def headline(ledger: Ledger, as_of=None) -> dict:
    """County totals of the township figures at `as_of` (default: the ledger's 填报时间), plus that date."""
    day = as_of or filled_date(ledger) or dt.date.today().isoformat()
    t = township_figures(ledger, day)
    return {"as_of": str(pd.Timestamp(day).date()), **{k: int(t[k].sum()) for k in FIGURE_COLUMNS}}


def preview(base: Ledger | None, after: Ledger, subs: list[Submission], as_of) -> pd.DataFrame:
    """Per township: action (替换/新增/保留), and each figure now and after the import (`<figure>_now`,
    `<figure>_after`)."""
    now = (
        township_figures(base, as_of)
        if base is not None
        else pd.DataFrame(columns=["township", *FIGURE_COLUMNS])
    )
    new = township_figures(after, as_of)
    both = now.merge(new, on="township", how="outer", suffixes=("_now", "_after"))
    cols = [f"{k}_{w}" for k in FIGURE_COLUMNS for w in ("now", "after")]
    both[cols] = both[cols].fillna(0).astype("int64")
    touched = {t for s in subs for t in (s.scope.townships if s.scope.kind != "county" else both["township"])}
    known = set(now["township"])
    both["action"] = np.where(
        both["township"].isin(touched), np.where(both["township"].isin(known), "替换", "新增"), "保留"
    )
    return both[["township", "action", *cols]].sort_values(["action", "township"]).reset_index(drop=True)


def outside_rows(sub: Submission) -> int:
    """Rows of the file's chosen tables (follow-ups aside: they follow their cases) outside its scope."""
    sub = placed(sub)
    tables = [t for t in sub.tables if t in ("cases", "special_ed")]
    return sum(int((~sub.scope.mask(getattr(sub.ledger, t))).sum()) for t in tables)


def change_lines(base: Ledger | None, subs: list[Submission]) -> list[str]:
    """What the import replaces and what it keeps, one Chinese line per table."""
    subs = [placed(s) for s in subs]
    empty = base is None
    lines = []
    for table in MERGE_TABLES:
        label = schema.TABLE_LABELS[table]
        by = [s for s in subs if table in s.tables]
        if table == "reports":
            if by:
                n = len({d for s in by for d in s.ledger.report_dates})
                lines.append(f"{label}：并入文件中的 {n} 个统计日期（原有日期保留）。")
            continue
        frame = None if empty else getattr(base, table)
        total = 0 if frame is None else len(frame)
        if not by:
            lines.append(f"{label}：文件中没有此表，原有 {total} 条全部保留。")
            continue
        if frame is None:
            hit = 0
        elif table == "followups":
            hit = 0
        else:
            mask = pd.Series(False, index=frame.index)
            for s in by:
                mask |= s.scope.mask(frame)
            hit = int(mask.sum())
        incoming = sum(int(s.scope.mask(getattr(s.ledger, table)).sum()) for s in by if table != "followups")
        scope = combine_scopes([s.scope for s in by]).describe()
        if table == "followups":
            n = sum(len(s.ledger.followups) for s in by)
            lines.append(
                f"{label}：原有 {total} 条全部保留（随个案的孩子对应），并入文件中的 {n} 条（重复的合并）。"
            )
        else:
            lines.append(
                f"{label}：替换 {scope} 的 {hit} 条为文件中的 {incoming} 条；其他 {total - hit} 条保留不变。"
            )
            if table == "cases" and hit:
                lines += _removed_cases(
                    frame[mask], [s.ledger.cases[s.scope.mask(s.ledger.cases)] for s in by]
                )
        outside = sum(
            int((~s.scope.mask(getattr(s.ledger, table))).sum()) for s in by if table != "followups"
        )
        if outside:
            lines.append(f"　　注意：文件中有 {outside} 条{label}不在导入范围内，不会导入。")
    return lines


def _removed_cases(replaced: pd.DataFrame, incoming: list[pd.DataFrame]) -> list[str]:
    """A warning line when cases of the replaced part (same child, same registration date) are not in the
    files: a township sending only this year's cases drops its earlier ones, and with them the 上年同期
    (同比) figures of the overview, the pack and the reports."""

    def keys(cases: pd.DataFrame) -> pd.Series:
        return child_keys(cases) + "@" + cases["registered"].dt.strftime("%Y%m%d").fillna("?")

    kept = pd.concat([keys(c) for c in incoming]) if incoming else pd.Series(dtype="str")
    gone = replaced[~keys(replaced).isin(kept).to_numpy(dtype=bool)]
    if gone.empty:
        return []
    closed = int(gone["closed"].notna().sum())
    first, last = (gone["registered"].min(), gone["registered"].max())
    span = f"{first:%Y-%m-%d} 至 {last:%Y-%m-%d}" if pd.notna(first) else "日期不明"
    return [
        f"　　注意：原有 {len(gone)} 个个案（其中 {closed} 个已销号，登记于 {span}）不在文件中，导入后将删除；"
        "这些个案所在时期的在册、劝返和上年同期（同比）数字会随之改变。如文件只含本学年的个案，请补齐往年个案再导入。"
    ]


DIFF_CHANGES = CHANGE_LABELS


def diff(a: Ledger, b: Ledger) -> pd.DataFrame:
    """Cases that changed from version a to version b, by stable key: change (appeared, removed, closed,
    reopened, moved), case_id, township, school_before, school, name, registered, closed."""
    ka = a.cases.assign(_key=episode_keys(a.cases).to_numpy())
    kb = b.cases.assign(_key=episode_keys(b.cases).to_numpy())
    cols = ["_key", "case_id", "township", "school", "name", "registered", "closed"]
    both = ka[cols].merge(kb[cols], on="_key", how="outer", suffixes=("_a", "_b"), indicator=True)
    left, right = both["_merge"].eq("left_only"), both["_merge"].eq("right_only")
    inner = both["_merge"].eq("both")
    open_a, open_b = both["closed_a"].isna(), both["closed_b"].isna()
    frames = []

    def pick(mask: pd.Series, change: str, side: str) -> None:
        rows = both[mask]
        frames.append(
            pd.DataFrame(
                {
                    "change": change,
                    "case_id": rows[f"case_id_{side}"],
                    "township": rows[f"township_{side}"],
                    "school_before": rows["school_a"],
                    "school": rows[f"school_{side}"],
                    "name": rows[f"name_{side}"],
                    "registered": rows[f"registered_{side}"],
                    "closed": rows[f"closed_{side}"],
                }
            )
        )

    pick(right, "appeared", "b")
    pick(left, "removed", "a")
    pick(inner & open_a & ~open_b, "closed", "b")
    pick(inner & ~open_a & open_b, "reopened", "b")
    pick(inner & both["school_a"].ne(both["school_b"]).fillna(False).astype(bool), "moved", "b")
    out = pd.concat(frames, ignore_index=True)
    out["school_before"] = out["school_before"].where(out["change"].eq("moved"))
    order = {k: i for i, k in enumerate(DIFF_CHANGES)}
    return out.sort_values(
        ["change", "township", "case_id"], key=lambda s: s.map(order) if s.name == "change" else s
    ).reset_index(drop=True)


def diff_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many cases of each change kind a diff holds."""
    counts = table["change"].value_counts()
    return {k: int(counts.get(k, 0)) for k in DIFF_CHANGES}
