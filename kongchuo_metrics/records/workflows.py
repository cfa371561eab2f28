"""The steps the pages and the CLI take with the ledger and the records database together: 督办单 from the overdue
list, the children a record names as they stand in the current ledger, delivered notices for the ladder, the
ranking with its previous period."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine

from .. import labels, metrics, privacy, ranking, schema
from ..access import Scope
from . import duban, notices
from .config import PaperSettings
from .keys import child_keys, locate

DUE_DAYS = 10  # a 督办单 made from the overdue list is due this many days after the day it is issued


def overdue_children(status: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """The overdue rows of `metrics.followup_status` as records name them: case_id, township, child_key, alt_key,
    label (masked name), school, step (Chinese), days_since."""
    late = status[status["overdue"]]
    keys = child_keys(cases[cases["case_id"].isin(late["case_id"])]).drop(columns=[], errors="ignore")
    out = late[["case_id", "township", "name", "school", "step", "days_since"]].merge(keys, on="case_id")
    out["label"] = privacy.mask_names(out["name"], "list")
    out["step"] = out["step"].map(schema.STEPS).astype("str")
    return out.drop(columns="name")


def overdue_by_township(status: pd.DataFrame) -> pd.DataFrame:
    """Overdue cases per township, most first: township, overdue, open."""
    g = status.groupby("township").agg(open=("case_id", "size"), overdue=("overdue", "sum")).reset_index()
    g["overdue"] = g["overdue"].astype("int64")
    return (
        g[g["overdue"] > 0]
        .sort_values(["overdue", "township"], ascending=[False, True])
        .reset_index(drop=True)
    )


def duban_from_overdue(
    engine: Engine,
    scope: Scope,
    status: pd.DataFrame,
    cases: pd.DataFrame,
    township: str,
    as_of: dt.date,
    paper: PaperSettings,
    audit=None,
) -> dict:
    """Create one 督办单 for a township listing its overdue children (masked); return {id, number}.

    Refused while the township has an unfinished 督办单 made from the overdue list (answer or close that one
    first: a second click must not issue a second number for the same children). Due DUE_DAYS after today."""
    kids = overdue_children(status[status["township"] == township], cases)
    if kids.empty:
        raise duban.DubanError(f"{township}在{metrics.cn_date(as_of)}没有超期个案，无需督办。")
    pending = [
        i
        for i in duban.items(engine, scope)
        if i["township"] == township and i["source"] == "overdue" and i["status_key"] != "closed"
    ]
    if pending:
        raise duban.DubanError(
            f"{township}已有未办结的超期督办单 {pending[0]['number']}（{pending[0]['status']}），"
            "请在该督办单上反馈或办结后再交办新的督办单。"
        )
    steps = "、".join(f"{k}{v}人" for k, v in kids["step"].value_counts().items())
    return duban.add(
        engine,
        scope,
        township=township,
        item=f"{township}超期未跟进个案督办（{len(kids)}人）",
        content=(
            f"截至{metrics.cn_date(as_of)}，{township}有{len(kids)}名未返校儿童超期未跟进（{steps}）。"
            "请于交办时限前逐一落实劝返责任人，开展联合家访或依法送达通知书，并反馈进展。"
        ),
        due=duban.today() + dt.timedelta(days=DUE_DAYS),
        lead_unit=f"{township}人民政府",
        partners="县教育局、相关学校",
        children=kids,
        source="overdue",
        as_of=as_of,
        template=paper.duban_template,
        audit=audit,
    )


def where_now(refs: pd.DataFrame, cases: pd.DataFrame, as_of) -> pd.Series:
    """Each stored child (child_key, alt_key) in the current ledger, in words: 未返校 / 已销号：… / 已不在当前台账."""
    found = locate(refs, cases)
    by_id = cases.set_index("case_id")
    day = pd.Timestamp(as_of)
    closed = found.map(by_id["closed"]) if len(by_id) else pd.Series(pd.NaT, index=refs.index)
    outcome = found.map(by_id["outcome_category"]).map(schema.OUTCOMES) if len(by_id) else closed
    state = pd.Series("未返校", index=refs.index, dtype="str")
    state = state.mask(closed <= day, "已销号：" + outcome.fillna("").astype("str"))
    return state.mask(found.isna(), "已不在当前台账")


def shown_labels(labels: pd.Series, mode: str = "list") -> pd.Series:
    """Stored (list-masked) names as the view shows them: 张*三 in lists, surname only (张**) in 汇报模式."""
    return (labels.astype("str").str[0] + "**").where(labels.notna()) if mode == "briefing" else labels


def duban_children(
    engine: Engine, scope: Scope, item_id: int, cases: pd.DataFrame, as_of, mode: str = "list"
) -> pd.DataFrame:
    """The children of a 督办单 as shown: label, school, step, days_since (when made), now (current state)."""
    kids = duban.children(engine, scope, item_id)
    kids["label"] = shown_labels(kids["label"], mode)
    kids["now"] = where_now(kids, cases, as_of)
    return kids[["label", "school", "step", "days_since", "now"]]


def duban_children_table(kids: pd.DataFrame) -> pd.DataFrame:
    """`duban_children` with the page's Chinese headers (学生, 学校, 所处环节, 未跟进天数, 当前状态)."""
    return kids.rename(columns=labels.DUBAN_CHILD_LABELS)


def delivered_followups(engine: Engine, scope: Scope, cases: pd.DataFrame) -> pd.DataFrame:
    """Delivered notices within the scope as follow-up rows for `metrics.followup_status`."""
    return notices.as_followups(notices.listing(engine, scope), cases)


def notice_listing(engine: Engine, scope: Scope, cases: pd.DataFrame, as_of) -> pd.DataFrame:
    """The scope's notices with the child's current state: id, kind, number, township, school, label, issued_on,
    deadline_days, delivered_on, recipient, place, now."""
    t = notices.listing(engine, scope)
    t["now"] = where_now(t[["child_key", "alt_key"]], cases, as_of) if len(t) else pd.Series(dtype="str")
    return t.drop(columns=["child_key", "alt_key", "issued_by"])


def notice_child(status: pd.DataFrame, cases: pd.DataFrame, case_id: str) -> dict:
    """What `notices.issue` needs for one open case of `status`, and what the Word file prints (masked)."""
    row = status[status["case_id"] == case_id]
    if row.empty:
        raise notices.NoticeError(f"个案 {case_id} 在统计日期没有未返校记录，不能发出通知书。")
    keys = child_keys(cases[cases["case_id"] == case_id]).iloc[0]
    r = row.iloc[0]
    return {
        "case_id": case_id,
        "township": r["township"],
        "school": r["school"] if pd.notna(r["school"]) else "",
        "grade": r["grade"] if pd.notna(r["grade"]) else "",
        "label": privacy.mask_names(row["name"], "list").iloc[0],
        "registered": metrics.cn_date(r["registered"]) if pd.notna(r["registered"]) else "",
        "step": r["step"],
        "child_key": keys["child_key"],
        "alt_key": keys["alt_key"],
    }


def ranking_table(
    ledger,
    as_of,
    rules: ranking.Rules,
    settings,
    engine: Engine | None,
    delivered: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The township ranking at `as_of` with its change against the previous period.

    The previous period is the ranking the county saved (published) most recently before `as_of`, when one was
    saved on or after the ledger's previous report date: the ranks the townships were told, even if the rules or
    the ledger changed since. Otherwise the ranking is recomputed at the previous report date. `attrs["previous"]`
    says which: {"date" (ISO text), "source": "saved" | "recomputed", "saved_by"}, or None when there is no earlier period.
    """
    day = pd.Timestamp(as_of)
    earlier = [d for d in ledger.report_dates if d < day]
    previous = earlier[-1] if earlier else None

    def at(when, start):
        lapses = duban.lapses(engine, pd.Timestamp(when).date()) if engine is not None else None
        return ranking.township_scores(
            ledger, when, rules, settings.targets, settings.overdue_days, start, lapses, delivered
        )

    current = at(day, previous)
    saved = saved_ranking(engine, day.date()) if engine is not None else None
    if saved is not None and (previous is None or saved["as_of"] >= previous):
        out = ranking.with_change(current, saved["table"])
        out.attrs["previous"] = {
            "date": saved["as_of"].date().isoformat(),
            "source": "saved",
            "saved_by": saved["saved_by"],
        }
        return out
    if previous is None:
        out = ranking.with_change(current, None)
        out.attrs["previous"] = None
        return out
    before = earlier[-2] if len(earlier) > 1 else None
    out = ranking.with_change(current, at(previous, before))
    out.attrs["previous"] = {"date": previous.date().isoformat(), "source": "recomputed", "saved_by": ""}
    return out


def saved_ranking(engine: Engine, before: dt.date) -> dict | None:
    """The most recent saved ranking snapshot strictly before `before`: {as_of, saved_by, table[township, rank]}."""
    from sqlalchemy import text

    with engine.connect() as conn:
        last = conn.execute(
            text("SELECT MAX(as_of) FROM ranking_snapshots WHERE as_of < :d"), {"d": before.isoformat()}
        ).scalar()
        if last is None:
            return None
        rows = conn.execute(
            text("SELECT township, rank, saved_by FROM ranking_snapshots WHERE as_of = :d"), {"d": last}
        ).all()
    table = pd.DataFrame(rows, columns=["township", "rank", "saved_by"])
    return {"as_of": pd.Timestamp(last), "saved_by": str(table["saved_by"].iloc[0]), "table": table}


def duban_table(items: list[dict]) -> pd.DataFrame:
    """督办单 as a table with Chinese headers: 文号, 乡镇, 督办事项, 牵头单位, 交办时限, 状态, 超时, 反馈次数, 涉及儿童."""
    cols = ["文号", "乡镇", "督办事项", "牵头单位", "交办时限", "状态", "超时", "反馈次数", "涉及儿童"]
    return pd.DataFrame(
        [
            [
                i["number"],
                i["township"],
                i["item"],
                i["lead_unit"],
                i["due"],
                i["status"],
                i["overdue_reason"] or "否",
                len(i["feedback"]),
                i["children"],
            ]
            for i in items
        ],
        columns=cols,
    )


def notice_counts(listing: pd.DataFrame) -> pd.DataFrame:
    """Notices issued and delivered per township (both kinds side by side), with Chinese headers."""
    c = notices.counts(listing)
    if c.empty:
        return pd.DataFrame(columns=["乡镇"])
    wide = c.pivot_table(index="township", columns="kind", values=["issued", "delivered"], fill_value=0)
    wide.columns = [f"{kind}{'已发出' if what == 'issued' else '已送达'}" for what, kind in wide.columns]
    order = [f"{k}{w}" for k in notices.KINDS for w in ("已发出", "已送达") if f"{k}{w}" in wide.columns]
    return wide[order].astype("int64").reset_index().rename(columns={"township": "乡镇"})


def notice_table(listing: pd.DataFrame, mode: str = "list") -> pd.DataFrame:
    """The notice list as shown (recipient masked like a guardian's name, hidden in 汇报模式): Chinese headers."""
    recipient = privacy.mask_people(listing["recipient"]).fillna("")
    return pd.DataFrame(
        {
            "文号": listing["number"],
            "种类": listing["kind"],
            "乡镇": listing["township"],
            "学校": listing["school"],
            "学生": shown_labels(listing["label"], mode),
            "发文日期": listing["issued_on"],
            "送达日期": listing["delivered_on"].fillna("未送达"),
            "受送达人": recipient if mode != "briefing" else "",
            "当前状态": listing["now"],
        }
    )


def feedback_table(feedback: list[dict]) -> pd.DataFrame:
    """The feedback history of one 督办单: 反馈时间, 反馈人, 反馈内容."""
    return pd.DataFrame(
        {
            "反馈时间": [f["at"][:16].replace("T", " ") for f in feedback],
            "反馈人": [f["by"] for f in feedback],
            "反馈内容": [f["text"] for f in feedback],
        }
    )


def duban_docx(
    engine: Engine, scope: Scope, item_id: int, cases: pd.DataFrame, as_of, district: str, issuer: str
) -> bytes:
    """The Word 督办单 of one item, its children shown as they stand in the current ledger."""
    from ..documents import orders

    item = duban.get(engine, scope, item_id)
    kids = duban_children(engine, scope, item_id, cases, as_of)
    rows = [
        {"label": r.label, "school": r.school, "step": r.step, "present": r.now} for r in kids.itertuples()
    ]
    return orders.duban_docx(item, district, rows, issuer)


def save_ranking(engine: Engine, scope: Scope, table: pd.DataFrame, as_of: dt.date, audit=None) -> int:
    """Store (or replace) the ranking snapshot of `as_of`; county admins only. Returns the townships saved."""
    import json

    from sqlalchemy import text

    from .db import now, transaction

    if scope.role != "county_admin":
        raise duban.AccessDenied("只有区县管理员可以保存考核结果。")
    rows = [
        {
            "d": as_of.isoformat(),
            "t": r["township"],
            "s": float(r["score"]),
            "r": int(r["rank"]),
            "v": int(bool(r["veto"])),
            "c": json.dumps({k: float(r[k]) for k in ranking.COMPONENTS}, ensure_ascii=False),
            "at": now(),
            "by": scope.user,
        }
        for r in table.to_dict("records")
    ]
    with transaction(engine) as conn:
        conn.execute(text("DELETE FROM ranking_snapshots WHERE as_of = :d"), {"d": as_of.isoformat()})
        conn.execute(
            text(
                "INSERT INTO ranking_snapshots (as_of, township, score, rank, veto, components, saved_at, saved_by)"
                " VALUES (:d, :t, :s, :r, :v, :c, :at, :by)"
            ),
            rows,
        )
        if audit:
            audit("ranking_save", as_of=as_of.isoformat(), townships=len(rows))
    return len(rows)


def notice_docx(
    engine: Engine, scope: Scope, notice_id: int, cases: pd.DataFrame, full_names: bool = False
) -> bytes:
    """The Word notice + 送达回证 of a stored notice. The child's name is the masked label unless `full_names`
    (an unmasked, audited view) and the child is still in the ledger."""
    from ..documents import orders

    listing = notices.listing(engine, scope)
    row = listing[listing["id"] == notice_id]
    if row.empty:
        raise notices.NoticeError("无权查看此通知书。")
    n = row.iloc[0]
    case_id = locate(row[["child_key", "alt_key"]], cases).iloc[0]
    case = cases[cases["case_id"] == case_id]
    c = case.iloc[0] if len(case) else None
    name = c["name"] if full_names and c is not None and pd.notna(c["name"]) else n["label"]
    child = {
        "name": name,
        "school": n["school"],
        "grade": (c["grade"] if c is not None and pd.notna(c["grade"]) else ""),
        "registered": metrics.cn_date(c["registered"]) if c is not None and pd.notna(c["registered"]) else "",
    }
    issued = metrics.cn_date(pd.Timestamp(n["issued_on"]))
    return orders.notice_docx({k: (None if pd.isna(v) else v) for k, v in n.items()}, child, issued)


def with_notices(ledger, delivered: pd.DataFrame):
    """The ledger with delivered notices added to its follow-up log (for the pack and the CLI, so that every
    figure of steps and overdue cases agrees with the pages)."""
    from dataclasses import replace

    if delivered is None or delivered.empty:
        return ledger
    return replace(ledger, followups=pd.concat([ledger.followups, delivered], ignore_index=True))


def duban_brief(items: list[dict], townships: tuple[str, ...] = ()) -> pd.DataFrame:
    """The 督办 items a pack or Word 通报 opens with (of the selected townships, all when none): 文号, 乡镇,
    督办事项, 交办时限, 状态, 超时, 反馈次数. Feedback text is free text and stays out of briefing papers."""
    chosen = [i for i in items if not townships or i["township"] in townships]
    return duban_table(chosen)[["文号", "乡镇", "督办事项", "交办时限", "状态", "超时", "反馈次数"]]
