"""乡镇考核排名: how does each township score under the bureau's rules, and how did its rank change since the last
period?"""

import streamlit as st

import ui
from kongchuo_metrics import metrics, ranking
from kongchuo_metrics.records import workflows

view = ui.current_view()
st.title("乡镇考核排名")
ui.caption(view)
if not view.scope.county_wide:
    st.info("考核排名比较全区县各乡镇，只对区县用户开放。")
    st.stop()
rules = ui.ranking_rules()
table = workflows.ranking_table(
    view.ledger, view.as_of, rules, view.settings, ui.records_engine(), ui.delivered_notices(view)
)
if ui.empty(table, "台账中没有乡镇，无法排名。"):
    st.stop()
st.caption("排名覆盖全区县所有乡镇（不受左侧乡镇、学校筛选影响）。" + ranking.previous_words(table))

c1, c2, c3 = st.columns(3)
c1.metric("参评乡镇", len(table))
c2.metric("一票否决", int(table["veto"].sum()), help="有建档立卡（脱贫户）个案未返校")
c3.metric("末位", "、".join(table.loc[table["last"], "township"]) or "—")
shown = ranking.display_table(table)
ui.table(shown)
st.caption("评分规则：" + ranking.describe(rules))

district = view.ledger.meta.get("district") or view.settings.district or ""
ui.document_download(
    "下载考核排名（公文格式 Excel）",
    lambda: ranking.xlsx(
        table, f"{district}乡镇控辍保学工作考核排名", f"{district}教育局", metrics.cn_date(view.as_of), rules
    ),
    view,
    f"乡镇考核排名_{view.as_of.date().isoformat()}.xlsx",
    key="rk_xlsx",
    mime=ui.XLSX,
    rows=len(shown),
)
if view.scope.role == "county_admin" and st.button("保存本期考核结果", key="rk_save", icon=":material/save:"):
    saved = workflows.save_ranking(ui.records_engine(), view.scope, table, view.as_of.date(), ui.audit_event)
    st.success(f"已保存 {metrics.cn_date(view.as_of)} 的考核结果（{saved} 个乡镇）。")
