"""Numbered notices to a child's guardians (劝学通知书, 限期复学通知书) and their delivery (送达回证).

A number is taken from the template's series (e.g. `{乡镇}控辍通字〔{年}〕第{n}号`: one series per township and
year) in the same transaction that stores the notice, so numbers have no gaps or repeats under concurrent issue.
Recording the delivery date is what makes a notice count: `as_followups` turns delivered notices into ladder
steps with their return deadline for `metrics.followup_status`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
from sqlalchemy import Engine, text

from ..access import Scope
from ..privacy import mask_people
from .db import next_number, now, transaction
from .keys import locate

DEFAULT_TEMPLATE = "{乡镇}控辍通字〔{年}〕第{n}号"
# kind -> (ladder step it puts the case on, default days to return, the steps a case may be at to receive it)
KINDS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "劝学通知书": ("school_visit", 7, ("none", "school_visit", "joint_visit")),
    "限期复学通知书": ("notice", 15, ("school_visit", "joint_visit", "notice")),
}
COLUMNS = [
    "id",
    "kind",
    "number",
    "township",
    "school",
    "label",
    "issued_on",
    "deadline_days",
    "delivered_on",
    "recipient",
    "place",
    "issued_by",
    "child_key",
    "alt_key",
]


class NoticeError(Exception):
    """A notice that cannot be issued or delivered; the message is Chinese."""


def _may_act(scope: Scope, township: str, school: str = "", kind: str = "") -> bool:
    """County admins and the child's township act on both kinds; a school issues and delivers its own
    劝学通知书 (the school step of the ladder)."""
    return (
        scope.role == "county_admin"
        or (scope.role == "township" and township in scope.townships)
        or (scope.role == "school" and kind == "劝学通知书" and school in scope.schools)
    )


def issue(
    engine: Engine,
    scope: Scope,
    *,
    kind: str,
    child: dict,
    as_of: dt.date,
    template: str = DEFAULT_TEMPLATE,
    deadline_days: int | None = None,
    audit: Callable[..., object] | None = None,
) -> dict:
    """Issue a notice for one child and return {id, number, deadline_days}.

    `child`: township, school, label (masked name), child_key, alt_key, step (current ladder step).
    """
    if kind not in KINDS:
        raise NoticeError(f"通知书种类只能是：{'、'.join(KINDS)}")
    step, default_days, allowed = KINDS[kind]
    township = str(child.get("township") or "")
    if not _may_act(scope, township, str(child.get("school") or ""), kind):
        raise NoticeError(f"无权为{township or '该乡镇'}的个案发出{kind}。")
    if str(child.get("step") or "none") not in allowed:
        from ..schema import STEPS

        raise NoticeError(
            f"该个案当前处于“{STEPS.get(child.get('step'), child.get('step'))}”环节，不能发出{kind}"
            f"（{kind}适用于：{'、'.join(STEPS[s] for s in allowed)}）。"
        )
    days = int(deadline_days or default_days)
    series = template.format(乡镇=township, 年=as_of.year, n="#")
    with transaction(engine) as conn:
        seq = next_number(conn, f"notice|{series}")
        number = template.format(乡镇=township, 年=as_of.year, n=seq)
        new_id = conn.execute(
            text(
                "INSERT INTO notices (kind, series, seq, number, township, school, child_key, alt_key, label,"
                " issued_on, deadline_days, issued_at, issued_by) VALUES (:kind, :series, :seq, :number, :t, :s,"
                " :k, :a, :l, :on, :days, :at, :by) RETURNING id"
            ),
            {
                "kind": kind,
                "series": series,
                "seq": seq,
                "number": number,
                "t": township,
                "s": str(child.get("school") or ""),
                "k": child["child_key"],
                "a": child["alt_key"],
                "l": str(child.get("label") or ""),
                "on": as_of.isoformat(),
                "days": days,
                "at": now(),
                "by": scope.user,
            },
        ).scalar_one()
        if audit:
            audit("notice_issue", id=int(new_id), number=number, kind=kind, township=township)
    return {"id": int(new_id), "number": number, "deadline_days": days}


def deliver(
    engine: Engine,
    scope: Scope,
    notice_id: int,
    delivered_on: dt.date,
    recipient: str,
    place: str,
    audit: Callable[..., object] | None = None,
) -> dict:
    """Record the 送达回证 of a notice (once); return {id, number, delivered_on, deadline}."""
    if not recipient.strip():
        raise NoticeError("请填写受送达人。")
    with transaction(engine) as conn:
        row = conn.execute(text("SELECT * FROM notices WHERE id = :i"), {"i": notice_id}).mappings().first()
        if row is None:
            raise NoticeError(f"没有编号为 {notice_id} 的通知书。")
        if not _may_act(scope, row["township"], row["school"], row["kind"]):
            raise NoticeError("无权登记此通知书的送达。")
        if row["delivered_on"]:
            raise NoticeError(f"{row['number']} 已于 {row['delivered_on']} 送达，不能重复登记。")
        if delivered_on < dt.date.fromisoformat(row["issued_on"]):
            raise NoticeError("送达日期不能早于发文日期。")
        conn.execute(
            text(
                "UPDATE notices SET delivered_on = :d, recipient = :r, place = :p, delivered_by = :u,"
                " delivered_at = :a WHERE id = :i"
            ),
            {
                "d": delivered_on.isoformat(),
                "r": recipient.strip(),
                "p": place.strip(),
                "u": scope.user,
                "a": now(),
                "i": notice_id,
            },
        )
        if audit:
            audit("notice_deliver", id=notice_id, number=row["number"], township=row["township"])
    deadline = delivered_on + dt.timedelta(days=int(row["deadline_days"]))
    return {
        "id": notice_id,
        "number": row["number"],
        "delivered_on": delivered_on.isoformat(),
        "deadline": deadline.isoformat(),
    }


def listing(engine: Engine, scope: Scope) -> pd.DataFrame:
    """The notices the scope may see, newest first, in COLUMNS (label is the masked name)."""
    with transaction(engine) as conn:
        rows = conn.execute(text(f"SELECT {', '.join(COLUMNS)} FROM notices ORDER BY id DESC")).all()
    t = pd.DataFrame(rows, columns=COLUMNS)
    if scope.county_wide:
        return t
    if scope.role == "township":
        return t[t["township"].isin(scope.townships)].reset_index(drop=True)
    if scope.role == "school":
        return t[t["school"].isin(scope.schools)].reset_index(drop=True)
    return t.iloc[0:0]


def counts(notices: pd.DataFrame) -> pd.DataFrame:
    """Notices issued and delivered per township and kind: township, kind, issued, delivered."""
    if notices.empty:
        return pd.DataFrame(columns=["township", "kind", "issued", "delivered"])
    t = notices.assign(is_delivered=notices["delivered_on"].notna().astype(int))
    return (
        t.groupby(["township", "kind"], as_index=False)
        .agg(issued=("id", "size"), delivered=("is_delivered", "sum"))
        .sort_values(["township", "kind"])
        .reset_index(drop=True)
    )


def as_followups(notices: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """Delivered notices as follow-up rows of the current ledger's cases: case_id, visit_date (delivery),
    step_level, deadline (delivery + days), step, method, person, result. Children no longer in the ledger drop
    out here (their notices stay in the database and in `listing`)."""
    done = notices[notices["delivered_on"].notna()]
    case_id = locate(done[["child_key", "alt_key"]], cases) if len(done) else pd.Series(dtype="str")
    delivered = pd.to_datetime(done["delivered_on"], format="%Y-%m-%d").astype("datetime64[s]")
    days = pd.to_timedelta(done["deadline_days"].astype("int64"), unit="D")
    out = pd.DataFrame(
        {
            "case_id": case_id.astype("str"),
            "visit_date": delivered,
            "step_level": done["kind"].map(lambda k: KINDS[k][0]).astype("str"),
            "deadline": (delivered + days).astype("datetime64[s]"),
            "step": done["kind"].astype("str"),
            "method": ("送达" + done["kind"] + " " + done["number"]).astype("str"),
            # the recipient is the guardian: masked as guardians are in every list (王*), never the full name
            "person": mask_people(done["recipient"].astype("str")),
            "result": pd.Series("已送达", index=done.index, dtype="str"),
        }
    )
    return out[out["case_id"].notna() & (out["case_id"] != "<NA>")].reset_index(drop=True)


def delivery_token(engine: Engine) -> str:
    """Changes whenever a notice is delivered (a cache key for figures that use deliveries)."""
    with transaction(engine) as conn:
        n, last = conn.execute(
            text("SELECT COUNT(*), MAX(delivered_at) FROM notices WHERE delivered_on IS NOT NULL")
        ).one()
    return f"{n}|{last}"
