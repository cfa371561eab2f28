"""村级地图: in which villages are the open cases, and which of them are urgent (建档立卡, overdue)?"""

import streamlit as st

import ui
from kongchuo_metrics import figures, metrics
from ui import results

view = ui.current_view()
st.title("村级地图：未返校学生分布")
ui.caption(view)
stamp = ui.followup_stamp(view)
status = ui.followup_status(view, stamp=stamp)
if ui.empty(status, f"{metrics.cn_date(view.as_of)}，所选范围内没有未返校学生。"):
    st.stop()


villages, missing, deck = results.village_map(view, status, stamp)
st.metric(
    "未返校学生", len(status), help="与其他页面同一筛选条件下的在册人数一致，含缺少坐标、未画在图上的个案"
)
legend = "　".join(
    f"<span style='color:rgb({c[0]},{c[1]},{c[2]})'>●</span> {label}" for _, label, c in figures.MAP_LEGEND
)
st.markdown(f"图例：{legend}　（圆点越大，未返校人数越多；只显示到村，不显示住址）", unsafe_allow_html=True)
event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key="map_deck", height=560)

if len(missing):
    st.warning(
        f"{len(missing)} 个个案缺少坐标，未画在地图上（所在村：{ui.literal('、'.join(sorted(set(missing['village']))))}）。"
    )
    ui.case_list(
        missing,
        view,
        ["case_id", "name", "township", "village", "school", "open_days"],
        "缺少坐标的个案",
        key="map_missing",
    )

picked = (event.selection.objects.get("villages") or []) if event and event.selection else []
if picked:
    v = picked[0]
    st.subheader(f"{ui.literal(v['village'])}（{ui.literal(v['township'])}）的未返校学生")
    cases = status[(status["township"] == v["township"]) & (status["village"] == v["village"])]
    shown = ui.public(cases, view)
    ui.table(
        shown[["case_id", "name", "school", "open_days", "step", "overdue_reason", "gov_owner", "edu_owner"]]
    )
else:
    st.caption("点击地图上的村，可在下方查看该村未返校学生（已脱敏）。")
columns = ["township", "village", "open", "open_poor", "overdue", "oldest_days", "state"]
ui.table(villages, columns)
ui.downloads(villages[columns], view, "各村未返校人数", key="map")
