"""The comparisons (三比对) of the ledger with the uploaded lists: pushed statuses, findings and figures.

All joins are on the integer ID key (lists.id_keys): membership tests with sorted int64 arrays, never text.
Counts of children are distinct ID keys; the red-line figures count open cases, as the ledger's own do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .. import parsers, schema
from ..ingest import Ledger
from ..privacy import SUPPRESSED
from .lists import ID_STATES, ListTable, id_keys

# pushed-list statuses in their order of precedence: the first that holds is the child's status
PUSHED_STATUSES = {
    "in_ledger": "已在台账",
    "enrolled": "核实在读",
    "special_placed": "残疾已安置",
    "visit": "需入户核查",
}
PRECEDENCE = tuple(PUSHED_STATUSES)
FINDINGS = {
    "poverty_unflagged": "在脱贫户/监测户名单中但台账未标注建档立卡",
    "returned_not_enrolled": "台账已销号返校但学籍不在读",
    "ledger_no_xueji": "台账个案没有学籍记录",
    "school_age_no_xueji": "户籍适龄儿童没有学籍记录",
}
# which lists each figure needs (its key is null in the summary when one is missing)
NEEDS = {
    "pushed": ("pushed",),
    "poverty_unflagged": ("poverty",),
    "open_poor_corrected": ("poverty",),
    "returned_not_enrolled": ("xueji",),
    "ledger_no_xueji": ("xueji",),
    "school_age_no_xueji": ("huji", "xueji"),
}
# 学生状态 values that mean the child is at school now (在读, 在校, 正常); 不在读/未在校 do not
_ENROLLED = "在读|在校|^正常"
_NEGATED = "不|未|非|否"

FINDING_COLUMNS = ["finding", "township", "village", "school", "name", "case_id", "detail", "list_row"]
PUSHED_COLUMNS = [
    "position",
    "source_row",
    "sheet",
    "township",
    "school",
    "name",
    "push_reason",
    "status",
    "detail",
    "case_id",
    "id_state",
]


def school_year(as_of) -> int:
    """Y of the school year containing `as_of` (it starts on 1 September of Y)."""
    day = pd.Timestamp(as_of)
    return day.year if day.month >= 9 else day.year - 1


def school_age_window(as_of) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The birth dates of school age in that year: (Y−15)-09-01 to (Y−6)-08-31, both included."""
    y = school_year(as_of)
    return pd.Timestamp(y - 15, 9, 1), pd.Timestamp(y - 6, 8, 31)


def enrolled(status: pd.Series) -> pd.Series:
    """True where a 学生状态 says the child is at school now."""
    text = status.astype("str")
    yes = text.str.contains(_ENROLLED, regex=True).fillna(False).astype(bool)
    return yes & ~text.str.contains(_NEGATED, regex=True).fillna(False).astype(bool)


def _isin(keys: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """keys ∈ pool for int64 keys; -1 (no valid ID) is never a member."""
    return np.isin(keys, pool[pool >= 0]) & (keys >= 0)


def _first_by_key(frame: pd.DataFrame, keys: np.ndarray, column: str) -> pd.Series:
    """For each key, `column` of the first row of `frame` with that id_key and a value (missing otherwise)."""
    if column not in frame:
        return pd.Series(pd.NA, index=range(len(keys)), dtype="str")
    have = frame[(frame["id_key"] >= 0) & frame[column].notna()]
    have = have.drop_duplicates("id_key")
    pos = pd.Index(have["id_key"].to_numpy()).get_indexer(keys)
    values = have[column].astype("str").array.take(pos, allow_fill=True)
    return pd.Series(values, dtype="str")


@dataclass(frozen=True)
class Reconciliation:
    """One check run: the pushed list with statuses, the findings, the red-line figures, what could not match."""

    as_of: pd.Timestamp
    given: tuple[str, ...]
    pushed: pd.DataFrame | None  # one row per pushed data row, in the list's order (PUSHED_COLUMNS + keys)
    findings: dict[str, pd.DataFrame | None]  # FINDING_COLUMNS + id_key, id_number
    open_poor_ledger: int
    open_poor_corrected: int | None
    unmatchable: dict[str, int]
    unmatchable_rows: pd.DataFrame  # list, source_row, name, township, id_state
    red_line: pd.DataFrame = field(default_factory=pd.DataFrame)  # township, open_poor[, open_poor_corrected]
    digests: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what could not be checked and why (shown before the figures)

    def pushed_counts(self) -> dict[str, int] | None:
        """The four status counts of the pushed list (Chinese status names), or None without the list."""
        if self.pushed is None:
            return None
        counts = self.pushed["status"].value_counts()
        return {label: int(counts.get(key, 0)) for key, label in PUSHED_STATUSES.items()}

    @property
    def empty(self) -> bool:
        """True when nothing was found and no pushed child is in view (an empty selection)."""
        frames = [self.pushed, *self.findings.values(), self.unmatchable_rows]
        return all(f is None or len(f) == 0 for f in frames) and not self.open_poor_corrected

    def count(self, finding: str) -> int | None:
        frame = self.findings.get(finding)
        return None if frame is None else len(frame)

    def summary(self) -> dict:
        """The figures as the CLI's JSON: exactly the documented keys, null where a list was not given."""
        return {
            "pushed": self.pushed_counts(),
            "poverty_unflagged": self.count("poverty_unflagged"),
            "open_poor_corrected": self.open_poor_corrected,
            "returned_not_enrolled": self.count("returned_not_enrolled"),
            "ledger_no_xueji": self.count("ledger_no_xueji"),
            "school_age_no_xueji": self.count("school_age_no_xueji"),
            "unmatchable": dict(self.unmatchable),
        }


def _children(cases: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The ledger's children at `as_of`: the latest episode registered by then, with its integer key."""
    upto = cases[(cases["registered"] <= as_of).fillna(False).astype(bool)]
    keys, _, _, _ = id_keys(upto["id_number"]) if len(upto) else (np.zeros(0, np.int64), None, None, None)
    upto = upto.assign(id_key=keys)
    upto = upto.sort_values(["registered", "case_id"], kind="stable")
    valid = upto[upto["id_key"] >= 0].drop_duplicates("id_key", keep="last")
    return valid


def _finding(name: str, rows: pd.DataFrame, detail: pd.Series, list_row=None) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "finding": name,
            "township": rows.get("township"),
            "village": rows.get("village"),
            "school": rows.get("school"),
            "name": rows.get("name"),
            "case_id": rows.get("case_id"),
            "detail": detail.to_numpy() if len(rows) else [],
            "list_row": list_row if list_row is not None else pd.NA,
            "id_key": rows["id_key"].to_numpy(),
            "id_number": rows.get("id_number"),
        },
        index=rows.index,
    )
    return out.reset_index(drop=True)


def _special_pool(ledger: Ledger, special: ListTable | None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Keys in any special-education register (ledger's table and the uploaded one), keys placed, and rows."""
    parts = []
    sp = ledger.special_ed
    if len(sp):
        keys, _, _, _ = id_keys(sp["id_number"])
        parts.append(
            sp.assign(id_key=keys)[["id_key", "township", "school", "placement", "placement_category"]]
        )
    if special is not None:
        f = special.frame
        parts.append(f.reindex(columns=["id_key", "township", "school", "placement", "placement_category"]))
    if not parts:
        empty = np.zeros(0, np.int64)
        return empty, empty, pd.DataFrame(columns=["id_key", "township", "school", "placement"])
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[rows["id_key"] >= 0]
    cat = rows["placement_category"]
    placed = cat.notna() & cat.ne("unplaced")
    return rows["id_key"].to_numpy(), rows.loc[placed.fillna(False).astype(bool), "id_key"].to_numpy(), rows


def reconcile(ledger: Ledger, lists: dict[str, ListTable], as_of) -> Reconciliation:
    """Check the ledger against the given lists (kinds of schema.LIST_KINDS) at `as_of`."""
    day = pd.Timestamp(as_of).normalize()
    cases = ledger.cases
    children = _children(cases, day)
    child_keys = children["id_key"].to_numpy()
    xueji, poverty, pushed_list = lists.get("xueji"), lists.get("poverty"), lists.get("pushed")
    huji, special = lists.get("huji"), lists.get("special")
    special_all, special_placed, special_rows = _special_pool(ledger, special)
    findings: dict[str, pd.DataFrame | None] = dict.fromkeys(FINDINGS)

    notes: list[str] = []
    if xueji is not None and "enrol_status" not in xueji.frame:
        notes.append(
            f"{xueji.label}（{xueji.source}）没有“学生状态”列，无法判断是否在读：不计算“台账已销号返校但学籍不在读”，"
            "推送名单中也不会有“核实在读”。请导出带学生状态的学籍名单。"
        )
    if xueji is not None:
        xf = xueji.frame
        x_keys = xf["id_key"].to_numpy()
        at_school = (
            enrolled(xf["enrol_status"]).to_numpy() if "enrol_status" in xf else np.zeros(len(xf), bool)
        )
        x_enrolled = x_keys[at_school]
        has_record = _isin(child_keys, x_keys)
        is_enrolled = _isin(child_keys, x_enrolled)
        closed = (children["closed"] <= day).fillna(False).astype(bool).to_numpy()
        returned = children["outcome_category"].isin(schema.RETURN_OUTCOMES).to_numpy() & closed
        hit = returned & has_record & ~is_enrolled
        rows = children[hit]
        status = _first_by_key(xf, rows["id_key"].to_numpy(), "enrol_status").fillna("未填写")
        school = _first_by_key(xf, rows["id_key"].to_numpy(), "school").fillna("")
        if "enrol_status" in xf:
            findings["returned_not_enrolled"] = _finding(
                "returned_not_enrolled", rows, "学籍状态：" + status + "（" + school + "）"
            )
        rows = children[~has_record]
        outcome = rows["outcome_category"].map(schema.OUTCOMES).fillna("未销号")
        findings["ledger_no_xueji"] = _finding("ledger_no_xueji", rows, "台账状态：" + outcome)

    poor_keys = np.zeros(0, np.int64)
    open_cases = cases[(cases["registered"] <= day) & ~(cases["closed"] <= day)]
    open_cases = open_cases[open_cases.notna().any(axis=1)] if len(open_cases) else open_cases
    is_poor_open = open_cases["poor"].eq(True).fillna(False).astype(bool).to_numpy()
    open_poor_ledger = int(is_poor_open.sum())
    open_poor_corrected = None
    if poverty is not None:
        pf = poverty.frame
        poor_keys = pf["id_key"].to_numpy()
        flagged = children["poor"].eq(True).fillna(False).astype(bool).to_numpy()
        hit = ~flagged & _isin(child_keys, poor_keys)
        rows = children[hit]
        kind = _first_by_key(pf, rows["id_key"].to_numpy(), "poverty_kind").fillna("在名单中")
        findings["poverty_unflagged"] = _finding("poverty_unflagged", rows, "名单属性：" + kind)
        open_keys, _, _, _ = (
            id_keys(open_cases["id_number"]) if len(open_cases) else (np.zeros(0, np.int64),) * 4
        )
        corrected = is_poor_open | _isin(np.asarray(open_keys), poor_keys)
        open_poor_corrected = int(corrected.sum())
    red = pd.DataFrame({"township": open_cases["township"].to_numpy(), "open_poor": is_poor_open.astype(int)})
    if open_poor_corrected is not None:
        red["open_poor_corrected"] = corrected.astype(int)
    red_line = red.groupby("township", dropna=False).sum().reset_index()

    if huji is not None and xueji is not None:
        hf = huji.frame
        start, end = school_age_window(day)
        birth = hf["birth_date"]
        in_age = ((birth >= start) & (birth <= end)).fillna(False).astype(bool).to_numpy()
        h_keys = hf["id_key"].to_numpy()
        all_case_keys = children["id_key"].to_numpy()
        hit = in_age & (h_keys >= 0)
        hit &= ~_isin(h_keys, xueji.frame["id_key"].to_numpy())
        hit &= ~_isin(h_keys, all_case_keys) & ~_isin(h_keys, special_all)
        rows = hf[hit].drop_duplicates("id_key")
        age = (school_year(day) - rows["birth_date"].dt.year).astype("Int64").astype("str")
        findings["school_age_no_xueji"] = _finding(
            "school_age_no_xueji",
            rows,
            "出生于" + rows["birth_date"].dt.strftime("%Y年%m月") + "，约" + age + "岁",
            rows["source_row"].to_numpy(),
        )

    pushed = None
    if pushed_list is not None:
        pushed = _pushed_statuses(
            pushed_list, children, xueji, special_placed, special_rows, poverty, huji, ledger
        )

    unmatchable = {kind: t.unmatchable for kind, t in lists.items()}
    ledger_keys, _, _, _ = id_keys(cases["id_number"]) if len(cases) else (np.zeros(0, np.int64),) * 4
    unmatchable["ledger"] = int((np.asarray(ledger_keys) < 0).sum())
    bad = [
        t.frame[t.frame["id_key"] < 0]
        .reindex(columns=["township", "name", "source_row", "id_state"])
        .assign(list=t.label)
        for t in lists.values()
    ]
    unmatchable_rows = (
        pd.concat(bad, ignore_index=True)
        if bad
        else pd.DataFrame(columns=["township", "name", "source_row", "id_state", "list"])
    )
    return Reconciliation(
        day,
        tuple(k for k in schema.LIST_KINDS if k in lists),
        pushed,
        findings,
        open_poor_ledger,
        open_poor_corrected,
        unmatchable,
        unmatchable_rows[["list", "source_row", "township", "name", "id_state"]],
        red_line,
        {kind: t.digest for kind, t in lists.items()},
        tuple(notes),
    )


def _pushed_statuses(
    pushed: ListTable,
    children: pd.DataFrame,
    xueji: ListTable | None,
    special_placed: np.ndarray,
    special_rows: pd.DataFrame,
    poverty: ListTable | None,
    huji: ListTable | None,
    ledger: Ledger,
) -> pd.DataFrame:
    pf = pushed.frame
    keys = pf["id_key"].to_numpy()
    child_keys = children["id_key"].to_numpy()
    checks = {
        "in_ledger": _isin(keys, child_keys),
        "enrolled": np.zeros(len(pf), bool),
        "special_placed": _isin(keys, special_placed),
    }
    if xueji is not None and "enrol_status" in xueji.frame:
        xf = xueji.frame
        checks["enrolled"] = _isin(keys, xf["id_key"].to_numpy()[enrolled(xf["enrol_status"]).to_numpy()])
    status = np.full(len(pf), "visit", dtype=object)
    for name in reversed(PRECEDENCE[:-1]):  # the first check that holds wins
        status = np.where(checks[name], name, status)
    # details in words, for the screen and the 核查结果 cell
    case_id = _first_by_key(children, keys, "case_id")
    outcome = _first_by_key(children, keys, "outcome_category").map(schema.OUTCOMES).fillna("未销号")
    detail = pd.Series("", index=range(len(pf)), dtype="str")
    detail = detail.mask(status == "in_ledger", "台账个案 " + case_id.fillna("") + "，" + outcome)
    if xueji is not None:
        xf = xueji.frame
        at_school = xf[enrolled(xf["enrol_status"]).to_numpy()] if "enrol_status" in xf else xf.iloc[0:0]
        school = _first_by_key(at_school, keys, "school").fillna("")
        grade = _first_by_key(at_school, keys, "grade").fillna("")
        detail = detail.mask(status == "enrolled", "学籍在读：" + school + grade)
    placement = _first_by_key(special_rows, keys, "placement").fillna("")
    detail = detail.mask(status == "special_placed", "安置方式：" + placement)
    no_id = pf["id_state"].map({"missing": "缺少身份证号，无法比对", "invalid": "身份证号无效，无法比对"})
    detail = detail.mask((status == "visit") & no_id.notna().to_numpy(), no_id.reset_index(drop=True))
    # the child's township: the ledger's, the list's own, then the other lists'
    township = _first_by_key(children, keys, "township")
    own = (
        pf["township"].reset_index(drop=True) if "township" in pf else pd.Series(pd.NA, index=township.index)
    )
    township = township.fillna(own)
    school = pf["school"].reset_index(drop=True) if "school" in pf else pd.Series(pd.NA, index=township.index)
    school = _first_by_key(children, keys, "school").fillna(school)
    if xueji is not None:
        school = school.fillna(_first_by_key(xueji.frame, keys, "school"))
        township = township.fillna(school.map(_school_townships(ledger)))
    for other in (huji, poverty):
        if other is not None:
            township = township.fillna(_first_by_key(other.frame, keys, "township"))
    township = township.fillna(_first_by_key(special_rows, keys, "township"))
    out = pd.DataFrame(
        {
            "position": np.arange(1, len(pf) + 1),
            "source_row": pf["source_row"].to_numpy(),
            "sheet": pf["sheet"].to_numpy(),
            "township": township.to_numpy(),
            "school": school.to_numpy(),
            "name": pf["name"].to_numpy() if "name" in pf else pd.NA,
            "push_reason": pf["push_reason"].to_numpy() if "push_reason" in pf else pd.NA,
            "status": status.astype("str"),
            "detail": detail.to_numpy(),
            "case_id": case_id.where(pd.Series(status == "in_ledger")).to_numpy(),
            "id_state": pf["id_state"].to_numpy(),
            "id_key": keys,
            "id_number": pf["id_number"].to_numpy(),
        }
    )
    return out


def _school_townships(ledger: Ledger) -> dict[str, str]:
    """School -> township from the ledger's schools table, then from its cases."""
    pairs = pd.concat(
        [ledger.schools.reindex(columns=["school", "township"]), ledger.cases[["school", "township"]]]
    ).dropna()
    return dict(
        zip(pairs["school"].drop_duplicates(), pairs.drop_duplicates("school")["township"], strict=True)
    )


def feedback_text(status: pd.Series, detail: pd.Series) -> pd.Series:
    """The 核查结果 cell: the status in words, its detail in brackets."""
    label = status.map(PUSHED_STATUSES)
    return (label + "（" + detail + "）").where(detail.fillna("").ne(""), label)


def township_table(result: Reconciliation) -> pd.DataFrame:
    """Per township: pushed and each status, 化解率 (%), and each finding; a 合计 row last.

    Columns: township, pushed, in_ledger, enrolled, special_placed, visit, resolved_rate, then the findings
    that were checked. 化解率 = pushed children no longer 需入户核查 ÷ pushed.
    """
    parts = []
    if result.pushed is not None:
        p = result.pushed.assign(township=result.pushed["township"].fillna("未知乡镇"))
        counts = pd.crosstab(p["township"], p["status"]).reindex(columns=list(PRECEDENCE), fill_value=0)
        counts.insert(0, "pushed", counts.sum(axis=1))
        parts.append(counts)
    for name, frame in result.findings.items():
        if frame is not None:
            parts.append(
                frame.assign(township=frame["township"].fillna("未知乡镇"))
                .groupby("township")
                .size()
                .rename(name)
            )
    if result.open_poor_corrected is not None:
        parts.append(
            result.red_line.assign(township=result.red_line["township"].fillna("未知乡镇")).set_index(
                "township"
            )
        )
    if not parts:
        return pd.DataFrame(columns=["township"])
    table = pd.concat(parts, axis=1).fillna(0).astype("int64")
    table.index.name = "township"
    # unknown places last
    table = table.reset_index()
    table = pd.concat(
        [
            table[table["township"] != "未知乡镇"].sort_values("township"),
            table[table["township"] == "未知乡镇"],
        ]
    )
    total = table.drop(columns="township").sum().to_frame().T.assign(township="合计")
    table = pd.concat([table, total[table.columns]], ignore_index=True)
    if "pushed" in table:
        resolved = table["pushed"] - table["visit"]
        table.insert(
            6, "resolved_rate", (100 * resolved / table["pushed"].where(table["pushed"] > 0)).round(1)
        )
    return table


LIST_COLUMNS = [
    "position",
    "list",
    "source_row",
    "list_row",
    "township",
    "village",
    "school",
    "name",
    "push_reason",
    "status",
    "finding",
    "detail",
    "case_id",
    "id_state",
]


def status_rows(result: Reconciliation, status: str) -> pd.DataFrame:
    """The children behind one status (a pushed status, a finding, or "unmatchable"), values in Chinese.

    Unmasked (IDs included): pass through privacy.public_view before showing or writing them.
    """
    if status in PUSHED_STATUSES:
        rows = pd.DataFrame(columns=PUSHED_COLUMNS) if result.pushed is None else result.pushed
        rows = rows[rows["status"] == status]
    elif status == "unmatchable":
        rows = result.unmatchable_rows
    else:
        frame = result.findings.get(status)
        rows = pd.DataFrame(columns=FINDING_COLUMNS) if frame is None else frame
    rows = rows.reset_index(drop=True)
    words = {"status": PUSHED_STATUSES, "finding": FINDINGS, "id_state": ID_STATES}
    return rows.assign(**{c: rows[c].map(m) for c, m in words.items() if c in rows})


def status_options(result: Reconciliation) -> dict[str, str]:
    """Each status with rows to show -> its label with the count, in the page's order."""
    out = {}
    counts = result.pushed_counts() or {}
    for key, label in PUSHED_STATUSES.items():
        if label in counts:
            out[key] = f"{label}（{counts[label]}）"
    for key, label in FINDINGS.items():
        if result.count(key) is not None:
            out[key] = f"{label}（{result.count(key)}）"
    out["unmatchable"] = f"无有效身份证号（{len(result.unmatchable_rows)}）"
    return out


def within(frame: pd.DataFrame, townships: tuple[str, ...], schools: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows of a result table in those townships or schools; rows of an unknown place are in neither."""
    mask = pd.Series(False, index=frame.index)
    if townships and "township" in frame:
        mask |= frame["township"].isin(townships).fillna(False).astype(bool)
    if schools and "school" in frame:
        mask |= frame["school"].isin(schools).fillna(False).astype(bool)
    return frame[mask].reset_index(drop=True)


def restrict(
    result: Reconciliation, townships: tuple[str, ...], schools: tuple[str, ...] = ()
) -> Reconciliation:
    """The check narrowed to some townships or schools (a scope or a filter); figures recounted from the rows."""
    if not townships and not schools:
        return result
    red = within(result.red_line, townships) if len(result.red_line) else result.red_line
    return replace(
        result,
        pushed=None if result.pushed is None else within(result.pushed, townships, schools),
        findings={
            k: (None if f is None else within(f, townships, schools)) for k, f in result.findings.items()
        },
        unmatchable_rows=within(result.unmatchable_rows, townships, schools),
        open_poor_ledger=int(red["open_poor"].sum()) if len(red) else 0,
        open_poor_corrected=None
        if result.open_poor_corrected is None
        else int(red["open_poor_corrected"].sum())
        if len(red)
        else 0,
        red_line=red,
    )


# counts that cross a township with a sensitive attribute (disability, 建档立卡): 1–4 shown as "<5"
SENSITIVE = ("special_placed", "poverty_unflagged", "open_poor", "open_poor_corrected")


def suppressed(table: pd.DataFrame) -> pd.DataFrame:
    """township_table with the sensitive columns suppressed, complementary cells included.

    A column with exactly one suppressed township gets its smallest other non-zero cell suppressed too; when
    there is none, the 合计 cell is suppressed, so the total never gives a hidden cell back.
    """
    out = table.copy()
    body = out["township"] != "合计"
    for col in SENSITIVE:
        if col not in out:
            continue
        values = out[col]
        small = values.between(1, 4) & body
        if small.sum() == 1:
            others = values[body & ~small & values.gt(0)]
            if len(others):
                small.loc[others.idxmin()] = True
            else:
                small |= ~body
        out[col] = values.astype("Int64").astype("str").mask(small, SUPPRESSED)
    return out


def parse_as_of(text: str) -> pd.Timestamp | None:
    """An as-of date typed by a user (2019-06-25, 2019.6.25, 2019年6月25日), or None."""
    parsed = parsers.parse_dates(pd.Series([text], dtype=object))
    value = parsed.values.iloc[0]
    return None if pd.isna(value) else pd.Timestamp(value)
