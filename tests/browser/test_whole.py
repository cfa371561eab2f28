"""Real browser: no control, KPI label or value cut off on any page at 1280x720 and 1440x900 (normal and 汇报模式);
every download of a filtered view names its scope in its title; no Streamlit English chrome where config hides it."""

from __future__ import annotations

import io

import pytest

from tests.browser.conftest import Page
from tests.browser.test_browser import PAGES

# every element that shows text in one line and would cut it (ellipsis or hidden overflow), outside charts/tables
CUT = """() => {
  const skip = e => e.closest('[data-testid=stDataFrame], [data-testid=stPlotlyChart], [data-testid=stDeckGlJsonChart]');
  const out = [];
  for (const root of document.querySelectorAll('[data-testid=stMain], [data-testid=stSidebar][data-collapsed=false]')) {
    for (const e of root.querySelectorAll('button, button *, [data-testid=stMetric] *, [data-testid=stPageLink] *,'
                                         + ' [data-testid=stWidgetLabel] *, [data-testid=stCaptionContainer] *')) {
      if (skip(e) || !e.innerText || !e.innerText.trim() || e.offsetParent === null) continue;
      const s = getComputedStyle(e);
      const clips = s.textOverflow === 'ellipsis' || s.overflow === 'hidden' || s.overflowX === 'hidden';
      if (clips && e.scrollWidth > e.clientWidth + 1) out.push(e.innerText.trim().slice(0, 40));
    }
  }
  return [...new Set(out)];
}"""


def _open(browser, url, path, width, height) -> Page:
    p = Page(browser, url)
    p.context.close()
    p.context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    p.page = p.context.new_page()
    p.page.on("request", p._record)
    if path is not None:
        _load(p, path)
    return p


# what moves on a page while it is still being laid out: every element's box in the main area and the sidebar
LAYOUT = """() => [...document.querySelectorAll('[data-testid=stMain] *, [data-testid=stSidebar] *')]
  .map(e => { const r = e.getBoundingClientRect(); return `${r.x},${r.y},${r.width},${r.height}`; }).join(';')"""


def _load(p: Page, path: str) -> None:
    """`path` opened in the page's tab, waited for until its script has run and its layout has stopped moving
    (the same box for every element over 0.4 s; charts and tables lay out after the script's run)."""
    p.page.goto(f"{p.base}/{path}")
    p.page.wait_for_selector("h1", timeout=30000)
    p.page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60000
    )
    _settled(p)


def _settled(p: Page) -> None:
    p.page.wait_for_timeout(400)
    before = p.page.evaluate(LAYOUT)
    for _ in range(40):
        p.page.wait_for_timeout(400)
        now = p.page.evaluate(LAYOUT)
        if now == before:
            return
        before = now
    raise AssertionError(f"the layout of {p.page.url} kept moving")


CUT_CASES = [
    *[(size, mode) for size in ((1280, 720), (1440, 900)) for mode in ("", "briefing=true")],
    ((1280, 720), "briefing=true&sidebar"),  # the sidebar opened by hand: the narrowest the cards get
]


@pytest.mark.parametrize(
    ("size", "mode"), CUT_CASES, ids=[f"{w}x{h}-{m or 'list'}" for (w, h), m in CUT_CASES]
)
def test_no_control_is_cut_off_on_any_page(browser, server, size, mode):
    """Every page at both sizes, normal and 汇报模式, and 汇报模式 with the sidebar opened by hand at 1280; the
    pages one after another in one tab, as a user opens them (each one loaded afresh from its address)."""
    url, _ = server
    cut = {}
    p = _open(browser, url, None, *size)
    try:
        for name, path in PAGES.items():
            _load(p, f"{path}?{mode.removesuffix('&sidebar')}")
            if (
                mode.endswith("sidebar")
                and p.page.locator("[data-testid='stSidebar'][data-collapsed='true']").count()
            ):
                p.page.locator("[data-testid='stExpandSidebarButton']").click()
                p.page.wait_for_selector("[data-testid='stSidebar'][data-collapsed='false']", timeout=10000)
                _settled(p)
            assert p.page.locator("[data-testid='stException']").count() == 0, name
            assert p.page.locator("h1").count() >= 1, name
            found = p.page.evaluate(CUT)
            if found:
                cut[name] = found
                p.shot(f"cut-{name}-{size[0]}-{mode.replace('&', '-') or 'list'}")
        assert p.outside == []
    finally:
        p.context.close()
    assert not cut, cut


def test_streamlit_chrome_is_hidden_or_chinese(browser, server):
    url, _ = server
    p = _open(browser, url, "schools", 1280, 720)
    try:
        # toolbarMode=minimal: no main menu (Print / Record screen / …); no plotly mode bar (English tooltips)
        assert p.page.locator("[data-testid='stMainMenu']").count() == 0
        assert p.page.locator(".modebar").count() == 0
        body = p.page.locator("body").inner_text()
        for english in ("Made with Streamlit", "Record a screencast", "Print", "Select all", "Deploy"):
            assert english not in body, english
        p.page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").first.click()
        assert p.page.get_by_text("Select all").count() == 0
    finally:
        p.context.close()


def _downloads(p: Page) -> list[tuple[str, bytes, str]]:
    out = []
    buttons = p.page.locator("[data-testid='stDownloadButton'] button")
    for i in range(buttons.count()):
        # a click writes the audit line first (a rerun of the page), so each button is found again afterwards
        button = p.page.locator("[data-testid='stDownloadButton'] button").nth(i)
        label = button.inner_text()
        with p.page.expect_download(timeout=90000) as info:
            button.click()
        d = info.value
        out.append((d.suggested_filename, open(d.path(), "rb").read(), label))
        p.wait()
    return out


@pytest.mark.parametrize("name", ["overview", "trend", "schools", "map", "special-ed", "followup"])
def test_every_download_of_a_filtered_view_names_its_scope(browser, server, name):
    import openpyxl

    url, _ = server
    p = _open(browser, url, f"{PAGES[name]}?tsp=三里镇&stage=初中", 1440, 900)
    try:
        p.page.wait_for_selector("[data-testid='stDownloadButton'] button", timeout=30000)
        files = _downloads(p)
        assert files, name
        for filename, data, label in files:
            if filename.endswith(".csv"):
                first = data.decode("utf-8-sig").splitlines()[0]
                assert first.startswith("三里镇初中") and "乡镇：三里镇" in first and "学段：初中" in first, (
                    first
                )
                assert "覃塘区" not in first.split("（")[0]
            elif filename.endswith(".xlsx"):
                ws = openpyxl.load_workbook(io.BytesIO(data)).active
                assert str(ws["A1"].value).startswith("三里镇初中"), ws["A1"].value
                rows = [str(r[0].value) for r in ws.iter_rows(min_row=2, max_row=5)]
                assert any("范围：乡镇：三里镇；学段：初中" in r for r in rows), rows
            else:
                pytest.fail(f"unexpected download {filename} ({label})")
    finally:
        p.context.close()
