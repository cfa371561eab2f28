"""The pack's HTML laid out by the same Chromium that prints it (A4 landscape, print media): on every page no
table, chart or note runs into the footer or past the page's box, for the county and for one township, and with
twelve weekly report dates in 表一."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kongchuo_metrics import metrics, pack
from kongchuo_metrics.settings import load_settings
from tests.conftest import SAMPLE_DIR

# content width of A4 landscape with the pack's @page margins (297 mm - 2 x 14 mm) in CSS pixels
WIDTH = round((297 - 28) / 25.4 * 96)

OVERLAPS = """() => [...document.querySelectorAll('section')].map((s, i) => {
  const box = s.getBoundingClientRect();
  const foot = s.querySelector('footer');
  const top = foot ? foot.getBoundingClientRect().top : box.bottom;
  const bad = [];
  for (const e of s.querySelectorAll('h1, h2, p, table, svg, .kpi')) {
    if (e.closest('footer')) continue;
    const r = e.getBoundingClientRect();
    if (r.height === 0) continue;
    if (r.bottom > top + 0.5) bad.push(`${e.tagName} runs into the footer by ${(r.bottom - top).toFixed(0)} px`);
    if (r.right > box.right + 0.5) bad.push(`${e.tagName} runs past the right edge`);
  }
  return [i + 1, s.querySelector('h2, h1').innerText, bad];
})"""


def _weekly(ledger):
    """The sample with twelve weekly report dates up to 25 June: 表一 at its longest in the pack."""
    import dataclasses

    days = [dt.date(2019, 6, 25) - dt.timedelta(weeks=k) for k in range(11, -1, -1)]
    return dataclasses.replace(ledger, report_dates=tuple(pd.Timestamp(d) for d in days))


@pytest.mark.parametrize(
    "townships, weekly",
    [((), False), (("三里镇",), False), ((), True)],
    ids=["county", "三里镇", "weekly"],
)
def test_no_pack_page_runs_into_its_footer(browser, sample_ledger, townships, weekly):
    ledger = _weekly(sample_ledger) if weekly else sample_ledger
    sel = metrics.Selection(as_of=dt.date(2019, 6, 25), townships=townships)
    document = pack.build_html(ledger, sel, load_settings(SAMPLE_DIR), None)
    context = browser.new_context(viewport={"width": WIDTH, "height": 800})
    try:
        page = context.new_page()
        page.emulate_media(media="print")
        page.set_content(document, wait_until="load")
        pages = page.evaluate(OVERLAPS)
    finally:
        context.close()
    assert len(pages) == 8
    assert [p for p in pages if p[2]] == []
