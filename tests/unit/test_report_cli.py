"""CLI: report and case-file write audited Word files; summary JSON carries previous and last_year."""

import io
import json
import os
import subprocess
import sys

from docx import Document

from tests.conftest import ROOT, SAMPLE_DIR


def run(tmp_path, *args):
    env = {**os.environ, "KONGCHUO_AUDIT": str(tmp_path / "audit.jsonl")}
    p = subprocess.run(
        [sys.executable, "-m", "kongchuo_metrics", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    return p.returncode, p.stdout, p.stderr


def test_summary_json_has_previous_and_last_year(tmp_path):
    code, out, _ = run(tmp_path, "summary", str(SAMPLE_DIR), "--as-of", "2019-06-25")
    s = json.loads(out)
    assert code == 0
    assert s["previous"] == {"date": "2019-05-23", "open": 28, "returned_total": 74, "open_poor": 0}
    assert s["last_year"] == {"date": "2018-06-25", "open": 31, "returned_total": 88, "open_poor": 1}
    code, out, _ = run(tmp_path, "summary", str(SAMPLE_DIR), "--as-of", "2018-06-25")
    s = json.loads(out)
    assert s["last_year"] == {"date": "2017-06-25", "open": None, "returned_total": None, "open_poor": None}
    assert s["previous"]["date"] is None


def test_report_and_case_file_commands(tmp_path):
    out = tmp_path / "通报.docx"
    code, stdout, err = run(
        tmp_path,
        "report",
        str(SAMPLE_DIR),
        "--as-of",
        "2019-06-25",
        "--kind",
        "简报",
        "--township",
        "三里镇",
        "--out",
        str(out),
    )
    assert code == 0, err
    text = "\n".join(p.text for p in Document(io.BytesIO(out.read_bytes())).paragraphs)
    assert "三里镇在册辍学学生6人" in text and "在册 6 人" in stdout
    code, _, err = run(
        tmp_path, "report", str(SAMPLE_DIR), "--as-of", "2019-06-25", "--kind", "公告", "--out", str(out)
    )
    assert code == 2
    case = tmp_path / "case.docx"
    code, _, err = run(
        tmp_path, "case-file", str(SAMPLE_DIR), "--case", "C000195", "--out", str(case), "--full-names"
    )
    assert code == 0, err
    code, _, err = run(tmp_path, "case-file", str(SAMPLE_DIR), "--case", "C999999", "--out", str(case))
    assert code == 2 and "C999999" in err
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(x["event"], x.get("document")) for x in lines] == [
        ("download", "report"),
        ("unmask", "case_file"),
        ("download", "case_file"),
    ]
    assert lines[0]["kind"] == "简报" and lines[2]["full_names"] is True and len(lines[0]["sha256"]) == 64
    code, out_text, _ = run(tmp_path, "audit", "verify", "--log", str(tmp_path / "audit.jsonl"))
    assert code == 0
