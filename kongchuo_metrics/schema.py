"""The ledger schema, declared once: tables, canonical fields, Chinese header aliases, categories.

Everything that knows a Chinese header spelling or which field is personal lives here. Ingest, metrics,
privacy and the pages all refer to the canonical English field names defined below.
"""

from __future__ import annotations

from dataclasses import dataclass

from .categories import (  # noqa: F401  (schema.STAGES and the rest: the categories are part of the schema)
    CASE_TYPES,
    OUTCOME_PATTERNS,
    OUTCOMES,
    PLACEMENT_PATTERNS,
    PLACEMENTS,
    REASON_PATTERNS,
    REASONS,
    RETURN_OUTCOMES,
    STAGES,
    STEP_ORDER,
    STEP_PATTERNS,
    STEPS,
)

# --- tables --------------------------------------------------------------------------------------------

TABLES = ("cases", "special_ed", "schools", "villages", "followups", "reports")

TABLE_LABELS = {
    "cases": "辍学台账",
    "special_ed": "残疾儿童",
    "schools": "学校",
    "villages": "村屯",
    "followups": "劝返记录",
    "reports": "统计节点",
}

# Sheet or file name fragments -> table; checked in this order, first hit wins (残疾儿童台账 is special_ed,
# 劝返记录 is followups, although both also contain words of the cases ledger).
TABLE_NAME_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("special_ed", ("残疾", "特殊教育", "特教", "送教", "special")),
    ("followups", ("劝返记录", "跟进", "家访", "走访", "劝返过程", "followup")),
    ("reports", ("统计节点", "报告日期", "统计日期", "报送日期", "report")),
    ("villages", ("村屯", "村庄", "行政村", "村名录", "坐标", "village")),
    ("schools", ("学校", "school")),
    ("cases", ("台账", "辍学", "控辍", "未入学", "case", "ledger")),
)

# --- fields ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One canonical field, declared once: the standard header (label), exact aliases, the value kind, whether
    it is personal, the words that identify it by meaning, and whether a wrong column changes the figures."""

    name: str
    label: str  # the standard Chinese header of the blank template
    aliases: tuple[str, ...]
    kind: str = "text"  # text | date | flag | id | number | int
    personal: bool = False
    # words that identify the field in a header nobody listed; "a+b" means both must appear
    words: tuple[str, ...] = ()
    counts: bool = False  # a wrong or missing column changes a figure: a guess must be confirmed
    avoid: tuple[str, ...] = ()  # words that mean a header is about something else (身份证类型 is no ID)


def _words(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value.split()) if isinstance(value, str) else value


def _f(
    name: str,
    spellings: str,
    *more: str,
    kind: str = "text",
    personal: bool = False,
    words: str | tuple[str, ...] = (),
    counts: bool = False,
    avoid: str | tuple[str, ...] = (),
) -> Field:
    """A field from its spellings, separated by spaces (a header never holds one once normalised): the standard
    header first, then the aliases; `words` and `avoid` likewise."""
    spelled = (*spellings.split(), *more)
    return Field(name, spelled[0], spelled, kind, personal, _words(words), counts, _words(avoid))


_TOWNSHIP_WORDS = ("乡镇", "乡(镇)", "街道", "镇", "乡")
_VILLAGE_WORDS = ("村", "社区", "屯", "居委")
_ID_WORDS = ("身份证", "身份号", "证件号")
_ID_AVOID = ("类型", "有效期", "类别")
_SCHOOL_WORDS = ("学校", "就读", "校名")
_SCHOOL_AVOID = ("标识码", "代码", "类型", "地址", "方式")
_POOR_WORDS = ("建档立卡", "脱贫", "贫困")


def _id_number(spellings: str) -> Field:
    """The ID number field of a table: personal, recognised by its words, never a 身份证类型 column."""
    return _f("id_number", spellings, kind="id", personal=True, words=_ID_WORDS, avoid=_ID_AVOID)


# 建档立卡 (the red line) is spelt the same in the case ledger and the special-education roster
_POOR = _f(
    "poor",
    "建档立卡 是否建档立卡 是否建档立卡户 建档立卡户 是否脱贫户 脱贫户 是否建档立卡贫困户 建档立卡贫困户",
    kind="flag",
    words=_POOR_WORDS,
    counts=True,
)

CASE_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号 序", words="序号"),
    _f("case_no", "台账编号 个案编号 编号 案件编号 辍学编号 登记编号", words="编号 案号"),
    _f(
        "township",
        "乡镇 乡镇(街道) 乡镇街道 乡(镇) 乡镇名称 所在乡镇 乡镇/街道 镇(乡) 街道",
        words=_TOWNSHIP_WORDS,
        counts=True,
    ),
    _f(
        "village",
        "村(社区) 村 村屯 村委 村委会 村(居)委会 所在村 村名 村社区 行政村 村(屯) 村/社区",
        words=_VILLAGE_WORDS,
    ),
    _f("name", "姓名 学生姓名 儿童姓名 辍学学生姓名 学生名字", personal=True, words="姓名"),
    _f("sex", "性别", words="性别"),
    _f("ethnicity", "民族", words="民族"),
    _id_number("身份证号 身份证号码 公民身份号码 身份证 证件号码 身份证件号 身份证件号码"),
    _f("birth_date", "出生日期 出生年月 出生年月日", kind="date", personal=True, words="出生"),
    _f("student_no", "学籍号 全国学籍号 学籍号码 学籍编号", personal=True, words="学籍+号 学籍"),
    _f(
        "school",
        "就读学校 学校名称 学校 原就读学校 所在学校 应就读学校 辍学学校",
        words=_SCHOOL_WORDS,
        counts=True,
        avoid=_SCHOOL_AVOID,
    ),
    _f("grade", "年级 就读年级 辍学时年级 原就读年级 所在年级", words="年级"),
    _f("stage", "学段 学段(小学/初中)", words="学段"),
    _POOR,
    _f("disabled", "是否残疾 残疾", kind="flag", words="残疾"),
    _f("disability_type", "残疾类别 残疾类型", words="残疾+类"),
    _f("left_behind", "留守儿童 是否留守儿童", kind="flag", words="留守"),
    _f("orphan", "孤儿 是否孤儿", kind="flag", words="孤儿"),
    _f("unsupported", "事实无人抚养 是否事实无人抚养儿童 事实无人抚养儿童", kind="flag", words="无人抚养"),
    _f(
        "case_type",
        "类型 辍学类型 台账类型 类别 学生类型",
        words="类型 类别",
        counts=True,
        avoid="身份 证件 残疾 学校 办学 户口",
    ),
    _f(
        "registered",
        "辍学时间 辍学日期 登记日期 登记时间 发现时间 发现日期 辍学时间(年月日)",
        kind="date",
        words="辍学 失学 登记 发现 离校 流失",
        counts=True,
    ),
    _f("reason", "辍学原因 原因 辍学主要原因", words="原因"),
    _f(
        "returned",
        "是否返校 是否劝返 是否复学 是否劝返成功 是否已返校",
        kind="flag",
        words="返校 复学 劝返 回校",
        counts=True,
    ),
    _f(
        "closed",
        "返校时间 返校日期 复学时间 复学日期 劝返时间 销号时间 销号日期",
        kind="date",
        words="返校 复学 销号 结案 回校 劝返 办结 销案",
        counts=True,
    ),
    _f(
        "outcome",
        "处置情况 去向 处置情况/去向 目前去向 劝返情况 处置结果 现状",
        words="处置 去向 现状 劝返+状态 销号+状态 结果 进展 返校+情况 劝返+情况 复学+情况 就学+情况 销号+情况",
        counts=True,
    ),
    _f(
        "gov_owner",
        "劝返责任人(政府线) 政府线责任人 政府责任人 乡镇责任人 村级责任人 劝返责任人政府线 责任人(政府线)",
        words="政府 乡镇+责任 镇+责任 村+责任 乡镇+包保 村+包保 干部",
    ),
    _f(
        "edu_owner",
        "劝返责任人(教育线) 教育线责任人 学校责任人 班主任 劝返责任人教育线 责任人(教育线)",
        words="教育线 教育+责任 学校+责任 校+责任 教师+责任 老师 教师 班主任",
    ),
    _f(
        "guardian_name",
        "监护人姓名 监护人 家长姓名 父母姓名",
        personal=True,
        words="监护人+姓名 家长+姓名 父亲+姓名 母亲+姓名 监护人 家长",
    ),
    _f(
        "guardian_phone",
        "联系电话 监护人电话 监护人联系电话 家长电话 联系方式",
        personal=True,
        words="电话 手机 联系方式",
    ),
    _f("note", "备注 情况说明", personal=True, words="备注 说明"),
)

SPECIAL_ED_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号 编号", words="序号"),
    _f("township", "乡镇 乡镇(街道) 乡镇街道 所在乡镇 乡镇名称", words=_TOWNSHIP_WORDS, counts=True),
    _f("village", "村(社区) 村 村屯 所在村 村委", words=_VILLAGE_WORDS),
    _f("name", "姓名 学生姓名 儿童姓名 残疾儿童姓名", personal=True, words="姓名"),
    _f("sex", "性别", words="性别"),
    _id_number("身份证号 身份证号码 公民身份号码 残疾证号"),
    _f("birth_date", "出生日期 出生年月", kind="date", personal=True, words="出生"),
    _f("disability_type", "残疾类别 残疾类型", words="残疾+类 残疾+种类"),
    _f("disability_grade", "残疾等级 残疾级别", words="等级 级别"),
    _POOR,
    _f(
        "placement",
        "安置方式 安置情况 就学方式 安置形式 教育安置方式",
        words="安置 就读情况 就读方式 就学 入学情况 就读形式",
        counts=True,
    ),
    _f("school", "就读学校 学校 安置学校 送教学校", words=_SCHOOL_WORDS),
    _f("unplaced_reason", "未安置原因 未入学原因 未安置/未入学原因", words="原因"),
    _f("home_lessons", "送教次数 送教上门次数 累计送教次数", kind="int", words="送教+次"),
    _f("note", "备注", personal=True, words="备注 说明"),
)

_ENROL = ("在校生", "在籍", "学生数", "学生人数", "在校人数", "学生总数")


def _enrol(name: str, stage: str) -> Field:
    """A stage's enrolment count of the school table (wide format: one column per stage)."""
    words = tuple(f"{stage}+{w}" for w in (*_ENROL, "人数"))
    return _f(name, f"{stage}在校生数 {stage}在校生 {stage}学生数", kind="int", words=words, counts=True)


SCHOOL_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号", words="序号"),
    _f("school", "学校名称 学校 校名", words="学校 校名 单位"),
    _f("township", "乡镇 乡镇(街道) 所在乡镇", words=_TOWNSHIP_WORDS),
    _f("school_stage", "学段 办学类型 学校类型", words="学段 办学类型 学校类型 类型"),
    _enrol("enrol_primary", "小学"),
    _enrol("enrol_junior", "初中"),
    # long format: one enrolment column, the stage in the 学段 column of the same row
    _f("enrolment", "在校生数 在校学生数 学生数", kind="int", words=_ENROL, counts=True),
    _f(
        "cohort_intake",
        "入学年级人数 起始年级入学人数 三年前入学人数",
        kind="int",
        words="入学+人数 起始年级 入学+年级",
    ),
    _f("transfers_in", "转入人数 转入", kind="int", words="转入"),
    _f("transfers_out", "转出人数 转出", kind="int", words="转出"),
    _f("graduates", "毕业生数 毕业人数 本年毕业生数", kind="int", words="毕业"),
    _f("lon", "经度 longitude lng lon", kind="number", words="经度"),
    _f("lat", "纬度 latitude lat", kind="number", words="纬度"),
)

VILLAGE_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号", words="序号"),
    _f("township", "乡镇 乡镇(街道) 所在乡镇", words=_TOWNSHIP_WORDS),
    _f("village", "村(社区) 村 村屯 村名 行政村 村委", words=_VILLAGE_WORDS),
    _f("lon", "经度 longitude lng lon", kind="number", words="经度"),
    _f("lat", "纬度 latitude lat", kind="number", words="纬度"),
)

FOLLOWUP_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号", words="序号"),
    _id_number("身份证号 身份证号码 公民身份号码"),
    _f("name", "姓名 学生姓名", personal=True, words="姓名"),
    _f("school", "就读学校 学校 学校名称", words=_SCHOOL_WORDS),
    _f(
        "visit_date",
        "劝返日期 走访日期 日期 劝返时间 家访日期 跟进日期",
        kind="date",
        words="劝返 走访 家访 跟进 入户 工作",
    ),
    _f("step", "劝返环节 环节 措施 督促环节 劝返步骤", words="环节 措施 步骤"),
    _f("method", "劝返方式 方式 工作方式", words="方式"),
    _f("person", "劝返人员 参与人员 责任人 走访人员", words="人员 责任人"),
    _f("result", "劝返结果 结果 效果 情况", words="结果 效果"),
    _f("deadline", "复学期限 限期复学日期 期限 限期", kind="date", words="期限 限期"),
)

REPORT_FIELDS: tuple[Field, ...] = (
    _f("report_date", "统计日期 报告日期 报送日期 统计节点", kind="date", words="统计 报送 报告"),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    "cases": CASE_FIELDS,
    "special_ed": SPECIAL_ED_FIELDS,
    "schools": SCHOOL_FIELDS,
    "villages": VILLAGE_FIELDS,
    "followups": FOLLOWUP_FIELDS,
    "reports": REPORT_FIELDS,
}


def table_fields(table: str) -> tuple[Field, ...]:
    """The declared fields of a ledger table, or of a list checked against the ledger (LIST_FIELDS)."""
    return FIELDS.get(table) or LIST_FIELDS[table]


def field_of(table: str, name: str) -> Field | None:
    """The declared field `name` of `table`, or None."""
    return next((f for f in table_fields(table) if f.name == name), None)


def fields_of_kind(table: str, *kinds: str) -> tuple[str, ...]:
    """The names of the fields of `table` whose kind is one of `kinds` (what ingest parses how)."""
    return tuple(f.name for f in table_fields(table) if f.kind in kinds)


# Fields a table must have to be recognised by its header alone, and to be usable at all.
REQUIRED: dict[str, tuple[str, ...]] = {
    "cases": ("registered",),
    "special_ed": ("placement",),
    "schools": ("school",),
    "villages": ("village", "lon", "lat"),
    "followups": ("visit_date",),
    "reports": ("report_date",),
}
SIGNATURE: dict[str, tuple[tuple[str, ...], ...]] = {
    # any one of these sets of fields identifies the table
    "special_ed": (("placement", "disability_type"),),
    "followups": (
        ("visit_date", "step"),
        ("visit_date", "method"),
        ("visit_date", "id_number"),  # a bare log: who and when, the step defaults to 学校劝返
        ("visit_date", "name"),
    ),
    "villages": (("village", "lon", "lat"),),
    "schools": (("school", "enrol_primary"), ("school", "enrol_junior"), ("school", "enrolment")),
    "cases": (
        ("registered", "name"),
        ("registered", "id_number"),
        ("registered", "school"),
        # a ledger whose registration-date column nobody could name: loaded so the column can be mapped
        # (with a field only a dropout ledger has, so a 学籍 list of names and schools is never one)
        ("name", "school", "reason"),
        ("name", "school", "outcome"),
        ("name", "school", "closed"),
    ),
    "reports": (("report_date",),),
}

# Derived columns the ingest adds to cases (and their labels, for tables and exports).
DERIVED_LABELS = {
    "case_id": "个案编号",
    "child_key": "儿童标识",
    "reason_category": "原因类别",
    "outcome_category": "销号类别",
    "registered_precision": "登记日期精度",
    "closed_precision": "返校日期精度",
    "age": "年龄",
    "source": "来源",
    "source_row": "原表行号",
    "open_days": "已辍学天数",
    "step": "所处环节",
    "last_visit": "最近跟进",
    "overdue_reason": "超期原因",
}

# Responsible persons (gov_owner, edu_owner, person) are officials acting in their role and are shown on
# purpose: accountability is the point of 双线责任制. child_key is derived from the ID number.
PERSONAL_FIELDS: frozenset[str] = frozenset(
    f.name for fields in FIELDS.values() for f in fields if f.personal
) | {"child_key"}


def field_label(name: str) -> str:
    """Chinese label of a canonical field name (any table), or the name itself when unknown."""
    for fields in FIELDS.values():
        for f in fields:
            if f.name == name:
                return f.label
    return DERIVED_LABELS.get(name, name)


# --- lists checked against the ledger (三比对) -------------------------------------------------------------------
# Kept apart from FIELDS/SIGNATURE on purpose: a ledger load never considers these kinds, so adding a list
# header spelling can never change how a ledger sheet is recognised. The header finder takes them by name.

LIST_KINDS = ("xueji", "poverty", "pushed", "huji", "special")
LIST_LABELS = {
    "xueji": "学籍名单",
    "poverty": "脱贫户/监测户名单",
    "pushed": "疑似辍学推送名单",
    "huji": "户籍名单（适龄人口）",
    "special": "特殊教育名单",
}
_ID_ALIASES = (
    "身份证号",
    "身份证号码",
    "公民身份号码",
    "身份证件号",
    "身份证件号码",
    "证件号码",
    "证件号",
    "身份证",
    "成员身份证号",
    "成员身份证号码",
    "学生身份证号",
    "学生身份证件号",
)
_LIST_ID = _f("id_number", *_ID_ALIASES, kind="id", personal=True)
LIST_FIELDS: dict[str, tuple[Field, ...]] = {
    "xueji": (
        _f("seq", "序号"),
        _f("township", "乡镇 乡镇(街道) 所在乡镇"),
        _f("school", "学校名称 就读学校 学校 所在学校"),
        _f("name", "姓名 学生姓名", personal=True),
        _f("sex", "性别"),
        _f("birth_date", "出生日期", personal=True),
        _LIST_ID,
        _f("student_no", "全国学籍号 学籍号 学籍号码 学籍主号", personal=True),
        _f("grade", "年级 所在年级 就读年级"),
        _f("class_name", "班级 所在班级 班级名称"),
        _f("enrol_status", "学生状态 学籍状态 在校状态 学生当前状态 状态 是否在读"),
    ),
    "poverty": (
        _f("seq", "序号"),
        _f("township", "乡镇 乡镇(街道) 所在乡镇 乡(镇) 镇(乡)"),
        _f("village", "村 村(社区) 行政村 村委会 所在村"),
        _f("household_no", "户编号 户码"),
        _f("head_name", "户主姓名 户主", personal=True),
        _f("name", "成员姓名 姓名 家庭成员姓名", personal=True),
        _f("relation", "与户主关系 与户主的关系"),
        _LIST_ID,
        _f("poverty_kind", "脱贫属性 贫困户属性 户类型 监测对象类别 户类别 人口类型"),
    ),
    "pushed": (
        _f("seq", "序号 编号"),
        _f("township", "乡镇 乡镇(街道) 户籍地乡镇 所在乡镇"),
        _f("school", "学校名称 原就读学校 就读学校 学校"),
        _f("name", "姓名 学生姓名", personal=True),
        _LIST_ID,
        _f("push_reason", "推送原因 疑似原因 比对原因 疑似辍学原因 问题类型"),
        _f("check_result", "核查结果 核查情况 核实情况 核查结论"),
    ),
    "huji": (
        _f("seq", "序号"),
        _f("name", "姓名", personal=True),
        _f("sex", "性别"),
        _LIST_ID,
        _f("birth_date", "出生日期", personal=True),
        _f("township", "户籍地乡镇 乡镇 乡镇(街道) 户籍所在乡镇 所在乡镇"),
        _f("village", "户籍地村 村 村(社区) 村(居)委会"),
    ),
    "special": SPECIAL_ED_FIELDS,
}
# a list is usable when its header names an ID column (a 学籍 export may carry only the 学籍号)
LIST_SIGNATURE: dict[str, tuple[tuple[str, ...], ...]] = {
    "xueji": (("id_number",), ("student_no",)),
    "poverty": (("id_number",),),
    "pushed": (("id_number",),),
    "huji": (("id_number",),),
    "special": (("id_number",),),
}
SIGNATURE.update(LIST_SIGNATURE)
# the same kind may not be shown twice with different labels: ledger labels win, list-only fields added
for _fields in LIST_FIELDS.values():
    for _field in _fields:
        if field_label(_field.name) == _field.name:
            DERIVED_LABELS[_field.name] = _field.label
DERIVED_LABELS.update(
    {
        "status": "比对结果",
        "detail": "说明",
        "list": "名单",
        "id_key": "身份证号（比对键）",
        "id_state": "身份证号情况",
        "finding": "比对发现",
        "position": "推送序号",
        "list_row": "名单行号",
        "push_reason": "推送原因",
        "pushed": "推送人数",
        "in_ledger": "已在台账",
        "enrolled": "核实在读",
        "special_placed": "残疾已安置",
        "visit": "需入户核查",
        "resolved_rate": "化解率（%）",
        "poverty_unflagged": "在脱贫户名单中未标注",
        "returned_not_enrolled": "销号返校但学籍不在读",
        "ledger_no_xueji": "台账个案无学籍",
        "school_age_no_xueji": "适龄无学籍（户籍）",
        "open_poor_corrected": "建档立卡在册（校正）",
        "run_id": "比对编号",
        "as_of": "核查日期",
        "run_at": "保存时间",
        "run_by": "核查人",
        "files": "名单文件",
        "status_then": "上次结果",
        "status_now": "本次结果",
        "resolved": "已化解",
        "child": "儿童（已脱敏）",
        "item": "比对项目",
    }
)
# every personal column of a list (the 户主's name too) and the integer key derived from the ID number
PERSONAL_FIELDS = PERSONAL_FIELDS | {f.name for fields in LIST_FIELDS.values() for f in fields if f.personal}
PERSONAL_FIELDS = PERSONAL_FIELDS | {"id_key"}

# columns of derived tables that list children by name, masked or not (the schools table's 未返校学生)
NAME_LIST_COLUMNS: frozenset[str] = frozenset({"names", "names_full"})
