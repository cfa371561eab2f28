"""The entry point: a ledger file or folder to a Ledger, every row accounted for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from .. import arrowtext, header_match, schema
from ..settings import Mapping
from .blocking import find_blocking
from .cases import CASE_COLUMNS, _build_cases
from .files import _input_files, content_digest, file_digest, read_grids
from .ledger import IngestReport, Ledger, LedgerError, SheetReport
from .linking import _child_key, _dedupe_cases, _fill_township_from_school, _link_followups
from .problems import Problems
from .sheets import RawTable, _raw_from_frame, find_header, frame_match, raw_from_grid
from .tables import (
    FOLLOWUP_TEXT_COLUMNS,
    _build_followups,
    _build_reports,
    _build_schools,
    _build_special_ed,
    _build_villages,
    _empty_table,
)

_NOTES_SHEET = ("说明", "填表说明", "注意事项", "下拉", "选项", "字典", "目录", "封面", "参数", "代码表")


def _ignored_sheet(grid) -> tuple[str, int, bool]:
    """(reason, non-empty rows, looks like data) for a sheet without a recognisable header."""
    rows = [r for r in grid.rows if any(str(c).strip() for c in r if c is not None)] if grid.rows else []
    if not rows:
        return "空表", 0, False
    if any(w in grid.sheet for w in _NOTES_SHEET):
        return "说明，不是数据表", len(rows), False
    filled = [sum(1 for c in r if c is not None and str(c).strip()) for r in rows]
    if sum(1 for f in filled if f >= 3) < 3:
        return "说明，不是数据表", len(rows), False
    return "前 15 行中找不到可识别的表头，各行已隔离、未导入", len(rows), True


# the case fields that decide where every row ends (loaded, quarantined, a repeated episode) and the blocking
# problems: read whatever `fields` a caller asks for
ROW_FIELDS = frozenset(
    {"township", "school", "registered", "id_number", "name", "birth_date", "sex", "case_no"}
    | {"closed", "outcome", "returned"}
)
# typed case fields built from other raw fields (a field not listed here is built from itself)
_SOURCES = {
    "closed": {"closed", "outcome", "returned", "registered"},
    "closed_precision": {"closed", "outcome", "returned", "registered"},
    "outcome_category": {"closed", "outcome", "returned", "registered"},
    "stage": {"stage", "grade", "school"},
    "age": {"birth_date", "registered", "id_number"},
    "reason_category": {"reason"},
    "registered_precision": {"registered"},
}


def _raw_fields(fields: frozenset[str]) -> frozenset[str]:
    """The raw case fields to read for typed `fields` (and the rows' fates)."""
    return frozenset().union(ROW_FIELDS, *(_SOURCES.get(f, {f}) for f in fields))


def _only(raw: pd.DataFrame, fields: frozenset[str] | None) -> pd.DataFrame:
    """The raw case rows with the fields `fields` only (and the row bookkeeping columns)."""
    if fields is None:
        return raw
    return raw[[c for c in raw.columns if c in fields or c.startswith("_")]]


def _complete_cases(
    parts: list[RawTable], raw: pd.DataFrame, index: pd.Index, outcomes: dict[str, str]
) -> pd.DataFrame:
    """The typed case rows `index` of the combined raw table `raw` with every field (those a part did not read
    are read now, for these rows), as a whole load builds them; their problems are not kept."""
    at = index.to_numpy()  # the case table's rows are the combined raw table's positions
    starts = np.cumsum([0] + [len(p.frame) for p in parts])
    which = np.searchsorted(starts, at, side="right") - 1
    pieces = []
    for k, part in enumerate(parts):
        mine = which == k
        if not mine.any():
            continue
        piece = raw.iloc[at[mine]].set_axis(index[mine])
        if part.more is not None:
            missing = [f.name for f in schema.FIELDS["cases"] if f.name not in part.frame.columns]
            extra = part.more(missing)
            if len(extra.columns):
                extra = extra.iloc[at[mine] - starts[k]].set_axis(index[mine])
                piece = pd.concat([piece, extra], axis=1)
        pieces.append(piece)
    full = pd.concat(pieces) if len(pieces) > 1 else pieces[0]
    typed, _ = _build_cases(full, Problems(), outcomes)
    typed["_sheet"] = full["_sheet"]
    typed["child_key"] = _child_key(typed)
    return typed


def load_ledger(
    path: str | Path,
    coords: str = "wgs84",
    mapping: Mapping | None = None,
    fields: tuple[str, ...] | frozenset[str] | None = None,
    ordered: bool = True,
) -> Ledger:
    """Load a ledger file or folder into typed tables; raise LedgerError (Chinese) when it is unusable.

    `mapping` is the bureau's [columns]/[outcomes]/[accepted] from settings.toml (see settings.Mapping).

    `fields`: the case columns the caller needs (say ``("registered", "closed", "outcome_category", "poor")``
    for 表一). Then only those case fields, and the ones deciding each row's fate (ROW_FIELDS), are parsed, a
    Parquet file is read for those columns only, and `cases` holds just those columns, in the same rows and
    order as a whole load. The accounting stays whole: rows of one repeated episode (identical or conflicting)
    are compared on all their fields, read for those rows. Warnings about the fields not read are not made;
    meta["fields"] names the fields, and such a ledger is never stored.

    `ordered=False` (with `fields`): the kept case rows stay in the order of the file instead of being sorted by
    registration date, for a caller that only counts (表一): the same rows, the same report, without gathering
    a million rows into another order. `case_id` is then made only when asked for or needed (follow-ups).
    """
    path = Path(path)
    only = frozenset(fields) if fields is not None else None
    raw_only = _raw_fields(only) if only is not None else None
    mapping = mapping or Mapping()
    user = {header_match.normalize_header(k): v for k, v in mapping.columns}
    outcomes = mapping.outcomes_dict()
    ignored_data: list[tuple[str, int]] = []
    report = IngestReport()
    probs = Problems()
    raws: dict[str, list[RawTable]] = {t: [] for t in schema.TABLES}
    files = _input_files(path)
    meta: dict = {"source_name": "、".join(f.name for f in files)}
    for file in files:
        file_hint = header_match.table_from_name(file.stem)
        pick = None
        if raw_only is not None:
            # a Parquet file: the columns of the fields asked for (and every column of a table not of cases)
            def pick(names: list[str], hint=file_hint) -> list[int] | None:
                match = frame_match(names, hint, user)
                if match is None or match.table != "cases":
                    return None
                return [i for i, f in match.columns.items() if f in raw_only]

        grids = read_grids(file, pick)
        for grid in grids:
            if grid.hidden:
                report.sheets.append(SheetReport(grid.source, grid.sheet, None, "隐藏（已忽略）"))
                continue
            hint = header_match.table_from_name(grid.sheet) or (file_hint if len(grids) == 1 else None)
            if grid.frame is not None:
                raw = _raw_from_frame(grid, hint, user)
            else:
                match = find_header(grid.rows, hint, user)
                raw = raw_from_grid(grid, match) if match else None
            if raw is None:
                note, nonempty, data_like = _ignored_sheet(grid)
                status = "已忽略"
                if data_like:
                    # rows of a sheet that looks like data count as read and quarantined, never vanish
                    report.rows_read += nonempty
                    report.rows_quarantined += nonempty
                    ignored_data.append((f"{grid.source}/{grid.sheet}", nonempty))
                    status = "未导入（已隔离）"
                report.sheets.append(SheetReport(grid.source, grid.sheet, None, status, None, nonempty, note))
                continue
            report.columns.extend(raw.columns)
            raw.frame["_source"] = arrowtext.const_text(grid.source, raw.frame.index)
            raw.frame["_sheet"] = arrowtext.const_text(grid.sheet, raw.frame.index)
            raws[raw.table].append(raw)
            for k, v in raw.excluded.items():
                report.excluded[k] += v
            report.rows_read += raw.rows_read
            report.merged_filled += raw.merged_filled
            if raw.unmapped:
                report.unmapped_columns[f"{grid.source}/{grid.sheet}"] = raw.unmapped
            report.sheets.append(
                SheetReport(
                    grid.source,
                    grid.sheet,
                    raw.table,
                    "已读取",
                    raw.header_row,
                    raw.rows_read,
                    f"合并单元格补全 {raw.merged_filled} 处" if raw.merged_filled else "",
                )
            )
            for k, v in raw.meta.items():
                meta.setdefault(k, v)
    if not raws["cases"]:
        seen = "、".join(f"{s.sheet}" for s in report.sheets) or "无"
        raise LedgerError(
            "没有找到辍学台账：前 15 行中没有识别出包含“姓名/身份证号”和“辍学时间/登记日期”等列的表头"
            f"（已检查的工作表：{seen}）。如果文件是 CSV，请确认编码为 UTF-8 或 GBK（不支持繁体 Big5、日文 Shift-JIS）。"
        )

    if sum(r.rows_read for r in raws["cases"]) == 0:
        raise LedgerError("辍学台账只有表头，没有任何数据行。")

    def combined(table: str) -> pd.DataFrame:
        parts = [r.frame for r in raws[table]]
        if not parts:
            return pd.DataFrame(columns=["_row", "_sheet", "_source"])
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    builders = {
        "cases": lambda d, p: _build_cases(_only(d, raw_only), p, outcomes, only),
        "followups": _build_followups,
        "special_ed": _build_special_ed,
        "schools": _build_schools,
        "reports": _build_reports,
        "villages": lambda d, p: _build_villages(d, p, coords),
    }
    built: dict[str, pd.DataFrame] = {}
    for table, build in builders.items():
        raw = combined(table)
        if raw.empty:
            built[table] = _empty_table(table)
            continue
        frame, keep = build(raw, probs)
        report.rows_quarantined += int((~keep).sum())
        if table == "cases":
            case_rows, case_quarantined, case_raw = len(raw), int((~keep).sum()), raw
        if table == "cases":
            # cases stay whole until the duplicate checks are done: one take at the end, not a copy per step
            frame = frame.reset_index(drop=True)
            frame["_sheet"] = raw["_sheet"].array  # (no Python string per row)
            built[table], case_keep = frame, keep.to_numpy()
        else:
            built[table] = frame[keep].copy()

    cases = built["cases"]
    if "_sheet" not in cases:  # every case row was blank or a total row
        cases["_sheet"], case_keep = pd.Series(dtype="str"), np.ones(len(cases), dtype=bool)
    cases["child_key"] = _child_key(cases)
    before = report.rows_quarantined
    complete = None
    if only is not None:

        def complete(index: pd.Index) -> pd.DataFrame:
            """Every field of the case rows `index` (a few repeated episodes), typed as a whole load types them."""
            return _complete_cases(raws["cases"], case_raw, index, outcomes)

    case_keep = _dedupe_cases(cases, case_keep, probs, report, complete)
    case_quarantined += report.rows_quarantined - before
    rows = np.flatnonzero(case_keep)
    if only is None or ordered:
        # the kept rows by registration date, then file/sheet and row: integer keys, one lexsort (NaT last)
        # sources in their sorted order, as integers (the few distinct texts are ranked, not a million cells)
        codes, uniques = pd.factorize(cases["source"])
        rank = np.empty(len(uniques), dtype=np.int64)
        rank[np.argsort(np.asarray(uniques, dtype=object), kind="stable")] = np.arange(len(uniques))
        source_code = rank[codes[rows]]
        registered = cases["registered"].to_numpy()[rows]
        registered_key = np.where(
            np.isnat(registered), np.iinfo("int64").max, registered.astype("datetime64[s]").astype("int64")
        )
        rows = rows[np.lexsort((cases["source_row"].to_numpy()[rows], source_code, registered_key))]
    if "_outcome_unknown" in cases:
        # the resolution texts nobody classified, counted over the kept rows in their final order (before
        # the columns are cut down to those asked for: `outcome` may not be among them)
        unknown_at = rows[cases["_outcome_unknown"].fillna(False).astype(bool).to_numpy()[rows]]
        if len(unknown_at):
            report.unknown_outcomes = {
                str(k): int(v) for k, v in cases["outcome"].iloc[unknown_at].value_counts().items()
            }
    if only is not None:
        # only the columns asked for (and those the steps below read) are gathered into the kept order
        wanted = set(only) | {"township", "school", "source_row", "_outcome_unknown", "_closed_undated"}
        if not built["followups"].empty:
            wanted |= {"id_number", "name", "child_key", "registered", "_id_ok", "_sheet"}
        cases = cases[[c for c in cases.columns if c in wanted]]
    if len(rows) == len(cases) and (rows == np.arange(len(cases))).all():
        cases = cases.reset_index(drop=True)  # every row kept in file order: nothing to gather
    else:
        cases = cases.take(rows).reset_index(drop=True)
    cases = _fill_township_from_school(cases, built["schools"], probs)
    if only is None or ordered or "case_id" in only or not built["followups"].empty:
        cases["case_id"] = arrowtext.numbered("C", cases.index, 6)  # C000001, C000002, ...
    if built["followups"].empty:
        followups = pd.DataFrame(
            {
                **{c: pd.Series(dtype="str") for c in FOLLOWUP_TEXT_COLUMNS},
                "visit_date": pd.Series(dtype="datetime64[s]"),
                "deadline": pd.Series(dtype="datetime64[s]"),
                "source_row": pd.Series(dtype="int64"),
            }
        )
    else:
        followups = _link_followups(built["followups"], cases, probs, report)
    schools = built["schools"]
    stage_rows = int(schools["_stage_unassigned"].sum()) if "_stage_unassigned" in schools else 0
    report.blocking = find_blocking(
        report.columns,
        cases,
        case_rows,
        case_quarantined,
        schools,
        ignored_data,
        stage_rows,
        mapping.accepted_dict(),
        meta.setdefault("content_sha256", content_digest(path)),
    )
    meta["sha256"] = file_digest(path)
    built["schools"] = schools.drop(columns=[c for c in ("_stage_unassigned", "enrolment") if c in schools])
    cases = cases[[c for c in CASE_COLUMNS if only is None or c in only]]
    followups = followups.drop(columns=[c for c in ("_sheet", "child_key", "_id_ok") if c in followups])
    report_dates = tuple(
        sorted(pd.Timestamp(d) for d in built["reports"].get("report_date", pd.Series()).dropna().unique())
    )

    report.tables = {
        "cases": len(cases),
        "followups": len(followups),
        "special_ed": len(built["special_ed"]),
        "schools": len(built["schools"]),
        "villages": len(built["villages"]),
        "reports": len(built["reports"]),
    }
    report.rows_loaded = sum(report.tables.values())
    report.rows_excluded = sum(report.excluded.values())
    report.problems = probs.frame()
    if report.rows_read != report.rows_loaded + report.rows_quarantined + report.rows_excluded:
        raise AssertionError(
            f"row accounting broken: read {report.rows_read} != loaded {report.rows_loaded} + quarantined "
            f"{report.rows_quarantined} + excluded {report.rows_excluded}"
        )
    meta["mtime"] = dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")
    meta.setdefault("district", "")
    if only is not None:
        meta["fields"] = sorted(only)
    return Ledger(
        cases,
        followups,
        built["special_ed"].reset_index(drop=True),
        built["schools"].reset_index(drop=True),
        built["villages"].reset_index(drop=True),
        report_dates,
        report,
        meta,
    )
