"""督办单: numbered follow-up orders to a township, their feedback and status (待办 → 已反馈 → 已办结).

Who may do what (the scope is an `access.Scope`): a county admin creates, closes and may record feedback received
on paper; a county viewer reads everything; a township user reads and answers only its own townships' items;
anyone else sees nothing. Every change calls `audit(event, **fields)` inside its transaction, so a change whose
audit line cannot be written is rolled back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
from sqlalchemy import Engine, text

from ..access import Scope
from .db import CST, next_number, now, transaction

STATUSES = {"open": "待办", "answered": "已反馈", "closed": "已办结"}
DEFAULT_TEMPLATE = "督办〔{年}〕第{n}号"
Audit = Callable[..., object] | None


class DubanError(Exception):
    """A 督办单 action that cannot be done (unknown id, wrong status); the message is Chinese."""


class AccessDenied(DubanError):
    """The user's scope does not reach this 督办单 or this action."""


def today() -> dt.date:
    return dt.datetime.now(CST).date()


def _sees(scope: Scope, township: str) -> bool:
    return scope.county_wide or (scope.role == "township" and township in scope.townships)


def _require_admin(scope: Scope, what: str) -> None:
    if scope.role != "county_admin":
        raise AccessDenied(f"只有区县管理员可以{what}督办单。")


def add(
    engine: Engine,
    scope: Scope,
    *,
    township: str,
    item: str,
    due: dt.date,
    lead_unit: str = "",
    lead_person: str = "",
    partners: str = "",
    contact: str = "",
    content: str = "",
    cycle_days: int | None = None,
    children: pd.DataFrame | None = None,
    source: str = "manual",
    as_of: dt.date | None = None,
    template: str = DEFAULT_TEMPLATE,
    audit: Audit = None,
) -> dict:
    """Create a 督办单 numbered in its year's series; return {id, number}.

    `children` (from the overdue list): child_key, alt_key, label (already masked), school, step, days_since.
    """
    _require_admin(scope, "新建")
    if not township.strip() or not item.strip():
        raise DubanError("督办单必须填写乡镇和督办事项。")
    if cycle_days is not None and cycle_days < 1:
        raise DubanError("反馈周期必须是正整数天数。")
    year = (as_of or today()).year
    with transaction(engine) as conn:
        seq = next_number(conn, f"duban|{year}")
        number = template.format(年=year, n=seq, 乡镇=township)
        new_id = conn.execute(
            text(
                "INSERT INTO duban (year, seq, number, township, item, content, lead_unit, lead_person, partners,"
                " contact, due, cycle_days, status, source, as_of, created_at, created_by) VALUES (:year, :seq,"
                " :number, :township, :item, :content, :lead_unit, :lead_person, :partners, :contact, :due,"
                " :cycle, 'open', :source, :as_of, :at, :by) RETURNING id"
            ),
            {
                "year": year,
                "seq": seq,
                "number": number,
                "township": township.strip(),
                "item": item.strip(),
                "content": content,
                "lead_unit": lead_unit,
                "lead_person": lead_person,
                "partners": partners,
                "contact": contact,
                "due": due.isoformat(),
                "cycle": cycle_days,
                "source": source,
                "as_of": as_of.isoformat() if as_of else None,
                "at": now(),
                "by": scope.user,
            },
        ).scalar_one()
        if children is not None and len(children):
            rows = children.drop_duplicates("child_key")
            conn.execute(
                text(
                    "INSERT INTO duban_children (duban_id, child_key, alt_key, label, school, step, days_since)"
                    " VALUES (:d, :k, :a, :l, :s, :st, :ds)"
                ),
                [
                    {
                        "d": new_id,
                        "k": r.child_key,
                        "a": r.alt_key,
                        "l": str(r.label),
                        "s": str(r.school) if pd.notna(r.school) else "",
                        "st": str(r.step) if pd.notna(r.step) else "",
                        "ds": int(r.days_since) if pd.notna(r.days_since) else None,
                    }
                    for r in rows.itertuples(index=False)
                ],
            )
        if audit:
            audit(
                "duban_add",
                id=int(new_id),
                number=number,
                township=township,
                children=0 if children is None else len(children),
            )
    return {"id": int(new_id), "number": number}


def _row(conn, item_id: int) -> dict:
    row = conn.execute(text("SELECT * FROM duban WHERE id = :i"), {"i": item_id}).mappings().first()
    if row is None:
        raise DubanError(f"没有编号为 {item_id} 的督办单。")
    return dict(row)


def feedback(engine: Engine, scope: Scope, item_id: int, body: str, audit: Audit = None) -> dict:
    """Record one feedback on an item the scope may answer; 待办 becomes 已反馈. Returns {id, status}."""
    if not body.strip():
        raise DubanError("反馈内容不能为空。")
    with transaction(engine) as conn:
        row = _row(conn, item_id)
        if not _sees(scope, row["township"]) or scope.role not in ("township", "county_admin"):
            raise AccessDenied("无权反馈此督办单。")
        if row["status"] == "closed":
            raise DubanError(f"督办单 {row['number']} 已办结，不能再反馈。")
        conn.execute(
            text("INSERT INTO duban_feedback (duban_id, text, at, by_user) VALUES (:d, :t, :a, :u)"),
            {"d": item_id, "t": body.strip(), "a": now(), "u": scope.user},
        )
        conn.execute(text("UPDATE duban SET status = 'answered' WHERE id = :i"), {"i": item_id})
        if audit:
            audit(
                "duban_feedback", id=item_id, number=row["number"], township=row["township"], chars=len(body)
            )
    return {"id": item_id, "status": "answered"}


def close(engine: Engine, scope: Scope, item_id: int, audit: Audit = None) -> dict:
    """Close (办结) an answered item; only a county admin may. Returns {id, status}."""
    _require_admin(scope, "办结")
    with transaction(engine) as conn:
        row = _row(conn, item_id)
        if row["status"] == "closed":
            raise DubanError(f"督办单 {row['number']} 已经办结。")
        if row["status"] == "open":
            raise DubanError(f"督办单 {row['number']} 还没有收到反馈，不能办结。")
        conn.execute(
            text("UPDATE duban SET status = 'closed', closed_at = :a, closed_by = :u WHERE id = :i"),
            {"a": now(), "u": scope.user, "i": item_id},
        )
        if audit:
            audit("duban_close", id=item_id, number=row["number"], township=row["township"])
    return {"id": item_id, "status": "closed"}


def _overdue(row: dict, last_feedback: str | None, day: dt.date) -> str:
    """Why the item is 超时 at `day` (empty when it is not)."""
    if row["status"] == "closed":
        return ""
    if dt.date.fromisoformat(row["due"]) < day:
        return "已过交办时限仍未办结"
    if row["cycle_days"]:
        since = dt.date.fromisoformat((last_feedback or row["created_at"])[:10])
        if (day - since).days > int(row["cycle_days"]):
            return f"超过反馈周期（每{row['cycle_days']}天）未反馈"
    return ""


def items(engine: Engine, scope: Scope, day: dt.date | None = None) -> list[dict]:
    """The 督办单 the scope may see, newest first: id, number, township, item, due, status (Chinese), status_key,
    overdue, overdue_reason, lead_unit, lead_person, partners, contact, content, cycle_days, created_at, source,
    children (count), feedback: [{text, at, by}]."""
    day = day or today()
    if not (scope.county_wide or (scope.role == "township" and scope.townships)):
        return []
    with transaction(engine) as conn:
        rows = [dict(r) for r in conn.execute(text("SELECT * FROM duban ORDER BY id DESC")).mappings()]
        rows = [r for r in rows if _sees(scope, r["township"])]
        ids = [r["id"] for r in rows]
        fb = [dict(r) for r in conn.execute(text("SELECT * FROM duban_feedback ORDER BY id")).mappings()]
        counts = dict(
            conn.execute(text("SELECT duban_id, COUNT(*) FROM duban_children GROUP BY duban_id")).all()
        )
    by_item: dict[int, list[dict]] = {i: [] for i in ids}
    for f in fb:
        if f["duban_id"] in by_item:
            by_item[f["duban_id"]].append({"text": f["text"], "at": f["at"], "by": f["by_user"]})
    out = []
    for r in rows:
        feedbacks = by_item[r["id"]]
        reason = _overdue(r, feedbacks[-1]["at"] if feedbacks else None, day)
        out.append(
            {
                "id": int(r["id"]),
                "number": r["number"],
                "township": r["township"],
                "item": r["item"],
                "due": r["due"],
                "status": STATUSES[r["status"]],
                "status_key": r["status"],
                "overdue": bool(reason),
                "overdue_reason": reason,
                "lead_unit": r["lead_unit"],
                "lead_person": r["lead_person"],
                "partners": r["partners"],
                "contact": r["contact"],
                "content": r["content"],
                "cycle_days": r["cycle_days"],
                "created_at": r["created_at"],
                "source": r["source"],
                "children": int(counts.get(r["id"], 0)),
                "feedback": feedbacks,
            }
        )
    return out


def get(engine: Engine, scope: Scope, item_id: int, day: dt.date | None = None) -> dict:
    """One item as in `items`, refused (AccessDenied) outside the scope."""
    found = [i for i in items(engine, scope, day) if i["id"] == item_id]
    if not found:
        with transaction(engine) as conn:
            _row(conn, item_id)  # raises for an unknown id
        raise AccessDenied("无权查看此督办单。")
    return found[0]


def children(engine: Engine, scope: Scope, item_id: int) -> pd.DataFrame:
    """The children a 督办单 lists: child_key, alt_key, label (masked), school, step, days_since."""
    get(engine, scope, item_id)
    with transaction(engine) as conn:
        rows = conn.execute(
            text(
                "SELECT child_key, alt_key, label, school, step, days_since FROM duban_children"
                " WHERE duban_id = :i ORDER BY days_since DESC, label"
            ),
            {"i": item_id},
        ).all()
    return pd.DataFrame(rows, columns=["child_key", "alt_key", "label", "school", "step", "days_since"])


def lapses(engine: Engine, day: dt.date) -> pd.DataFrame:
    """Per township, for the 考核: late (first feedback after the 交办时限) and missing (past the 时限 with no
    feedback at all) 督办单 created on or before `day`: township, late, missing."""
    with transaction(engine) as conn:
        rows = conn.execute(
            text(
                "SELECT d.township, d.due, MIN(f.at) AS first FROM duban d LEFT JOIN duban_feedback f"
                " ON f.duban_id = d.id WHERE d.created_at <= :end GROUP BY d.id, d.township, d.due"
            ),
            {"end": f"{day.isoformat()}T23:59:59+08:00"},
        ).all()
    t = pd.DataFrame(rows, columns=["township", "due", "first"])
    if t.empty:
        return pd.DataFrame({"township": pd.Series(dtype="str"), "late": [], "missing": []})
    first = t["first"].str[:10]
    past_due = t["due"] < day.isoformat()
    t["missing"] = (past_due & (first.isna() | (first > day.isoformat()))).astype(int)
    t["late"] = (first.notna() & (first > t["due"]) & (first <= day.isoformat())).astype(int)
    return t.groupby("township", as_index=False)[["late", "missing"]].sum()
