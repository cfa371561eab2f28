import streamlit as st

import ui
from kongchuo_metrics import figures, metrics, privacy

view = ui.current_view()
st.title("特殊教育：残疾儿童少年安置")
ui.caption(view)
roster = ui.shared(
    view, "sped_roster", lambda: metrics.select_special(view.ledger.special_ed, view.selection)
)
if ui.empty(roster, "所选范围内没有残疾儿童少年花名册数据。"):
    st.stop()

s = ui.shared(view, "sped_summary", lambda: metrics.special_ed_summary(roster))
cols = st.columns(6)
cols[0].metric("6-15周岁残疾儿童", s["total"])
for col, key in zip(
    cols[1:], ["mainstream", "special_school", "home_teaching", "exempt", "unplaced"], strict=True
):
    col.metric(
        {
            "mainstream": "随班就读",
            "special_school": "特殊教育学校",
            "home_teaching": "送教上门",
            "exempt": "办理免学",
            "unplaced": "未入学/未安置",
        }[key],
        s[key],
    )
lessons = f"，累计送教 {s['home_lessons']} 次" if s["home_lessons"] is not None else ""
st.info(f"送教上门 {s['home_teaching']} 人，其中建档立卡家庭 {s['home_teaching_poor']} 人{lessons}。")

big = view.mode == "briefing"
st.plotly_chart(ui.shared(view, "sped_chart", lambda: figures.placements_chart(s, big=big)), key="sped_chart")
by = st.segmented_control(
    "分类",
    ["township", "disability_type", "poor"],
    default="township",
    required=True,
    format_func={"township": "按乡镇", "disability_type": "按残疾类别", "poor": "按建档立卡"}.get,
    key="sped_by",
)
table = ui.shared(view, "sped_by", lambda: metrics.special_ed_by(roster, by), by)
stack = ui.shared(view, "sped_stack", lambda: figures.stacked_placements(table, by, big=big), by)
st.plotly_chart(stack, key="sped_stack")
ui.table(table)
# a place finer than the county crossed with disability: counts 1-4 are suppressed in the download
counts = ["mainstream", "special_school", "home_teaching", "exempt", "unplaced", "total"]
suppressed = ui.shared(view, "sped_suppressed", lambda: privacy.suppress_small(table, counts), by)
ui.downloads(suppressed, view, "残疾儿童安置情况", key="sped")

st.subheader("未入学/未安置儿童及原因")
unplaced = ui.shared(view, "sped_unplaced", lambda: roster[roster["placement_category"] == "unplaced"])
if not ui.empty(unplaced, "所选范围内没有未安置儿童。"):
    ui.case_list(
        unplaced,
        view,
        ["name", "sex", "township", "village", "disability_type", "unplaced_reason"],
        "未安置儿童名单",
        key="sped_unplaced",
        depends=(),
    )
    reasons = ui.shared(
        view,
        "sped_reasons",
        lambda: (
            unplaced["unplaced_reason"]
            .fillna("未填原因")
            .value_counts()
            .rename_axis("unplaced_reason")
            .reset_index()
        ),
    )
    ui.table(reasons)
