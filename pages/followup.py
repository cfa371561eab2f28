import streamlit as st

import ui
from kongchuo_metrics import figures, metrics
from kongchuo_metrics.records import notices, workflows

view = ui.current_view()
st.title("个案跟踪（一人一案）")
ui.caption(view)
days = st.number_input(
    "超过多少天未跟进算超期",
    min_value=1,
    max_value=180,
    value=view.settings.overdue_days,
    key="fu_days",
    width=320,
)
status = ui.followup_status(view, int(days))
if ui.empty(status, f"{metrics.cn_date(view.as_of)}，所选范围内没有未返校个案。"):
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric("未返校个案", len(status))
c2.metric("超期个案", int(status["overdue"].sum()))
c3.metric(
    "已到限期复学通知书及以上环节", int(status["step"].isin(["notice", "administrative", "judicial"]).sum())
)
st.plotly_chart(
    figures.ladder_chart(metrics.ladder_counts(status), big=view.mode == "briefing"), key="fu_ladder"
)

only_overdue = st.toggle("只看超期个案", key="fu_overdue")
rows = status[status["overdue"]] if only_overdue else status
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
    gov = metrics.owners_table(status, "gov")
    ui.table(gov)
    ui.downloads(gov, view, "政府线责任人", key="fu_gov")
with right:
    st.subheader("教育线责任人")
    edu = metrics.owners_table(status, "edu")
    ui.table(edu)
    ui.downloads(edu, view, "教育线责任人", key="fu_edu")

st.subheader("个案时间线")
options = ui.public(rows.head(ui.SCREEN_ROWS), view).set_index("case_id")
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
    ui.check_history(view, pick)

st.subheader("通知书与送达回证")
engine = ui.records_engine()
paper = ui.paper_settings()
listing = workflows.notice_listing(engine, view.scope, view.ledger.cases, view.as_of)
counts = workflows.notice_counts(listing)
if not ui.empty(counts, "所选范围内尚未发出通知书。"):
    ui.table(counts)
may_act = view.scope.role in ("county_admin", "township")
if pick and may_act:
    kind = st.radio("为所选个案发出", list(notices.KINDS), key="fu_nt_kind", horizontal=True)
    if st.button("发出通知书", key="fu_nt_issue", icon=":material/mail:"):
        try:
            made = notices.issue(
                engine,
                view.scope,
                kind=kind,
                child=workflows.notice_child(status, view.ledger.cases, pick),
                as_of=view.as_of.date(),
                template=paper.notice_template,
                deadline_days=paper.notice_days[kind],
                audit=ui.audit_event,
            )
            st.success(f"已发出《{kind}》{made['number']}。送达后请在下方登记送达回证。")
            listing = workflows.notice_listing(engine, view.scope, view.ledger.cases, view.as_of)
        except notices.NoticeError as exc:
            st.error(str(exc))
elif may_act:
    st.caption("在上方“个案时间线”中选择个案后，可为其发出劝学通知书或限期复学通知书。")
if len(listing):
    ui.table(workflows.notice_table(listing))
    by_id = listing.set_index("id")
    chosen = st.selectbox(
        "选择通知书",
        by_id.index.tolist(),
        format_func=lambda i: f"{by_id.loc[i, 'number']}　{by_id.loc[i, 'kind']}　{by_id.loc[i, 'label']}",
        key="fu_nt_pick",
    )
    ui.document_download(
        "下载通知书及送达回证（Word）",
        lambda: workflows.notice_docx(engine, view.scope, chosen, view.ledger.cases, view.mode == "unmasked"),
        view,
        f"{by_id.loc[chosen, 'kind']}_{by_id.loc[chosen, 'number']}.docx",
        key="fu_nt_docx",
        mime=ui.DOCX,
    )
    if may_act and not isinstance(by_id.loc[chosen, "delivered_on"], str):
        with st.form("fu_nt_deliver", clear_on_submit=True):
            st.markdown(f"**登记送达回证：{by_id.loc[chosen, 'number']}**")
            day = st.date_input("送达日期", value=view.as_of.date(), key="fu_nt_date", format="YYYY-MM-DD")
            recipient = st.text_input("受送达人（监护人）", key="fu_nt_to")
            place = st.text_input("送达地点", key="fu_nt_place")
            if st.form_submit_button("登记送达"):
                try:
                    notices.deliver(
                        engine, view.scope, int(chosen), day, recipient, place, audit=ui.audit_event
                    )
                    st.rerun()
                except notices.NoticeError as exc:
                    st.error(str(exc))
