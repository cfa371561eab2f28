"""Township 考核 ranking: component points (rules read from settings.toml [ranking]), score, rank, 一票否决, 末位.

Score = 基础分 + 劝返率加分 − 辍学率扣分 − 超期个案扣分 − 督办反馈扣分; every component is rounded to 0.01 and the
score is their sum, so the components shown always add up to it. A township with an open 建档立卡/脱贫户 case at
the as-of date is vetoed (一票否决): it ranks below every township without a veto and gets `veto_points`. Equal
scores share a rank (1, 1, 3). Rank buckets (e.g. 10/8/6/4) split the ranks into equal groups, best first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import metrics
from .labels import RANKING_COMPONENTS
from .settings import Targets, read_toml

COMPONENTS = RANKING_COMPONENTS
DEFAULT_OVERDUE = {
    "none": 1.0,
    "school_visit": 1.0,
    "joint_visit": 2.0,
    "notice": 3.0,
    "administrative": 4.0,
    "judicial": 5.0,
}
COLUMNS = [
    "township",
    *COMPONENTS,
    "score",
    "veto",
    "rank",
    "bucket_points",
    "last",
    "open",
    "open_poor",
    "dropout_rate_junior",
    "dropout_rate_primary",
    "returned",
    "return_rate",
    "overdue_cases",
    "late_reports",
    "missing_reports",
]


@dataclass(frozen=True)
class Rules:
    """The scoring rules a bureau sets in settings.toml [ranking] (points; rates in percentage points)."""

    base: float = 100.0
    dropout_step: float = 0.1  # every started step of this many percentage points over the target …
    dropout_points: float = 2.0  # … costs this many points (per stage)
    return_points: float = 10.0  # points for a 100 % return rate, proportional below
    overdue_points: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_OVERDUE)
    )  # per overdue case
    late_report_points: float = 1.0  # per 督办单 first answered after its 交办时限
    missing_report_points: float = 3.0  # per 督办单 past its 时限 with no feedback at all
    buckets: tuple[float, ...] = (10.0, 8.0, 6.0, 4.0)
    veto_points: float = 0.0
    last_places: int = 1  # the last N ranks carry the 末位 flag


def load_rules(folder: str | Path | None) -> Rules:
    """Rules from `folder/settings.toml` [ranking]; defaults for anything missing."""
    data = read_toml(folder).get("ranking", {})
    d = Rules()
    return Rules(
        base=float(data.get("base", d.base)),
        dropout_step=float(data.get("dropout_step", d.dropout_step)),
        dropout_points=float(data.get("dropout_points", d.dropout_points)),
        return_points=float(data.get("return_points", d.return_points)),
        overdue_points={
            **d.overdue_points,
            **{k: float(v) for k, v in data.get("overdue_points", {}).items()},
        },
        late_report_points=float(data.get("late_report_points", d.late_report_points)),
        missing_report_points=float(data.get("missing_report_points", d.missing_report_points)),
        buckets=tuple(float(b) for b in data.get("buckets", d.buckets)),
        veto_points=float(data.get("veto_points", d.veto_points)),
        last_places=int(data.get("last_places", d.last_places)),
    )


def describe(rules: Rules) -> str:
    """The rules in one Chinese paragraph (shown under the table and in the export)."""
    steps = "、".join(f"{metrics.schema.STEPS[k]} {v:g} 分" for k, v in rules.overdue_points.items())
    return (
        f"基础分 {rules.base:g}；辍学率每超过目标 {rules.dropout_step:g} 个百分点（不足按一档计）扣 "
        f"{rules.dropout_points:g} 分（小学、初中分别计）；劝返率（本期劝返 ÷ 本期应劝返）满分 {rules.return_points:g} 分，"
        f"按比例计，本期没有应劝返个案的乡镇得满分；超期个案按所处环节每人扣：{steps}；督办单逾期反馈每件扣 {rules.late_report_points:g} 分、"
        f"逾期未反馈每件扣 {rules.missing_report_points:g} 分。有建档立卡（脱贫户）个案未返校的乡镇一票否决，"
        f"排在所有未被否决的乡镇之后，等次赋分 {rules.veto_points:g}。名次按等次赋分 "
        f"{'/'.join(f'{b:g}' for b in rules.buckets)} 均分为 {len(rules.buckets)} 档；最后 {rules.last_places} "
        "名标为末位。得分相同名次相同。"
    )


def _stage_rates(open_: pd.DataFrame, schools: pd.DataFrame, towns: pd.Index) -> pd.DataFrame:
    dropouts = open_[open_["case_type"] == "dropout"]
    out = pd.DataFrame(index=towns)
    for stage in ("junior", "primary"):
        n = dropouts[dropouts["stage"] == stage].groupby("township").size().reindex(towns, fill_value=0)
        col = f"enrol_{stage}"
        enrol = (
            schools.groupby("township")[col].sum(min_count=1).reindex(towns)
            if col in schools and len(schools)
            else pd.Series(np.nan, index=towns)
        ).astype("float")
        out[f"dropout_rate_{stage}"] = (n / enrol * 100).where(enrol > 0).round(3)
    return out


def _over_steps(rate: pd.Series, target: float, step: float) -> pd.Series:
    over = (rate - target).where(rate > target, 0).fillna(0)
    return over.map(lambda x: math.ceil(round(x / step, 6)) if x > 0 else 0)


def township_scores(
    ledger,
    as_of,
    rules: Rules,
    targets: Targets,
    overdue_days: int,
    period_start=None,
    lapses: pd.DataFrame | None = None,
    notices: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per township (COLUMNS): component points, score, veto, rank (1 best), bucket_points, last (末位),
    and the figures behind the points. `period_start` (exclusive) opens the return-rate period (None: all time);
    `lapses` is records.duban.lapses(); `notices` the delivered notices as follow-up rows."""
    day = pd.Timestamp(as_of)
    cases, schools = ledger.cases, ledger.schools
    towns = pd.Index(
        sorted(set(cases["township"].dropna()) | set(schools["township"].dropna())), name="township"
    )
    if towns.empty:
        return pd.DataFrame(columns=COLUMNS)
    open_ = metrics.open_at(cases, day)
    out = pd.DataFrame(index=towns)
    out["open"] = open_.groupby("township").size().reindex(towns, fill_value=0)
    out["open_poor"] = (
        open_[open_["poor"].eq(True).fillna(False)].groupby("township").size().reindex(towns, fill_value=0)
    )
    out = out.join(_stage_rates(open_, schools, towns))
    steps = _over_steps(out["dropout_rate_junior"], targets.dropout_rate_junior_max, rules.dropout_step) + (
        _over_steps(out["dropout_rate_primary"], targets.dropout_rate_primary_max, rules.dropout_step)
    )
    out["dropout"] = -(steps * rules.dropout_points)

    start = pd.Timestamp(period_start) if period_start is not None else pd.Timestamp.min
    in_period = cases[(cases["registered"] <= day) & ~(cases["closed"] <= start)]  # open at some time in it
    returned = (
        in_period["outcome_category"].isin(metrics.schema.RETURN_OUTCOMES)
        & (in_period["closed"] > start)
        & (in_period["closed"] <= day)
    )
    out["returned"] = in_period[returned].groupby("township").size().reindex(towns, fill_value=0)
    due = in_period.groupby("township").size().reindex(towns, fill_value=0)
    out["return_rate"] = (out["returned"] / due.where(due > 0) * 100).round(2)
    out["returns"] = (out["return_rate"].fillna(100) / 100 * rules.return_points).round(2)

    status = metrics.followup_status(open_, ledger.followups, day, overdue_days, notices)
    late = status[status["overdue"]]
    weights = late["step"].map(rules.overdue_points).fillna(0)
    out["overdue_cases"] = late.groupby("township").size().reindex(towns, fill_value=0)
    out["overdue"] = -weights.groupby(late["township"]).sum().reindex(towns, fill_value=0).round(2)

    lap = (lapses if lapses is not None else pd.DataFrame(columns=["township", "late", "missing"])).set_index(
        "township"
    )
    out["late_reports"] = lap["late"].reindex(towns).fillna(0).astype("int64")
    out["missing_reports"] = lap["missing"].reindex(towns).fillna(0).astype("int64")
    out["reports"] = -(
        out["late_reports"] * rules.late_report_points + out["missing_reports"] * rules.missing_report_points
    )
    out["base"] = float(rules.base)
    for c in COMPONENTS:
        out[c] = out[c].astype("float").round(2) + 0.0  # + 0.0: no "-0"
    out["score"] = out[list(COMPONENTS)].sum(axis=1).round(2)
    out["veto"] = out["open_poor"] > 0
    return _ranked(out.reset_index(), rules)


def _ranked(t: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    # vetoed townships below everyone else: order on (veto, -score); equal keys share the lowest rank number
    key = t["veto"].astype(int) * 1e7 - t["score"]
    t["rank"] = key.rank(method="min").astype("int64")
    n = len(t)
    k = max(len(rules.buckets), 1)
    group = ((t["rank"] - 1) * k // n).clip(upper=k - 1)
    points = np.asarray(rules.buckets or (0.0,), dtype=float)[group.to_numpy()]
    t["bucket_points"] = np.where(t["veto"], rules.veto_points, points)
    t["last"] = (
        t["rank"] >= sorted(t["rank"])[max(n - rules.last_places, 0)] if rules.last_places > 0 else False
    )
    return t.sort_values(["rank", "township"]).reset_index(drop=True)[COLUMNS]


def with_change(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """`current` plus previous_rank and change (previous rank − rank: positive = moved up; NA when new)."""
    out = current.copy()
    prev = (previous if previous is not None else pd.DataFrame(columns=["township", "rank"])).set_index(
        "township"
    )["rank"]
    out["previous_rank"] = out["township"].map(prev).astype("Int64")
    out["change"] = (out["previous_rank"] - out["rank"]).astype("Int64")
    return out


def as_records(table: pd.DataFrame) -> list[dict]:
    """The CLI/JSON form: [{township, score, rank, veto, components: {key: points}}, …], rank order."""
    return [
        {
            "township": r["township"],
            "score": float(r["score"]),
            "rank": int(r["rank"]),
            "veto": bool(r["veto"]),
            "components": {c: float(r[c]) for c in COMPONENTS},
            **({"change": None if pd.isna(r["change"]) else int(r["change"])} if "change" in r else {}),
            "bucket_points": float(r["bucket_points"]),
            "last": bool(r["last"]),
        }
        for _, r in table.iterrows()
    ]


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The ranking with Chinese headers and words, in the order the page and the xlsx show it."""
    t = table.copy()
    change = t["change"] if "change" in t else pd.Series(pd.NA, index=t.index)
    arrow = change.map(
        lambda c: "—" if pd.isna(c) else ("持平" if c == 0 else (f"↑{c}" if c > 0 else f"↓{-c}"))
    )
    out = pd.DataFrame(
        {
            "名次": t["rank"],
            "乡镇": t["township"],
            **{label: t[key] for key, label in COMPONENTS.items()},
            "总分": t["score"],
            "一票否决": t["veto"].map({True: "否决", False: ""}),
            "等次赋分": t["bucket_points"],
            "较上期": arrow,
            "末位": t["last"].map({True: "末位", False: ""}),
            "在册人数": t["open"],
            "建档立卡在册": t["open_poor"],
            "初中辍学率(%)": t["dropout_rate_junior"],
            "小学辍学率(%)": t["dropout_rate_primary"],
            "本期劝返": t["returned"],
            "劝返率(%)": t["return_rate"],
            "超期个案": t["overdue_cases"],
            "督办逾期反馈": t["late_reports"],
            "督办未反馈": t["missing_reports"],
        }
    )
    out.attrs = dict(table.attrs)  # what 较上期 compares with travels with the table (xlsx note, Word 通报)
    return out


def previous_words(table: pd.DataFrame) -> str:
    """What 较上期 compares with, in one Chinese sentence (page caption, xlsx note, Word 通报)."""
    prev = table.attrs.get("previous")
    if not prev:
        return "台账中没有更早的统计日，暂无较上期排名变化。"
    when = metrics.cn_date(pd.Timestamp(prev["date"]))
    if prev["source"] == "saved":
        return f"较上期：与{when}保存的考核结果比较（{prev['saved_by']}保存）。"
    return f"较上期：按台账中的上一统计日（{when}）重新计算（该期未保存考核结果）。"


def xlsx(table: pd.DataFrame, title: str, unit: str, stat_date: str, rules: Rules) -> bytes:
    """The ranking as a government-format workbook: merged title, 填报单位/统计日期 rows, header, one row per
    township in rank order, and the scoring rules under the table (text is never written as a formula)."""
    import io

    from .exports import workbook

    shown = display_table(table)
    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet("考核排名")
    n = len(shown.columns)
    title_fmt = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    head = wb.add_format(
        {"bold": True, "border": 1, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"}
    )
    cell = wb.add_format({"border": 1, "valign": "vcenter"})
    num = wb.add_format({"border": 1, "num_format": "0.00"})
    red = wb.add_format({"border": 1, "font_color": "#C00000", "bold": True})
    ws.merge_range(0, 0, 0, n - 1, title, title_fmt)
    ws.merge_range(1, 0, 1, n - 1, f"填报单位：{unit}", wb.add_format({"align": "left"}))
    ws.merge_range(2, 0, 2, n - 1, f"统计日期：{stat_date}", wb.add_format({"align": "left"}))
    ws.write_row(3, 0, list(shown.columns), head)
    for r, rec in enumerate(shown.itertuples(index=False), start=4):
        for c, v in enumerate(rec):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                ws.write_blank(r, c, None, cell)
            elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                ws.write_number(r, c, float(v), num if isinstance(v, (float, np.floating)) else cell)
            else:
                ws.write_string(r, c, str(v), red if v in ("否决", "末位") else cell)
    end = 4 + len(shown)
    ws.merge_range(
        end + 1,
        0,
        end + 1,
        n - 1,
        "评分规则：" + describe(rules) + previous_words(table),
        wb.add_format({"text_wrap": True}),
    )
    ws.set_row(end + 1, 90)
    ws.set_column(0, 0, 6)
    ws.set_column(1, n, 12)
    wb.close()
    return buf.getvalue()
