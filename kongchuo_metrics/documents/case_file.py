"""The 一人一案 case file: one child's record on A4, the form a township files in the child's folder.

Basic facts, household, reason, both lines' responsible persons, the current step and deadline, and every
registration, visit, notice and closure on a timeline. Masked as in list mode (张*三, age instead of birth date,
ID first 6 + last 1, 王*, 138****1234, no notes) unless `unmasked` — which only a role allowed to unmask may
ask for, and the caller audits.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from docx.enum.text import WD_ALIGN_PARAGRAPH

from .. import metrics, privacy, schema
from ..ingest import Ledger
from ..settings import Settings
from . import layout as L


class CaseFileError(Exception):
    """The case does not exist in the (scoped) ledger; the message is Chinese."""


def _text(v) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, pd.Timestamp | dt.date):
        return metrics.cn_date(v)
    return str(v)


def _flag(v) -> str:
    return "未填" if v is None or pd.isna(v) else ("是" if bool(v) else "否")


def build_case_file(
    ledger: Ledger, case_id: str, settings: Settings, as_of=None, unmasked: bool = False
) -> bytes:
    """The .docx bytes of case `case_id`'s file at `as_of` (default: the day of writing)."""
    row = ledger.cases[ledger.cases["case_id"] == case_id]
    if row.empty:
        raise CaseFileError(f"台账中没有个案“{case_id}”（或不在您的访问范围内）。")
    day = pd.Timestamp(as_of or dt.date.today()).normalize()
    mode = "unmasked" if unmasked else "list"
    shown = privacy.public_view(row, mode, detail=True).iloc[0]
    c = row.iloc[0]
    status = metrics.followup_status(row, ledger.followups, day, settings.overdue_days)
    district = ledger.meta.get("district") or settings.district or ""

    doc = L.new_document()
    doc.add_paragraph("控辍保学“一人一案”档案", style="Title")
    L.paragraph(
        doc,
        f"个案编号：{case_id}　建档单位：{_text(c['township'])}　填表日期：{day:%Y-%m-%d}",
        indent=False,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    L.heading(doc, "一、基本情况", 1)
    age = f"{int(c['age'])}岁" if pd.notna(c.get("age")) else "—"
    birth = _text(c["birth_date"]) if unmasked else age
    ident = _text(shown.get("id_number")) if "id_number" in shown else "—"
    facts = [
        ("姓名", _text(shown["name"]), "性别", _text(c["sex"])),
        ("民族", _text(c["ethnicity"]), "出生日期" if unmasked else "年龄", birth),
        ("身份证号", ident, "学籍号", _text(c["student_no"]) if unmasked else "—"),
        ("乡镇（街道）", _text(c["township"]), "村（社区）", _text(c["village"])),
        ("就读学校", _text(c["school"]), "年级", _text(c["grade"])),
        ("学段", schema.STAGES.get(c["stage"], "—"), "类型", schema.CASE_TYPES.get(c["case_type"], "—")),
        (
            "建档立卡",
            _flag(c["poor"]),
            "残疾",
            _flag(c["disabled"]) + (f"（{c['disability_type']}）" if pd.notna(c["disability_type"]) else ""),
        ),
        (
            "留守儿童",
            _flag(c["left_behind"]),
            "孤儿/事实无人抚养",
            f"{_flag(c['orphan'])}/{_flag(c['unsupported'])}",
        ),
    ]
    L.table(doc, [], facts, widths_mm=[28, 50, 30, 48], left_columns=(1, 3), font_pt=10.5)
    L.heading(doc, "二、家庭情况", 1)
    guardian = _text(shown["guardian_name"]) if "guardian_name" in shown else "—"
    phone = _text(shown["guardian_phone"]) if "guardian_phone" in shown else "—"
    L.table(
        doc,
        [],
        [["监护人", guardian, "联系电话", phone]],
        widths_mm=[28, 50, 30, 48],
        left_columns=(1, 3),
        font_pt=10.5,
    )
    L.heading(doc, "三、辍学情况与责任人", 1)
    open_now = not (pd.notna(c["closed"]) and c["closed"] <= day)
    days_out = (min(day, c["closed"]) if not open_now else day) - c["registered"]
    st = status.iloc[0] if len(status) else None
    lines = [
        (
            "辍学（登记）日期",
            _text(c["registered"]),
            "已辍学天数",
            f"{days_out.days}天" if pd.notna(days_out) else "—",
        ),
        (
            "辍学原因",
            _text(c["reason"]),
            "原因类别",
            schema.REASONS.get(c["reason_category"], _text(c["reason_category"])),
        ),
        ("责任人（政府线）", _text(c["gov_owner"]), "责任人（教育线）", _text(c["edu_owner"])),
    ]
    if st is not None:
        deadline = _text(st["deadline"]) if pd.notna(st["deadline"]) else "—"
        lines.append(("所处环节", schema.STEPS.get(st["step"], "—"), "复学期限", deadline))
        lines.append(
            (
                "最近跟进",
                _text(st["last_visit"]) if pd.notna(st["last_visit"]) else "尚无记录",
                "超期情况",
                st["overdue_reason"] or "未超期",
            )
        )
    else:
        lines.append(
            ("销号日期", _text(c["closed"]), "销号类别", schema.OUTCOMES.get(c["outcome_category"], "—"))
        )
        lines.append(("处置情况", _text(c["outcome"]), "当前状态", "已销号"))
    L.table(doc, [], lines, widths_mm=[28, 50, 30, 48], left_columns=(1, 3), font_pt=10.5)
    L.heading(doc, "四、劝返工作记录", 1)
    tl = metrics.timeline(case_id, ledger.cases, ledger.followups)
    rows = [
        [str(i + 1), _text(d), e, _text(x) if x else ""]
        for i, (d, e, x) in enumerate(zip(tl["date"], tl["event"], tl["detail"], strict=True))
    ]
    L.table(
        doc,
        ["序号", "日期", "事项", "详情"],
        rows,
        widths_mm=[11, 35, 34, 76],
        left_columns=(3,),
        font_pt=10.5,
    )
    if unmasked and pd.notna(c.get("note")):
        L.paragraph(doc, f"备注：{c['note']}")
    L.heading(doc, "五、下一步措施", 1)
    L.placeholder(doc, "针对该生的帮扶、劝返措施、责任人和完成时限")
    L.paragraph(doc, "")
    L.paragraph(doc, "填表人：　　　　　　审核人：　　　　　　（乡镇人民政府盖章）", indent=False)
    L.paragraph(
        doc,
        f"（{district}控辍保学个案档案，数据截至{metrics.cn_date(day)}。"
        + ("含学生完整个人信息，仅限存入学生个人档案，不得外传。）" if unmasked else "个人信息已脱敏。）"),
    )
    return L.to_bytes(doc)
