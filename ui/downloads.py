"""Downloads: every file is built on the server, audited to the person, and released only after its audit
line is written; the pack, the Word report and the case file."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from kongchuo_metrics import access, audit, exports, labels, metrics, schema
from kongchuo_metrics.documents.papers import papers

from . import turns
from .data import delivered_notices, duban_brief, ranking_brief, shared, workflows
from .login import SESSION_ENDED, revalidate
from .session import _audit, audit_path, audit_writable, current_scope, data_dir
from .widgets import SCREEN_ROWS, public, table

if TYPE_CHECKING:
    from .view import View


def case_list(rows: pd.DataFrame, view: View, columns: list[str], title: str, key: str) -> None:
    """A masked list of case rows: the first SCREEN_ROWS on screen, every row in the (audited) download."""

    def masked(frame: pd.DataFrame) -> pd.DataFrame:  # only the listed columns are masked (the rest go)
        shown = public(frame[[c for c in columns if c in frame]], view)
        return shown[[c for c in columns if c in shown]]

    if len(rows) > SCREEN_ROWS:
        st.caption(f"共 {len(rows):,} 条，屏幕上显示前 {SCREEN_ROWS} 条；完整名单请下载。")
    # the masked screen rows are shared by every session of this view showing the same rows (by the content
    # of the listed columns, the only ones masked() reads)
    head = rows.head(SCREEN_ROWS)
    head = head[[c for c in columns if c in head]]
    try:
        content = hashlib.blake2b(
            pd.util.hash_pandas_object(head, index=True).to_numpy().tobytes()
        ).hexdigest()
    except TypeError:  # a column of unhashable values: masked for this run alone
        shown = masked(head)
    else:
        shown = shared(view, "case_list", lambda: masked(head), key, tuple(head.columns), content)
    table(shown)
    downloads(rows, view, title, key=key, prepare=masked, prepared_columns=list(shown.columns))


TABLE_LABELS = schema.TABLE_LABELS


class _Handoff:
    """Bytes passed from a download button's click callback (the script thread, which knows the session) to
    the button's data callable (a worker thread without the script context, which hands the bytes over).

    A click sends two requests at once: the rerun whose callback checks the session, and the browser's request
    for the file, which calls the data callable. The callback builds the bytes, waits until the file has been
    asked for (ASK_WAIT at most), then writes the audit line and releases the bytes: the audit holds a line
    for every file that left the server and for no other. A click on a button the page had already replaced
    (the browser asks for a file Streamlit no longer knows) or a forged click without its file request gets
    no line and no bytes; a refusal leaves None, and the callable delivers nothing.
    """

    START_WAIT = 15.0  # a click's callback starts within seconds; a bare file request gets nothing
    ASK_WAIT = 8.0  # the browser asks for the file at the click: seconds at most on a busy server
    BUILD_WAIT = 600.0  # building a very long list may take minutes

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.items: dict[str, tuple[float, str, bytes | None]] = {}
        self.asked: dict[str, float] = {}  # token -> when its data callable asked for the bytes

    def _set(self, token: str, state: str, payload: bytes | None = None) -> None:
        with self.cond:
            now = time.monotonic()
            # a released file nobody fetched (a forged click without its file request) goes after a minute
            stale = [
                k
                for k, (at, st_, _) in self.items.items()
                if now - at > (60 if st_ == "done" else self.BUILD_WAIT)
            ]
            for old in stale:
                del self.items[old]
            for old in [k for k, at in self.asked.items() if now - at > self.BUILD_WAIT]:
                del self.asked[old]
            self.items[token] = (now, state, payload)
            self.cond.notify_all()

    def start(self, token: str) -> None:
        self._set(token, "building")

    def give(self, token: str, payload: bytes | None) -> None:
        self._set(token, "done", payload)

    def was_asked(self, token: str, timeout: float) -> bool:
        """Wait until the file of `token` has been asked for (True), at most `timeout` seconds."""
        with self.cond:
            return self.cond.wait_for(lambda: token in self.asked, timeout)

    def take(self, token: str) -> bytes | None:
        with self.cond:
            self.asked[token] = time.monotonic()
            self.cond.notify_all()
            try:
                if not self.cond.wait_for(lambda: token in self.items, self.START_WAIT):
                    return None
                self.cond.wait_for(lambda: self.items.get(token, (0, "done"))[1] == "done", self.BUILD_WAIT)
                _, state, payload = self.items.pop(token, (0, "", None))
                return payload if state == "done" else None
            finally:
                self.asked.pop(token, None)


_HANDOFF = _Handoff()


REFUSED_AUDIT = (
    "下载已拒绝：审计日志无法写入，文件没有生成。请联系管理员检查 var/audit 文件夹（磁盘空间、权限）。"
)


NOT_FETCHED = "文件没有送出：点击时页面正在刷新，这个下载按钮已经过期。请再点一次下载。"


REFUSED_SCOPE = "下载已拒绝：您的账号、角色或范围在页面打开后有变化，请刷新页面后重新下载。"


class DownloadRefused(Exception):
    """A download the session or the audit log does not allow; nothing is delivered."""


def _identity(scope: access.Scope) -> dict:
    return {"user": scope.user, "role": scope.role, "scope": scope.describe(), "key": scope.key()}


def _serve(token: str, ticket: dict, build) -> str | None:
    """The click callback: the session is checked again, the bytes built, and once the browser asks for the
    file the audit line is written and the bytes released. Returns the Chinese reason of a refusal (None when
    the file was released)."""
    _HANDOFF.start(token)
    payload = None
    try:
        now = revalidate()
        if now is None:
            return SESSION_ENDED
        who = ticket["who"]
        if (now.user, now.key()) != (who["user"], who["key"]):
            return REFUSED_SCOPE
        data = build()
        data = data.encode("utf-8") if isinstance(data, str) else data
        # nobody is fetching this file (a replaced button, a forged click): no line, no bytes
        if not _HANDOFF.was_asked(token, _HANDOFF.ASK_WAIT):
            return NOT_FETCHED
        fields = {k: v for k, v in ticket.items() if k != "who"}
        try:
            audit.record(
                audit_path(),
                "download",
                who["user"],
                who["role"],
                who["scope"],
                **fields,
                sha256=hashlib.sha256(data).hexdigest(),
                bytes=len(data),
            )
        except audit.AuditError:
            return REFUSED_AUDIT
        payload = data
        return None
    finally:
        _HANDOFF.give(token, payload)


def audited_download(
    label: str,
    build,
    file_name: str,
    key: str,
    *,
    rows: int,
    columns: list[str],
    mime: str | None = None,
    filters: str = "",
    mode: str = "",
    icon: str | None = ":material/download:",
    target=None,
) -> None:
    """A download button whose file exists only after its audit line does.

    Who is looking (user, role, scope), the filters, row count and columns are captured now, when the button is
    drawn; the click re-checks the session against the users file and writes the line with the SHA-256 of the
    bytes; when the session has lapsed or the line cannot be written, the user gets a Chinese message and no
    file. A download refused this way leaves no bytes on the server.
    """
    scope = current_scope()
    token = secrets.token_urlsafe(16)
    ticket = {
        "who": _identity(scope),
        "file": file_name,
        "filters": filters,
        "rows": int(rows),
        "columns": [str(c) for c in columns],
        "mode": mode,
    }
    notice = st.session_state.get("_download_refused")
    if notice and notice[0] == key:
        st.session_state.pop("_download_refused")
        (target or st).error(notice[1])

    def data() -> bytes:
        payload = _HANDOFF.take(token)
        if payload is None:
            raise DownloadRefused("download refused (see the page for the reason)")
        return payload

    def click() -> None:
        refusal = _serve(token, ticket, build)
        if refusal == SESSION_ENDED:
            st.session_state["_notice"] = refusal  # the rerun shows the login page, with this line
        elif refusal:
            st.session_state["_download_refused"] = (key, refusal)

    where = target or st
    where.download_button(
        label, data=data, file_name=file_name, mime=mime, key=key, on_click=click, icon=icon
    )


def downloads(
    frame: pd.DataFrame,
    view: View,
    title: str,
    key: str,
    xlsx_sum: list[str] | None = None,
    prepare=None,
    prepared_columns: list[str] | None = None,
) -> None:
    """CSV (and optionally government-format xlsx) download buttons for a table, audited, named after the filters.

    `prepare` (e.g. masking) runs on the frame when the button is clicked, so long lists cost nothing until then;
    `prepared_columns` are its columns when the caller has them already (else prepare runs on no rows).
    """
    if len(frame) == 0:
        return
    if not audit_writable():
        st.session_state.pop("_download_refused", None)
        st.error("审计日志无法写入，下载已停用。请联系管理员检查 var/audit 文件夹的权限。")
        return
    named = view.named  # a township user's files carry the township's name
    base = f"{exports.subject(title, named)}_{named.slug()}"
    if prepared_columns is None:
        prepared_columns = list((prepare(frame.head(0)) if prepare else frame).columns)
    columns = [str(c) for c in prepared_columns]
    if prepare is not None:
        raw = frame
        frame = None  # built on click

        def final() -> pd.DataFrame:
            return prepare(raw)
    else:

        def final() -> pd.DataFrame:
            return frame

    rows = len(raw) if prepare is not None else len(frame)
    district = view.ledger.meta.get("district") or view.settings.district or ""
    scoped = export_title(view, title)
    scope = named.describe(dated=False)
    heading = f"{scoped}（{scope}；统计日期：{metrics.cn_date(view.as_of)}）"
    # a row that sizes to its buttons: no column cuts 「下载 Excel（公文格式）」 short
    row = st.container(horizontal=True, gap="small")
    common = {"rows": rows, "columns": columns, "filters": named.describe(), "mode": view.mode}
    audited_download(
        "下载 CSV",
        lambda: exports.csv_bytes(final(), title=heading),
        f"{base}.csv",
        f"{key}_csv",
        mime="text/csv",
        target=row,
        **common,
    )
    if xlsx_sum is not None:
        unit = papers(view.ledger, district, view.ledger.meta.get("unit", "")).issuer

        def build():
            return exports.gov_xlsx(final(), scoped, unit, metrics.cn_date(view.as_of), xlsx_sum, scope=scope)

        audited_download(
            "下载 Excel（公文格式）",
            build,
            f"{base}.xlsx",
            f"{key}_xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table:",
            target=row,
            **common,
        )


def export_title(view: View, title: str) -> str:
    """The title of an export of `title` for the view: the place, stage and type it covers, never the county
    name alone for a filtered view."""
    district = view.ledger.meta.get("district") or view.settings.district or ""
    return exports.scope_title(title, view.named, district)


def pack_button(view: View) -> None:
    """Generate the briefing pack for the current filters and offer it for download (audited)."""
    from kongchuo_metrics import figures, pack

    if view.mode == "briefing":  # the projector shows the dashboard; the pack is made before the meeting
        return
    if not pack.chromium_path():
        st.warning(pack.MISSING_CHROMIUM)
        return
    if not audit_writable():
        st.error("审计日志无法写入，汇报材料生成已停用。")
        return
    key = (view.selection, current_scope().key())
    if st.button("生成汇报材料（PDF / PPT）", key="pack_make", icon=":material/picture_as_pdf:"):
        with st.spinner("正在生成汇报材料…"), turns.step_aside():  # seconds, mostly a browser drawing
            try:
                result = pack.make_pack(
                    workflows.with_notices(view.ledger, delivered_notices(view)),
                    view.selection,
                    view.settings,
                    figures.load_boundaries(data_dir()),
                    duban=duban_brief(view),
                )
            except pack.PackError as exc:
                st.error(str(exc))
                return
        _audit(
            "pack",
            filters=view.named.describe(),
            pages=result.pages,
            sha256=hashlib.sha256(result.pdf).hexdigest(),
        )
        st.session_state["pack"] = (key, result)
    stored = st.session_state.get("pack")
    if stored and stored[0] == key:
        result = stored[1]
        name = f"控辍保学汇报材料_{view.named.slug()}"
        c1, c2, _ = st.columns([1, 1, 3])
        common = {
            "rows": result.pages,
            "columns": [],
            "filters": view.named.describe(),
            "mode": "briefing",
        }
        audited_download(
            "下载 PDF",
            lambda: result.pdf,
            f"{name}.pdf",
            "pack_pdf",
            mime="application/pdf",
            target=c1,
            **common,
        )
        if result.pptx:
            audited_download(
                "下载 PPT",
                lambda: result.pptx,
                f"{name}.pptx",
                "pack_pptx",
                mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                target=c2,
                **common,
            )
        st.caption(f"共 {result.pages} 页，用时 {result.seconds:.1f} 秒。学生姓名只显示姓氏。")


def report_button(view: View) -> None:
    """Generate the Word 情况通报/工作总结/简报 for the current filters; the download is audited like any other.

    A county admin may add the full-name annex: generating it writes an unmask line, downloading a download line.
    The Word writer is imported at the first click, not on every overview's first run (python-docx and the
    layout code are a server's slowest first import).
    """
    if not audit_writable():
        st.error("审计日志无法写入，Word 材料生成已停用。")
        return
    scope = current_scope()
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    kind = c1.selectbox(
        "材料类型", list(labels.REPORT_KINDS), format_func=labels.REPORT_KINDS.get, key="ov_report_kind"
    )
    annex = False
    if scope.can_unmask:
        annex = c2.checkbox("附完整姓名名单（将记入审计）", key="ov_report_annex")
    key = (view.selection, scope.key(), kind, annex)
    if st.button("生成 Word 通报", key="ov_report_make", icon=":material/description:"):
        from kongchuo_metrics.documents import report

        with st.spinner("正在生成 Word 材料…"), turns.step_aside():  # seconds, mostly kaleido
            try:
                result = report.build(
                    workflows.with_notices(view.ledger, delivered_notices(view)),
                    view.selection,
                    view.settings,
                    kind,
                    annex=annex,
                    duban=duban_brief(view),
                    ranking=ranking_brief(view),
                )
            except report.ReportError as exc:
                st.error(str(exc))
                return
        if annex:
            _audit("unmask", filters=view.named.describe(), document="report_annex")
        st.session_state["ov_report"] = (key, result)
    stored = st.session_state.get("ov_report")
    if stored and stored[0] == key:
        result = stored[1]
        name = result.file_name(view.named)
        audited_download(
            f"下载 {labels.REPORT_KINDS[result.kind]}（Word）",
            lambda: result.docx,
            name,
            "ov_report_docx",
            rows=result.headline.open,
            columns=["report", result.kind],
            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            filters=view.named.describe(),
            mode="unmasked" if result.annex else view.mode,
        )
        st.caption(
            f"已生成（用时 {result.seconds:.1f} 秒）：在册 {result.headline.open} 人，"
            f"累计劝返 {result.headline.returned_total} 人。黄色底纹处请撰稿人补充；"
            + ("含完整姓名附件，请妥善保管。" if result.annex else "学生姓名只显示姓氏。")
        )


def case_file_button(view: View, case_id: str) -> None:
    """Download the 一人一案 file of one case (Word), audited; full names only in the unmasked (admin) mode."""
    from kongchuo_metrics.documents import case_file

    if not audit_writable():
        st.error("审计日志无法写入，下载已停用。")
        return
    unmasked = view.mode == "unmasked" and current_scope().can_unmask
    name = f"一人一案_{case_id}.docx"

    def build() -> bytes:
        led = workflows.with_notices(view.ledger, delivered_notices(view))
        return case_file.build_case_file(led, case_id, view.settings, view.as_of, unmasked=unmasked)

    audited_download(
        "下载一人一案档案（Word）" + ("，含完整个人信息" if unmasked else ""),
        build,
        name,
        "fu_case_file",
        rows=1,
        columns=["case_file", "full_names" if unmasked else "masked"],
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        filters=view.named.describe(),
        mode=view.mode,
        icon=":material/folder_shared:",
    )


def document_download(label: str, build, view: View, name: str, key: str, mime: str, rows: int = 1) -> None:
    """A download button for a generated file (Word, xlsx), built on click and audited like every download."""
    if not audit_writable():
        st.error("审计日志无法写入，下载已停用。请联系管理员检查 var/audit 文件夹的权限。")
        return
    audited_download(
        label,
        build,
        name,
        key,
        rows=rows,
        columns=[],
        mime=mime,
        filters=view.named.describe(),
        mode=view.mode,
    )


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
