"""A load of some case fields only (load_ledger(fields=...), what `trend` uses) gives the whole load's rows,
values, accounting and 表一, on the sample and on generated ledgers with duplicates, conflicts and bad rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from bench.gen import generate
from kongchuo_metrics import metrics, snapshot
from kongchuo_metrics.ingest import load_ledger

DATA = Path(__file__).resolve().parents[2] / "data"
TREND = ("registered", "closed", "outcome_category", "poor", "township", "school")


def _messy(n: int = 3000) -> pd.DataFrame:
    """Generated cases with what changes which rows count: identical copies, copies of one episode that differ
    only in a column a pruned load does not parse (辍学原因, 村) or in one it parses (处置情况), invalid IDs, rows
    without a place or a date."""
    cases, *_ = generate(n, 0, seed=7)
    same = cases.iloc[:40]
    conflict = cases.iloc[40:70].copy()
    conflict["辍学原因"] = "其他原因"
    bad_ids = cases.iloc[70:120].copy()
    bad_ids["身份证号"] = bad_ids["身份证号"].str[:17] + "0"  # wrong check character: keyed on name etc.
    twins = bad_ids.iloc[:10].copy()
    twins["村"] = "另一个村"  # same name, school, sex, birth: one child, conflicting village
    no_place = cases.iloc[120:130].copy()
    no_place[["乡镇", "就读学校"]] = ""
    no_date = cases.iloc[130:140].copy()
    no_date["辍学时间"] = "不详"
    reopened = cases.iloc[140:150].copy()  # one episode twice, differing in columns a pruned load reads too
    reopened[["是否返校", "返校时间", "处置情况"]] = ["否", "", "未返校"]
    # resolution texts nobody classified: open, counted in the report
    unclassified = cases.iloc[150:160].copy()
    unclassified[["是否返校", "返校时间"]] = ["否", ""]
    unclassified["处置情况"] = ["情况待核查甲"] * 6 + ["情况待核查乙"] * 4
    out = pd.concat(
        [cases.iloc[160:], same, conflict, bad_ids, twins, no_place, no_date, reopened, unclassified]
        + [cases.iloc[:150]]
    )
    return out.reset_index(drop=True)


def _same(path: Path) -> None:
    whole = load_ledger(path)
    part = load_ledger(path, fields=TREND)
    cols = [c for c in whole.cases.columns if c in TREND]
    assert list(part.cases.columns) == cols
    pd.testing.assert_frame_equal(part.cases, whole.cases[cols])
    a, b = part.report, whole.report
    assert (a.rows_read, a.rows_loaded, a.rows_quarantined, a.rows_excluded, a.excluded) == (
        b.rows_read,
        b.rows_loaded,
        b.rows_quarantined,
        b.rows_excluded,
        b.excluded,
    )
    assert a.rows_read == a.rows_loaded + a.rows_quarantined + a.rows_excluded
    assert [x.code for x in a.blocking] == [x.code for x in b.blocking]
    assert part.meta["fields"] == sorted(TREND) and "fields" not in whole.meta
    for mode in ("weekly", "monthly"):
        dates = metrics.report_dates(whole.cases, whole.report_dates, mode)
        pd.testing.assert_frame_equal(metrics.trend(part.cases, dates), metrics.trend(whole.cases, dates))
    # in file order (what `trend` loads): the same rows as a multiset, the same accounting and 表一
    loose = load_ledger(path, fields=TREND, ordered=False)
    assert list(loose.cases.columns) == cols and "case_id" not in loose.cases

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(cols, kind="stable", na_position="last").reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(loose.cases), rows(whole.cases[cols]))
    c = loose.report
    assert (c.rows_read, c.rows_loaded, c.rows_quarantined, c.rows_excluded, c.excluded) == (
        b.rows_read,
        b.rows_loaded,
        b.rows_quarantined,
        b.rows_excluded,
        b.excluded,
    )
    assert [x.code for x in c.blocking] == [x.code for x in a.blocking]
    assert c.unknown_outcomes == b.unknown_outcomes
    pd.testing.assert_frame_equal(c.problems, a.problems)
    dates = metrics.report_dates(whole.cases, whole.report_dates, "weekly")
    pd.testing.assert_frame_equal(metrics.trend(loose.cases, dates), metrics.trend(whole.cases, dates))
    town = whole.cases["township"].dropna().iloc[0]
    sel = metrics.Selection(townships=(town,))
    dates = metrics.report_dates(whole.cases, whole.report_dates, "weekly")
    pd.testing.assert_frame_equal(
        metrics.trend(metrics.select_cases(part.cases, sel), dates),
        metrics.trend(metrics.select_cases(whole.cases, sel), dates),
    )


def test_sample_pruned_load_is_the_whole_load(tmp_path):
    _same(DATA)
    part = load_ledger(DATA, fields=TREND)
    table = metrics.trend(part.cases, [pd.Timestamp(dt.date(2019, 6, 25))])
    assert table["open"].tolist() == [25]  # the 2019 reference: 25 open on 6月25日
    with pytest.raises(ValueError):  # a ledger of some fields only is never stored as a snapshot
        snapshot.write(tmp_path, part, "inputs", "wgs84")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_generated_pruned_load_is_the_whole_load(tmp_path, kind):
    frame = _messy()
    path = tmp_path / f"台账.{kind}"
    if kind == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    whole = load_ledger(path)
    r = whole.report
    assert (
        r.excluded["duplicate"] >= 40 and r.rows_quarantined >= 30 + 10 + 10 + 10
    )  # the test means something
    assert r.unknown_outcomes == {"情况待核查甲": 6, "情况待核查乙": 4}
    _same(path)


def test_pruned_parquet_reads_only_its_columns(tmp_path, monkeypatch):
    """The Parquet columns of fields the trend does not need are not read, unless rows of one episode must be
    compared on every field (then the other columns are read too, and the accounting is the whole load's)."""
    from kongchuo_metrics.ingest import files

    reads: list = []
    real = pd.read_parquet

    def spy(path, columns=None, **kw):
        reads.append(columns)
        return real(path, columns=columns, **kw)

    monkeypatch.setattr(files.pd, "read_parquet", spy)
    clean, *_ = generate(500, 0, seed=3)
    path = tmp_path / "台账.parquet"
    clean.to_parquet(path)
    part = load_ledger(path, fields=TREND)
    assert len(reads) == 1 and "辍学原因" not in reads[0] and "村" not in reads[0] and "辍学时间" in reads[0]
    assert part.report.rows_read == part.report.rows_loaded == len(clean)
    reads.clear()
    _messy(500).to_parquet(path)
    load_ledger(path, fields=TREND)
    assert len(reads) == 2 and "辍学原因" in reads[1]  # the repeated episodes, compared on every column


def test_two_children_whose_ids_differ_by_two_to_the_32_are_two(tmp_path):
    """The episode key packs the child and the day into one integer: IDs that differ only in high digits stay
    two children (a packing that dropped high bits would merge them and quarantine one)."""
    from kongchuo_metrics.parsers import id_check_digit

    first17 = pd.Series([str(45080420100101123), str(45080420100101123 + 2**32)])
    frame = generate(1, 0)[0].iloc[[0, 0]].copy()
    frame["身份证号"] = (first17 + id_check_digit(first17)).to_numpy()
    path = tmp_path / "台账.parquet"
    frame.to_parquet(path)
    for ledger in (load_ledger(path), load_ledger(path, fields=TREND)):
        assert len(ledger.cases) == 2 and ledger.report.rows_quarantined == 0
