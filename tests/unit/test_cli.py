import json
import subprocess
import sys

from tests.conftest import REFERENCE_DATES, ROOT, SAMPLE_DIR


def run(*args):
    p = subprocess.run(
        [sys.executable, "-m", "kongchuo_metrics", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return p.returncode, p.stdout, p.stderr


def test_trend_json_reproduces_table_1():
    code, out, _ = run("trend", str(SAMPLE_DIR), "--dates", ",".join(REFERENCE_DATES))
    rows = json.loads(out)
    assert code == 0
    assert [r["open"] for r in rows] == [102, 49, 43, 38, 28, 25]
    assert [r["returned"] for r in rows][1:] == [53, 6, 5, 10, 3] and rows[-1]["returned_total"] == 77
    assert set(rows[0]) == {"date", "open", "open_poor", "returned", "returned_total"}


def test_schools_csv_is_excel_friendly_and_masked():
    code, out, _ = run("schools", str(SAMPLE_DIR), "--as-of", "2019-06-25", "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("\ufeff学校,乡镇,在册辍学人数")
    assert any(line.startswith("三里二中,三里镇,4,0,") for line in lines)
    assert "*" in lines[1]


def test_special_ed_and_summary():
    code, out, _ = run("special-ed", str(SAMPLE_DIR))
    s = json.loads(out)
    assert code == 0 and (s["total"], s["unplaced"], s["home_teaching_poor"]) == (562, 11, 14)
    code, out, _ = run("summary", str(SAMPLE_DIR), "--as-of", "2019-06-25")
    s = json.loads(out)
    assert (s["open"], s["open_poor"], s["returned_total"], s["change"]) == (25, 0, 77, -3)
    assert s["targets"]["dropout_junior"]["met"] is True


def test_overdue_is_masked():
    code, out, _ = run("overdue", str(SAMPLE_DIR), "--as-of", "2019-06-25")
    rows = json.loads(out)
    assert code == 0 and rows
    assert all("*" in r["name"] for r in rows)
    assert not any("id_number" in r or "guardian_phone" in r for r in rows)


def test_validate_json_and_exit_codes(tmp_path):
    code, out, _ = run("validate", str(SAMPLE_DIR), "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["rows_quarantined"] == 0
    assert d["rows_read"] == d["rows_loaded"] + d["rows_quarantined"] + d["rows_excluded"]
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook at all \x00\x01")
    code, out, err = run("validate", str(bad))
    assert (
        code == 2
        and err.startswith("错误：")
        and "Traceback" not in err
        and len(err.strip().splitlines()) == 1
    )


def test_unknown_township_and_bad_date_exit_2():
    code, _, err = run("trend", str(SAMPLE_DIR), "--township", "火星镇")
    assert code == 2 and "火星镇" in err
    code, _, err = run("schools", str(SAMPLE_DIR), "--as-of", "去年")
    assert code == 2 and "不是日期" in err
    assert "Traceback" not in err


def test_trend_filtered_by_township():
    code, out, _ = run("trend", str(SAMPLE_DIR), "--dates", "2019-06-25", "--township", "三里镇")
    assert code == 0 and json.loads(out)[0]["open"] == 6
