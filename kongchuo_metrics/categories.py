"""Coded categories of the ledger: stages, case types, outcomes, reasons, placements and ladder steps, with their
Chinese words and the patterns that classify free text into them (re-exported by `schema`)."""

from __future__ import annotations

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
