"""辍学趋势（表一）: how did open cases and returns move over the report dates, overall, per township or per stage?"""

import streamlit as st

import ui
from kongchuo_metrics import labels
from ui import results

view = ui.current_view()
st.title("辍学趋势（表一）")
ui.caption(view, rule=False)
if ui.empty(view.cases):
    st.stop()

c1, c2 = st.columns(2)
mode = ui.choice("统计节点", labels.DATE_MODES, "trend_dates", c1)
split = ui.choice("分组", labels.TREND_SPLITS, "trend_split", c2)
shown = results.table_one(view, mode, split)
ui.chart(shown.chart, key="trend_chart")
ui.counting_rule()
if shown.split is not None:
    ui.chart(shown.split, key="trend_split_chart")

st.subheader("表一　劝返进度")
ui.table(shown.table)
ui.downloads(shown.table, view, "控辍保学劝返进度表", key="trend", xlsx_sum=["returned"])
