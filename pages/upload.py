import hashlib
from pathlib import Path

import streamlit as st

import ui
from kongchuo_metrics import exports, storage
from kongchuo_metrics.ingest import LedgerError, load_ledger

view = ui.current_view()
st.title("数据导入")
ui.caption(view)
path, _ = ui.ledger_source()
st.caption(
    f"当前使用：{ui.literal(view.ledger.meta.get('source_name', ''))}（{'样例数据' if path == ui.data_dir() else '已导入的台账'}）"
)
if not view.scope.can_upload:
    st.info("只有区县管理员可以导入台账。")
    st.stop()

st.download_button(
    "下载空白台账模板（标准表头）",
    data=exports.template_xlsx,
    file_name="控辍保学台账模板.xlsx",
    on_click="ignore",
    key="up_template",
    icon=":material/download:",
)
upload = st.file_uploader(
    "上传台账（.xlsx / .xls / .csv）", type=["xlsx", "xlsm", "xls", "csv"], key="up_file"
)
if upload is None:
    st.stop()

incoming = ui.store_dir() / "incoming"
incoming.mkdir(parents=True, exist_ok=True)
data = upload.getvalue()
# one staged copy per distinct upload, however often the page reruns
staged = incoming / (hashlib.sha256(data).hexdigest()[:32] + Path(upload.name).suffix.lower())
if not staged.exists():
    staged.write_bytes(data)
    ui.audit_event("upload", file=upload.name, bytes=upload.size)
try:
    candidate = load_ledger(staged)
except LedgerError as exc:
    st.error(f"无法导入：{ui.literal(exc)}")
    st.caption("原有数据保持不变。")
    staged.unlink(missing_ok=True)
    st.stop()

r = candidate.report
c1, c2, c3, c4 = st.columns(4)
c1.metric("读取行数", r.rows_read)
c2.metric("载入", r.rows_loaded)
c3.metric("隔离（需修改）", r.rows_quarantined)
c4.metric("排除（空行/合计/重复）", r.rows_excluded)
st.caption("各表：" + "，".join(f"{ui.TABLE_LABELS[k]} {v} 行" for k, v in r.tables.items() if v))
for s in r.sheets:
    st.caption(
        f"{ui.literal(s.sheet)}：{ui.literal(s.status)}"
        + (f"，表头在第 {s.header_row} 行" if s.header_row else "")
        + (f"，{ui.literal(s.note)}" if s.note else "")
    )
if len(r.problems):
    st.subheader(f"问题清单（{len(r.problems)} 条）")
    ui.table(r.problems)
    ui.audited_download(
        "下载问题清单 CSV",
        lambda: exports.csv_bytes(r.problems),
        "台账问题清单.csv",
        "up_problems",
        rows=len(r.problems),
        columns=list(r.problems.columns),
        mime="text/csv",
        filters=f"上传文件：{upload.name}",
    )
else:
    st.success("没有发现问题。")

if st.button("确认导入，替换当前数据", type="primary", key="up_accept"):
    version = storage.accept(ui.store_dir(), staged, upload.name, view.scope.user)
    ui.audit_event(
        "accept", file=upload.name, version=version.name, sha256=version.sha256, rows=r.rows_loaded
    )
    staged.unlink(missing_ok=True)
    st.success(f"已导入为版本 {version.name}，所有页面从现在起使用新数据。")
    st.rerun()

with st.expander("历史版本"):
    for v in storage.history(ui.store_dir()):
        st.caption(ui.literal(f"{v.name}　{v.path.name}　{v.accepted_at}　{v.user}"))
