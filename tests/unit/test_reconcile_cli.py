"""The reconcile command: exactly the documented JSON keys, the feedback sheet written and audited."""

from __future__ import annotations

import json

from kongchuo_metrics.cli import main
from tests.conftest import SAMPLE_DIR
from tests.reconcile_data import AS_OF, EXPECTED, make_lists


def test_reconcile_json_has_exactly_the_documented_keys(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KONGCHUO_AUDIT", str(tmp_path / "audit.jsonl"))
    paths = make_lists(tmp_path / "lists")
    out = tmp_path / "反馈.xlsx"
    argv = ["reconcile", str(SAMPLE_DIR), "--as-of", AS_OF, "--format", "json", "--feedback-out", str(out)]
    for kind, path in paths.items():
        argv += [f"--{kind}", str(path)]
    assert main(argv + ["--checker", "王老师"]) == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED
    assert out.stat().st_size > 0
    line = json.loads((tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert line["event"] == "download" and line["file"] == "反馈.xlsx" and line["mode"] == "unmasked"


def test_reconcile_text_and_missing_lists(tmp_path, capsys):
    paths = make_lists(tmp_path / "lists")
    assert main(["reconcile", str(SAMPLE_DIR), "--as-of", AS_OF, "--xueji", str(paths["xueji"])]) == 0
    text = capsys.readouterr().out
    assert "台账已销号返校但学籍不在读：3 人" in text and "推送名单" not in text
    assert main(["reconcile", str(SAMPLE_DIR), "--as-of", AS_OF, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["pushed"] is None


def test_reconcile_bad_inputs_exit_2_in_chinese(tmp_path, capsys):
    empty = tmp_path / "空.csv"
    empty.write_bytes(b"")
    assert main(["reconcile", str(SAMPLE_DIR), "--as-of", AS_OF, "--pushed", str(empty)]) == 2
    assert "0 字节" in capsys.readouterr().err
    assert main(["reconcile", str(SAMPLE_DIR), "--as-of", "明天"]) == 2
    paths = make_lists(tmp_path / "lists")
    out = tmp_path / "x.xlsx"
    assert (
        main(
            [
                "reconcile",
                str(SAMPLE_DIR),
                "--as-of",
                AS_OF,
                "--xueji",
                str(paths["xueji"]),
                "--feedback-out",
                str(out),
            ]
        )
        == 2
    )
    assert "推送名单" in capsys.readouterr().err and not out.exists()


def test_reconcile_save_keeps_the_run_and_next_month_counts_the_resolved(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KONGCHUO_AUDIT", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("KONGCHUO_DB", f"sqlite:///{tmp_path / 'records.sqlite'}")
    from kongchuo_metrics import records

    records.dispose_all()
    paths = make_lists(tmp_path / "lists")
    argv = ["reconcile", str(SAMPLE_DIR), "--pushed", str(paths["pushed"]), "--save"]
    assert main([*argv, "--as-of", AS_OF]) == 0
    assert "已保存为第 1 次比对" in capsys.readouterr().out
    assert main([*argv, "--as-of", "2019-07-25", "--xueji", str(paths["xueji"])]) == 0
    out = capsys.readouterr().out
    # last month 已在台账 3, the rest (8 with an ID) to visit; now 4 of them are 核实在读
    assert "已保存为第 2 次比对" in out and "上次需入户核查 8 人，已化解 4 人" in out
    assert '"event": "check_run"' in (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    records.dispose_all()
