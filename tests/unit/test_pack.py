"""The briefing pack: generated for the sample, opened with pdftotext/pdftoppm, checked for numbers and names."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from kongchuo_metrics import figures, metrics, pack
from kongchuo_metrics.settings import load_settings
from tests.conftest import ROOT, SAMPLE_DIR

OUT = ROOT / "tests" / "out" / "pack"


@pytest.fixture(scope="module")
def sample_pack(sample_ledger):
    sel = metrics.Selection(as_of=dt.date(2019, 6, 25))
    result = pack.make_pack(
        sample_ledger, sel, load_settings(SAMPLE_DIR), figures.load_boundaries(SAMPLE_DIR)
    )
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "pack.pdf"
    path.write_bytes(result.pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(OUT / "page")], check=True, timeout=120)
    print(f"\npack pages: {OUT}")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return result, text


def test_pack_has_eight_a4_landscape_pages(sample_pack):
    result, _ = sample_pack
    assert result.pages == 8
    info = subprocess.run(["pdfinfo", str(OUT / "pack.pdf")], capture_output=True, text=True).stdout
    assert "Pages:           8" in info and "841.92 x 594.96 pts (A4)" in info  # A4 landscape
    assert len(list(OUT.glob("page-*.png"))) == 8


def test_pack_carries_table_1_and_table_2(sample_pack):
    _, text = sample_pack
    rows = [line.split() for line in text.splitlines() if line.strip().startswith("2019-0")]
    assert [int(r[1]) for r in rows[:6]] == [102, 49, 43, 38, 28, 25]
    assert [int(r[3]) for r in rows[1:6]] == [53, 6, 5, 10, 3] and int(rows[5][4]) == 77
    for school in (
        "黄练二中",
        "黄练三中",
        "蒙公一中",
        "蒙公民中",
        "樟木三中",
        "樟木民中",
        "三里一中",
        "三里二中",
        "五里一中",
        "五里二中",
        "石卡一中",
    ):
        assert school in text
    assert "562" in text and "361" in text and "口径说明" in text


def test_pack_has_no_full_names_ids_or_phones(sample_pack, sample_ledger):
    _, text = sample_pack
    flat = text.replace(" ", "")
    names = (
        set(sample_ledger.cases["name"].dropna())
        | set(sample_ledger.special_ed["name"].dropna())
        | set(sample_ledger.cases["guardian_name"].dropna())
    )
    leaked = [n for n in names if len(n) >= 2 and n in flat]
    assert not leaked, leaked[:5]
    assert not any(i in flat for i in sample_ledger.cases["id_number"].dropna())
    assert not any(p in flat for p in sample_ledger.cases["guardian_phone"].dropna())


def test_pptx_is_built_with_the_same_tables(sample_pack):
    import io

    from pptx import Presentation

    result, _ = sample_pack
    prs = Presentation(io.BytesIO(result.pptx))
    titles = [s.shapes.title.text for s in prs.slides]
    assert titles[1:] == ["劝返进度（表一）", "未返校学生分校统计（表二）", "残疾儿童少年安置"]


def test_missing_chromium_is_explained(monkeypatch, sample_ledger):
    monkeypatch.setattr(pack, "chromium_path", lambda: None)
    with pytest.raises(pack.PackError, match="apt-get install -y chromium fonts-noto-cjk"):
        pack.make_pack(
            sample_ledger, metrics.Selection(as_of=dt.date(2019, 6, 25)), load_settings(SAMPLE_DIR), None
        )


def test_cli_pack_is_audited(tmp_path):
    log = tmp_path / "audit.jsonl"
    out = tmp_path / "三里镇.pdf"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "kongchuo_metrics",
            "pack",
            str(SAMPLE_DIR),
            "--as-of",
            "2019-06-25",
            "--township",
            "三里镇",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={"KONGCHUO_AUDIT": str(log), "PATH": "/usr/bin:/bin"},
    )
    assert p.returncode == 0, p.stderr
    rec = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert rec["event"] == "pack" and "三里镇" in rec["filters"] and rec["pages"] == 8
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "三里二中" in text and "黄练二中" not in text


def test_a_ledger_with_only_the_cases_table_still_makes_every_figure(tmp_path):
    from kongchuo_metrics.ingest import load_ledger
    from tests.conftest import case_row, write_csv

    write_csv(
        tmp_path / "台账.csv", [case_row(name="甲"), case_row(name="乙", closed="2019.4.1", outcome="已返校")]
    )
    ledger = load_ledger(tmp_path)
    sel = metrics.Selection(as_of=dt.date(2019, 6, 25))
    assert metrics.special_ed_summary(ledger.special_ed)["total"] == 0
    rates = {
        r.key: r
        for r in metrics.rates(ledger.cases, ledger.schools, "2019-06-25", load_settings(None).targets)
    }
    assert rates["dropout_junior"].value is None and "无法计算" in rates["dropout_junior"].note
    result = pack.make_pack(ledger, sel, load_settings(None), None, with_pptx=False)
    assert result.pages == 8
