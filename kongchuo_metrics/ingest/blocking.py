"""Blocking problems: what would change a figure for more than 1% of a table's rows, or a guessed column
for a field that changes the counts. The import waits until each is fixed or its consequence accepted."""

from __future__ import annotations

import pandas as pd

from .. import header_match, schema
from .ledger import Blocking, ColumnInfo

SHARE = 0.01  # more than this share of a table's rows affected is blocking


def _pct(rows: int, total: int) -> str:
    return f"{rows / total * 100:.1f}%" if total else "0%"


def _over(rows: int, total: int) -> bool:
    return rows > 0 and rows > SHARE * total


def find_blocking(
    columns: list[ColumnInfo],
    cases: pd.DataFrame,
    case_rows: int,
    case_quarantined: int,
    schools: pd.DataFrame,
    ignored_data_sheets: list[tuple[str, int]],
    school_stage_rows: int,
    accepted: dict[str, str],
    sha256: str = "",
) -> list[Blocking]:
    """Every blocking problem of one load, accepted ones marked."""
    out: list[Blocking] = []
    rows_of = {"cases": case_rows, "schools": len(schools)}
    for c in columns:
        if c.field and c.counts and c.confidence < header_match.CERTAIN:
            label = schema.field_label(c.field)
            out.append(
                Blocking(
                    f"guess:{c.table}:{c.field}",
                    c.table,
                    label,
                    f"{c.sheet} 的“{c.header}”列被猜测为“{label}”（把握 {c.confidence:.0%}），这一列决定统计数字，"
                    "请在列对应表中确认或改正",
                    rows_of.get(c.table, 0),
                    rows_of.get(c.table, 0),
                    "map",
                )
            )
    case_cols = [c for c in columns if c.table == "cases"]
    if case_cols and not any(c.field == "registered" for c in case_cols):
        out.append(
            Blocking(
                "cases:registered:missing",
                "cases",
                "辍学时间",
                "辍学台账中没有识别出辍学（登记）日期列，个案无法按统计日期计数（已全部隔离）；"
                "请在列对应中把对应的列指定为“辍学时间”",
                case_rows,
                case_rows,
                "map",
            )
        )
    total = len(cases)
    typed = any(c.field == "case_type" for c in case_cols)
    all_dropout = (
        "case_type" not in cases or cases["case_type"].eq("dropout").all()
    )  # (a 疑似 sheet is typed)
    if case_cols and total and not typed and all_dropout:
        out.append(
            Blocking(
                "cases:case_type:missing",
                "cases",
                "类型",
                f"辍学台账中没有识别出“类型”列，全部 {total} 个个案按“辍学”计入辍学率；如台账中有疑似辍学或"
                "未入学的儿童，请在列对应中指定类型列，否则请确认接受",
                total,
                total,
                "accept",
            )
        )
    has_outcome = any(c.field == "outcome" for c in case_cols)
    closed = int(cases["closed"].notna().sum()) if total and "closed" in cases else 0
    if case_cols and closed and not has_outcome:
        unread = [c for c in case_cols if c.field is None and c.how == "未识别"]
        where = "、".join(f"“{c.header}”" for c in unread[:5])
        out.append(
            Blocking(
                "cases:outcome:missing",
                "cases",
                "处置情况",
                f"辍学台账中没有识别出“处置情况”列：{closed} 个填有返校（销号）时间的个案全部按“返校复学”计入劝返人数，"
                "进入职业学校、特殊教育安置、核实在外就读等无法区分"
                + (
                    f"；未识别的列{where}中如有处置情况，请在列对应中指定为“处置情况”，否则把它们设为“不使用”"
                    if unread
                    else "；如台账确实没有处置情况，请确认接受"
                ),
                closed,
                total,
                "map" if unread else "accept",
            )
        )
    if total:
        undated = int(cases["_closed_undated"].sum()) if "_closed_undated" in cases else 0
        if _over(undated, total):
            has_closed = any(c.field == "closed" and c.table == "cases" for c in columns)
            out.append(
                Blocking(
                    "cases:closed:undated",
                    "cases",
                    "返校时间",
                    f"{undated} 个个案（{_pct(undated, total)}）处置情况为已返校/已销号，但没有返校（销号）日期，"
                    "将按未销号统计，返校人数会偏少"
                    + ("" if has_closed else "；台账中没有识别出返校时间列，请把对应的列指定为“返校时间”"),
                    undated,
                    total,
                    "accept" if has_closed else "map",
                )
            )
        unknown = int(cases["_outcome_unknown"].sum()) if "_outcome_unknown" in cases else 0
        if _over(unknown, total):
            out.append(
                Blocking(
                    "cases:outcome:unknown",
                    "cases",
                    "处置情况",
                    f"{unknown} 个个案（{_pct(unknown, total)}）的处置情况无法识别，将按未销号统计；"
                    "请逐条归类（返校复学/进入职业学校/特殊教育安置/核实在外就读/未销号）",
                    unknown,
                    total,
                    "classify",
                )
            )
    if _over(case_quarantined, case_rows):
        out.append(
            Blocking(
                "cases:quarantined",
                "cases",
                "",
                f"辍学台账有 {case_quarantined} 行（{_pct(case_quarantined, case_rows)}）因缺少必要信息或日期无法识别被隔离，"
                "不计入任何统计；请看问题清单修改原表，或确认接受",
                case_quarantined,
                case_rows,
                "accept",
            )
        )
    enrol = [c for c in ("enrol_primary", "enrol_junior") if c in schools]
    if schools.empty or not enrol or not schools[enrol].notna().any().any():
        out.append(
            Blocking(
                "schools:enrolment:missing",
                "schools",
                "在校生数",
                "没有载入学校在校生数，辍学率、巩固率无法计算（页面显示“无法计算”）；"
                "请上传含学校在校生数的工作表，或确认接受",
                0,
                0,
                "accept",
            )
        )
    if school_stage_rows:
        out.append(
            Blocking(
                "schools:enrolment:stage",
                "schools",
                "在校生数",
                f"{school_stage_rows} 所学校只有一个在校生数而学段不是小学或初中（如九年一贯制），"
                "无法分到小学和初中，未计入在校生；请按学段分行填写",
                school_stage_rows,
                len(schools),
                "accept",
            )
        )
    for name, rows in ignored_data_sheets:
        out.append(
            Blocking(
                f"sheet:{name}:unrecognised",
                "",
                "",
                f"工作表“{name}”像是数据表（{rows} 行），但找不到可识别的表头，这些行没有导入；"
                "请检查表头，或确认这张表不需要导入",
                rows,
                rows,
                "accept",
            )
        )

    def ok(code: str) -> bool:
        return code in accepted or f"{code}@{sha256[:12]}" in accepted

    return [Blocking(**(b.__dict__ | {"accepted": ok(b.code)})) for b in out]
