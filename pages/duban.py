"""督办: which 督办单 are open, overdue or answered, and which townships need one for their overdue cases?"""

import streamlit as st

import ui
from kongchuo_metrics.records import duban, workflows

view = ui.current_view()
st.title("督办")
ui.caption(view)
engine = ui.records_engine()
paper = ui.paper_settings()
scope = view.scope
as_of = view.as_of.date()

if scope.role == "county_admin":
    st.subheader("从超期名单生成督办单")
    status = ui.followup_status(view)
    towns = workflows.overdue_by_township(status)
    ui.empty(towns, f"{ui.literal(view.named.describe())}：没有超期个案，无需督办。")
    for row in towns.itertuples(index=False):
        line = st.container(horizontal=True, vertical_alignment="center")  # the button as wide as its text
        line.markdown(f"**{row.township}**　超期 {row.overdue} 人（未返校 {row.open} 人）", width="content")
        if line.button("生成督办单", key=f"db_make_{row.township}", icon=":material/assignment_add:"):
            try:
                made = workflows.duban_from_overdue(
                    engine, scope, status, view.ledger.cases, row.township, as_of, paper, ui.audit_event
                )
                st.success(ui.literal(f"已生成 {made['number']}（{row.township}，{row.overdue} 人）"))
            except duban.DubanError as exc:
                st.error(str(exc))

    ui.duban_form(view, engine, paper)

st.subheader("督办单")
items = duban.items(engine, scope)
listed = workflows.duban_table(items)
if ui.empty(listed, "当前没有您可以查看的督办单。"):
    st.stop()
st.caption("超时按今天计算：过了交办时限仍未办结，或超过反馈周期没有反馈。")
ui.table(listed)

by_id = {i["id"]: i for i in items}
pick = st.selectbox(
    "查看督办单",
    list(by_id),
    format_func=lambda i: f"{by_id[i]['number']}　{by_id[i]['township']}　{by_id[i]['status']}",
    key="db_pick",
)
item = by_id[pick]
st.markdown(f"#### {ui.literal(item['number'])}　{ui.literal(item['item'])}")
c1, c2, c3, c4 = st.columns(4)
c1.metric("状态", item["status"])
c2.metric("交办时限", item["due"])
c3.metric("超时", "是" if item["overdue"] else "否", help=item["overdue_reason"] or None)
c4.metric("反馈次数", len(item["feedback"]))
if item["content"]:
    st.write(item["content"])
st.caption(
    f"牵头单位：{item['lead_unit'] or '—'}　配合单位：{item['partners'] or '—'}　督办联系人：{item['contact'] or '—'}　"
    f"反馈周期：{'每' + str(item['cycle_days']) + '天' if item['cycle_days'] else '一次性'}"
)
kids = workflows.duban_children(engine, scope, pick, view.ledger.cases, view.as_of, view.mode)
if len(kids):
    st.markdown("**涉及儿童（已脱敏；当前状态按所选统计日期的台账）**")
    ui.table(workflows.duban_children_table(kids))
st.markdown("**反馈情况**")
if item["feedback"]:
    ui.table(workflows.feedback_table(item["feedback"]))
else:
    st.caption("尚未反馈。")

ui.duban_actions(view, engine, item)

district = view.ledger.meta.get("district") or view.settings.district or ""
ui.document_download(
    "打印督办单（Word）",
    lambda: workflows.duban_docx(engine, scope, pick, view.ledger.cases, view.as_of, district, paper.issuer),
    view,
    f"督办单_{item['number']}.docx",
    key="db_docx",
    mime=ui.DOCX,
)
