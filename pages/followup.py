"""个案跟踪: which open cases are overdue at which step of the ladder, who is responsible, and what happened to
one child?"""

import streamlit as st

import ui
from kongchuo_metrics import metrics
from ui import results

view = ui.current_view()
st.title("个案跟踪（一人一案）")
ui.caption(view)
days = st.number_input(
    "超过多少天未跟进算超期",
    min_value=1,
    max_value=180,
    value=view.settings.overdue_days,
    key="fu_days",
    bind="query-params",
    width=320,
)
stamp = ui.followup_stamp(view, int(days))
status = ui.followup_status(view, stamp=stamp)
if ui.empty(status, f"{metrics.cn_date(view.as_of)}，所选范围内没有未返校个案。"):
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric("未返校个案", len(status))
c2.metric("超期个案", int(status["overdue"].sum()))
c3.metric("已到限期复学通知书及以上环节", metrics.at_notice_or_beyond(status))
shown = results.followup(view, status, stamp)  # the ladder chart and the owners tables
ui.chart(shown.ladder, key="fu_ladder")

only_overdue = st.toggle("只看超期个案", key="fu_overdue")
rows = results.listed(status, only_overdue)
columns = [
    "case_id",
    "name",
    "township",
    "village",
    "school",
    "open_days",
    "last_visit",
    "days_since",
    "step",
    "deadline",
    "overdue_reason",
    "gov_owner",
    "edu_owner",
]
ui.case_list(rows, view, columns, "未返校个案跟踪表", key="fu_list")

left, right = st.columns(2)
with left:
    st.subheader("政府线责任人")
    ui.table(shown.gov)
    ui.downloads(shown.gov, view, "政府线责任人", key="fu_gov")
with right:
    st.subheader("教育线责任人")
    ui.table(shown.edu)
    ui.downloads(shown.edu, view, "教育线责任人", key="fu_edu")

st.subheader("个案时间线")
options = results.case_choices(view, status, stamp, only_overdue)  # masked, as shared as the list above
pick = st.selectbox(
    "选择个案",
    options.index.tolist(),
    index=None,
    placeholder="选择个案编号",
    key="fu_case",
    format_func=lambda cid: f"{cid}　{options.loc[cid, 'name']}　{options.loc[cid, 'school']}",
)
if pick:
    ui.table(metrics.timeline(pick, view.cases, ui.followups_with_notices(view)))
    ui.case_file_button(view, pick)
    ui.check_history(view, pick)

ui.notices_panel(view, status, pick)
