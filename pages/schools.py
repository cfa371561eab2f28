"""学校明细（表二）: which schools still have children out of school, how many, and who are they (masked)?"""

import streamlit as st

import ui
from kongchuo_metrics import metrics, privacy
from ui import results

view = ui.current_view()
st.title("学校明细（表二）")
ui.caption(view)
if ui.empty(view.cases):
    st.stop()

include_zero = st.toggle("列出所有学校（含已全部返校的学校）", key="schools_all", bind="query-params")
table, total, bars = results.table_two(view, include_zero)
if ui.empty(table, f"{metrics.cn_date(view.as_of)}，所选范围内没有未返校学生。"):
    st.stop()
st.metric("未返校学生合计", total)
ui.chart(bars, key="schools_bar")
ui.table(table)
ui.downloads(
    table,
    view,
    "未返校学生分校统计表",
    key="schools",
    xlsx_sum=privacy.summable(table, ["open", "open_poor"]),
)

st.subheader("查看一所学校的未返校学生")
school = st.selectbox(
    "学校",
    table["school"].tolist(),
    key="schools_pick",
    index=None,
    placeholder="选择学校",
    bind="query-params",
)
if school:
    open_cases = metrics.open_list(view.cases[view.cases["school"] == school], view.as_of)
    columns = [
        "case_id",
        "name",
        "sex",
        "grade",
        "village",
        "case_type",
        "registered",
        "open_days",
        "reason",
        "gov_owner",
        "edu_owner",
    ]
    ui.case_list(open_cases, view, columns, f"{school}未返校学生", key="schools_cases")
