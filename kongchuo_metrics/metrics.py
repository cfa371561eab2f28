"""Named aggregations over a loaded ledger; every figure is recomputed from the case histories.

Counting rule (also returned by `counting_rule()` for the UI): a case is open at date D when it was registered
on or before D and not closed on or before D. Returns (返校复学 + 进入职业学校) count from the previous report date,
exclusive, to D, inclusive; at the first date, every return on or before it. All functions are vectorised:
there is no Python loop over cases, nor over dates × cases.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import privacy, schema
from .followup import (  # noqa: F401  (metrics.followup_status …)
    NOTICE_OR_BEYOND,
    _isin,
    at_notice_or_beyond,
    case_steps,
    followup_status,
    ladder_counts,
    owners_table,
)
from .grouping import Groups
from .selection import Selection, cn_date, select_cases, select_special  # noqa: F401  (metrics.Selection …)
from .settings import Targets

EVERYTHING = Selection()  # the whole county (no filter, no date)

# the case columns the pack and the Word report read: a million-row selection or take moves every column it
# carries, so they carry only these (in ledger order)
FIGURE_COLUMNS = [
    "case_id",
    "township",
    "village",
    "school",
    "stage",
    "case_type",
    "name",
    "poor",
    "registered",
    "closed",
    "outcome_category",
    "gov_owner",
    "edu_owner",
]


def figure_columns(cases: pd.DataFrame) -> pd.DataFrame:
    """`cases` with only FIGURE_COLUMNS (those it has)."""
    return cases[[c for c in FIGURE_COLUMNS if c in cases]]


def counting_rule() -> str:
    """The counting rule, as the sentence shown under every chart."""
    return (
        "统计口径：某统计日的在册人数＝辍学（登记）日期不晚于该日、且到该日（含）尚未销号的个案数；"
        "劝返人数＝上一统计日（不含）至本统计日（含）之间返校复学或进入职业学校的个案数，第一个统计日计入本学年（9月1日起）"
        "该日及以前的全部劝返，累计劝返按学年（9月1日起）累计；"
        "核实在外地就读、特殊教育安置等销号不计入劝返。只有年月的登记日期按当月1日计，只有年月的返校日期按当月最后一天计。"
    )


# --- dates -------------------------------------------------------------------------------------------------------


def _day(value) -> np.datetime64:
    return np.datetime64(pd.Timestamp(value).normalize(), "s")


def data_range(cases: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First registration and last event (registration or closure) in the ledger."""
    first = cases["registered"].min()
    last = max(cases["registered"].max(), cases["closed"].max() if cases["closed"].notna().any() else first)
    return pd.Timestamp(first), pd.Timestamp(last)


def report_dates(
    cases: pd.DataFrame,
    own: tuple[pd.Timestamp, ...],
    mode: str = "ledger",
    end: dt.date | None = None,
    periods: int | None = None,
) -> list[pd.Timestamp]:
    """Report dates: the ledger's own ("ledger"; monthly when it has none), "weekly" or "monthly" up to `end`."""
    if cases.empty and not own:
        return []
    first, last = data_range(cases) if not cases.empty else (min(own), max(own))
    stop = pd.Timestamp(end) if end else max([last, *own])
    if mode == "ledger" and own:
        return [pd.Timestamp(d) for d in own if pd.Timestamp(d) <= stop] or [stop]
    if mode == "weekly":
        dates = pd.date_range(
            end=stop, periods=periods or max(1, min(104, (stop - first).days // 7 + 1)), freq="7D"
        )
    else:
        month_ends = pd.date_range(first, stop, freq="ME")
        dates = month_ends.append(pd.DatetimeIndex([stop])).unique()
        if periods:
            dates = dates[-periods:]
    return [pd.Timestamp(d) for d in dates]


# --- trend (表一) ------------------------------------------------------------------------------------------------

TREND_COLUMNS = ["date", "open", "open_poor", "returned", "returned_total"]


def _bins(values: pd.Series, dates: np.ndarray) -> np.ndarray:
    return np.searchsorted(dates, values.to_numpy(dtype="datetime64[s]"), side="left")


def trend(cases: pd.DataFrame, dates: list, by: str | None = None) -> pd.DataFrame:
    """Per report date (and group): open, open_poor, returned in the period, returned_total (cumulative).

    Columns: date, [by], open, open_poor, returned, returned_total; counts are cases.
    """
    d = np.unique(np.array([_day(x) for x in dates], dtype="datetime64[s]"))
    n = len(d)
    cols = ["date", *([by] if by else []), "open", "open_poor", "returned", "returned_total"]
    if n == 0:
        return pd.DataFrame(columns=cols)
    if by:
        codes, groups = pd.factorize(cases[by].fillna("（未填）"), sort=True)
    else:
        codes, groups = np.zeros(len(cases), dtype=np.int64), pd.Index(["all"])
    g = max(len(groups), 1)
    reg_bin = _bins(cases["registered"], d)
    close_bin = _bins(cases["closed"], d)
    is_return = cases["outcome_category"].isin(schema.RETURN_OUTCOMES).to_numpy()
    poor = cases["poor"].eq(True).fillna(False).to_numpy(dtype=bool)

    def cum(bins: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        flat = np.bincount(codes * (n + 1) + bins, weights=weight, minlength=g * (n + 1))
        return flat.reshape(g, n + 1)[:, :n].cumsum(axis=1)

    opened = cum(reg_bin)
    closed = cum(close_bin)
    open_ = opened - closed
    open_poor = cum(reg_bin, poor.astype(float)) - cum(close_bin, poor.astype(float))
    # returns count within the school year (from 1 September): a ledger that keeps last year's closed cases
    # reports this year's 累计劝返, as the bureaus do; R(x) = returns closed on or before x
    ends = np.unique(np.concatenate([d, school_year_eve(d)]))
    at = np.searchsorted(ends, d)
    eve = np.searchsorted(ends, school_year_eve(d))
    flat = np.bincount(
        codes * (len(ends) + 1) + _bins(cases["closed"], ends),
        weights=is_return.astype(float),
        minlength=g * (len(ends) + 1),
    )
    upto = flat.reshape(g, len(ends) + 1)[:, : len(ends)].cumsum(axis=1)
    ret_total = upto[:, at] - upto[:, eve]
    prev = np.concatenate([[-1], at[:-1]])
    since = np.where(prev > eve, prev, eve)  # the later of the previous report date and the year's eve
    ret = upto[:, at] - np.where(since >= 0, upto[:, np.maximum(since, 0)], 0)
    out = pd.DataFrame(
        {
            "date": np.tile(d, g).astype("datetime64[s]"),
            "open": open_.ravel().astype("int64"),
            "open_poor": open_poor.ravel().round().astype("int64"),
            "returned": ret.ravel().round().astype("int64"),
            "returned_total": ret_total.ravel().round().astype("int64"),
        }
    )
    if by:
        out.insert(1, by, np.repeat(np.asarray(groups, dtype=object), n))
    return out[cols]


def school_year_eve(days: np.ndarray) -> np.ndarray:
    """The 31 August before each day's school year (a school year runs from 1 September), as datetime64[s]."""
    d = np.asarray(days, dtype="datetime64[D]")
    years = d.astype("datetime64[Y]").astype(int) + 1970
    months = d.astype("datetime64[M]").astype(int) % 12 + 1
    start_year = np.where(months >= 9, years, years - 1)
    starts = (start_year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + np.timedelta64(8, "M")
    return (starts.astype("datetime64[D]") - np.timedelta64(1, "D")).astype("datetime64[s]")


def open_at(cases: pd.DataFrame, as_of) -> pd.DataFrame:
    """The cases open at `as_of` (registered on or before it, not closed on or before it)."""
    day = pd.Timestamp(as_of)
    mask = (cases["registered"] <= day) & ~(cases["closed"] <= day)
    return cases[mask.fillna(False).astype(bool)]


def _days_open(cases: pd.DataFrame, as_of) -> pd.Series:
    return (pd.Timestamp(as_of) - cases["registered"]).dt.days.astype("Int64")


def open_list(cases: pd.DataFrame, as_of) -> pd.DataFrame:
    """The cases open at `as_of` with open_days, the days since registration (a school's list of children)."""
    rows = open_at(cases, as_of)
    return rows.assign(open_days=_days_open(rows, as_of))


# --- schools (表二) and townships -----------------------------------------------------------------------------------


def _names_list(names: pd.Series, limit: int = 10) -> str:
    shown = "、".join(names.dropna().head(limit))
    return shown + (f" 等{len(names)}人" if len(names) > limit else "")


NAMES_SHOWN = 10  # 表二 lists the ten longest-open children of a school, then 等N人


def schools_table(cases: pd.DataFrame, as_of, mode: str = "list", include_zero: bool = False) -> pd.DataFrame:
    """表二 per school at `as_of`: school, township, open, open_poor, names (masked), oldest_days, latest_entry.

    In the unmasked mode the names column is `names_full`, so that no header calls full names 已脱敏.
    latest_entry is the last registration or closure date recorded for the school on or before as_of (freshness).
    Computed on positions: (school, township) pairs as integer codes, counts with bincount, and only the names
    a row shows (the ten longest-open of each school) are masked.
    """
    day = pd.Timestamp(as_of)
    cols = ["school", "township", "open", "open_poor", "names", "oldest_days", "latest_entry"]
    names_key = {"names": "names_full"} if mode == "unmasked" else {}
    rows = np.flatnonzero((cases["registered"] <= day).to_numpy(dtype=bool))
    if not len(rows):
        return pd.DataFrame(columns=cols).rename(columns=names_key)
    reg = cases["registered"].iloc[rows]
    closed = cases["closed"].iloc[rows]
    shut = (closed <= day).to_numpy(dtype=bool)
    school = cases["school"].iloc[rows].fillna("（未填学校）").reset_index(drop=True)
    town = cases["township"].iloc[rows].fillna("（未填乡镇）").reset_index(drop=True)
    s_codes, s_uni = pd.factorize(school)
    t_codes, t_uni = pd.factorize(town)
    pair, pairs = pd.factorize(s_codes.astype(np.int64) * max(len(t_uni), 1) + t_codes)
    g = len(pairs)
    first = np.zeros(g, dtype=np.int64)
    first[pair[::-1]] = np.arange(len(pair))[::-1]  # a row of each pair, for its names
    # freshness: the last registration, or closure on or before the day, per pair
    nat = np.iinfo(np.int64).min
    reg_t = reg.to_numpy().view(np.int64)
    close_t = closed.to_numpy().astype(reg.dtype).view(np.int64)
    latest = np.full(g, nat, dtype=np.int64)
    np.maximum.at(latest, pair, np.where(shut, np.maximum(reg_t, close_t), reg_t))
    is_open = np.flatnonzero(~shut)
    op = pair[is_open]
    n_open = np.bincount(op, minlength=g)
    poor = cases["poor"].iloc[rows[is_open]].eq(True).fillna(False).to_numpy(dtype=bool)
    n_poor = np.bincount(op[poor], minlength=g)
    days = (day - reg.iloc[is_open]).dt.days.astype("Int64").reset_index(drop=True)
    oldest = np.full(g, -1, dtype=np.int64)
    np.maximum.at(oldest, op, days.to_numpy(dtype=np.int64))
    # names: the open cases longest open first (the order pandas' sort of the column gives), per school the
    # first ten that have a name to show, and how many the school has
    order = days.sort_values(ascending=False).index.to_numpy()
    order = order[np.argsort(op[order], kind="stable")]
    name = cases["name"].iloc[rows[is_open]].reset_index(drop=True)
    shows = name.notna().to_numpy(dtype=bool, copy=True)
    if mode != "unmasked":  # a masked empty name is missing, and a missing name is not listed
        shows &= (name.astype("str").str.len() > 0).fillna(False).to_numpy(dtype=bool)
    order = order[shows[order]]
    grp = op[order]
    starts = np.searchsorted(grp, grp, side="left")
    picked = order[np.arange(len(order)) - starts < NAMES_SHOWN]
    masked = privacy.mask_names(name.iloc[picked], mode).to_numpy(dtype=object)
    lists: list[list[str]] = [[] for _ in range(g)]
    for k, text in zip(op[picked], masked, strict=True):  # at most ten names per school
        lists[k].append(text)
    names = [
        "、".join(x) + (f" 等{n}人" if n > NAMES_SHOWN else "") for x, n in zip(lists, n_open, strict=True)
    ]
    out = pd.DataFrame(
        {
            "school": school.iloc[first].to_numpy(),
            "township": town.iloc[first].to_numpy(),
            "open": n_open.astype("int64"),
            "open_poor": n_poor.astype("int64"),
            "names": pd.array(names, dtype="str"),
            "oldest_days": pd.array(np.where(oldest >= 0, oldest, 0), dtype="Int64"),
            "latest_entry": latest.view(reg.dtype),
        }
    )
    out["school"] = out["school"].astype(school.dtype)
    out["township"] = out["township"].astype(town.dtype)
    out.loc[oldest < 0, "oldest_days"] = pd.NA
    if not include_zero:
        out = out[out["open"] > 0]
    out = out.sort_values(["township", "school"]).reset_index(drop=True)[cols]
    return out.rename(columns=names_key)


def enrolment(schools: pd.DataFrame, sel: Selection = EVERYTHING) -> dict:
    """Enrolment per stage for the selection's places: {"primary": int|None, "junior": int|None}."""
    s = sel.apply(schools)
    out = {}
    for stage, col in (("primary", "enrol_primary"), ("junior", "enrol_junior")):
        values = s[col] if col in s else pd.Series(dtype="Int64")
        out[stage] = int(values.sum()) if values.notna().any() and values.sum() > 0 else None
    return out


def townships_table(cases: pd.DataFrame, schools: pd.DataFrame, as_of) -> pd.DataFrame:
    """Per township at `as_of`: open, open_poor, returned_total, open_dropout, enrolment, dropout_rate (%), red_line.

    dropout_rate is open 辍学-type cases ÷ enrolment of both stages, NA where enrolment is missing.
    """
    day = pd.Timestamp(as_of)
    needed = cases[["township", "registered", "closed", "outcome_category", "poor", "case_type"]]
    upto = needed[needed["registered"] <= day]
    cols = [
        "township",
        "open",
        "open_poor",
        "returned_total",
        "open_dropout",
        "enrolment",
        "dropout_rate",
        "red_line",
    ]
    if upto.empty:
        return pd.DataFrame(columns=cols)
    t = upto.assign(
        township=upto["township"].fillna("（未填乡镇）"),
        is_open=((upto["closed"] > day) | upto["closed"].isna()).astype(int),
        is_ret=(
            upto["outcome_category"].isin(schema.RETURN_OUTCOMES)
            & (upto["closed"] <= day)
            & (upto["closed"] > pd.Timestamp(school_year_eve(np.array([_day(day)]))[0]))
        ).astype(int),
    )
    t["is_poor_open"] = t["is_open"] * t["poor"].eq(True).fillna(False).astype(int)
    t["is_dropout_open"] = t["is_open"] * (t["case_type"] == "dropout").astype(int)
    grp = Groups({"township": t["township"]})
    out = grp.keys.assign(
        open=grp.total(t["is_open"]),
        open_poor=grp.total(t["is_poor_open"]),
        returned_total=grp.total(t["is_ret"]),
        open_dropout=grp.total(t["is_dropout_open"]),
    ).set_index("township")
    enrol = pd.Series(dtype="float")
    if not schools.empty:
        per_school = schools[["enrol_primary", "enrol_junior"]].sum(axis=1, min_count=1)
        towns = Groups({"township": schools["township"]})
        enrol = pd.Series(towns.total_or_na(per_school), index=towns.keys["township"])
    out["enrolment"] = enrol.reindex(out.index).astype("Int64")
    rate = out["open_dropout"] / out["enrolment"].astype("float") * 100
    out["dropout_rate"] = rate.where(out["enrolment"].fillna(0) > 0).round(3)
    out["red_line"] = out["open_poor"] > 0
    return (
        out.reset_index()
        .sort_values(["open", "township"], ascending=[False, True])
        .reset_index(drop=True)[cols]
    )


# --- rates and targets -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """One rate with its target: value and target in %, met is None when the value cannot be computed."""

    key: str
    label: str
    value: float | None
    numerator: int | None
    denominator: int | None
    target: float
    kind: str  # "max" (value must stay at or under target) or "min"
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value <= self.target if self.kind == "max" else self.value >= self.target


def _no_enrolment(schools: pd.DataFrame, sel: Selection, stage: str) -> str:
    """Why a stage's dropout rate has no denominator: every school of the places reports 0 pupils of that stage
    (a junior school has no primary pupils), or some school's figure is missing from the school table."""
    col = f"enrol_{stage}"
    s = sel.apply(schools)
    if col in s and len(s) and s[col].notna().all():
        return f"所选范围没有{schema.STAGES[stage]}在校生，不计算该学段辍学率"
    return "学校表缺少该学段在校生数，无法计算"


def rates(cases: pd.DataFrame, schools: pd.DataFrame, sel: Selection, targets: Targets) -> list[Rate]:
    """Dropout rate per stage, consolidation rate and the 建档立卡 red line at the selection's date, each against
    its target; `cases` are the selection's (metrics.select_cases), the enrolment is its places'."""
    day = sel.day
    open_ = open_at(cases[["registered", "closed", "stage", "case_type", "poor"]], day)
    enrol = enrolment(schools, sel)
    out = []
    for stage, target in (
        ("junior", targets.dropout_rate_junior_max),
        ("primary", targets.dropout_rate_primary_max),
    ):
        n = int(((open_["stage"] == stage) & (open_["case_type"] == "dropout")).sum())
        den = enrol[stage]
        value = round(n / den * 100, 3) if den else None
        note = "" if den else _no_enrolment(schools, sel, stage)
        out.append(
            Rate(f"dropout_{stage}", f"{schema.STAGES[stage]}辍学率", value, n, den, target, "max", note)
        )
    s = sel.apply(schools)
    cohort = s.dropna(subset=["cohort_intake", "graduates"]) if not s.empty else s
    if len(cohort):
        den = int(
            cohort["cohort_intake"].sum()
            + cohort["transfers_in"].fillna(0).sum()
            - cohort["transfers_out"].fillna(0).sum()
        )
        num = int(cohort["graduates"].sum())
        value = round(num / den * 100, 2) if den > 0 else None
        out.append(
            Rate("consolidation", "初中巩固率", value, num, den, targets.consolidation_rate_min, "min")
        )
    else:
        out.append(
            Rate(
                "consolidation",
                "初中巩固率",
                None,
                None,
                None,
                targets.consolidation_rate_min,
                "min",
                "学校表没有入学人数、转入转出和毕业生数，无法计算",
            )
        )
    poor = int(open_["poor"].eq(True).fillna(False).sum())
    out.append(
        Rate("poor_open", "建档立卡辍学人数", float(poor), poor, None, float(targets.poor_open_max), "max")
    )
    return out


def target_ceiling(schools: pd.DataFrame, targets: Targets, sel: Selection = EVERYTHING) -> int | None:
    """The most open 辍学 cases the dropout-rate targets allow for the selection's places and stage (None
    without enrolment)."""
    enrol = enrolment(schools, sel)
    limits = {"junior": targets.dropout_rate_junior_max, "primary": targets.dropout_rate_primary_max}
    stages = [sel.stage] if sel.stage else list(limits)
    if any(enrol[s] is None for s in stages):
        return None
    return int(sum(np.floor(enrol[s] * limits[s] / 100) for s in stages))


# --- reasons ------------------------------------------------------------------------------------------------------


def reasons_table(cases: pd.DataFrame, as_of, by: tuple[str, ...] = ("township", "stage")) -> pd.DataFrame:
    """Counts by reason category × `by` of cases registered on or before as_of: registered, open."""
    day = pd.Timestamp(as_of)
    upto = cases[cases["registered"] <= day]
    keys = [*by, "reason_category"]
    t = upto.assign(
        reason_category=upto["reason_category"].fillna("other"),
        is_open=(~(upto["closed"] <= day)).astype(int),
    )
    for k in by:
        t[k] = t[k].fillna("（未填）")
    grp = Groups({k: t[k] for k in keys})
    out = grp.keys.assign(registered=grp.size(), open=grp.total(t["is_open"]))
    return out.sort_values([*by, "registered"], ascending=[True] * len(by) + [False]).reset_index(drop=True)


# --- escalation and accountability (kongchuo_metrics.followup) --------------------------------------------


def timeline(case_id: str, cases: pd.DataFrame, followups: pd.DataFrame) -> pd.DataFrame:
    """One child's events in date order (一人一案): date, event, detail."""
    case = cases[cases["case_id"] == case_id]
    if case.empty:
        return pd.DataFrame(columns=["date", "event", "detail"])
    c = case.iloc[0]
    rows = [
        {
            "date": c["registered"],
            "event": "登记" + schema.CASE_TYPES.get(c["case_type"], ""),
            "detail": f"原因：{c['reason'] if pd.notna(c['reason']) else '未填'}",
        }
    ]
    fu = followups[followups["case_id"] == case_id].sort_values("visit_date")
    visits = pd.DataFrame(
        {
            "date": fu["visit_date"],
            "event": fu["step_level"].map(schema.STEPS),
            "detail": (
                fu["method"].fillna("") + " " + fu["person"].fillna("") + " " + fu["result"].fillna("")
            ).str.strip()
            + np.where(
                fu["deadline"].notna(), "；复学期限 " + fu["deadline"].dt.strftime("%Y-%m-%d").fillna(""), ""
            ),
        }
    )
    out = pd.concat([pd.DataFrame(rows), visits], ignore_index=True)
    if pd.notna(c["closed"]):
        out = pd.concat(
            [
                out,
                pd.DataFrame(
                    [
                        {
                            "date": c["closed"],
                            "event": "销号：" + schema.OUTCOMES[c["outcome_category"]],
                            "detail": c["outcome"] if pd.notna(c["outcome"]) else "",
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    return out.sort_values("date", kind="stable").reset_index(drop=True)


# --- special education --------------------------------------------------------------------------------------------


def special_ed_summary(special: pd.DataFrame) -> dict:
    """{total, mainstream, special_school, home_teaching, exempt, unplaced, home_teaching_poor, home_lessons,
    unplaced_reasons: {reason: count}} for the disabled-children roster."""
    counts = special["placement_category"].value_counts()
    home = special["placement_category"] == "home_teaching"
    unplaced = special[special["placement_category"] == "unplaced"]
    reasons = unplaced["unplaced_reason"].fillna("未填原因").value_counts()
    lessons = special.loc[home, "home_lessons"]
    return {
        "total": len(special),
        **{k: int(counts.get(k, 0)) for k in schema.PLACEMENTS},
        "home_teaching_poor": int((home & special["poor"].eq(True).fillna(False)).sum()),
        "home_lessons": int(lessons.sum()) if lessons.notna().any() else None,
        "unplaced_reasons": {str(k): int(v) for k, v in reasons.items()},
    }


def special_ed_by(special: pd.DataFrame, by: str) -> pd.DataFrame:
    """Placement counts per `by` (township, disability_type or poor): by, one column per placement, total."""
    key = special[by]
    if by == "poor":
        key = key.map({True: "建档立卡", False: "非建档立卡"}).fillna("未填")
    t = pd.crosstab(key.fillna("（未填）"), special["placement_category"])
    t = t.reindex(columns=list(schema.PLACEMENTS), fill_value=0)
    t["total"] = t.sum(axis=1)
    t.index.name = by
    return t.reset_index()


# --- villages (the map) --------------------------------------------------------------------------------------------


def village_table(status: pd.DataFrame, villages: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Open cases aggregated to villages, and the open cases whose village has no coordinates.

    First frame: township, village, lon, lat, open, open_poor, overdue, oldest_days, state (poor > overdue > open).
    Second frame: the case rows (status rows) that cannot be placed on the map (`unplaced`).
    """
    placed = village_counts(status, villages)
    return placed, unplaced(status, placed)


def _with_places(status: pd.DataFrame) -> pd.DataFrame:
    return status.assign(
        township=status["township"].fillna("（未填乡镇）"),
        village=status["village"].fillna("（未填村）"),
        is_poor=status["poor"].eq(True).fillna(False).astype(int),
        is_overdue=status["overdue"].astype(int),
    )


def village_counts(status: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """The first frame of village_table: the villages with open cases that the map can place."""
    t = _with_places(status)
    grp = Groups({"township": t["township"], "village": t["village"]})
    agg = grp.keys.assign(
        open=grp.size(),
        open_poor=grp.total(t["is_poor"]),
        overdue=grp.total(t["is_overdue"]),
        oldest_days=grp.maximum(t["open_days"]),
    )
    coords = villages.dropna(subset=["lon", "lat"]).drop_duplicates(["township", "village"])[
        ["township", "village", "lon", "lat"]
    ]
    out = agg.merge(coords, on=["township", "village"], how="left")
    # a village named once in the district can be matched without its township
    unique = coords.drop_duplicates("village", keep=False).set_index("village")
    out["lon"] = out["lon"].fillna(out["village"].map(unique["lon"]).astype("float"))
    out["lat"] = out["lat"].fillna(out["village"].map(unique["lat"]).astype("float"))
    state = (
        pd.Series("open", index=out.index)
        .mask(out["overdue"] > 0, "overdue")
        .mask(out["open_poor"] > 0, "poor")
    )
    out["state"] = state
    return out[out["lon"].notna() & out["lat"].notna()].reset_index(drop=True)


def unplaced(status: pd.DataFrame, placed: pd.DataFrame) -> pd.DataFrame:
    """The second frame of village_table: the status rows whose village is not among `placed` (village_counts),
    in the status order. Every open case is either counted on the map or listed here."""
    t = _with_places(status)
    pairs = pd.MultiIndex.from_frame(placed[["township", "village"]].astype(object))
    here = pd.MultiIndex.from_arrays([t["township"].astype(object), t["village"].astype(object)])
    return t[~here.isin(pairs)].reset_index(drop=True)


# --- summary ------------------------------------------------------------------------------------------------------


def summary(
    cases: pd.DataFrame, schools: pd.DataFrame, dates: list, sel: Selection, targets: Targets
) -> dict:
    """KPIs at the selection's date: open, open_prev (at the previous report date), change, open_poor,
    returned_total, previous_date, rates (list of Rate)."""
    day = sel.day
    prior = [pd.Timestamp(d) for d in dates if pd.Timestamp(d) < day]
    points = [*prior[-1:], day]
    tr = trend(cases, points)
    now = tr.iloc[-1]
    prev = tr.iloc[0] if len(tr) > 1 else None
    return {
        "open": int(now["open"]),
        "open_poor": int(now["open_poor"]),
        "returned_total": int(now["returned_total"]),
        "previous_date": points[0] if prev is not None else None,
        "open_prev": int(prev["open"]) if prev is not None else None,
        "change": int(now["open"] - prev["open"]) if prev is not None else None,
        "rates": rates(cases, schools, sel, targets),
    }
