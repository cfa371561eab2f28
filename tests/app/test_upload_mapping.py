"""The import wizard's mapping step: a column nobody could guess blocks the import until it is mapped; the
mapping is saved beside the ledger and the CLI then reads the workbook the same way."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app.conftest import metric, open_page
from tests.conftest import CASE_HEADER, ROOT, SAMPLE_DIR, case_row, write_xlsx


def unguessable_workbook(path: Path) -> Path:
    """4 of 10 children returned; their return dates sit under a header nobody could guess (K栏)."""
    header = [h if h != "返校时间" else "K栏" for h in CASE_HEADER]
    rows = [
        case_row(name=f"甲{i}", registered="2019.3.1", returned="是", closed="2019.4.1", outcome="已返校")
        for i in range(4)
    ]
    rows += [case_row(name=f"乙{i}", registered="2019.3.2") for i in range(6)]
    schools = [["学校名称", "乡镇", "初中在校生数"], ["甲镇一中", "甲镇", 1200]]
    return write_xlsx(path, {"台账": [header, *rows], "学校": schools})


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    monkeypatch.setenv("KONGCHUO_DATA", str(data))
    return data


def _column_box(at, header: str):
    return next(s for s in at.selectbox if f"“{header}”" in s.label)


def test_unguessable_column_blocks_until_mapped_then_the_cli_reads_it_the_same_way(tmp_path, data_copy):
    book = unguessable_workbook(tmp_path / "局台账.xlsx")
    at = open_page("upload")
    at.file_uploader(key="up_file_0").set_value(
        ("局台账.xlsx", book.read_bytes(), "application/octet-stream")
    ).run()
    assert not at.exception
    assert at.button(key="up_accept").disabled  # confirm waits for the blocking problem
    assert any("没有返校（销号）日期" in e.value for e in at.error)
    box = _column_box(at, "K栏")
    assert box.value == "（不使用）"
    box.set_value("返校时间").run()
    at.button(key="up_map_save").click().run()
    assert not at.exception
    assert not at.button(key="up_accept").disabled
    assert '"K栏" = "返校时间"' in (data_copy / "settings.toml").read_text(encoding="utf-8")
    at.button(key="up_accept").click().run()
    at.switch_page("pages/overview.py").run()
    assert metric(at, "在册辍学人数") == "6" and metric(at, "累计劝返人数") == "4"
    # the CLI, given the workbook beside that settings.toml, applies the same mapping
    shutil.copy(book, data_copy / "局台账.xlsx")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "kongchuo_metrics",
            "validate",
            str(data_copy / "局台账.xlsx"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    report = json.loads(p.stdout)
    assert p.returncode == 0 and report["blocking"] == []
    col = next(c for c in report["columns"] if c["header"] == "K栏")
    assert col["field"] == "closed" and col["how"] == "设置"


def test_accepting_a_consequence_is_audited_and_stated_on_every_page(tmp_path, data_copy, isolated):
    header = list(CASE_HEADER)
    rows = [case_row(name=f"甲{i}", registered="2019.3.1") for i in range(3)]
    book = write_xlsx(tmp_path / "只有台账.xlsx", {"台账": [header, *rows]})  # no school sheet: no rates
    at = open_page("upload")
    at.file_uploader(key="up_file_0").set_value(
        ("只有台账.xlsx", book.read_bytes(), "application/octet-stream")
    ).run()
    assert at.button(key="up_accept").disabled
    boxes = [c for c in at.checkbox if c.key.startswith("up_accept_")]
    assert boxes
    for c in boxes:
        c.check()
    at.button(key="up_map_save").click().run()
    assert not at.button(key="up_accept").disabled
    at.button(key="up_accept").click().run()
    log = (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"event": "accept_problem"' in log and "schools:enrolment:missing@" in log
    for page in ("pages/overview.py", "pages/schools.py"):
        at.switch_page(page).run()
        assert any("已确认接受" in c.value and "在校生数" in c.value for c in at.caption), page


def test_unknown_resolution_texts_are_classified_on_the_page(tmp_path, data_copy):
    rows = [
        case_row(name=f"甲{i}", registered="2019.3.1", closed="2019.4.1", outcome="随父母到广东读书")
        for i in range(3)
    ]
    rows += [case_row(name=f"乙{i}", registered="2019.3.2") for i in range(5)]
    schools = [["学校名称", "乡镇", "初中在校生数"], ["甲镇一中", "甲镇", 1200]]
    book = write_xlsx(tmp_path / "b.xlsx", {"台账": [list(CASE_HEADER), *rows], "学校": schools})
    at = open_page("upload")
    at.file_uploader(key="up_file_0").set_value(
        ("b.xlsx", book.read_bytes(), "application/octet-stream")
    ).run()
    assert at.button(key="up_accept").disabled
    box = next(s for s in at.selectbox if "随父母到广东读书" in s.label and "3 个个案" in s.label)
    box.set_value("核实在外就读").run()
    at.button(key="up_map_save").click().run()
    assert not at.button(key="up_accept").disabled
    assert '"随父母到广东读书" = "verified"' in (data_copy / "settings.toml").read_text(encoding="utf-8")
