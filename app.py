"""控辍保学数据看板 — the frame: page config, shared sidebar, navigation."""

import streamlit as st

import ui

briefing = str(st.query_params.get("briefing", "")).lower() in ("true", "1")
st.set_page_config(
    page_title="控辍保学数据看板",
    page_icon="📚",
    layout="wide",
    initial_sidebar_state="collapsed" if briefing else "expanded",
)

PAGES = [
    st.Page(
        "pages/overview.py", title="总览", url_path="overview", icon=":material/dashboard:", default=True
    ),
    st.Page("pages/trend.py", title="辍学趋势", url_path="trend", icon=":material/trending_down:"),
    st.Page("pages/schools.py", title="学校明细", url_path="schools", icon=":material/school:"),
    st.Page("pages/village_map.py", title="村级地图", url_path="village_map", icon=":material/map:"),
    st.Page("pages/special_ed.py", title="特殊教育", url_path="special_ed", icon=":material/accessible:"),
    st.Page("pages/followup.py", title="个案跟踪", url_path="followup", icon=":material/assignment_ind:"),
    st.Page("pages/reconcile.py", title="数据比对", url_path="reconcile", icon=":material/compare_arrows:"),
    st.Page("pages/duban.py", title="督办", url_path="duban", icon=":material/assignment_late:"),
    st.Page("pages/ranking.py", title="考核排名", url_path="ranking", icon=":material/leaderboard:"),
    st.Page("pages/upload.py", title="数据导入", url_path="upload", icon=":material/upload_file:"),
]

ui.require_login()
pg = st.navigation(PAGES)
view = ui.sidebar()
ui.apply_presentation(view.mode == "briefing")
if view.mode == "briefing":
    ui.slide_buttons(PAGES, pg)
pg.run()
