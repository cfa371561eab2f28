"""The shipped sample reproduces the 2019 reference report (覃塘区, 2019: 表一, 表二, special education) to the digit."""

import pandas as pd

from kongchuo_metrics import metrics as M
from kongchuo_metrics.sample import write_sample
from tests.conftest import REFERENCE_DATES, REFERENCE_TABLE_2, SAMPLE_DIR


def test_table_1(sample_ledger):
    t = M.trend(sample_ledger.cases, REFERENCE_DATES)
    assert t["open"].tolist() == [102, 49, 43, 38, 28, 25]
    assert t["open_poor"].tolist() == [2, 0, 0, 0, 0, 0]
    assert t["returned"].tolist()[1:] == [53, 6, 5, 10, 3]
    assert t["returned_total"].iloc[-1] == 77


def test_ledger_own_report_dates_are_the_reference_dates(sample_ledger):
    assert [d.strftime("%Y-%m-%d") for d in sample_ledger.report_dates] == REFERENCE_DATES


def test_table_2(sample_ledger):
    t = M.schools_table(sample_ledger.cases, "2019-06-25")
    assert dict(zip(t["school"], t["open"], strict=True)) == REFERENCE_TABLE_2
    assert t["open_poor"].sum() == 0 and t["open"].sum() == 25


def test_special_education(sample_ledger):
    s = M.special_ed_summary(sample_ledger.special_ed)
    assert (
        s["total"],
        s["mainstream"],
        s["special_school"],
        s["home_teaching"],
        s["exempt"],
        s["unplaced"],
    ) == (562, 361, 32, 33, 125, 11)
    assert s["home_teaching_poor"] == 14 and s["home_lessons"] >= 630
    assert sorted(s["unplaced_reasons"].values()) == [1, 1, 1, 1, 1, 2, 4]


def test_sample_validates_with_zero_quarantined_rows(sample_ledger):
    r = sample_ledger.report
    assert r.rows_quarantined == 0 and r.rows_read == r.rows_loaded + r.rows_excluded
    assert r.excluded["total"] == 1 and r.merged_filled > 50  # it looks like a real bureau's file
    assert set(sample_ledger.cases["registered_precision"]) == {"day", "month"}


def test_enrolment_is_the_districts_86258_children(sample_ledger):
    e = M.enrolment(sample_ledger.schools)
    assert e["primary"] + e["junior"] == 86_258


def test_sample_generator_is_reproducible_and_matches_the_shipped_file(tmp_path):
    from kongchuo_metrics.ingest import load_ledger

    write_sample(tmp_path, seed=2019)
    fresh = load_ledger(tmp_path / "sample_ledger.xlsx")
    shipped = load_ledger(SAMPLE_DIR / "sample_ledger.xlsx")
    cols = ["name", "id_number", "registered", "closed", "school", "outcome_category"]
    pd.testing.assert_frame_equal(fresh.cases[cols], shipped.cases[cols])
    assert (tmp_path / "boundaries.geojson").exists() and (tmp_path / "settings.toml").exists()


def test_sample_ids_are_all_valid(sample_ledger):
    from kongchuo_metrics.parsers import parse_ids

    for table in (sample_ledger.cases, sample_ledger.special_ed):
        assert parse_ids(table["id_number"].astype(object)).extra["valid"].all()


def test_last_school_year_history_gives_same_date_last_year_figures(sample_ledger):
    last_year = [d.replace("2019", "2018") for d in REFERENCE_DATES]
    t = M.trend(sample_ledger.cases, last_year)
    assert t["open"].tolist() == [118, 64, 57, 49, 38, 31]
    assert t["open_poor"].tolist() == [3, 2, 2, 1, 1, 1]
    assert t["returned_total"].tolist() == [15, 61, 68, 74, 83, 88]
    # every history case is closed before the 2018-19 school year, so none is open or counted this year
    assert M.trend(sample_ledger.cases, ["2018-08-31"])["open"].tolist() == [0]
    assert M.trend(sample_ledger.cases, REFERENCE_DATES)["returned"].iloc[0] == 0
    assert (
        M.townships_table(sample_ledger.cases, sample_ledger.schools, "2019-06-25")["returned_total"].sum()
        == 77
    )
