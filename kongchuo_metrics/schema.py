"""The ledger schema, declared once: tables, canonical fields, Chinese header aliases, categories.

Everything that knows a Chinese header spelling or which field is personal lives here. Ingest, metrics,
privacy and the pages all refer to the canonical English field names defined below.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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


def _f(
    name: str,
    label: str,
    *aliases: str,
    kind: str = "text",
    personal: bool = False,
    words: tuple[str, ...] = (),
    counts: bool = False,
) -> Field:
    return Field(name, label, (label, *aliases), kind, personal, words, counts)


_TOWNSHIP_WORDS = ("乡镇", "乡(镇)", "街道", "镇", "乡")
_VILLAGE_WORDS = ("村", "社区", "屯", "居委")
_ID_WORDS = ("身份证", "身份号", "证件号")
_SCHOOL_WORDS = ("学校", "就读", "校名")
_POOR_WORDS = ("建档立卡", "脱贫", "贫困")

CASE_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号", "序", words=("序号",)),
    _f(
        "case_no",
        "台账编号",
        "个案编号",
        "编号",
        "案件编号",
        "辍学编号",
        "登记编号",
        words=("编号", "案号"),
    ),
    _f(
        "township",
        "乡镇",
        "乡镇(街道)",
        "乡镇街道",
        "乡(镇)",
        "乡镇名称",
        "所在乡镇",
        "乡镇/街道",
        "镇(乡)",
        "街道",
        words=_TOWNSHIP_WORDS,
        counts=True,
    ),
    _f(
        "village",
        "村(社区)",
        "村",
        "村屯",
        "村委",
        "村委会",
        "村(居)委会",
        "所在村",
        "村名",
        "村社区",
        "行政村",
        "村(屯)",
        "村/社区",
        words=_VILLAGE_WORDS,
    ),
    _f("name", "姓名", "学生姓名", "儿童姓名", "辍学学生姓名", "学生名字", personal=True, words=("姓名",)),
    _f("sex", "性别", words=("性别",)),
    _f("ethnicity", "民族", words=("民族",)),
    _f(
        "id_number",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "身份证",
        "证件号码",
        "身份证件号",
        "身份证件号码",
        kind="id",
        personal=True,
        words=_ID_WORDS,
    ),
    _f("birth_date", "出生日期", "出生年月", "出生年月日", kind="date", personal=True, words=("出生",)),
    _f(
        "student_no",
        "学籍号",
        "全国学籍号",
        "学籍号码",
        "学籍编号",
        personal=True,
        words=("学籍+号", "学籍"),
    ),
    _f(
        "school",
        "就读学校",
        "学校名称",
        "学校",
        "原就读学校",
        "所在学校",
        "应就读学校",
        "辍学学校",
        words=_SCHOOL_WORDS,
        counts=True,
    ),
    _f("grade", "年级", "就读年级", "辍学时年级", "原就读年级", "所在年级", words=("年级",)),
    _f("stage", "学段", "学段(小学/初中)", words=("学段",)),
    _f(
        "poor",
        "建档立卡",
        "是否建档立卡",
        "是否建档立卡户",
        "建档立卡户",
        "是否脱贫户",
        "脱贫户",
        "是否建档立卡贫困户",
        "建档立卡贫困户",
        kind="flag",
        words=_POOR_WORDS,
        counts=True,
    ),
    _f("disabled", "是否残疾", "残疾", kind="flag", words=("残疾",)),
    _f("disability_type", "残疾类别", "残疾类型", words=("残疾+类",)),
    _f("left_behind", "留守儿童", "是否留守儿童", kind="flag", words=("留守",)),
    _f("orphan", "孤儿", "是否孤儿", kind="flag", words=("孤儿",)),
    _f(
        "unsupported",
        "事实无人抚养",
        "是否事实无人抚养儿童",
        "事实无人抚养儿童",
        kind="flag",
        words=("无人抚养",),
    ),
    _f("case_type", "类型", "辍学类型", "台账类型", "类别", "学生类型", words=("类型", "类别"), counts=True),
    _f(
        "registered",
        "辍学时间",
        "辍学日期",
        "登记日期",
        "登记时间",
        "发现时间",
        "发现日期",
        "辍学时间(年月日)",
        kind="date",
        words=("辍学", "失学", "登记", "发现", "离校", "流失"),
        counts=True,
    ),
    _f("reason", "辍学原因", "原因", "辍学主要原因", words=("原因",)),
    _f(
        "returned",
        "是否返校",
        "是否劝返",
        "是否复学",
        "是否劝返成功",
        "是否已返校",
        kind="flag",
        words=("返校", "复学", "劝返", "回校"),
        counts=True,
    ),
    _f(
        "closed",
        "返校时间",
        "返校日期",
        "复学时间",
        "复学日期",
        "劝返时间",
        "销号时间",
        "销号日期",
        kind="date",
        words=("返校", "复学", "销号", "结案", "回校", "入学", "劝返", "办结", "销案"),
        counts=True,
    ),
    _f(
        "outcome",
        "处置情况",
        "去向",
        "处置情况/去向",
        "目前去向",
        "劝返情况",
        "处置结果",
        "现状",
        words=(
            "处置",
            "去向",
            "现状",
            "状态",
            "结果",
            "进展",
            "返校+情况",
            "劝返+情况",
            "复学+情况",
            "就学+情况",
            "销号+情况",
        ),
        counts=True,
    ),
    _f(
        "gov_owner",
        "劝返责任人(政府线)",
        "政府线责任人",
        "政府责任人",
        "乡镇责任人",
        "村级责任人",
        "劝返责任人政府线",
        "责任人(政府线)",
        words=("政府", "乡镇+责任", "镇+责任", "村+责任", "乡镇+包保", "村+包保", "干部"),
    ),
    _f(
        "edu_owner",
        "劝返责任人(教育线)",
        "教育线责任人",
        "学校责任人",
        "班主任",
        "劝返责任人教育线",
        "责任人(教育线)",
        words=("教育线", "教育+责任", "学校+责任", "校+责任", "教师+责任", "老师", "教师", "班主任"),
    ),
    _f(
        "guardian_name",
        "监护人姓名",
        "监护人",
        "家长姓名",
        "父母姓名",
        personal=True,
        words=("监护人+姓名", "家长+姓名", "父亲+姓名", "母亲+姓名", "监护人", "家长"),
    ),
    _f(
        "guardian_phone",
        "联系电话",
        "监护人电话",
        "监护人联系电话",
        "家长电话",
        "联系方式",
        personal=True,
        words=("电话", "手机", "联系方式"),
    ),
    _f("note", "备注", "情况说明", personal=True, words=("备注", "说明")),
)

SPECIAL_ED_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号", "编号", words=("序号",)),
    _f(
        "township",
        "乡镇",
        "乡镇(街道)",
        "乡镇街道",
        "所在乡镇",
        "乡镇名称",
        words=_TOWNSHIP_WORDS,
        counts=True,
    ),
    _f("village", "村(社区)", "村", "村屯", "所在村", "村委", words=_VILLAGE_WORDS),
    _f("name", "姓名", "学生姓名", "儿童姓名", "残疾儿童姓名", personal=True, words=("姓名",)),
    _f("sex", "性别", words=("性别",)),
    _f(
        "id_number",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "残疾证号",
        kind="id",
        personal=True,
        words=_ID_WORDS,
    ),
    _f("birth_date", "出生日期", "出生年月", kind="date", personal=True, words=("出生",)),
    _f("disability_type", "残疾类别", "残疾类型", words=("残疾+类", "残疾+种类")),
    _f("disability_grade", "残疾等级", "残疾级别", words=("等级", "级别")),
    _f(
        "poor",
        "建档立卡",
        "是否建档立卡",
        "是否建档立卡户",
        "建档立卡户",
        "是否脱贫户",
        kind="flag",
        words=_POOR_WORDS,
        counts=True,
    ),
    _f(
        "placement",
        "安置方式",
        "安置情况",
        "就学方式",
        "安置形式",
        "教育安置方式",
        words=("安置", "就读情况", "就读方式", "就学", "入学情况", "就读形式"),
        counts=True,
    ),
    _f("school", "就读学校", "学校", "安置学校", "送教学校", words=_SCHOOL_WORDS),
    _f(
        "unplaced_reason",
        "未安置原因",
        "未入学原因",
        "未安置/未入学原因",
        words=("原因",),
    ),
    _f(
        "home_lessons",
        "送教次数",
        "送教上门次数",
        "累计送教次数",
        kind="int",
        words=("送教+次",),
    ),
    _f("note", "备注", personal=True, words=("备注", "说明")),
)

_ENROL = ("在校生", "在籍", "学生数", "学生人数", "在校人数", "学生总数")
SCHOOL_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号", words=("序号",)),
    _f("school", "学校名称", "学校", "校名", words=("学校", "校名", "单位")),
    _f("township", "乡镇", "乡镇(街道)", "所在乡镇", words=_TOWNSHIP_WORDS),
    _f("school_stage", "学段", "办学类型", "学校类型", words=("学段", "办学类型", "学校类型", "类型")),
    _f(
        "enrol_primary",
        "小学在校生数",
        "小学在校生",
        "小学学生数",
        kind="int",
        words=tuple(f"小学+{w}" for w in (*_ENROL, "人数")),
        counts=True,
    ),
    _f(
        "enrol_junior",
        "初中在校生数",
        "初中在校生",
        "初中学生数",
        kind="int",
        words=tuple(f"初中+{w}" for w in (*_ENROL, "人数")),
        counts=True,
    ),
    # long format: one enrolment column, the stage in the 学段 column of the same row
    _f("enrolment", "在校生数", "在校学生数", "学生数", kind="int", words=_ENROL, counts=True),
    _f(
        "cohort_intake",
        "入学年级人数",
        "起始年级入学人数",
        "三年前入学人数",
        kind="int",
        words=("入学+人数", "起始年级", "入学+年级"),
    ),
    _f("transfers_in", "转入人数", "转入", kind="int", words=("转入",)),
    _f("transfers_out", "转出人数", "转出", kind="int", words=("转出",)),
    _f("graduates", "毕业生数", "毕业人数", "本年毕业生数", kind="int", words=("毕业",)),
    _f("lon", "经度", "longitude", "lng", "lon", kind="number", words=("经度",)),
    _f("lat", "纬度", "latitude", "lat", kind="number", words=("纬度",)),
)

VILLAGE_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号", words=("序号",)),
    _f("township", "乡镇", "乡镇(街道)", "所在乡镇", words=_TOWNSHIP_WORDS),
    _f("village", "村(社区)", "村", "村屯", "村名", "行政村", "村委", words=_VILLAGE_WORDS),
    _f("lon", "经度", "longitude", "lng", "lon", kind="number", words=("经度",)),
    _f("lat", "纬度", "latitude", "lat", kind="number", words=("纬度",)),
)

FOLLOWUP_FIELDS: tuple[Field, ...] = (
    _f("seq", "序号", words=("序号",)),
    _f(
        "id_number",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        kind="id",
        personal=True,
        words=_ID_WORDS,
    ),
    _f("name", "姓名", "学生姓名", personal=True, words=("姓名",)),
    _f("school", "就读学校", "学校", "学校名称", words=_SCHOOL_WORDS),
    _f(
        "visit_date",
        "劝返日期",
        "走访日期",
        "日期",
        "劝返时间",
        "家访日期",
        "跟进日期",
        kind="date",
        words=("劝返", "走访", "家访", "跟进", "入户", "工作"),
    ),
    _f("step", "劝返环节", "环节", "措施", "督促环节", "劝返步骤", words=("环节", "措施", "步骤")),
    _f("method", "劝返方式", "方式", "工作方式", words=("方式",)),
    _f("person", "劝返人员", "参与人员", "责任人", "走访人员", words=("人员", "责任人")),
    _f("result", "劝返结果", "结果", "效果", "情况", words=("结果", "效果")),
    _f("deadline", "复学期限", "限期复学日期", "期限", "限期", kind="date", words=("期限", "限期")),
)

REPORT_FIELDS: tuple[Field, ...] = (
    _f(
        "report_date",
        "统计日期",
        "报告日期",
        "报送日期",
        "统计节点",
        kind="date",
        words=("统计", "报送", "报告"),
    ),
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
    "cases": (("registered", "name"), ("registered", "id_number"), ("registered", "school")),
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


# --- categories -------------------------------------------------------------------------------------------

STAGES = {"primary": "小学", "junior": "初中"}
CASE_TYPES = {"dropout": "辍学", "suspected": "疑似辍学", "not_enrolled": "未入学"}

OUTCOMES = {
    "open": "未销号",
    "returned": "返校复学",
    "vocational": "进入职业学校",
    "special": "特殊教育安置",
    "verified": "核实在外就读",
    "other": "其他销号",
}
RETURN_OUTCOMES = ("returned", "vocational")  # counted as 劝返成功

# (category, pattern) checked in order on the outcome text; the negations come first because 未返校 contains 返校.
OUTCOME_PATTERNS: tuple[tuple[str, str], ...] = (
    ("open", r"未返校|未复学|未劝返|未入学|仍未|正在劝返|继续劝返|劝返中|在做工作|拒绝"),
    ("verified", r"核实.*就读|外地就读|异地就读|在外.*就读|外省就读|外县就读"),
    ("vocational", r"职业|中职|技工|职校|职教|技校"),
    ("special", r"送教|特殊教育|特教|特校|免学|缓学|休学"),
    ("returned", r"返校|复学|回校|入学|劝返成功|已返|在校就读|已就读"),
    ("other", r"超龄|迁出|转出|转学|死亡|去世|病故|户籍迁移"),
)

REASONS = {
    "learning": "学习困难/厌学",
    "work": "外出打工",
    "marriage": "早婚早育",
    "religion": "信教",
    "health": "身体原因/残疾/疾病",
    "poverty": "家庭经济困难",
    "migration": "随父母外出/去向不明",
    "parents": "家长不重视",
    "labour": "家庭缺乏劳动力",
    "distance": "附近没有学校",
    "other": "其他",
}
REASON_PATTERNS: tuple[tuple[str, str], ...] = (
    ("learning", r"学习困难|厌学|成绩|跟不上|不想读|不愿读|读书无兴趣"),
    ("marriage", r"早婚|早育|结婚|怀孕|生育|订婚"),
    ("religion", r"信教|宗教"),
    ("work", r"打工|务工|做工|挣钱|就业|做生意"),
    ("health", r"身体|残疾|疾病|生病|病|智力|自闭|视力|听力"),
    ("migration", r"随父母|随家长|外出|去向不明|下落不明|联系不上|失联"),
    ("parents", r"不重视|读书无用"),
    ("labour", r"劳动力|照顾|带弟|带妹|农活"),
    ("poverty", r"经济|贫困|家庭困难|交不起|没钱"),
    ("distance", r"没有学校|路远|距离|交通"),
)

PLACEMENTS = {
    "mainstream": "随班就读",
    "special_school": "特殊教育学校",
    "home_teaching": "送教上门",
    "exempt": "办理免学",
    "unplaced": "未入学/未安置",
}
PLACEMENT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("unplaced", r"未入学|未安置|未就学"),
    ("home_teaching", r"送教"),
    ("special_school", r"特殊教育学校|特教学校|特校|特殊学校|培智|聋哑学校|盲校|启智"),
    ("exempt", r"免学|缓学|休学"),
    ("mainstream", r"随班|普通学校|普校"),
)

# The escalation ladder, in order. Index = level.
STEPS = {
    "none": "未跟进",
    "school_visit": "学校劝返",
    "joint_visit": "联合家访",
    "notice": "限期复学通知书",
    "administrative": "行政督促",
    "judicial": "司法督促",
}
STEP_ORDER = tuple(STEPS)
STEP_PATTERNS: tuple[tuple[str, str], ...] = (
    ("judicial", r"司法|法院|检察|起诉|诉讼|法律文书"),
    ("administrative", r"行政|处罚|约谈|督办|罚款"),
    ("notice", r"通知书|限期"),
    ("joint_visit", r"联合|乡镇|村干|村委|驻村|联户"),
    ("school_visit", r"学校|教师|班主任|校长|电话|家访|劝返"),
)


# --- header normalisation -----------------------------------------------------------------------------------

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACE = re.compile(r"\s+")
# Hints people put in headers: （√）, (是/否), （填是或否）, (必填), （单位：人）
_HINT = re.compile(r"\((?:[√×✓✗/、是否有无或填写打必选]+|必填|选填|单位[:：]?[^)]*|年月日|yyyy[^)]*)\)")


def normalize_text(value: str) -> str:
    """NFKC, without zero-width characters, with inner white space collapsed to one space and trimmed."""
    text = unicodedata.normalize("NFKC", value)
    text = _ZERO_WIDTH.sub("", text)
    return _SPACE.sub(" ", text).strip()


def normalize_header(value: object) -> str:
    """A header cell reduced to the form aliases are stored in: NFKC, no spaces or hints, lower case."""
    if value is None:
        return ""
    text = normalize_text(str(value))
    for left, right in ("（）", "【】", "〔〕", "[]", "<>", "《》"):
        text = text.replace(left, "(").replace(right, ")")
    text = _SPACE.sub("", text)
    text = _HINT.sub("", text)
    return text.lower()


def _alias_index() -> dict[str, dict[str, str]]:
    index: dict[str, dict[str, str]] = {}
    for table, fields in FIELDS.items():
        idx: dict[str, str] = {}
        for f in fields:
            for alias in f.aliases:
                idx.setdefault(normalize_header(alias), f.name)
        index[table] = idx
    return index


ALIASES: dict[str, dict[str, str]] = _alias_index()

# Qualifiers that do not change what a header names: 现就读学校 is 就读学校, 户籍所在村 is 村, 学校名称 is 学校.
QUALIFIER_PREFIXES = ("户籍", "户口", "现", "原", "所在", "所属", "目前", "当前", "居住")
QUALIFIER_SUFFIXES = ("名称", "情况", "信息", "名单")
DATE_MARKERS = ("时间", "日期", "年月", "时点", "年份", "日子")
COUNT_MARKERS = ("数", "人", "次")

CERTAIN = 0.9  # a guess at or above this needs no confirmation


@dataclass(frozen=True)
class Guess:
    """What a header names: the field, how sure (1.0 listed, 0.9 listed after qualifiers, lower by meaning)."""

    field: str
    confidence: float
    how: str  # 标准表头/别名 | 去掉修饰词 | 按含义 | 设置


def _strip_brackets(key: str) -> str:
    return re.sub(r"\(.*?\)", "", key)


def _unqualified(key: str) -> list[str]:
    """`key` with leading and trailing qualifiers removed one at a time (each step kept)."""
    out, cur, changed = [], key, True
    while changed:
        changed = False
        for q in QUALIFIER_PREFIXES:
            if cur.startswith(q) and len(cur) > len(q):
                cur, changed = cur[len(q) :], True
                out.append(cur)
        for q in QUALIFIER_SUFFIXES:
            if cur.endswith(q) and len(cur) > len(q):
                cur, changed = cur[: -len(q)], True
                out.append(cur)
    return out


def _meaning_score(f: Field, text: str) -> tuple[int, int]:
    """(matched characters, position of the match's end) of the field's best identifying word in `text`."""
    best = (0, -1)
    for word in f.words:
        parts = word.split("+")
        if all(p in text for p in parts):
            best = max(best, (sum(len(p) for p in parts), max(text.rfind(p) + len(p) for p in parts)))
    return best


def guess_by_meaning(table: str, key: str) -> tuple[Guess | None, list[str]]:
    """The field a normalised header means by its words and value kind, and the tied candidates if unsure."""
    text = key.replace("(", "").replace(")", "")
    dated = any(m in text for m in DATE_MARKERS)
    counted = any(m in text for m in COUNT_MARKERS)
    question = text.startswith("是否")
    scored = []
    for f in table_fields(table):
        score = _meaning_score(f, text)
        if score[0] == 0:
            continue
        if f.kind == "date" and not (dated or f.name == "birth_date"):
            continue
        if f.kind != "date" and dated and f.name not in ("birth_date",):
            continue
        if f.kind == "int" and not counted:
            continue
        if question and f.kind != "flag":
            continue
        if f.kind == "flag" and not question and f.name in ("returned",):
            continue
        scored.append((score, f.name))
    if not scored:
        return None, []
    scored.sort(reverse=True)
    top = [name for score, name in scored if score == scored[0][0]]
    if len(top) > 1:
        return None, top
    runner_up = scored[1][0][0] if len(scored) > 1 else 0
    confidence = 0.8 if scored[0][0][0] >= 3 and runner_up < scored[0][0][0] else 0.6
    return Guess(top[0], confidence, "按含义"), []


def guess_field(table: str, header: object) -> Guess | None:
    """The canonical field a header cell names in `table`, with a confidence; None when nothing fits."""
    key = normalize_header(header)
    if not key:
        return None
    idx = ALIASES[table]
    if key in idx:
        return Guess(idx[key], 1.0, "标准表头/别名")
    bare = _strip_brackets(key)
    if bare and bare in idx and bare != key:
        # 乡镇（街道）名称 / 学生姓名（必填）: a bracket of hints around a listed header
        inner = key[len(bare) :] if key.startswith(bare) else ""
        guess = guess_by_meaning(table, inner.strip("()"))[0] if inner else None
        if guess is None or guess.field == idx[bare]:
            return Guess(idx[bare], 0.95, "标准表头/别名")
    for variant in (*_unqualified(key), *_unqualified(bare)):
        if variant in idx:
            return Guess(idx[variant], CERTAIN, "去掉修饰词")
    return guess_by_meaning(table, key)[0]


def match_header(table: str, header: object) -> str | None:
    """The canonical field a header cell names in `table`, or None."""
    guess = guess_field(table, header)
    return guess.field if guess else None


def label_to_field(table: str, label: str) -> str | None:
    """The field of `table` whose standard header (or alias, or English name) is `label`."""
    key = normalize_header(label)
    for f in FIELDS[table]:
        if normalize_header(f.label) == key or f.name == label:
            return f.name
    return ALIASES[table].get(key)


def table_from_name(name: str) -> str | None:
    """The table a sheet or file name points to, by the hints above, or None."""
    key = normalize_header(name)
    for table, hints in TABLE_NAME_HINTS:
        if any(h.lower() in key for h in hints):
            return table
    return None


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
        _f("township", "乡镇", "乡镇(街道)", "所在乡镇"),
        _f("school", "学校名称", "就读学校", "学校", "所在学校"),
        _f("name", "姓名", "学生姓名", personal=True),
        _f("sex", "性别"),
        _f("birth_date", "出生日期", personal=True),
        _LIST_ID,
        _f("student_no", "全国学籍号", "学籍号", "学籍号码", "学籍主号", personal=True),
        _f("grade", "年级", "所在年级", "就读年级"),
        _f("class_name", "班级", "所在班级", "班级名称"),
        _f("enrol_status", "学生状态", "学籍状态", "在校状态", "学生当前状态", "状态", "是否在读"),
    ),
    "poverty": (
        _f("seq", "序号"),
        _f("township", "乡镇", "乡镇(街道)", "所在乡镇", "乡(镇)", "镇(乡)"),
        _f("village", "村", "村(社区)", "行政村", "村委会", "所在村"),
        _f("household_no", "户编号", "户码"),
        _f("head_name", "户主姓名", "户主", personal=True),
        _f("name", "成员姓名", "姓名", "家庭成员姓名", personal=True),
        _f("relation", "与户主关系", "与户主的关系"),
        _LIST_ID,
        _f("poverty_kind", "脱贫属性", "贫困户属性", "户类型", "监测对象类别", "户类别", "人口类型"),
    ),
    "pushed": (
        _f("seq", "序号", "编号"),
        _f("township", "乡镇", "乡镇(街道)", "户籍地乡镇", "所在乡镇"),
        _f("school", "学校名称", "原就读学校", "就读学校", "学校"),
        _f("name", "姓名", "学生姓名", personal=True),
        _LIST_ID,
        _f("push_reason", "推送原因", "疑似原因", "比对原因", "疑似辍学原因", "问题类型"),
        _f("check_result", "核查结果", "核查情况", "核实情况", "核查结论"),
    ),
    "huji": (
        _f("seq", "序号"),
        _f("name", "姓名", personal=True),
        _f("sex", "性别"),
        _LIST_ID,
        _f("birth_date", "出生日期", personal=True),
        _f("township", "户籍地乡镇", "乡镇", "乡镇(街道)", "户籍所在乡镇", "所在乡镇"),
        _f("village", "户籍地村", "村", "村(社区)", "村(居)委会"),
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
ALIASES.update(
    {
        kind: {normalize_header(a): f.name for f in reversed(fields) for a in reversed(f.aliases)}
        for kind, fields in LIST_FIELDS.items()
    }
)
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
