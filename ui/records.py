"""Records-database glue: 督办单 forms and actions, notices and their delivery, the ranking and 督办 briefs."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from kongchuo_metrics.labels import cn_date

from .data import _ledger_key, _options, notice_listing, notices, paper_settings, records_engine, workflows
from .downloads import DOCX, document_download
from .session import audit_event
from .widgets import empty, table

if TYPE_CHECKING:
    from .view import View


def notices_panel(view: View, status: pd.DataFrame, pick: str | None) -> None:
    """通知书与送达回证 on the case-tracking page: counts per township, then the notice controls."""
    st.subheader("通知书与送达回证")
    listing = notice_listing(view)
    counts = workflows.notice_counts(listing)
    if not empty(counts, "所选范围内尚未发出通知书。"):
        table(counts)
    notice_controls(view, status, pick, listing)


def duban_form(view: View, engine, paper) -> None:
    """手工新建督办单 (a meeting decision): the county admin's form; the new item is numbered and audited."""
    from kongchuo_metrics.records import duban

    with st.expander("手工新建督办单（联席会议决定事项）"):
        towns = _options(*_ledger_key(), None)
        as_of = view.as_of.date()
        with st.form("db_new", clear_on_submit=True):
            township = st.selectbox("承办乡镇", towns, key="db_new_town")
            item = st.text_input("督办事项", key="db_new_item")
            content = st.text_area("督办内容", key="db_new_content")
            c1, c2 = st.columns(2)
            lead_unit = c1.text_input("牵头单位", key="db_new_lead")
            lead_person = c2.text_input("牵头领导/责任人", key="db_new_person")
            partners = c1.text_input("配合单位", key="db_new_partners")
            contact = c2.text_input("督办联系人", key="db_new_contact")
            due = c1.date_input("交办时限", value=as_of + dt.timedelta(days=10), key="db_new_due")
            cycle = c2.number_input("反馈周期（每 N 天，0 为办结后一次性反馈）", 0, 90, 0, key="db_new_cycle")
            if st.form_submit_button("交办"):
                try:
                    made = duban.add(
                        engine,
                        view.scope,
                        township=township or "",
                        item=item,
                        due=due,
                        lead_unit=lead_unit,
                        lead_person=lead_person,
                        partners=partners,
                        contact=contact,
                        content=content,
                        cycle_days=int(cycle) or None,
                        as_of=as_of,
                        template=paper.duban_template,
                        audit=audit_event,
                    )
                    st.success(f"已交办 {made['number']}")
                except duban.DubanError as exc:
                    st.error(str(exc))


def duban_actions(view: View, engine, item: dict) -> None:
    """The feedback form (the item's township user, or the county admin recording paper feedback) and 办结
    (county admin, once answered); both audited, then the page is drawn again."""
    from kongchuo_metrics.records import duban

    scope = view.scope
    may_answer = item["status_key"] != "closed" and (
        scope.role == "county_admin" or (scope.role == "township" and item["township"] in scope.townships)
    )
    if may_answer:
        with st.form("db_fb", clear_on_submit=True):
            body = st.text_area(
                "反馈内容", key="db_fb_text", placeholder="写明已开展的工作、劝返进展和下一步安排"
            )
            if st.form_submit_button("提交反馈"):
                try:
                    duban.feedback(engine, scope, item["id"], body, audit=audit_event)
                    st.rerun()
                except duban.DubanError as exc:
                    st.error(str(exc))
    if scope.role == "county_admin" and item["status_key"] == "answered":
        if st.button("办结", key="db_close", icon=":material/task_alt:"):
            duban.close(engine, scope, item["id"], audit=audit_event)
            st.rerun()


def notice_controls(view: View, status: pd.DataFrame, pick: str | None, listing: pd.DataFrame) -> None:
    """Issue a notice for the picked case, list the notices, download one as Word, record its 送达回证."""
    engine, paper, scope = records_engine(), paper_settings(), view.scope
    may_act = scope.role in ("county_admin", "township", "school")
    kinds = (
        list(notices.KINDS) if scope.role != "school" else ["劝学通知书"]
    )  # a school issues only its own step
    if pick and may_act:
        kind = st.radio("为所选个案发出", kinds, key="fu_nt_kind", horizontal=True)
        if st.button("发出通知书", key="fu_nt_issue", icon=":material/mail:"):
            try:
                made = notices.issue(
                    engine,
                    scope,
                    kind=kind,
                    child=workflows.notice_child(status, view.ledger.cases, pick),
                    as_of=view.as_of.date(),
                    template=paper.notice_template,
                    deadline_days=paper.notice_days[kind],
                    audit=audit_event,
                )
                st.success(f"已发出《{kind}》{made['number']}。送达后请在下方登记送达回证。")
                listing = notice_listing(view)
            except notices.NoticeError as exc:
                st.error(str(exc))
    elif may_act:
        st.caption("在上方“个案时间线”中选择个案后，可为其发出劝学通知书或限期复学通知书。")
    done = st.session_state.pop("_fu_nt_delivered", None)
    if done:  # the run after 登记送达 says what was recorded (the form itself is gone once delivered)
        st.success(done)
    if listing.empty:
        return
    table(workflows.notice_table(listing, view.mode))
    by_id = listing.set_index("id")
    chosen = st.selectbox(
        "选择通知书",
        by_id.index.tolist(),
        format_func=lambda i: f"{by_id.loc[i, 'number']}　{by_id.loc[i, 'kind']}",
        key="fu_nt_pick",
    )
    document_download(
        "下载通知书及送达回证（Word）",
        lambda: workflows.notice_docx(engine, scope, chosen, view.ledger.cases, view.mode == "unmasked"),
        view,
        f"{by_id.loc[chosen, 'kind']}_{by_id.loc[chosen, 'number']}.docx",
        key="fu_nt_docx",
        mime=DOCX,
    )
    if may_act and by_id.loc[chosen, "kind"] in kinds and pd.isna(by_id.loc[chosen, "delivered_on"]):
        with st.form("fu_nt_deliver", clear_on_submit=True):
            st.markdown(f"**登记送达回证：{by_id.loc[chosen, 'number']}**")
            day = st.date_input("送达日期", value=view.as_of.date(), key="fu_nt_date", format="YYYY-MM-DD")
            recipient = st.text_input("受送达人（监护人）", key="fu_nt_to")
            place = st.text_input("送达地点", key="fu_nt_place")
            if st.form_submit_button("登记送达"):
                try:
                    got = notices.deliver(
                        engine, scope, int(chosen), day, recipient, place, audit=audit_event
                    )
                    st.session_state["_fu_nt_delivered"] = (
                        f"已登记送达：{got['number']}，送达日期{cn_date(dt.date.fromisoformat(got['delivered_on']))}，"
                        f"复学限期至{cn_date(dt.date.fromisoformat(got['deadline']))}。"
                    )
                    st.rerun()
                except notices.NoticeError as exc:
                    st.error(str(exc))
