"""总览: how many children are out of school today, how many came back, is the red line held, and how does that
compare with the last report and a year ago?"""

import streamlit as st

import ui
from kongchuo_metrics import compare, metrics, privacy
from ui import imports, results

view = ui.current_view()
st.title("总览")
ui.caption(view, rule=False)
if ui.empty(view.cases):
    st.stop()

head = results.headline(view)
if head.open_poor > 0:
    st.error(f"红线预警：建档立卡家庭学生仍有 {head.open_poor} 人未返校，必须清零。")
else:
    st.success("建档立卡家庭学生辍学人数为 0，红线守住。")

cmp = head.comparison
big = view.mode == "briefing"
rates = [r for r in head.rates if r.key != "poor_open"]
# one row of six on the projector, so that the trend chart starts on the first screen
cells = st.columns(3 + len(rates)) if big else [*st.columns(3), *st.columns(len(rates))]
c1, c2, c3, rate_cols = cells[0], cells[1], cells[2], cells[3:]
# on the projector the arrow alone says it: six cards in a row leave no room for the date
since = f"较 {metrics.cn_date(head.previous_date)}" if head.previous_date is not None and not big else None
ui.count_card(c1, "在册辍学人数", head.open, head.change, since, inverse=True)
ui.count_card(
    c2,
    "累计劝返人数",
    head.returned_total,
    cmp.change("returned_total"),
    since,
    inverse=False,
    help="本学年（9月1日起）返校复学与进入职业学校的人数",
)
ui.count_card(c3, "建档立卡在册", head.open_poor, cmp.change("open_poor"), since, inverse=True)
for col, field in zip((c1, c2, c3), compare.FIELDS, strict=True):
    if not big:  # on the projector the deltas say it; the trend chart keeps its place on the first screen
        col.caption(compare.last_year_caption(cmp, field))
ui.rate_cards(rate_cols, rates, big=big)

if not big:  # the pack and the Word report are made before the meeting, not on the projector
    pack_col, report_col = st.columns(2)
    with pack_col:
        ui.pack_button(view)
    with report_col:
        ui.report_button(view)

shown = results.overview(view)  # the trend chart and the township table
left, right = st.columns([3, 2])
with left:
    st.subheader("辍学趋势")
    ui.chart(shown.trend, key="ov_trend")
    ui.counting_rule()
with right:
    # 各乡镇, or a township user's own township (a ledger value: shown as typed, never as markdown)
    st.subheader(f"{ui.literal(view.named.towns_word())}在册辍学人数")
    nothing = f"统计日期当天{ui.literal(view.named.towns_word(each=True))}无在册辍学学生。"
    towns = shown.towns  # every township; 建档立卡 with small counts hidden
    if not ui.empty(towns[towns["open"] > 0], nothing):
        ui.chart(shown.bars, key="ov_towns")
        columns = ["township", "open", "change_prev", "change_last_year", "open_poor", "returned_total"]
        ui.table(towns, [*columns, "dropout_rate"])
        counts = privacy.summable(towns, ["open", "open_poor", "returned_total"])
        ui.downloads(towns, view, "各乡镇辍学情况", key="ov_towns", xlsx_sum=counts)

imports.calendar_section(view, view.as_of.date(), title=f"{ui.literal(view.named.towns_word())}报送情况")
