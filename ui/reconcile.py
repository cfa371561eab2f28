"""数据比对 (三比对) glue: uploading the lists, the check run's figures and the feedback sheet."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from kongchuo_metrics import schema
from kongchuo_metrics.ingest import LedgerError

from . import turns
from .data import records_engine
from .downloads import audited_download
from .session import _audit, audit_writable, store_dir
from .widgets import SCREEN_ROWS, literal, table

if TYPE_CHECKING:
    from .view import View


LIST_TYPES = ["xlsx", "xlsm", "xls", "csv"]


def list_upload(kind: str, key: str):
    """An uploader for one list of `kind`; the list read through the ingest (audited upload), or None.

    The bytes are written to a staging file only while they are read, then deleted: the uploaded list lives
    in this session's memory, never on disk. A list that cannot be used shows its Chinese reason.
    """
    from kongchuo_metrics.reconcile import read_list

    upload = st.file_uploader(schema.LIST_LABELS[kind], type=LIST_TYPES, key=key)
    if upload is None:
        st.session_state.pop(f"{key}_read", None)
        return None
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    stored = st.session_state.get(f"{key}_read")
    if stored and stored[0] == digest:
        return stored[1]
    incoming = store_dir() / "incoming" / "lists"
    incoming.mkdir(parents=True, exist_ok=True)
    staged = incoming / (digest[:32] + Path(upload.name).suffix.lower())
    _audit("upload", file=upload.name, bytes=upload.size, list=kind, sha256=digest)
    try:
        staged.write_bytes(data)
        with turns.step_aside():  # seconds for a province's list
            table = read_list(staged, kind, name=upload.name)
    except LedgerError as exc:
        st.error(f"{schema.LIST_LABELS[kind]}无法使用：{literal(exc)}")
        return None
    finally:
        staged.unlink(missing_ok=True)
    table.digest = digest
    st.session_state[f"{key}_read"] = (digest, table)
    return table


def list_report(listed) -> None:
    """One line per uploaded list: rows read, loaded, excluded, without a valid ID; its problems on demand."""
    excluded = sum(listed.excluded.values())
    st.caption(
        f"{listed.label}（{listed.source}）：读取 {listed.rows_read:,} 行，比对 {listed.rows_loaded:,} 行，"
        f"排除 {excluded:,} 行（空行/合计/表尾/重复表头），无有效身份证号 {listed.unmatchable:,} 行"
    )
    if len(listed.problems):
        with st.expander(f"{listed.label}的问题清单（{len(listed.problems)} 条）"):
            table(listed.problems.head(SCREEN_ROWS))


def reconcile_places(view: View) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The townships, or schools, a check's results are narrowed to: the scope's, within it the sidebar's."""
    sel, scope = view.selection, view.scope
    nowhere = ("\0",)  # matches no place: default deny
    if scope.county_wide:
        return ((), sel.schools) if sel.schools else (sel.townships, ())
    if scope.role == "township" and scope.townships:
        return tuple(t for t in (sel.townships or scope.townships) if t in scope.townships) or nowhere, ()
    if scope.role == "school" and scope.schools:
        return (), tuple(s for s in (sel.schools or scope.schools) if s in scope.schools) or nowhere
    return nowhere, ()


def feedback_download(view: View, pushed, result, key: str) -> None:
    """The feedback sheet (unmasked, for the sender): county admins only, every download audited."""
    from kongchuo_metrics.reconcile.feedback import feedback_xlsx

    if not view.scope.can_unmask:
        st.info("反馈表含完整姓名和身份证号，只有区县管理员可以下载。")
        return
    if not audit_writable():
        st.error("审计日志无法写入，下载已停用。请联系管理员检查 var/audit 文件夹的权限。")
        return
    name = f"{Path(pushed.source).stem}_核查反馈.xlsx"

    audited_download(
        "下载反馈表（推送名单原样 + 核查结果）",
        lambda: feedback_xlsx(pushed, result, checker=view.scope.user),
        name,
        key,
        rows=len(result.pushed),
        columns=["原表各列", "核查结果", "核查日期", "核查人"],
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filters=view.named.describe(),
        mode="unmasked",
        icon=":material/assignment_return:",
    )


def check_run_section(view: View, lists: dict, full, places: tuple) -> None:
    """Saving a check run (county admins, audited) and what was resolved since the previous stored run."""
    from kongchuo_metrics.reconcile import store, within

    engine = records_engine()
    previous = store.previous_run(engine, view.as_of)
    if previous is not None:
        since = store.resolved_since(engine, previous, full)
        since = within(since, *places) if (places[0] or places[1]) else since
        st.subheader("与上次比对相比")
        c1, c2, _ = st.columns([1, 1, 2])
        c1.metric("上次需入户核查", len(since))
        c2.metric("已化解", int(since["resolved"].sum()))
        table(since)
    if view.scope.can_upload and view.scope.county_wide:
        if st.button("保存本次比对结果", key="rc_save", icon=":material/save:"):
            if not audit_writable():
                st.error("审计日志无法写入，不能保存比对结果。")
                st.stop()
            run_id = store.save_run(
                engine,
                full,
                lists,
                view.ledger.meta.get("sha256", ""),
                view.scope.user,
                view.scope.describe(),
            )
            _audit(
                "check_run",
                run_id=run_id,
                as_of=view.as_of.strftime("%Y-%m-%d"),
                inputs={k: t.digest for k, t in lists.items()},
            )
            st.success(f"已保存为第 {run_id} 次比对（下月比对时可查看哪些儿童已化解）。")
    with st.expander("历次比对"):
        table(store.runs(engine))


def check_history(view: View, case_id: str) -> None:
    """The 数据比对 history of one case's child (stored check runs), under the case timeline."""
    from kongchuo_metrics.reconcile import store

    case = view.cases[view.cases["case_id"] == case_id]
    if case.empty or not _valid_id(case["id_number"].iloc[0]):
        return
    history = store.history(records_engine(), store.child_key_of(case["id_number"].iloc[0]))
    if len(history):
        st.caption("数据比对记录")
        table(history)


def _valid_id(id_number) -> bool:
    """True for a valid ID number (only those are kept in check runs)."""
    from kongchuo_metrics import parsers

    return isinstance(id_number, str) and bool(parsers.valid_ids(pd.Series([id_number])).iloc[0])
