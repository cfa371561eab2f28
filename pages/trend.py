"""辍学趋势（表一）: how did open cases and returns move over the report dates, overall, per township or per stage?"""

import streamlit as st

import ui
from kongchuo_metrics import compare, figures, labels, metrics

view = ui.current_view()
st.title("辍学趋势（表一）")
ui.caption(view, rule=False)
if ui.empty(view.cases):
    st.stop()

c1, c2 = st.columns(2)
mode = ui.choice("统计节点", labels.DATE_MODES, "trend_dates", c1)
split = ui.choice("分组", labels.TREND_SPLITS, "trend_split", c2)
big = view.mode == "briefing"


def table_one():
    """表一 at the chosen dates, a year earlier beside it, and its chart."""
    dates = metrics.report_dates(view.ledger.cases, view.ledger.report_dates, mode, end=view.as_of.date())
    trend = metrics.trend(view.cases, dates)
    last_year = compare.last_year_line(view.cases, dates, compare.history_start(view.ledger.cases))
    ceiling = metrics.target_ceiling(view.ledger.schools, view.settings.targets, view.selection)
    chart = figures.trend_chart(
        trend, target=ceiling, target_label="辍学率目标对应人数上限", big=big, last_year=last_year
    )
    return dates, trend.merge(last_year, on="date", how="left"), chart


dates, trend, chart = ui.shared(view, "trend", table_one, mode)
ui.chart(chart, key="trend_chart")
ui.counting_rule()
if split != "none":
    by = ui.shared(
        view,
        "trend_split",
        lambda: figures.split_trend_chart(metrics.trend(view.cases, dates, by=split), split, big=big),
        mode,
        split,
    )
    ui.chart(by, key="trend_split_chart")

st.subheader("表一　劝返进度")
ui.table(trend)
ui.downloads(trend, view, "控辍保学劝返进度表", key="trend", xlsx_sum=["returned"])
