"""数据导入: what does a township's (or the county's) new ledger change, is anything blocking, and which version
is current?"""

import streamlit as st

import ui
from ui import imports

view = ui.current_view()
st.title("数据导入")
ui.caption(view)
path, _ = ui.ledger_source()
st.caption(
    f"当前使用：{view.ledger.meta.get('source_name', '')}（{'样例数据' if path == ui.data_dir() else '已导入的台账'}）"
)
if not view.scope.can_upload:
    st.info("只有区县管理员可以导入台账。")
    st.stop()
if message := st.session_state.pop("up_last", ""):
    st.success(message)

tab_import, tab_versions, tab_calendar = st.tabs(["导入台账", "历史版本", "报送情况"])
with tab_import:
    imports.import_section(view)
with tab_versions:
    imports.versions_section(view)
with tab_calendar:
    imports.calendar_section(view)
