"""Figure builders: Chinese labels, one colour per concept, and a map deck that carries villages only."""

import json

import pandas as pd

from kongchuo_metrics import figures, metrics
from kongchuo_metrics.labels import COLORS
from kongchuo_metrics.schema import PERSONAL_FIELDS
from tests.conftest import REFERENCE_DATES


def _villages(sample_ledger):
    status = metrics.followup_status(sample_ledger.cases, sample_ledger.followups, "2019-06-25")
    return metrics.village_table(status, sample_ledger.villages)


def test_village_deck_layers_provider_tooltip_and_payload(sample_ledger):
    villages, missing = _villages(sample_ledger)
    deck = figures.village_deck(villages, figures.load_boundaries("data"))
    spec = json.loads(deck.to_json())
    assert "mapProvider" not in spec or spec["mapProvider"] is None
    assert spec.get("mapStyle") in (None, "__MAP_STYLE__")  # Streamlit's sentinel for "no basemap"
    types = [layer["@@type"] for layer in spec["layers"]]
    # township names drawn last, on a light label: the village dots never hide them
    assert types == ["GeoJsonLayer", "ScatterplotLayer", "TextLayer"]
    text_layer = spec["layers"][2]
    assert text_layer["background"] is True
    assert text_layer["characterSet"] == "auto" and not str(text_layer["fontFamily"]).startswith("@@=")
    points = spec["layers"][1]["data"]
    assert len(points) == len(villages) and sum(p["open"] for p in points) + len(missing) == 25
    assert set(points[0]) == {
        "township",
        "village",
        "lon",
        "lat",
        "open",
        "open_poor",
        "overdue",
        "oldest_days",
        "color",
        "radius",
        "village_html",
        "township_html",
    }
    assert not set(points[0]) & PERSONAL_FIELDS
    for field in ("{village_html}", "{township_html}", "{open}", "{open_poor}", "{oldest_days}"):
        assert field in deck._tooltip["html"]  # Streamlit sends Deck._tooltip beside the JSON
    names = set(sample_ledger.cases["name"])
    assert not any(n in deck.to_json() for n in names if len(n) >= 2)


def test_map_colours_follow_the_most_urgent_state():
    v = pd.DataFrame(
        {
            "township": ["t"] * 3,
            "village": ["a", "b", "c"],
            "lon": [109.0, 109.1, 109.2],
            "lat": [23.0, 23.1, 23.2],
            "open": [1, 4, 9],
            "open_poor": [1, 0, 0],
            "overdue": [1, 1, 0],
            "oldest_days": [10, 20, 30],
            "state": ["poor", "overdue", "open"],
        }
    )
    points = json.loads(figures.village_deck(v).to_json())["layers"][-1]["data"]
    assert [p["color"] for p in points] == [figures.STATE_COLORS[s] for s in ("poor", "overdue", "open")]
    assert points[0]["radius"] < points[1]["radius"] < points[2]["radius"]


def test_trend_chart_chinese_ticks_colours_and_target(sample_ledger):
    trend = metrics.trend(sample_ledger.cases, REFERENCE_DATES)
    fig = figures.trend_chart(trend, target=40, target_label="目标上限")
    assert list(fig.data[0].x) == [
        "2019年3月12日",
        "2019年3月25日",
        "2019年3月27日",
        "2019年4月12日",
        "2019年5月23日",
        "2019年6月25日",
    ]
    assert [t.name for t in fig.data] == ["本期劝返", "在册辍学", "其中建档立卡"]
    assert fig.data[0].marker.color == COLORS["returned"] and fig.data[1].line.color == COLORS["open"]
    assert fig.data[2].line.color == COLORS["poor"]
    assert fig.layout.shapes[0].line.color == COLORS["target"] and fig.layout.shapes[0].y0 == 40


def test_monthly_labels():
    assert figures.date_labels(
        pd.Series(pd.to_datetime(["2019-01-31", "2019-02-28", "2019-03-31", "2019-04-12"]))
    ) == ["2019年1月", "2019年2月", "2019年3月", "4月12日"]


def test_static_map_has_no_geo_traces(sample_ledger):
    villages, _ = _villages(sample_ledger)
    fig = figures.static_map(villages, figures.load_boundaries("data"))
    assert {t.type for t in fig.data} == {"scatter"}
    assert fig.layout.yaxis.scaleanchor == "x"


def test_stacked_placements_with_every_cell_hidden_says_why_there_is_no_bar():
    """A school's own placements are all 1-4 (privacy.suppress hides each): the chart keeps an axis from 0
    and says why it draws nothing, instead of an empty -1..1 axis."""
    import pandas as pd

    from kongchuo_metrics import schema

    hidden = pd.DataFrame({"township": ["东河镇"], **{k: ["<5*"] for k in schema.PLACEMENTS}})
    fig = figures.stacked_placements(hidden, "township")
    assert tuple(fig.layout.xaxis.range) == (0, 5)
    assert [a.text for a in fig.layout.annotations] == [figures.ALL_HIDDEN]
    shown = pd.DataFrame(
        {"township": ["东河镇"], **{k: [3 if k == "mainstream" else 0] for k in schema.PLACEMENTS}}
    )
    assert not figures.stacked_placements(shown, "township").layout.annotations
