"""AppTest, through the same frame production runs: 汇报模式 on every page, page choices from the URL, notices for
URL parameters that were dropped, the small-count rule on screen."""

import pytest

from kongchuo_metrics import privacy
from kongchuo_metrics.labels import PAGES as REGISTRY
from tests.app.conftest import PAGES, metric, open_page

SLIDES = [(title, url) for _, title, url, _, slide in REGISTRY if slide]
NAME = {"overview": "overview", "trend": "trend", "schools": "schools", "village_map": "map"}


def _page_key(url: str) -> str:
    return {"village_map": "map"}.get(url, url)


@pytest.mark.parametrize("i", range(len(SLIDES)))
def test_every_slide_has_its_neighbours_as_links_and_a_wide_frame(i):
    title, url = SLIDES[i]
    at = open_page(_page_key(url), {"briefing": "true", "tsp": "三里镇"})
    assert not at.exception, [e.value for e in at.exception]
    links = {link.proto.label: link.proto for link in at.get("page_link")}
    expected = set()
    if i > 0:
        expected.add(f"上一页：{SLIDES[i - 1][0]}")
    if i < len(SLIDES) - 1:
        expected.add(f"下一页：{SLIDES[i + 1][0]}")
    assert set(links) == expected
    assert any(f"第 {i + 1} / {len(SLIDES)} 页" in c.value for c in at.caption)
    # the frame's CSS for the projector is on the page, with the KPI value rule
    assert any("stMetricValue" in str(h.proto) for h in at.get("html"))
    assert any("乡镇：三里镇" in c.value for c in at.caption)


def test_the_import_page_is_no_slide():
    at = open_page("upload", {"briefing": "true"})
    assert [link.proto.label for link in at.get("page_link")] == ["回到第一页：总览"]
    assert any("不在汇报页序" in c.value for c in at.caption)


def test_entering_briefing_mode_turns_full_names_off():
    at = open_page("schools")
    at.toggle(key="unmask").set_value(True).run()
    assert at.session_state["unmask"] is True
    at.toggle(key="briefing").set_value(True).run()
    at.toggle(key="briefing").set_value(False).run()
    assert at.toggle(key="unmask").value is False
    names = at.dataframe[0].value["未返校学生（已脱敏）"]
    assert all("*" in n for n in names)


def test_the_names_header_says_masked_only_when_the_names_are_masked():
    at = open_page("schools")
    assert "未返校学生（已脱敏）" in at.dataframe[0].value.columns
    at.toggle(key="unmask").set_value(True).run()
    table = at.dataframe[0].value
    assert "未返校学生（已脱敏）" not in table.columns
    full = table["未返校学生（完整姓名）"]
    assert full.str.len().max() > 0 and not any("*" in n for n in full)


@pytest.mark.parametrize(
    "page, query, check",
    [  # choices travel in the URL as their Chinese labels
        ("trend", {"trend_split": "按乡镇"}, lambda at: len(at.get("plotly_chart")) == 2),
        ("schools", {"schools_all": "true"}, lambda at: len(at.dataframe[0].value) > 11),
        ("schools", {"schools_pick": "三里二中"}, lambda at: len(at.dataframe) == 2),
        ("followup", {"fu_days": "60"}, lambda at: at.number_input(key="fu_days").value == 60),
        (
            "special_ed",
            {"sped_by": "按残疾类别"},
            lambda at: "残疾类别" in at.dataframe[0].value.columns,
        ),
    ],
)
def test_page_choices_come_from_the_url(page, query, check):
    at = open_page(page, query)
    assert not at.exception
    assert check(at)


def test_a_dropped_township_or_date_is_said_not_silently_ignored():
    at = open_page("overview", {"tsp": "不存在镇", "asof": "2031-01-01"})
    warnings = " ".join(w.value for w in at.warning)
    assert "不存在镇" in warnings and "已忽略" in warnings
    assert "2031年1月1日" in warnings and "超出台账范围" in warnings
    assert metric(at, "在册辍学人数") == "25"  # the whole county, but said so


def test_an_unknown_stage_or_case_type_in_the_url_is_said():
    at = open_page("overview", {"stage": "junior", "ctype": "dropout"})
    warnings = " ".join(w.value for w in at.warning)
    assert "学段「junior」" in warnings and "类型「dropout」" in warnings and "已忽略" in warnings
    assert metric(at, "在册辍学人数") == "25"


def test_no_notice_for_a_good_url():
    at = open_page("overview", {"tsp": "三里镇"})
    assert not at.warning
    stage = open_page(
        "overview", {"stage": "初中"}
    )  # the stage in its Chinese word, as the sidebar writes it
    assert not stage.warning and stage.segmented_control(key="stage").value == "junior"
    kind = open_page("overview", {"ctype": "辍学"})
    assert not kind.warning and kind.multiselect(key="ctype").value == ["dropout"]


def test_one_counting_rule_and_one_stat_date_per_page():
    for page in PAGES:
        at = open_page(page)
        rules = [c.value for c in at.caption if c.value.startswith("统计口径")]
        assert len(rules) <= 1, page
        line = next(c.value for c in at.caption if "数据：" in c.value)
        assert line.count("统计日期") == 1, (page, line)


def test_special_ed_by_township_hides_the_same_cells_on_screen_and_in_its_rule():
    at = open_page("special_ed")
    table = at.dataframe[0].value
    hidden = (table == privacy.SUPPRESSED).to_numpy()
    assert hidden.any()
    for row in hidden:  # no row holds a single hidden cell (its 合计 would give it back)
        assert row.sum() != 1
    for col in hidden.T:
        assert col.sum() != 1
    assert any(privacy.SUPPRESSION_RULE in c.value for c in at.caption)
