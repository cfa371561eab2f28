import datetime as dt
import uuid

import streamlit as st

import ui
from kongchuo_metrics import exports, merge, reporting, schema, storage
from kongchuo_metrics.ingest import LedgerError

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

store = ui.store_dir()
coords = view.settings.coords
state = st.session_state
state.setdefault("up_round", 0)  # a new round gives a fresh, empty uploader (after confirm or cancel)
state.setdefault("up_owner", uuid.uuid4().hex[:12])  # this session's staged files
staged: dict = state.setdefault("up_staged", {})  # file_id -> {"path", "name", "sub" | "error"}
storage.sweep_incoming(store)


def stage_uploads(files) -> None:
    """Stage each new upload once (0600, audited once); forget and delete the ones taken off the uploader."""
    ids = {f.file_id for f in files}
    for file_id in [k for k in staged if k not in ids]:
        storage.discard([staged.pop(file_id)["path"]])
    for f in files:
        if f.file_id in staged:
            continue
        data = f.getvalue()
        ui.audit_event("upload", file=f.name, bytes=f.size)
        entry = {"path": storage.stage(store, data, f.name, state["up_owner"]), "name": f.name}
        try:
            entry["sub"] = storage.load_submission(entry["path"], f.name, coords)
        except LedgerError as exc:
            entry["error"] = str(exc)
        staged[f.file_id] = entry


def end_round(message: str = "") -> None:
    storage.discard([e["path"] for e in staged.values()])
    staged.clear()
    state["up_round"] += 1
    state["up_message"] = message
    st.rerun()


def mapping_step(key: str, sub: merge.Submission) -> merge.Submission:
    """HOOK (台账适配, issue 11): the column-mapping step and the blocking problems of one file go here.

    When ingest exposes its ui function, call it with the staged file and return the re-loaded submission;
    `blocking(sub)` below then lists what is still unresolved and keeps 确认导入 disabled.
    """
    return sub


def blocking(sub: merge.Submission) -> list:
    """The file's blocking problems (ingest's report.blocking once it exists; none before)."""
    return list(getattr(sub.ledger.report, "blocking", []) or [])


def scope_choice(key: str, sub: merge.Submission) -> merge.Submission:
    """Let the clerk confirm or change what the file replaces (inferred by default; county only if chosen)."""
    inferred = merge.infer_scope(sub.ledger)
    options = [inferred]
    towns = sorted(set(sub.ledger.cases["township"].dropna()))
    if inferred.kind == "school" and towns:
        options.append(merge.ImportScope("township", tuple(towns)))
    if len(towns) == 1:
        for school in sorted(set(sub.ledger.cases["school"].dropna())):
            option = merge.ImportScope("school", (towns[0],), school)
            if option not in options:
                options.append(option)
    options.append(merge.ImportScope("county"))
    scope = st.selectbox(
        "导入范围（替换哪些数据）",
        options,
        format_func=lambda s: s.describe() + ("（按文件内容推断）" if s == inferred else ""),
        key=f"up_scope_{key}",
    )
    tables = st.multiselect(
        "替换哪些表",
        list(sub.tables),
        default=list(sub.tables),
        format_func=schema.TABLE_LABELS.get,
        key=f"up_tables_{key}",
    )
    if scope.kind == "county":
        st.warning("已选择“全区县（整体替换）”：所选表中，文件里没有的乡镇的数据会被删除（旧版本仍可恢复）。")
    return merge.Submission(sub.name, sub.ledger, scope, tuple(tables))


def file_report(key: str, entry: dict) -> merge.Submission | None:
    """One file's validation report and scope; None when it cannot be imported."""
    if "error" in entry:
        st.error(f"{entry['name']}：无法导入：{entry['error']}")
        return None
    sub = mapping_step(key, entry["sub"])
    r = sub.ledger.report
    with st.expander(f"{entry['name']}　{sub.scope.describe()}　载入 {r.rows_loaded} 行", expanded=True):
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("读取行数", r.rows_read)
        c2.metric("载入", r.rows_loaded)
        c3.metric("隔离（需修改）", r.rows_quarantined)
        c4.metric("排除（空行/合计/重复）", r.rows_excluded)
        stamp = sub.ledger.meta.get("stat_date")
        st.caption(
            ("填报时间：" + stamp if stamp else "文件中没有填报时间/统计日期行")
            + "；各表："
            + "，".join(f"{ui.TABLE_LABELS[k]} {v} 行" for k, v in r.tables.items() if v)
        )
        if len(r.problems):
            st.markdown(f"**问题清单（{len(r.problems)} 条）**")
            ui.table(r.problems)
            st.download_button(
                "下载问题清单 CSV",
                data=lambda p=r.problems: exports.csv_bytes(p),
                file_name=f"台账问题清单_{entry['name']}.csv",
                on_click="ignore",
                key=f"up_problems_{key}",
                icon=":material/download:",
            )
        else:
            st.success("没有发现问题。")
        for problem in blocking(sub):
            st.error(f"阻断问题：{problem}")
        return scope_choice(key, sub)


if state.pop("up_message", ""):
    st.success(state.get("up_last", ""))

tab_import, tab_versions, tab_calendar = st.tabs(["导入台账", "历史版本", "报送情况"])

with tab_import:
    st.download_button(
        "下载空白台账模板（标准表头）",
        data=exports.template_xlsx,
        file_name="控辍保学台账模板.xlsx",
        on_click="ignore",
        key="up_template",
        icon=":material/download:",
    )
    uploads = st.file_uploader(
        "上传台账（可一次选择多个乡镇的文件：.xlsx / .xls / .csv）",
        type=["xlsx", "xlsm", "xls", "csv"],
        accept_multiple_files=True,
        key=f"up_file_{state['up_round']}",
    )
    stage_uploads(uploads or [])
    if not staged:
        st.caption(
            "上传后逐个校验、预览各乡镇导入前后的数字，确认后作为一个新版本导入；未确认的文件一天内删除。"
        )
    else:
        subs, files, errors = [], [], {}
        for key, entry in staged.items():
            sub = file_report(key, entry)
            if sub is None:
                errors[entry["name"]] = entry.get("error", "")
            else:
                subs.append(sub)
                files.append((entry["path"], entry["name"]))
        unresolved = sum(len(blocking(s)) for s in subs)
        st.subheader("导入预览")
        batch = storage.prepare(store, subs, files, coords) if subs else None
        if errors:
            st.error(
                f"{len(errors)} 个文件无法导入，整批不会导入。请移除或修改后重新上传：{'、'.join(errors)}"
            )
        elif batch is not None and not batch.ok:
            st.error("；".join(batch.errors.values()))
        elif batch is not None:
            as_of = (
                max((merge.filled_date(s.ledger) for s in subs), default="") or view.as_of.date().isoformat()
            )
            st.caption(f"按 {as_of}（文件的填报时间）计算；导入合并到{batch.base_version or '空的数据库'}。")
            st.text("\n".join(merge.change_lines(batch.base, subs)))
            ui.table(merge.preview(batch.base, batch.after, subs, as_of))
        c1, c2 = st.columns([1, 1])
        ready = batch is not None and batch.ok and not errors and unresolved == 0
        if c1.button(
            f"确认导入（{len(subs)} 个文件作为一个版本）",
            type="primary",
            key="up_accept",
            disabled=not ready,
            help=None if ready else "有文件无法导入或仍有阻断问题，整批不能导入",
        ):
            try:
                version = storage.commit(
                    store,
                    batch,
                    view.scope.user,
                    coords,
                    audit=lambda phase, **f: ui.audit_event("accept", phase=phase, **f),
                )
            except storage.VersionError as exc:
                st.error(str(exc))
            else:
                state["up_last"] = (
                    f"已导入为版本 {version.name}（{version.scope}），所有页面从现在起使用新数据。"
                )
                end_round("done")
        if c2.button("放弃这些文件", key="up_cancel"):
            end_round()

with tab_versions:
    versions = storage.history(store)
    current, _ = storage.current(store)
    states = storage.audit_states(ui.audit_path())
    if not versions:
        st.info("还没有导入过台账，当前显示样例数据。")
    else:
        ui.table(storage.versions_frame(versions, current.name if current else "", states))
        for name in storage.unfinished(ui.audit_path()):
            if name not in {v.name for v in versions}:
                st.warning(f"审计日志中有版本 {name} 的导入开始记录，但没有完成记录：该次导入未生效。")
        names = [v.name for v in versions]
        c1, c2 = st.columns([2, 1])
        target = c1.selectbox(
            "恢复到历史版本（作为一个新版本，原有版本都保留）",
            [n for n in names if current is None or n != current.name],
            key="up_restore_pick",
        )
        if c2.button("恢复此版本", key="up_restore", disabled=target is None):
            version = storage.restore(
                store,
                target,
                view.scope.user,
                coords,
                audit=lambda phase, **f: ui.audit_event("accept", phase=phase, kind="restore", **f),
            )
            state["up_last"] = f"已恢复：新版本 {version.name} 的数据与 {target} 相同。"
            state["up_message"] = "done"
            st.rerun()
        if len(names) >= 2:
            st.markdown("**两个版本之间的变化**")
            d1, d2 = st.columns(2)
            older = d1.selectbox("从版本", names, index=1, key="up_diff_a")
            newer = d2.selectbox("到版本", names, index=0, key="up_diff_b")
            changes = merge.diff(storage.load(store, older, coords), storage.load(store, newer, coords))
            counts = merge.diff_counts(changes)
            for col, (k, label) in zip(st.columns(len(counts)), merge.DIFF_CHANGES.items(), strict=True):
                col.metric(label, counts[k])
            if not ui.empty(changes, "两个版本的个案没有变化。"):
                ui.table(ui.public(changes, view))

with tab_calendar:
    today = dt.datetime.now(storage.CST).date()
    status = ui.reporting_calendar(view, today)
    if ui.empty(status, "设置中没有报送节奏（settings.toml 的 [calendar]），或台账中没有乡镇。"):
        pass
    else:
        st.caption(f"按今天（{today.isoformat()}）判断本期报送；报送日期取各乡镇台账的填报时间。")
        late = reporting.not_reported(status)
        if late:
            st.warning("本期未报送（已过截止日）：" + "、".join(late))
        ui.table(status)
