"""Real browser, 汇报模式 at 1280x720: step through every slide with the 下一页/上一页 links and back, a township
filter on; each page shows its figures for that township, no exception, KPI numbers at least twice their labels,
the key chart starting on the first screen."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.browser.conftest import Page

SANLI = "三里镇"
# (h1 starts with, the figure this page shows for 三里镇 on the sample: a metric label and value, or chart text)
SLIDES = [
    ("总览", ("metric", "在册辍学人数", "6")),
    ("辍学趋势", ("chart", "17")),  # 三里镇's table 1 starts at 17 open cases
    ("学校明细", ("metric", "未返校学生合计", "6")),
    ("村级地图", ("metric", "未返校学生", "6")),
    ("特殊教育", ("metric", "6-15周岁残疾儿童", "43")),
    ("个案跟踪", ("metric", "未返校个案", "6")),
]
NO_ERROR = "() => !document.querySelector('[data-testid=stException]')"


def _settle(p: Page, title: str) -> None:
    p.page.wait_for_function(
        "t => [...document.querySelectorAll('h1')].some(h => h.innerText.startsWith(t))",
        arg=title,
        timeout=30000,
    )
    p.page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30000
    )
    p.page.wait_for_timeout(700)


def _check_slide(p: Page, title: str, figure: tuple) -> None:
    page = p.page
    assert page.locator("[data-testid='stException']").count() == 0, title
    main = page.locator("[data-testid='stMain']").inner_text()
    assert "This app has encountered an error" not in main and "Traceback" not in main
    q = parse_qs(urlparse(page.url).query)
    assert q.get("tsp") == [SANLI] and q.get("briefing") == ["true"], page.url
    assert f"乡镇：{SANLI}" in main  # the caption names the filter still in force
    if figure[0] == "metric":
        _, label, value = figure
        card = page.locator("[data-testid='stMetric']", has_text=label).first
        assert card.locator("[data-testid='stMetricValue']").inner_text().strip() == value, title
    else:
        page.wait_for_function(
            "v => [...document.querySelectorAll('[data-testid=stPlotlyChart] text')].some(t => t.textContent === v)",
            arg=figure[1],
            timeout=20000,
        )
    # every KPI number is at least twice the size of its label
    ratios = page.evaluate("""() => [...document.querySelectorAll('[data-testid=stMetric]')].map(m => {
        const v = m.querySelector('[data-testid=stMetricValue]');
        const l = m.querySelector('[data-testid=stMetricLabel] p') || m.querySelector('[data-testid=stMetricLabel]');
        const deepest = e => { let x = e; while (x.firstElementChild) x = x.firstElementChild; return x; };
        return parseFloat(getComputedStyle(deepest(v)).fontSize) / parseFloat(getComputedStyle(l).fontSize);
    })""")
    assert all(r >= 2 for r in ratios), (title, ratios)
    # the page's first chart starts on the first screen (1280x720) with most of it in view
    chart = page.locator("[data-testid='stPlotlyChart'], [data-testid='stDeckGlJsonChart']").first
    box = chart.bounding_box()
    assert box is not None and box["y"] < 720 - min(box["height"], 400) * 0.5, (title, box)
    # the slide links show their whole text (not cut to 「下.」)
    for link in page.locator("[data-testid='stPageLink'] p").all():
        assert link.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), link.inner_text()


def test_briefing_steps_forwards_and_back_keeping_the_township(browser, server):
    url, _ = server
    p = Page(browser, url)
    p.context.close()
    p.context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    p.page = p.context.new_page()
    p.page.on("request", p._record)
    try:
        p.page.goto(f"{url}/?tsp={SANLI}&briefing=true")
        _settle(p, SLIDES[0][0])
        _check_slide(p, *SLIDES[0])
        for title, figure in SLIDES[1:]:
            p.page.locator("[data-testid='stPageLink'] a", has_text="下一页").click()
            _settle(p, title)
            _check_slide(p, title, figure)
        p.shot("briefing-last")
        assert (
            p.page.locator("[data-testid='stPageLink']", has_text="下一页").count() == 0
        )  # 数据导入 is no slide
        for title, figure in reversed(SLIDES[:-1]):
            p.page.locator("[data-testid='stPageLink'] a", has_text="上一页").click()
            _settle(p, title)
            _check_slide(p, title, figure)
        p.shot("briefing-first")
        assert p.outside == []
    finally:
        p.context.close()
