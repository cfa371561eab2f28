"""特殊教育: how are the disabled children of school age placed, and who is still unplaced and why?"""

import streamlit as st

import ui
from kongchuo_metrics import labels, privacy, schema
from ui import results

view = ui.current_view()
st.title("特殊教育：残疾儿童少年安置")
ui.caption(view)
roster = results.roster(view)
if ui.empty(roster, "所选范围内没有残疾儿童少年花名册数据。"):
    st.stop()
s, chart = results.placements(view)  # s: published (the one small-count rule)

local = privacy.finer_than_county(view.ledger, view.selection)  # finer than the county: the small-count rule
cols = st.columns(6)
cols[0].metric("6-15周岁残疾儿童", s["total"])
for col, (key, label) in zip(cols[1:], schema.PLACEMENTS.items(), strict=True):
    col.metric(label, s[key])
lessons = f"，累计送教 {s['home_lessons']} 次" if s["home_lessons"] is not None else ""
st.info(f"送教上门 {s['home_teaching']} 人，其中建档立卡家庭 {s['home_teaching_poor']} 人{lessons}。")

ui.chart(chart, key="sped_chart")
by = ui.choice("分类", labels.SPECIAL_ED_SPLITS, "sped_by")
table, stack = results.placements_by(view, by)
ui.chart(stack, key="sped_stack")
ui.table(table)
ui.downloads(
    table, view, "残疾儿童安置情况", key="sped", xlsx_sum=privacy.summable(table, privacy.PLACEMENT_COUNTS)
)

st.subheader("未入学/未安置儿童及原因")
unplaced = roster[roster["placement_category"] == "unplaced"]
if not ui.empty(unplaced, "所选范围内没有未安置儿童。"):
    ui.case_list(
        unplaced,
        view,
        ["name", "sex", "township", "village", "disability_type", "unplaced_reason"],
        "未安置儿童名单",
        key="sped_unplaced",
    )
    ui.table(privacy.published_reasons(s, local))
