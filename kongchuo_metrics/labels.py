"""English keys -> Chinese labels, number formats and colours, defined once for pages, exports and the pack."""

from __future__ import annotations

import pandas as pd

from . import schema

COLUMN_LABELS = {
    "date": "统计日期",
    "open": "在册辍学人数",
    "open_poor": "其中建档立卡",
    "returned": "本期劝返人数",
    "returned_total": "累计劝返人数",
    "change_prev": "较上期",
    "change_last_year": "较上年同期",
    "open_last_year": "上年同期在册",
    "school": "学校",
    "township": "乡镇",
    "village": "村（社区）",
    "names": "未返校学生（已脱敏）",
    "names_full": "未返校学生（完整姓名）",
    "oldest_days": "最久未返校天数",
    "latest_entry": "最近填报日期",
    "open_dropout": "其中辍学类",
    "enrolment": "在校生数",
    "dropout_rate": "辍学率（%）",
    "red_line": "建档立卡红线",
    "stage": "学段",
    "case_type": "类型",
    "reason_category": "原因类别",
    "registered": "辍学（登记）日期",
    "closed": "返校（销号）日期",
    "open_days": "已辍学天数",
    "days_since": "距上次跟进天数",
    "last_visit": "最近跟进日期",
    "visits": "跟进次数",
    "step": "所处环节",
    "deadline": "复学期限",
    "overdue": "超期",
    "overdue_reason": "超期原因",
    "gov_owner": "责任人（政府线）",
    "edu_owner": "责任人（教育线）",
    "owner": "责任人",
    "label": "环节",
    "case_id": "个案编号",
    "name": "姓名",
    "sex": "性别",
    "age": "年龄",
    "grade": "年级",
    "reason": "辍学原因",
    "outcome": "处置情况",
    "outcome_category": "销号类别",
    "guardian_name": "监护人",
    "guardian_phone": "联系电话",
    "id_number": "身份证号",
    "poor": "建档立卡",
    "disability_type": "残疾类别",
    "placement": "安置方式",
    "placement_category": "安置类别",
    "unplaced_reason": "未安置原因",
    "home_lessons": "送教次数",
    "mainstream": "随班就读",
    "special_school": "特殊教育学校",
    "home_teaching": "送教上门",
    "exempt": "办理免学",
    "unplaced": "未入学/未安置",
    "total": "合计",
    "event": "事项",
    "detail": "详情",
    "lon": "经度",
    "lat": "纬度",
    "state": "状态",
    "registered_n": "登记人数",
    "count": "人数",
    "table": "表",
    "sheet": "工作表",
    "row": "行号",
    "column": "列",
    "value": "原值",
    "problem": "问题",
    "severity": "级别",
}
# the import preview and version diff (merge.py) and the reporting calendar (reporting.py)
FIGURE_LABELS = {
    "cases": "个案",
    "open": "在册",
    "returned": "累计劝返",
    "open_poor": "建档立卡在册",
    "special_ed": "残疾儿童",
    "schools": "学校",
}
COLUMN_LABELS.update(
    {
        f"{k}_{w}": f"{v}（{wl}）"
        for k, v in FIGURE_LABELS.items()
        for w, wl in (("now", "现在"), ("after", "导入后"))
    }
)
COLUMN_LABELS.update(
    {
        "action": "导入后",
        "change": "变化",
        "school_before": "原学校",
        "last_submission": "最近报送（填报时间）",
        "rhythm": "报送要求",
        "report_deadline": "本期截止日",
        "version": "版本",
        "created": "时间",
        "user": "操作人",
        "scope": "范围",
        "files": "文件",
        "cases": "个案数",
        "special_ed": "残疾儿童数",
        "schools": "学校数",
        "audit": "审计记录",
        "current": "当前使用",
    }
)

# The dashboard's pages in menu order: (script, Chinese title, url path, icon, in the briefing slides).
# ui.pages() turns them into st.Page objects; the import page is no slide.
PAGES = [
    ("pages/overview.py", "总览", "overview", ":material/dashboard:", True),
    ("pages/trend.py", "辍学趋势", "trend", ":material/trending_down:", True),
    ("pages/schools.py", "学校明细", "schools", ":material/school:", True),
    ("pages/village_map.py", "村级地图", "village_map", ":material/map:", True),
    ("pages/special_ed.py", "特殊教育", "special_ed", ":material/accessible:", True),
    ("pages/followup.py", "个案跟踪", "followup", ":material/assignment_ind:", True),
    ("pages/reconcile.py", "数据比对", "reconcile", ":material/compare_arrows:", False),
    ("pages/duban.py", "督办", "duban", ":material/assignment_late:", False),
    ("pages/ranking.py", "考核排名", "ranking", ":material/leaderboard:", False),
    ("pages/upload.py", "数据导入", "upload", ":material/upload_file:", False),
]

# one colour per concept, everywhere (charts, map, pack)
COLORS = {
    "open": "#d9480f",  # open cases: orange-red
    "returned": "#2b8a3e",  # returns: green
    "poor": "#c2255c",  # 建档立卡: crimson
    "target": "#495057",  # target lines: dark grey, dashed
    "overdue": "#f59f00",  # overdue: amber
    "neutral": "#1c7ed6",
}
PLACEMENT_COLORS = {
    "mainstream": "#1c7ed6",
    "special_school": "#7048e8",
    "home_teaching": "#2b8a3e",
    "exempt": "#868e96",
    "unplaced": "#d9480f",
}

VALUE_LABELS = {
    "stage": schema.STAGES,
    "case_type": schema.CASE_TYPES,
    "reason_category": schema.REASONS,
    "outcome_category": schema.OUTCOMES,
    "step": schema.STEPS,
    "placement_category": schema.PLACEMENTS,
    "state": {"poor": "有建档立卡个案", "overdue": "有超期未跟进个案", "open": "有未返校个案"},
}
# what happened to a case between two ledger versions (merge.diff)
CHANGE_LABELS = {
    "appeared": "新增",
    "removed": "移出台账",
    "closed": "销号",
    "reopened": "重新在册",
    "moved": "转学",
}
VALUE_LABELS["change"] = CHANGE_LABELS


# the children of a 督办单 on the 督办 page ("label" there is the child's masked name, not a ladder step)
DUBAN_CHILD_LABELS = {
    "label": "学生",
    "school": "学校",
    "step": "所处环节",
    "days_since": "未跟进天数",
    "now": "当前状态",
}

# the sheets of the blank ledger template (short names a clerk recognises; a loader finds each by its name)
TEMPLATE_SHEETS = {
    "cases": "台账",
    "special_ed": "残疾儿童",
    "schools": "学校",
    "villages": "村屯",
    "followups": "劝返记录",
    "reports": "统计节点",
}

# the map's village states, in order of urgency (metrics.village_table)
VILLAGE_STATES = {"poor": "有建档立卡个案", "overdue": "有超期未跟进个案", "open": "有未返校个案"}
# the reporting calendar (reporting.py)
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
REPORT_STATES = {
    "on_time": "按时报送",
    "late": "迟报",
    "missing": "未报（已过截止日）",
    "due": "待报",
    "due_missed": "待报（上期未报）",
}
# the township ranking's components (ranking.py)
RANKING_COMPONENTS = {
    "base": "基础分",
    "dropout": "辍学率扣分",
    "returns": "劝返率加分",
    "overdue": "超期个案扣分",
    "reports": "督办反馈扣分",
}
# the Word documents (documents/report.py)
REPORT_KINDS = {"通报": "情况通报", "总结": "工作总结", "简报": "简报"}

# page-level choices (segmented controls): code -> the Chinese words on the control and in the URL
DATE_MODES = {"ledger": "台账报送日期", "weekly": "每周", "monthly": "每月"}
TREND_SPLITS = {"none": "不分组", "township": "按乡镇", "stage": "按学段"}
SPECIAL_ED_SPLITS = {"township": "按乡镇", "disability_type": "按残疾类别", "poor": "按建档立卡"}


def label(column: str) -> str:
    """The Chinese header of an output column."""
    return COLUMN_LABELS.get(column) or schema.field_label(column)


def cn_date(d) -> str:
    """2019年6月25日."""
    return f"{d.year}年{d.month}月{d.day}日"


def cn_number(n: int | float | None, digits: int = 0) -> str:
    """Chinese-style number: thousands separators, '—' for missing."""
    if n is None or (isinstance(n, float) and pd.isna(n)):
        return "—"
    return f"{n:,.{digits}f}"


def cn_month(d) -> str:
    """2019年3月."""
    return f"{d.year}年{d.month}月"


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """A table with coded values turned into Chinese words, booleans into 是/否, dates into YYYY-MM-DD and
    Chinese column headers. Values are not otherwise changed."""
    out = frame.copy()
    for col in out.columns:
        if col in VALUE_LABELS:
            out[col] = out[col].map(lambda v, m=VALUE_LABELS[col]: m.get(v, v) if isinstance(v, str) else v)
        dtype = out[col].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(dtype) or str(dtype) == "boolean":
            out[col] = out[col].map({True: "是", False: "否"})
    return out.rename(columns={c: label(c) for c in out.columns})


def for_screen(frame: pd.DataFrame) -> pd.DataFrame:
    """`for_display`, with every text column's missing values as blank text (never None, NaN or "empty") and
    mixed number/text columns (a suppressed count) as text, so the browser table shows what a print shows."""
    out = for_display(frame)
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    return out
