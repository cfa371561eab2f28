"""Streamlit glue of the 数据导入 page: staging uploads, each file's report and scope, the batch preview and
commit, the version list with restore and diff, and the reporting calendar."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import streamlit as st

import ui
from kongchuo_metrics import exports, merge, reporting, schema, storage
from kongchuo_metrics.ingest import Ledger, LedgerError
from ui import turns

state = st.session_state


@st.cache_resource(max_entries=4, show_spinner="正在读取版本…")
def _version(store: str, name: str, coords: str, stamp: int) -> Ledger:
    return storage.load(store, name, coords)


def version_ledger(store: Path, name: str, coords: str) -> Ledger:
    """A stored version's tables, read once per process (versions never change; a rebuilt snapshot does)."""
    snap = store / "versions" / name / "snapshot"
    stamp = snap.stat().st_mtime_ns if snap.exists() else 0
    return _version(str(store), name, coords, stamp)


def _staged() -> dict:
    state.setdefault("up_round", 0)  # a new round gives a fresh, empty uploader (after confirm or cancel)
    state.setdefault("up_owner", uuid.uuid4().hex[:12])  # this session's staged files
    return state.setdefault("up_staged", {})  # file_id -> {"path", "name", "sub" | "error"}


def stage_uploads(store: Path, files, coords: str) -> dict:
    """Stage each new upload once (0600, audited once); delete the ones taken off the uploader."""
    staged = _staged()
    ids = {f.file_id for f in files}
    for file_id in [k for k in staged if k not in ids]:
        storage.discard([staged.pop(file_id)["path"]])
    mapping = ui.settings().mapping
    for f in files:
        if f.file_id not in staged:
            ui.audit_event("upload", file=f.name, bytes=f.size)
            path = storage.stage(store, f.getvalue(), f.name, state["up_owner"])
            staged[f.file_id] = {"path": path, "name": f.name}
        entry = staged[f.file_id]
        if entry.get("mapping") != mapping:  # new, or the column mapping was saved since: read it again
            entry.pop("error", None)
            entry["mapping"] = mapping
            try:
                with turns.step_aside():  # seconds for a county's workbook
                    entry["sub"] = storage.load_submission(entry["path"], f.name, coords, mapping=mapping)
            except LedgerError as exc:
                entry["error"] = str(exc)
    return staged


def end_round(message: str = "") -> None:
    """Delete this session's staged files, empty the uploader and show `message` after the rerun."""
    staged = _staged()
    storage.discard([e["path"] for e in staged.values()])
    staged.clear()
    state["up_round"] += 1
    state["up_last"] = message
    st.rerun()


def mapping_step(sub: merge.Submission, base: Ledger | None) -> None:
    """The 台账适配 step (issue 11's ui.mapping_step) for one file: columns, resolution texts and the blocking
    problems that apply in this merge. Its choices go to settings.toml; every staged file is then read again."""
    from dataclasses import replace

    report = sub.ledger.report
    applies = blocking(sub, base)
    shown = [b for b in report.blocking if b.accepted or b in applies]
    ui.mapping_step(replace(sub.ledger, report=replace(report, blocking=shown)), ui.data_dir())


def blocking(sub: merge.Submission, base: Ledger | None) -> list:
    """The file's blocking problems not yet fixed or accepted (confirm stays disabled while any is left);
    one about a table the file lacks but the current version keeps does not count."""
    return storage.open_blocking(sub, base)


def scope_choice(key: str, sub: merge.Submission, base: Ledger | None) -> merge.Submission:
    """The clerk confirms or changes what the file replaces (inferred by default, any township of the current
    data on request; the county only if chosen). Rows outside the chosen scope are said before the import."""
    inferred = merge.infer_scope(sub.ledger, base)
    options = [inferred]
    towns = merge.file_townships(sub.ledger, base)
    if inferred.kind == "school" and towns:
        options.append(merge.ImportScope("township", tuple(towns)))
    if len(towns) == 1:
        for school in sorted(set(sub.ledger.cases["school"].dropna().unique())):
            option = merge.ImportScope("school", (towns[0],), school)
            if option not in options:
                options.append(option)
    known = (
        []
        if base is None
        else sorted(set(base.cases["township"].dropna()) | set(base.schools["township"].dropna()))
    )
    options += [o for o in (merge.ImportScope("township", (t,)) for t in known) if o not in options]
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
    chosen = merge.Submission(sub.name, sub.ledger, scope, tuple(tables), sub.mapping)
    if not scope.townships and scope.kind != "county":
        st.error(
            "没有从文件中识别出乡镇（文件没有乡镇列，学校也不在现有数据中）：请在上面选择这份台账所属的乡镇。"
        )
    else:
        outside = merge.outside_rows(chosen)
        if outside:
            st.error(
                f"文件中有 {outside} 条记录不属于所选范围（{scope.describe()}），不会导入；请核对导入范围。"
            )
    return chosen


def file_report(key: str, entry: dict, base: Ledger | None) -> merge.Submission | None:
    """One file's validation report, blocking problems and scope; None when it cannot be imported."""
    if "error" in entry:
        st.error(f"{ui.literal(entry['name'])}：无法导入：{ui.literal(entry['error'])}")
        return None
    sub = entry["sub"]
    r = sub.ledger.report
    with st.expander(f"{ui.literal(entry['name'])}　载入 {r.rows_loaded} 行", expanded=True):
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("读取行数", r.rows_read)
        c2.metric("载入", r.rows_loaded)
        c3.metric("隔离（需修改）", r.rows_quarantined)
        c4.metric("排除（空行/合计/重复）", r.rows_excluded)
        stamp = sub.ledger.meta.get("stat_date")
        st.text(
            ("填报时间：" + stamp if stamp else "文件中没有填报时间/统计日期行")
            + "；各表："
            + "，".join(f"{ui.TABLE_LABELS[k]} {v} 行" for k, v in r.tables.items() if v)
        )
        if len(r.problems):
            st.markdown(f"**问题清单（{len(r.problems)} 条）**")
            ui.table(r.problems)
            ui.audited_download(
                "下载问题清单 CSV",
                lambda p=r.problems: exports.csv_bytes(p),
                f"台账问题清单_{Path(entry['name']).stem}.csv",
                f"up_problems_{key}",
                rows=len(r.problems),
                columns=list(r.problems.columns),
                mime="text/csv",
                filters=f"上传文件：{entry['name']}",
            )
        else:
            st.success("没有发现问题。")
        for problem in blocking(sub, base):
            st.error(f"阻断问题：{ui.literal(problem.message)}（在下方“列对应与阻断问题”中处理）")
        return scope_choice(key, sub, base)


def import_section(view: ui.View) -> None:
    """Uploader (several files), each file's report and scope, the preview, and 确认导入 / 放弃."""
    store, coords = ui.store_dir(), view.settings.coords
    staged = _staged()
    storage.sweep_incoming(store)
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
    staged = stage_uploads(store, uploads or [], coords)
    if not staged:
        st.caption(
            "上传后逐个校验、预览各乡镇导入前后的数字，确认后作为一个新版本导入；未确认的文件一天内删除。"
        )
        return
    current = storage.current(store)[0]
    base = version_ledger(store, current.name, coords) if current else None
    subs, files, errors = [], [], []
    for key, entry in staged.items():
        sub = file_report(key, entry, base)
        if sub is None:
            errors.append(entry["name"])
        else:
            subs.append(sub)
            files.append((entry["path"], entry["name"]))
    loaded = {entry["name"]: entry["sub"] for entry in staged.values() if "sub" in entry}
    if loaded:
        open_ = any(blocking(s, base) for s in loaded.values())
        with st.expander("列对应与阻断问题（台账适配）", expanded=open_):
            names = list(loaded)
            first = next(
                (i for i, n in enumerate(names) if blocking(loaded[n], base)), 0
            )  # the one that blocks
            name = st.radio("处理哪个文件", names, index=first, key="up_map_file", horizontal=True)
            mapping_step(loaded[name], base)
    st.subheader("导入预览")
    batch = (
        storage.prepare(store, subs, files, coords, (current.name if current else "", base)) if subs else None
    )
    if errors:
        st.error(
            f"{len(errors)} 个文件无法导入，整批不会导入。请移除或修改后重新上传：{'、'.join(ui.literal(e) for e in errors)}"
        )
    elif batch is not None and not batch.ok:
        st.error("；".join(ui.literal(e) for e in batch.errors.values()))
    elif batch is not None:
        as_of = max(merge.filled_date(s.ledger) for s in subs) or view.as_of.date().isoformat()
        st.caption(
            f"按 {as_of}（{'各文件中最晚的填报时间' if len(subs) > 1 else '文件的填报时间'}）计算；"
            f"合并到{batch.base_version or '空的数据库（尚无版本）'}。"
        )
        if batch.base is None and any(s.scope.kind != "county" for s in subs):
            st.warning(
                "数据库中还没有全区县的台账：导入后看板只有这些文件的乡镇。首次使用请先导入全区县台账"
                "（导入范围选“全区县（整体替换）”），以后每月再按乡镇导入。"
            )
        st.text("\n".join(merge.change_lines(batch.base, subs)))
        ui.table(merge.preview(batch.base, batch.after, subs, as_of))
    unplaced = [s.name for s in subs if s.scope.kind != "county" and not s.scope.townships]
    ready = (
        batch is not None
        and batch.ok
        and not errors
        and not unplaced
        and not any(blocking(s, base) for s in subs)
    )
    c1, c2 = st.columns(2)
    if c1.button(
        f"确认导入（{len(staged)} 个文件作为一个版本）",
        type="primary",
        key="up_accept",
        disabled=not ready,
        help=None if ready else "有文件无法导入、未选所属乡镇或仍有阻断问题，整批不能导入",
    ):
        try:
            with turns.step_aside():
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
            end_round(f"已导入为版本 {version.name}（{version.scope}），所有页面从现在起使用新数据。")
    if c2.button("放弃这些文件", key="up_cancel"):
        end_round("已放弃，上传的文件已删除，数据没有改变。")


def versions_section(view: ui.View) -> None:
    """Who imported what and when, with headline figures; restore (as a new version); diff of two versions."""
    store, coords = ui.store_dir(), view.settings.coords
    versions = storage.history(store)
    current, _ = storage.current(store)
    names = [v.name for v in versions]
    for name in storage.unfinished(ui.audit_path()):
        if name not in names:
            st.warning(f"审计日志中有版本 {name} 的导入开始记录，但没有完成记录：该次导入没有生效。")
    if not versions:
        st.info("还没有导入过台账，当前显示样例数据。")
        return
    states = storage.audit_states(ui.audit_path())
    ui.table(storage.versions_frame(versions, current.name if current else "", states))
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
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
        st.rerun()
    if len(names) < 2:
        return
    st.markdown("**两个版本之间的变化**")
    d1, d2 = st.columns(2)
    older = d1.selectbox("从版本", names, index=1, key="up_diff_a")
    newer = d2.selectbox("到版本", names, index=0, key="up_diff_b")
    changes = merge.diff(version_ledger(store, older, coords), version_ledger(store, newer, coords))
    counts = merge.diff_counts(changes)
    for col, (k, label) in zip(st.columns(len(counts)), merge.DIFF_CHANGES.items(), strict=True):
        col.metric(label, counts[k])
    if not ui.empty(changes, "两个版本之间没有个案变化。"):
        ui.table(ui.public(changes, view))


def calendar_section(view: ui.View, day: dt.date | None = None, title: str = "") -> None:
    """Per township: last submission, and whether this period's report is on time, late, missing or due."""
    day = day or dt.datetime.now(storage.CST).date()
    if title:
        st.subheader(title)
    status = ui.reporting_calendar(view, day)
    if ui.empty(status, "设置中没有报送节奏（settings.toml 的 [calendar]），或台账中没有乡镇。"):
        return
    st.caption(f"按 {day.isoformat()} 判断本期报送；报送日期取各乡镇台账的填报时间（没有时取导入日期）。")
    missing = reporting.not_reported(status)
    if missing:
        st.warning("本期未报送（已过截止日）：" + "、".join(ui.literal(t) for t in missing))
    ui.table(status)
