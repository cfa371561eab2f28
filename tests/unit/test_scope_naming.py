"""A township (or school) user's unfiltered view covers their own part of the county: every title and document
names that part, never the county (the caption did; export titles, the pack, the Word report and the headline's
place said 覃塘区 / 全区 over a township's figures)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from docx import Document

from kongchuo_metrics import access, compare, pack
from kongchuo_metrics import metrics as M
from kongchuo_metrics.documents import report
from kongchuo_metrics.settings import load_settings
from tests.conftest import SAMPLE_DIR

AS_OF = dt.date(2019, 6, 25)
SANLI = access.Scope("sanli", "township", ("三里镇",), ())


@pytest.fixture(scope="module")
def settings():
    return dataclasses.replace(load_settings(SAMPLE_DIR), document_date="2019-06-28")


@pytest.fixture(scope="module")
def county(sample_ledger):
    return sample_ledger


def test_a_selection_on_a_townships_part_is_named_with_that_township(county):
    sel = M.Selection(as_of=AS_OF)
    part = access.scoped_ledger(county, SANLI)
    assert sel.named(part).townships == ("三里镇",)
    assert sel.named(county) == sel  # the county's own ledger: nothing to name
    chosen = M.Selection(townships=("三里镇",), as_of=AS_OF)
    assert chosen.named(part) == chosen
    school = access.Scope("s", "school", ("三里镇",), ("三里一中",))
    named = sel.named(access.scoped_ledger(county, school))
    assert (named.townships, named.schools) == (("三里镇",), ("三里一中",))


def test_headline_pack_and_word_report_of_a_township_user_name_the_township(county, settings):
    sel = M.Selection(as_of=AS_OF)
    part = access.scoped_ledger(county, SANLI)
    head = compare.headline(part, sel, settings)
    assert head.place == "三里镇"
    assert (
        head.open == compare.headline(county, M.Selection(townships=("三里镇",), as_of=AS_OF), settings).open
    )
    c = pack.content(part, sel, settings, None)
    assert c.title.startswith("三里镇") and "覃塘区" not in c.title, c.title
    assert c.scope.startswith("乡镇：三里镇"), c.scope
    doc = Document(io.BytesIO(report.build(part, sel, settings, "通报").docx))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "关于三里镇控辍保学工作进展情况的通报" in text
    assert f"截至2019年6月25日，三里镇在册辍学学生{head.open}人" in text
    assert "全区在册辍学学生" not in text
    assert "范围：乡镇：三里镇" in text and "乡镇：全部" not in text  # the note under the report
    # the county's own report still names the district
    whole = Document(io.BytesIO(report.build(county, sel, settings, "通报").docx))
    assert any(p.text.startswith("关于覃塘区") for p in whole.paragraphs)


def test_a_township_users_export_title_names_the_township(county, settings):
    from ui.downloads import export_title
    from ui.view import View

    sel = M.Selection(as_of=AS_OF)
    part = access.scoped_ledger(county, SANLI)
    view = View(
        part, sel, M.select_cases(part.cases, sel), sel.dates_upto(part.report_dates), "list", settings, SANLI
    )
    assert export_title(view, "未返校学生分校统计表") == "三里镇未返校学生分校统计表"
    whole = View(county, sel, county.cases, [], "list", settings, access.Scope("a", "admin", (), ()))
    assert export_title(whole, "未返校学生分校统计表") == "覃塘区未返校学生分校统计表"
