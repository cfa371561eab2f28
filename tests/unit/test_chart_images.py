"""The one chart browser: a failed tab is replaced, two sessions never receive each other's charts, and a pack
leaves the browser running for the Word report that another session is making."""

from __future__ import annotations

import datetime as dt
import threading

import kaleido
import plotly.graph_objects as go
from kaleido._kaleido_tab._errors import JavascriptError

from kongchuo_metrics import chart_images, metrics, pack
from kongchuo_metrics.settings import load_settings
from tests.conftest import SAMPLE_DIR


def _fig(title: str) -> go.Figure:
    return go.Figure(go.Bar(x=["甲", "乙"], y=[3, 5]), layout={"title": {"text": title}})


class _TabNotReady:
    """A figure whose first export meets the error a loaded machine gives: kaleido called into its tab before
    the tab's script had loaded. Later exports are the real figure's."""

    def __init__(self, fig):
        self.fig, self.calls = fig, 0

    def to_image(self, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise JavascriptError(
                "{'type': 'object', 'subtype': 'error', 'description': "
                "'ReferenceError: kaleido_scopes is not defined'}"
            )
        return self.fig.to_image(**kwargs)


def test_a_chart_whose_tab_failed_is_drawn_on_a_fresh_browser():
    chart_images.start()
    before = kaleido._global_server._thread
    flaky = _TabNotReady(_fig("劝返进度"))
    svg = chart_images.render(flaky, "svg", 400, 300).decode("utf-8")
    assert "<svg" in svg and "劝返进度" in svg
    assert flaky.calls == 2
    assert kaleido._global_server.is_running() and kaleido._global_server._thread is not before


def test_a_chart_that_keeps_failing_raises_after_the_last_attempt():
    class Broken:
        calls = 0

        def to_image(self, **kwargs):
            Broken.calls += 1
            raise JavascriptError("kaleido_scopes is not defined")

    try:
        chart_images.render(Broken(), "svg", 400, 300)
    except JavascriptError:
        pass
    else:
        raise AssertionError("a chart that never renders must not pass silently")
    assert Broken.calls == chart_images.ATTEMPTS
    assert chart_images.render(_fig("之后"), "svg", 400, 300)  # the browser works again afterwards


def test_two_sessions_rendering_at_once_each_get_their_own_charts():
    out: dict[str, list[str]] = {"三里镇": [], "城关镇": []}

    def session(place):
        for i in range(4):
            out[place].append(chart_images.render(_fig(f"{place}{i}"), "svg", 300, 200).decode("utf-8"))

    threads = [threading.Thread(target=session, args=(p,)) for p in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for place, svgs in out.items():
        assert len(svgs) == 4
        for i, svg in enumerate(svgs):
            assert f"{place}{i}" in svg, (place, i)


def test_a_pack_leaves_the_chart_browser_running(sample_ledger):
    chart_images.start()
    sel = metrics.Selection(as_of=dt.date(2019, 6, 25))
    pack.make_pack(sample_ledger, sel, load_settings(SAMPLE_DIR), None, with_pptx=False)
    assert kaleido._global_server.is_running()
    assert "<svg" in chart_images.render(_fig("会后"), "svg", 300, 200).decode("utf-8")
