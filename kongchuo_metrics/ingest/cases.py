"""The typed case table: one row per dropout episode, from the raw ledger rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import arrowtext, parsers, schema
from .columns import _check_text_cells, _flag_col, _parse_date_col, _text_col
from .problems import Problems, _first_reason, _quarantine

CASE_COLUMNS = [
    "case_id",
    "case_no",
    "child_key",
    "township",
    "village",
    "school",
    "stage",
    "grade",
    "case_type",
    "name",
    "sex",
    "ethnicity",
    "id_number",
    "birth_date",
    "age",
    "student_no",
    "poor",
    "disabled",
    "disability_type",
    "left_behind",
    "orphan",
    "unsupported",
    "registered",
    "registered_precision",
    "reason",
    "reason_category",
    "returned",
    "closed",
    "closed_precision",
    "outcome",
    "outcome_category",
    "gov_owner",
    "edu_owner",
    "guardian_name",
    "guardian_phone",
    "note",
    "source",
    "source_row",
]


# text fields parsed by their own rules rather than kept as text
_PARSED_TEXT = ("seq", "sex", "grade", "stage", "case_type")


def _build_cases(
    df: pd.DataFrame,
    probs: Problems,
    outcomes: dict[str, str] | None = None,
    only: frozenset[str] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """The typed cases of raw rows `df` and the rows kept; `only`: the typed fields wanted (see load_ledger):
    the derived fields not among them (stage, reason category) are left empty instead of parsed."""
    t = "cases"
    # the kinds come from the schema: every text field is kept as text, every flag parsed as a flag
    text_fields = [f for f in schema.fields_of_kind(t, "text") if f not in _PARSED_TEXT]
    out = pd.DataFrame(index=df.index)
    for name in text_fields:
        out[name] = _text_col(df, name)
    out["_row"], out["_sheet"] = df["_row"], df["_sheet"]
    out = _check_text_cells(
        out, t, ["township", "village", "name", "school", "reason", "outcome", "note"], probs
    )
    out = out.drop(columns=["_row", "_sheet"])
    out["name"] = arrowtext.without_spaces(out["name"])

    ids = parsers.parse_ids(df["id_number"]) if "id_number" in df else None
    if ids is not None:
        out["id_number"], out["_id_ok"] = ids.values, ids.extra["checksum_ok"]
        probs.add(df, t, "id_number", ids.warnings)
    else:
        out["id_number"], out["_id_ok"] = arrowtext.const_text(None, df.index), False

    birth, birth_precision, birth_err = _parse_date_col(df, t, "birth_date", probs)
    probs.add(df, t, "birth_date", birth_err)
    sex = parsers.parse_sex(df["sex"]) if "sex" in df else arrowtext.const_text(None, df.index)
    if ids is not None:
        id_birth, id_sex = ids.extra["birth"], ids.extra["sex"]
        # a 出生年月 without its day (2005-03) agrees with an ID born on any day of that month, which gives the day
        month_only = birth_precision.eq("month").to_numpy(dtype=bool)
        same_month = (birth.dt.year == id_birth.dt.year) & (birth.dt.month == id_birth.dt.month)
        in_month = same_month.fillna(False).to_numpy(dtype=bool) & month_only
        disagree = birth.notna() & id_birth.notna() & (birth != id_birth) & ~in_month
        probs.where(df, t, "birth_date", disagree, "出生日期与身份证号不一致")
        birth = birth.mask(in_month, id_birth)
        sex_bad = sex.notna() & id_sex.notna() & (sex != id_sex)
        probs.where(df, t, "sex", sex_bad, "性别与身份证号不一致")
        birth = birth.fillna(id_birth)
        sex = sex.fillna(id_sex)
    out["birth_date"] = birth
    out["sex"] = sex

    grade = (
        parsers.parse_grades(df["grade"])
        if "grade" in df
        else pd.Series(pd.NA, index=df.index, dtype="Int64")
    )
    out["grade"] = grade
    if only is None or "stage" in only:
        out["stage"] = parsers.parse_stages(df.get("stage"), grade, out["school"])
    else:
        out["stage"] = arrowtext.const_text(None, df.index)
    out["case_type"] = parsers.parse_case_types(df.get("case_type"), df.index, default="dropout")
    sheet_suspected = df["_sheet"].astype("str").str.contains("疑似", regex=False)
    if "case_type" not in df and sheet_suspected.any():
        out["case_type"] = out["case_type"].mask(sheet_suspected, "suspected")
    for name in schema.fields_of_kind(t, "flag"):
        out[name] = _flag_col(df, t, name, probs)

    registered, reg_prec, reg_err = _parse_date_col(df, t, "registered", probs)
    closed, closed_prec, closed_err = _parse_date_col(df, t, "closed", probs)
    if not arrowtext.all_empty(closed_err):
        probs.add(df, t, "closed", closed_err.mask(closed_err != "", closed_err + "，按未返校处理"))
    # a month-only closing date counts from the month's last day: the case stays open until we know it closed
    closed = closed.mask(closed_prec == "month", closed + pd.offsets.MonthEnd(0))
    before = closed.notna() & registered.notna() & (closed < registered)
    probs.where(df, t, "closed", before, "返校时间早于辍学时间，按未返校处理")
    closed = closed.mask(before)
    out["registered"], out["registered_precision"] = registered, reg_prec
    if only is None or "reason_category" in only:
        out["reason_category"] = parsers.categorize(out["reason"], schema.REASON_PATTERNS).fillna(
            pd.Series("other", index=df.index).where(out["reason"].notna())
        )
    else:
        out["reason_category"] = arrowtext.const_text(None, df.index)

    category = parsers.classify_outcomes(out["outcome"], outcomes or {})
    unknown = out["outcome"].notna() & category.isna()
    probs.where(df, t, "outcome", unknown, "无法识别的处置情况，按未销号统计（请在导入页归类）")
    said_no = out["returned"].eq(False).fillna(False).astype(bool)
    said_yes = out["returned"].eq(True).fillna(False).astype(bool)
    # a 返校时间 with no outcome text, or 是否返校=是, is a return; an unknown text alone stays open
    no_text = out["outcome"].isna()
    category = category.mask(category.isna() & ((no_text & closed.notna() & ~said_no) | said_yes), "returned")
    closing = category.notna() & (category != "open")
    no_date = closing & closed.isna()
    probs.where(df, t, "closed", no_date, "已销号但缺少返校/销号时间，按未销号统计")
    has_date_open = closed.notna() & (category == "open")
    probs.where(df, t, "closed", has_date_open, "填有返校时间但处置情况为未返校，按未返校统计")
    closed = closed.where(closing)
    out["closed"], out["closed_precision"] = closed, closed_prec.where(closing, "")
    out["outcome_category"] = category.where(closing & closed.notna(), "open")
    out["_outcome_unknown"] = unknown & ~said_yes
    out["_closed_undated"] = no_date
    out["case_no"] = arrowtext.without_spaces(_text_col(df, "case_no"))

    age = ((registered - birth).dt.days / 365.25).astype("float")
    out["age"] = np.floor(age).astype("Int64")
    odd_age = (out["age"].notna() & ~out["age"].between(6, 15)).fillna(False).astype(bool)
    if odd_age.any():
        probs.where(
            df, t, "birth_date", odd_age, "辍学时年龄不在 6–15 岁之间", values=out["age"].astype("str")
        )

    reason = arrowtext.const_text("", df.index)
    column = arrowtext.const_text("", df.index)
    reason, column = _first_reason(
        reason, column, out["township"].isna() & out["school"].isna(), "缺少乡镇和学校，无法归属", "township"
    )
    reason, column = _first_reason(reason, column, reg_err != "", reg_err, "registered")
    reason, column = _first_reason(
        reason, column, registered.isna(), "缺少辍学（登记）日期，无法确定统计时点", "registered"
    )
    keep = _quarantine(df, t, reason, column, probs)
    out["source"] = arrowtext.join_few(df["_source"], df["_sheet"], "/")
    out["source_row"] = df["_row"]
    return out, keep
