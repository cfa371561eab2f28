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


SCHOOL = access.Scope("erzhong", "school", (), ("三里镇/三里二中",))  # a school named with its township


def test_a_school_users_part_names_the_schools_township_and_school(county):
    part = access.scoped_ledger(county, SCHOOL)
    named = M.Selection(as_of=AS_OF).named(part)
    assert (named.townships, named.schools) == (("三里镇",), ("三里二中",))
    assert named.describe(dated=False) == "乡镇：三里镇；学校：三里二中"  # never 「乡镇：全部」
    assert SCHOOL.describe() == "学校：三里镇三里二中"  # never the users file's raw key 三里镇/三里二中


def test_one_townships_table_is_not_titled_as_every_townships(county, settings):
    from kongchuo_metrics import exports

    part = access.scoped_ledger(county, SANLI)
    named = M.Selection(as_of=AS_OF).named(part)
    assert exports.scope_title("各乡镇辍学情况", named, "覃塘区") == "三里镇辍学情况"
    assert exports.scope_title("各乡镇辍学情况", M.Selection(), "覃塘区") == "覃塘区各乡镇辍学情况"
    two = M.Selection(townships=("三里镇", "樟木乡"))
    assert exports.scope_title("各乡镇辍学情况", two, "覃塘区") == "三里镇、樟木乡各乡镇辍学情况"


def _paragraphs(docx: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(docx)).paragraphs]


def test_a_township_users_papers_come_from_the_township_and_go_to_the_bureau(county, settings):
    sel = M.Selection(as_of=AS_OF)
    part = access.scoped_ledger(county, SANLI)
    notice = _paragraphs(report.build(part, sel, settings, "通报").docx)
    assert "各村（社区），各中小学校：" in notice
    assert not any("各乡镇人民政府" in p for p in notice)
    assert any(p.startswith("三里镇人民政府") for p in notice)  # the signature
    assert not any(p.startswith("覃塘区教育局") for p in notice)
    summary = _paragraphs(report.build(part, sel, settings, "总结").docx)
    assert "覃塘区教育局：" in summary and "覃塘区人民政府：" not in summary
    assert any("我镇会同各村（社区）认真落实" in p for p in summary)
    brief = _paragraphs(report.build(part, sel, settings, "简报").docx)
    assert any(p.startswith("三里镇人民政府编") for p in brief)
    assert "报送：覃塘区教育局　　抄送：各村（社区），各中小学校" in brief
    # the county's papers are unchanged
    whole = _paragraphs(report.build(county, sel, settings, "通报").docx)
    assert "各乡镇人民政府，区直有关单位，各中小学校：" in whole
    school = _paragraphs(report.build(access.scoped_ledger(county, SCHOOL), sel, settings, "简报").docx)
    assert any(p.startswith("三里二中编") for p in school) and "报送：覃塘区教育局" in school


def test_a_township_users_excel_is_filled_in_by_the_township(county, settings):
    import openpyxl

    from ui.downloads import papers

    part = access.scoped_ledger(county, SANLI)
    assert papers(part, "覃塘区", county.meta.get("unit", "")).issuer == "三里镇人民政府"
    assert papers(county, "覃塘区", "覃塘区教育局（台账）").issuer == "覃塘区教育局（台账）"
    from kongchuo_metrics import exports

    frame = M.townships_table(part.cases, part.schools, AS_OF)
    book = openpyxl.load_workbook(
        io.BytesIO(
            exports.gov_xlsx(frame, "三里镇辍学情况", papers(part, "覃塘区").issuer, "2019年6月25日", [])
        )
    )
    cells = [c.value for row in book.active.iter_rows() for c in row if isinstance(c.value, str)]
    assert "填报单位：三里镇人民政府" in " ".join(cells)


def test_a_township_users_pack_states_only_their_own_counts(county, settings):
    part = access.scoped_ledger(county, SANLI)
    assert pack.quality_counts(part) == {"part_cases": len(part.cases)}
    c = dataclasses.replace(
        pack.content(part, M.Selection(as_of=AS_OF), settings, None), quality=pack.quality_counts(part)
    )
    words = pack._quality_text(c)
    assert f"本范围载入个案 {len(part.cases)} 条" in words
    assert str(county.report.rows_read) not in words
    assert pack.quality_counts(county)["rows_read"] == county.report.rows_read


def test_a_junior_schools_primary_rate_says_it_has_no_primary_pupils(county, settings):
    part = access.scoped_ledger(county, SCHOOL)
    sel = M.Selection(as_of=AS_OF)
    primary = next(
        r
        for r in M.rates(M.select_cases(part.cases, sel), part.schools, sel, settings.targets)
        if r.key == "dropout_primary"
    )
    assert primary.value is None and primary.note == "所选范围没有小学在校生，不计算该学段辍学率"
    no_column = part.schools.drop(columns=["enrol_primary"])
    primary = next(
        r for r in M.rates(part.cases, no_column, sel, settings.targets) if r.key == "dropout_primary"
    )
    assert primary.note == "学校表缺少该学段在校生数，无法计算"


def test_the_pptx_says_none_where_a_table_has_no_rows(county, settings):
    from pptx import Presentation

    sel = M.Selection(townships=("三里镇",), as_of=AS_OF)
    c = pack.content(county, sel, settings, None)
    assert c.reasons.empty  # 三里镇 has no child without a placement reason
    prs = Presentation(
        io.BytesIO(pack.build_pptx(county, sel, settings, None, c=dataclasses.replace(c, figures={})))
    )
    slide = prs.slides[5]
    texts = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
    assert "未入学/未安置原因" in texts and "无。" in texts
    tables = [sh.table for sh in slide.shapes if sh.has_table]
    assert all(len(t.rows) > 1 for t in tables)  # no header over no rows


def test_one_places_text_never_says_every_township(county, settings):
    part = access.scoped_ledger(county, SANLI)
    named = M.Selection(as_of=AS_OF).named(part)
    assert (named.towns_word(), named.towns_word(each=True)) == ("三里镇", "三里镇")
    assert (M.Selection().towns_word(), M.Selection().towns_word(each=True)) == ("各乡镇", "各乡镇均")
    text = _paragraphs(report.build(part, M.Selection(as_of=AS_OF), settings, "通报").docx)
    doc = Document(io.BytesIO(report.build(part, M.Selection(as_of=AS_OF), settings, "通报").docx))
    captions = [p.text for p in doc.paragraphs if p.text.startswith("表")]
    assert any("三里镇在册与超期个案" in c for c in captions), captions
    assert not any("各乡镇" in p for p in text), [p for p in text if "各乡镇" in p]
    whole = Document(io.BytesIO(report.build(county, M.Selection(as_of=AS_OF), settings, "通报").docx))
    assert any("各乡镇在册与超期个案" in p.text for p in whole.paragraphs)


def test_the_countys_brief_goes_to_its_named_government_and_another_countys_issuer_is_not_used(county):
    from kongchuo_metrics.documents.papers import papers

    assert papers(county, "覃塘区").brief_foot.startswith("报送：覃塘区人民政府")
    assert papers(county, "平安县", "覃塘区教育局").issuer == "平安县教育局"  # settings of another county
    assert (
        papers(county, "覃塘区", "覃塘区控辍保学工作领导小组办公室").issuer
        == "覃塘区控辍保学工作领导小组办公室"
    )
