"""Header understanding on headers nobody listed: the real-world corpus, renamed and split sample headers."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kongchuo_metrics import header_match
from kongchuo_metrics.ingest import load_ledger
from tests.conftest import SAMPLE_DIR

CORPUS = Path(__file__).resolve().parents[1] / "data" / "header_corpus.csv"


def _corpus() -> list[dict]:
    with open(CORPUS, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_corpus_is_big_enough_and_sourced():
    rows = _corpus()
    assert len(rows) >= 40
    assert all(r["source"].strip() for r in rows)


@pytest.mark.parametrize("row", _corpus(), ids=lambda r: f"{r['table']}:{r['header']}")
def test_corpus_header_maps_to_its_field(row):
    guess = header_match.guess_field(row["table"], row["header"])
    assert (guess.field if guess else "") == row["field"]


# variants of the sample's case headers: each names the same field in another clerk's words
VARIANTS = {
    "乡镇（街道）": ["所属乡镇", "乡镇名称", "乡镇(街道办)", "户籍所在乡镇"],
    "村（社区）": ["户籍所在村", "所在村", "村名称"],
    "学生姓名": ["姓名", "学生姓名（必填）", "儿童姓名"],
    "身份证号码": ["身份证件号", "公民身份号码", "身份证号"],
    "就读学校": ["现就读学校", "原就读学校", "学校名称"],
    "是否建档立卡户\n（√）": ["是否脱贫户", "建档立卡户（是/否）", "是否建档立卡"],
    "辍学时间": ["辍学登记时间", "辍学日期", "登记日期（年月日）"],
    "返校时间": ["结案日期", "复学时间", "返校日期"],
    "处置情况/去向": ["去向", "劝返情况", "目前去向"],
    "辍学原因": ["离校原因", "原因"],
}


def _rewrite(path: Path, headers: dict[str, str], split: dict[str, tuple[str, str]] | None = None) -> None:
    """The sample workbook with header cells of the case sheet renamed (or split over the two header rows)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["控辍保学台账"]
    for cell in list(ws[3]):
        if cell.value in headers:
            cell.value = headers[cell.value]
        elif split and cell.value in split:
            for rng in list(ws.merged_cells.ranges):  # the header cell spans both header rows
                if rng.min_col <= cell.column <= rng.max_col and rng.min_row <= 3 <= rng.max_row:
                    ws.unmerge_cells(str(rng))
            top, below = split[cell.value]
            cell.value = top
            ws.cell(row=4, column=cell.column, value=below)
    wb.save(path)


def _tables(ledger) -> dict[str, pd.DataFrame]:
    drop = ["source"]
    return {
        "cases": ledger.cases.drop(columns=drop),
        "followups": ledger.followups,
        "special_ed": ledger.special_ed,
        "schools": ledger.schools,
    }


@pytest.fixture(scope="module")
def reference():
    return _tables(load_ledger(SAMPLE_DIR))


@pytest.mark.parametrize("k", range(max(len(v) for v in VARIANTS.values())))
def test_renamed_headers_give_identical_tables(tmp_path, reference, k):
    shutil.copy(SAMPLE_DIR / "sample_ledger.xlsx", tmp_path / "ledger.xlsx")
    _rewrite(tmp_path / "ledger.xlsx", {h: v[k % len(v)] for h, v in VARIANTS.items()})
    ledger = load_ledger(tmp_path / "ledger.xlsx")
    for name, frame in _tables(ledger).items():
        pd.testing.assert_frame_equal(frame, reference[name], obj=name)
    # a guessed column that changes counts is never taken silently
    guessed = {c.field for c in ledger.report.columns if c.counts and c.confidence < header_match.CERTAIN}
    assert {b.code for b in ledger.report.open_blocking} >= {f"guess:cases:{f}" for f in guessed}


def test_headers_split_over_two_rows_give_identical_tables(tmp_path, reference):
    shutil.copy(SAMPLE_DIR / "sample_ledger.xlsx", tmp_path / "ledger.xlsx")
    split = {
        "监护人姓名": ("监护人", "姓名"),
        "联系电话": ("", "电话"),  # the parent 监护人 spans both sub-headers
        "辍学时间": ("辍学", "时间"),
        "返校时间": ("返校", "日期"),
    }
    _rewrite(tmp_path / "ledger.xlsx", {}, split)
    ledger = load_ledger(tmp_path / "ledger.xlsx")
    for name, frame in _tables(ledger).items():
        pd.testing.assert_frame_equal(frame, reference[name], obj=name)
    sheet = next(s for s in ledger.report.sheets if s.sheet == "控辍保学台账")
    assert sheet.header_row == 4  # the sub-header row is header, never a data row
