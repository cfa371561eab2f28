"""数据比对（三比对）: which children do the 学籍, 脱贫户, pushed, 户籍 and special-education lists show that the ledger
misses or contradicts?"""

import streamlit as st

import ui
from kongchuo_metrics import reconcile, schema

view = ui.current_view()
st.title("数据比对（三比对）")
ui.caption(view)
st.caption(
    "按身份证号把台账与学籍、脱贫户/监测户名单、上级推送的疑似辍学名单、户籍适龄人口、特殊教育名单逐一比对"
    f"（全国学籍号 G+身份证号 视同身份证号；没有有效身份证号的行单列，不按姓名猜测）。核查日期：{view.as_of:%Y-%m-%d}。"
)

cols = st.columns(5)
lists = {}
for col, kind in zip(cols, schema.LIST_KINDS, strict=True):
    with col:
        listed = ui.list_upload(kind, key=f"rc_{kind}")
    if listed is not None:
        lists[kind] = listed
if not lists:
    st.info("请上传至少一份名单（.xlsx / .xls / .csv，支持 UTF-8 和 GBK 编码）。")
    st.stop()
for listed in lists.values():
    ui.list_report(listed)

full = reconcile.reconcile(view.ledger, lists, view.as_of)
for note in full.notes:
    st.warning(note)
places = ui.reconcile_places(view)
result = reconcile.restrict(full, *places)
if result.empty:
    st.info("所选范围（乡镇/学校）内没有比对结果。请调整左侧的乡镇或学校。")
    st.stop()

counts = result.pushed_counts()
if counts is not None:
    st.subheader("推送名单核查结果")
    for col, (label, n) in zip(
        st.columns(5), {"推送人数": len(result.pushed), **counts}.items(), strict=True
    ):
        col.metric(label, n)
findings = {k: result.count(k) for k in reconcile.FINDINGS}
if any(v is not None for v in findings.values()):
    st.subheader("比对发现")
    shown = {reconcile.FINDINGS[k]: v for k, v in findings.items() if v is not None}
    for col, (label, n) in zip(st.columns(len(shown)), shown.items(), strict=True):
        col.metric(label, n)
if result.open_poor_corrected is not None:
    c1, c2, _ = st.columns([1, 1, 2])
    c1.metric("建档立卡在册（台账）", result.open_poor_ledger)
    c2.metric(
        "建档立卡在册（按脱贫户名单校正）",
        result.open_poor_corrected,
        delta=result.open_poor_corrected - result.open_poor_ledger or None,
        delta_color="inverse",
    )

st.subheader("各乡镇比对情况")
by_township = reconcile.suppressed(reconcile.township_table(result))
ui.table(by_township)
ui.downloads(by_township, view, "数据比对分乡镇统计", key="rc_townships")

st.subheader("查看名单")
options = reconcile.status_options(result)
status = st.segmented_control(
    "比对结果", list(options), format_func=options.get, key="rc_status", selection_mode="single"
)
if status:
    rows = reconcile.status_rows(result, status)
    if not ui.empty(rows, "这一项没有儿童。"):
        ui.case_list(rows, view, reconcile.LIST_COLUMNS, options[status].split("（")[0], key="rc_list")

if "pushed" in lists:
    st.subheader("反馈表")
    st.caption("推送名单按原样（列、行顺序、标题行不变）返回，填写“核查结果”，增加“核查日期”“核查人”两列。")
    ui.feedback_download(view, lists["pushed"], full, key="rc_feedback")

ui.check_run_section(view, lists, full, places)
