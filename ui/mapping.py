"""The import's column-mapping step and its blocking problems."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from kongchuo_metrics.ingest import Ledger
from kongchuo_metrics.ingest import mapping as column_mapping
from kongchuo_metrics.settings import load_settings, save_mapping

from .session import audit_event, current_scope
from .widgets import literal, table


def mapping_step(candidate: Ledger, settings_dir: Path) -> bool:
    """The import wizard's mapping step for a candidate ledger: every column with what it was taken to be, a
    select box per column of one sheet to change it, the resolution texts to classify, and the blocking problems
    to fix or accept. Choices are saved into settings.toml in `settings_dir` (then the page reruns and the
    candidate is read again with them). Returns True when nothing blocks the import any more."""
    r = candidate.report
    cols = r.columns
    st.subheader("列对应")
    st.caption(
        "每一列被识别成了什么、有多大把握、前三个样例（已脱敏）。把握低于 90% 且影响统计的列必须确认；"
        "识别错了或没识别出来的列，在下面选择正确的标准表头，或标为“不使用”。"
    )
    table(column_mapping.mapping_table(cols))
    for s in r.sheets:
        if s.table is None:  # every sheet is accounted for, the ignored ones with their rows and the reason
            st.caption(f"工作表“{s.sheet}”（{s.source}）：{s.status}，{s.rows_read} 行，{s.note or '—'}")
    chosen: dict[int, str] = {}
    sheets = list(dict.fromkeys((c.source, c.sheet) for c in cols))
    if sheets:
        attention = [
            s
            for s in sheets
            if any((c.source, c.sheet) == s and (not c.field or c.confidence < 0.9) for c in cols)
        ]
        labels = [f"{src}/{sheet}" for src, sheet in sheets]
        first = sheets.index(attention[0]) if attention else 0
        pick = st.selectbox("修改哪张表的列", labels, index=first, key="up_map_sheet")
        source, sheet = sheets[labels.index(pick)]
        for pos, c in enumerate(cols):
            if (c.source, c.sheet) != (source, sheet):
                continue
            options = column_mapping.field_choices(c.table)
            current = column_mapping.choice_of(c)
            note = f"（把握 {c.confidence:.0%}，{c.how}）" if c.field else "（未识别）"
            chosen[pos] = st.selectbox(
                f"第 {c.index + 1} 列“{c.header or '（无表头）'}”{note}",
                options,
                index=options.index(current) if current in options else 0,
                key=f"up_col_{labels.index(pick)}_{c.index}",
                help="样例：" + ("、".join(c.samples) or "（空）"),
            )
    outcomes: dict[str, str] = {}
    if r.unknown_outcomes:
        st.subheader("无法识别的处置情况")
        st.caption("这些原文目前按“未销号”统计。请逐条归类，归类会保存，以后导入同样的原文不再询问。")
        names = list(column_mapping.OUTCOME_LABELS)
        for i, (text, n) in enumerate(sorted(r.unknown_outcomes.items(), key=lambda kv: -kv[1])):
            picked = st.selectbox(
                f"“{text}”（{n} 个个案）",
                [column_mapping.OUTCOME_LABELS[k] for k in names],
                index=None,
                placeholder="请选择归类",
                key=f"up_outcome_{i}",
            )
            if picked:
                outcomes[text] = names[[column_mapping.OUTCOME_LABELS[k] for k in names].index(picked)]
    accepted: dict[str, str] = {}
    sha = candidate.meta.get("content_sha256", "")
    if r.blocking:
        st.subheader(f"阻断导入的问题（{len(r.open_blocking)} 个未处理）")
        for i, b in enumerate(r.blocking):
            if b.accepted:
                st.info(f"已确认接受：{literal(b.message)}")
                continue
            st.error(literal(b.message))
            if b.fix == "accept" or b.code.startswith(("cases:quarantined", "schools:", "sheet:")):
                if st.checkbox(
                    "我已知晓，接受这个后果并照此导入（将记入审计日志，并在各页说明中注明）",
                    key=f"up_accept_{i}",
                ):
                    accepted[column_mapping.acceptance_key(b.code, sha)] = (
                        f"{current_scope().user}：{b.message}"
                    )
    to_save = column_mapping.columns_to_save(cols, chosen)
    if st.button("保存列对应、归类和确认", key="up_map_save", icon=":material/save:"):
        current = load_settings(settings_dir).mapping
        save_mapping(
            settings_dir,
            columns=current.columns_dict() | to_save,
            outcomes=current.outcomes_dict() | outcomes,
            accepted=current.accepted_dict() | accepted,
        )
        audit_event(
            "mapping",
            file=candidate.meta.get("source_name", ""),
            columns=to_save,
            outcomes=outcomes,
            accepted=sorted(accepted),
        )
        for key in accepted:
            audit_event("accept_problem", file=candidate.meta.get("source_name", ""), problem=key)
        st.rerun()
    ready = not r.open_blocking
    if not ready:
        st.warning("还有会改变统计数字的问题没有处理：请在上面指定列、归类处置情况或确认接受，并点“保存”。")
    return ready
