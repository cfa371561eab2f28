"""The Word report and the case file from the pages: buttons clicked, and the same figures as the dashboard."""

import datetime as dt
import io
import json
import re

import pytest
from docx import Document

from kongchuo_metrics import compare
from kongchuo_metrics import metrics as M
from kongchuo_metrics.documents import report
from kongchuo_metrics.settings import load_settings
from tests.app.conftest import metric, open_page
from tests.conftest import SAMPLE_DIR

SELECTIONS = [
    ({}, M.Selection(as_of=dt.date(2019, 6, 25))),
    ({"tsp": ["黄练镇"]}, M.Selection(townships=("黄练镇",), as_of=dt.date(2019, 6, 25))),
    ({"tsp": ["三里镇", "五里镇"], "asof": "2019-04-12"}, M.Selection(townships=("三里镇", "五里镇"), as_of=dt.date(2019, 4, 12))),
]  # fmt: skip


def _docx_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    return "\n".join(p.text for p in doc.paragraphs)


def test_report_button_generates_the_word_report(isolated):
    at = open_page()
    assert at.button(key="ov_report_make").label == "生成 Word 通报"
    at.selectbox(key="ov_report_kind").set_value("简报").run()
    at.button(key="ov_report_make").click().run()
    assert not at.exception
    downloads = at.get("download_button")
    assert any("下载 简报（Word）" in d.proto.label for d in downloads)
    assert any("在册 25 人，累计劝返 77 人" in c.value for c in at.caption)


def test_overview_cards_show_both_comparisons():
    at = open_page()
    captions = [c.value for c in at.caption]
    assert "较上年同期（2018年6月25日）减少6人" in captions  # open: 25 against 31
    assert "较上年同期（2018年6月25日）减少11人" in captions  # returns: 77 against 88
    old = open_page("overview", {"asof": "2018-06-25"})
    assert metric(old, "在册辍学人数") == "31"
    assert "台账不含上年同期数据" in [c.value for c in old.caption]


@pytest.mark.parametrize("query,sel", SELECTIONS)
def test_word_report_and_pack_agree_with_the_dashboard(query, sel):
    from kongchuo_metrics import pack
    from kongchuo_metrics.ingest import load_ledger

    at = open_page("overview", query)
    shown = {k: int(metric(at, k)) for k in ("在册辍学人数", "累计劝返人数", "建档立卡在册")}
    ledger, settings = load_ledger(SAMPLE_DIR), load_settings(SAMPLE_DIR)
    h = compare.headline(ledger, sel, settings)
    assert (h.open, h.returned_total, h.open_poor) == tuple(shown.values())
    text = _docx_text(report.build(ledger, sel, settings, "简报").docx)
    assert f"在册辍学学生{h.open}人" in text and f"本学年累计劝返{h.returned_total}人" in text
    page = pack.build_html(ledger, sel, settings, None)
    kpis = re.findall(
        r"<span>(在册辍学人数|累计劝返人数（本学年）|建档立卡在册（红线）)</span><b[^>]*>(\d+)</b>", page
    )
    assert [int(v) for _, v in kpis] == list(shown.values())
    assert compare.last_year_caption(h.comparison, "open") in page


def test_case_file_button_on_the_followup_page(isolated):
    at = open_page("followup")
    case = at.selectbox(key="fu_case").options[0].split("\u3000")[0]
    at.selectbox(key="fu_case").set_value(case).run()
    assert not at.exception
    button = next(d for d in at.get("download_button") if "一人一案" in d.proto.label)
    assert "完整" not in button.proto.label  # masked for the default local admin, who has not unmasked
    log = isolated / "audit" / "audit.jsonl"
    assert not log.exists() or not any(
        json.loads(x)["event"] == "download" for x in log.read_text().splitlines()
    )


def test_full_name_annex_is_audited_when_generated(isolated):
    at = open_page()
    at.checkbox(key="ov_report_annex").check().run()
    at.button(key="ov_report_make").click().run()
    assert not at.exception
    assert any("含完整姓名附件" in c.value for c in at.caption)
    lines = [
        json.loads(x) for x in (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [x["document"] for x in lines if x["event"] == "unmask"] == ["report_annex"]
