"""The typed tables other than cases: follow-ups, special education, schools, villages, report dates."""

from __future__ import annotations

import pandas as pd

from .. import geo, parsers, schema
from .columns import _flag_col, _int_col, _num_col, _parse_date_col, _text_col
from .problems import Problems, _first_reason, _quarantine

FOLLOWUP_TEXT_COLUMNS = (
    "case_id",
    "name",
    "school",
    "id_number",
    "method",
    "person",
    "result",
    "step",
    "step_level",
)


def _build_followups(df: pd.DataFrame, probs: Problems) -> tuple[pd.DataFrame, pd.Series]:
    t = "followups"
    out = pd.DataFrame(index=df.index)
    for name in ("name", "school", "method", "person", "result", "step"):
        out[name] = _text_col(df, name)
    out["name"] = out["name"].str.replace(" ", "", regex=False)
    ids = parsers.parse_ids(df["id_number"]) if "id_number" in df else None
    out["id_number"] = ids.values if ids is not None else pd.Series(pd.NA, index=df.index, dtype="str")
    out["_id_ok"] = ids.extra["checksum_ok"] if ids is not None else False
    visit, _, visit_err = _parse_date_col(df, t, "visit_date", probs)
    deadline, _, deadline_err = _parse_date_col(df, t, "deadline", probs)
    probs.add(df, t, "deadline", deadline_err)
    out["visit_date"], out["deadline"] = visit, deadline
    step_text = out["step"].fillna("") + " " + out["method"].fillna("")
    out["step_level"] = parsers.categorize(
        step_text.str.strip().mask(step_text.str.strip() == ""), schema.STEP_PATTERNS
    ).fillna("school_visit")
    out["step_level"] = out["step_level"].mask(
        deadline.notna() & (out["step_level"] == "school_visit"), "notice"
    )
    reason = pd.Series("", index=df.index, dtype="str")
    column = pd.Series("", index=df.index, dtype="str")
    reason, column = _first_reason(reason, column, visit_err != "", visit_err, "visit_date")
    reason, column = _first_reason(reason, column, visit.isna(), "缺少劝返日期", "visit_date")
    reason, column = _first_reason(
        reason,
        column,
        out["id_number"].isna() & out["name"].isna(),
        "缺少身份证号和姓名，无法对应到个案",
        "name",
    )
    keep = _quarantine(df, t, reason, column, probs)
    out["source_row"] = df["_row"]
    out["_sheet"] = df["_sheet"]
    return out, keep


def _build_special_ed(df: pd.DataFrame, probs: Problems) -> tuple[pd.DataFrame, pd.Series]:
    t = "special_ed"
    out = pd.DataFrame(index=df.index)
    for name in (
        "township",
        "village",
        "name",
        "school",
        "disability_type",
        "disability_grade",
        "unplaced_reason",
        "placement",
        "note",
    ):
        out[name] = _text_col(df, name)
    ids = parsers.parse_ids(df["id_number"]) if "id_number" in df else None
    out["id_number"] = ids.values if ids is not None else pd.Series(pd.NA, index=df.index, dtype="str")
    if ids is not None:
        probs.add(df, t, "id_number", ids.warnings)
    out["sex"] = (
        parsers.parse_sex(df["sex"]) if "sex" in df else pd.Series(pd.NA, index=df.index, dtype="str")
    )
    out["poor"] = _flag_col(df, t, "poor", probs)
    out["home_lessons"] = _int_col(df, t, "home_lessons", probs)
    out["placement_category"] = parsers.categorize(out["placement"], schema.PLACEMENT_PATTERNS)
    reason = pd.Series("", index=df.index, dtype="str")
    column = pd.Series("", index=df.index, dtype="str")
    reason, column = _first_reason(reason, column, out["placement"].isna(), "缺少安置方式", "placement")
    reason, column = _first_reason(
        reason,
        column,
        out["placement_category"].isna(),
        "无法识别的安置方式（应为随班就读、特殊教育学校、送教上门、办理免学、未入学/未安置之一）",
        "placement",
    )
    keep = _quarantine(df, t, reason, column, probs)
    out["source_row"] = df["_row"]
    return out, keep


_SCHOOL_COUNTS = tuple(f for f in schema.fields_of_kind("schools", "int") if f != "enrolment")


def _build_schools(df: pd.DataFrame, probs: Problems) -> tuple[pd.DataFrame, pd.Series]:
    t = "schools"
    out = pd.DataFrame(index=df.index)
    for name in schema.fields_of_kind(t, "text"):
        if name != "seq":
            out[name] = _text_col(df, name)
    for name in _SCHOOL_COUNTS:  # the counts kept per school (the long format's one column is split below)
        out[name] = _int_col(df, t, name, probs)
    out["_stage_unassigned"] = False
    if "enrolment" in df:
        # long format: one enrolment column, the stage in the 学段 column of the same row (a 九年一贯制 school
        # given as one row per stage becomes two rows, one per stage)
        count = _int_col(df, t, "enrolment", probs)
        stage = out["school_stage"].fillna("")
        primary = stage.str.contains("小学|小学部|完小|教学点", regex=True) & ~stage.str.contains(
            "初中|中学部"
        )
        junior = stage.str.contains("初中|初级中学|中学部|^中学$", regex=True) & ~primary
        out["enrol_primary"] = out["enrol_primary"].fillna(count.where(primary))
        out["enrol_junior"] = out["enrol_junior"].fillna(count.where(junior))
        unassigned = (
            count.notna() & ~primary & ~junior & out["enrol_primary"].isna() & out["enrol_junior"].isna()
        )
        out["_stage_unassigned"] = unassigned.fillna(False).astype(bool)
        probs.where(
            df,
            t,
            "enrolment",
            out["_stage_unassigned"],
            "只有一个在校生数，学段不是小学或初中（如九年一贯制），无法分到小学和初中，未计入在校生",
        )
    out["lon"], out["lat"] = _num_col(df, t, "lon", probs), _num_col(df, t, "lat", probs)
    reason = pd.Series("", index=df.index, dtype="str").mask(out["school"].isna(), "缺少学校名称")
    keep = _quarantine(df, t, reason, pd.Series("school", index=df.index), probs)
    out["source_row"] = df["_row"]
    return out, keep


def _build_villages(df: pd.DataFrame, probs: Problems, coords: str) -> tuple[pd.DataFrame, pd.Series]:
    t = "villages"
    out = pd.DataFrame(index=df.index)
    for name in ("township", "village"):
        out[name] = _text_col(df, name)
    lon, lat = _num_col(df, t, "lon", probs), _num_col(df, t, "lat", probs)
    if coords == "gcj02":
        lon, lat = geo.gcj02_to_wgs84(lon, lat)
    out["lon"], out["lat"] = lon, lat
    missing = lon.isna() | lat.isna()
    probs.where(df, t, "lon", missing, "缺少坐标，地图上将单列显示")
    outside = ~missing & ~geo.in_plausible_box(lon, lat)
    probs.where(df, t, "lon", outside, "坐标偏离本区县范围，请核对（是否把经纬度填反，或坐标系不对）")
    reason = pd.Series("", index=df.index, dtype="str").mask(out["village"].isna(), "缺少村名")
    keep = _quarantine(df, t, reason, pd.Series("village", index=df.index), probs)
    out["source_row"] = df["_row"]
    return out, keep


def _build_reports(df: pd.DataFrame, probs: Problems) -> tuple[pd.DataFrame, pd.Series]:
    values, _, err = _parse_date_col(df, "reports", "report_date", probs)
    reason = err.mask((err == "") & values.isna(), "缺少统计日期")
    keep = _quarantine(df, "reports", reason, pd.Series("report_date", index=df.index), probs)
    return pd.DataFrame({"report_date": values}, index=df.index), keep


_DERIVED_EMPTY = {
    "special_ed": {
        "placement_category": "str",
        "home_lessons": "Int64",
        "poor": "boolean",
        "source_row": "int64",
    },
    "schools": {f: "Int64" for f in _SCHOOL_COUNTS} | {"lon": "float", "lat": "float", "source_row": "int64"},
    "villages": {"lon": "float", "lat": "float", "source_row": "int64"},
    "reports": {"report_date": "datetime64[s]"},
}


def _empty_table(table: str) -> pd.DataFrame:
    """A table the ledger does not have: every column its builder would make, no rows."""
    cols = {f.name: pd.Series(dtype="str") for f in schema.FIELDS[table] if f.name != "seq"}
    cols.update({name: pd.Series(dtype=dtype) for name, dtype in _DERIVED_EMPTY.get(table, {}).items()})
    return pd.DataFrame(cols)
