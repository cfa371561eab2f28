"""Plotly and pydeck builders: data in, figure out. The same builders serve the pages and the briefing pack.

Charts use one colour per concept (labels.COLORS), Chinese axis and tick labels and Chinese number formats.
The map never uses a basemap or tile service (map_provider=None) and never receives case rows: only villages.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from . import labels, schema
from .labels import COLORS, PLACEMENT_COLORS

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"

# The browser config of every chart. Streamlit bundles no plotly.js zh-CN locale (only en), so the mode bar's
# English tooltips cannot be translated: it is switched off, and with it zoom by accident; hover stays.
PLOTLY_CONFIG = {"displayModeBar": False, "displaylogo": False, "scrollZoom": False, "doubleClick": False}


def text_width(text: str, size: float) -> float:
    """Rendered width in px of a label at `size` px: a CJK character is a full em, other characters ~0.6 em."""
    text = str(text)
    wide = sum(1 for ch in text if ord(ch) > 0x2E80)
    return (wide + 0.6 * (len(text) - wide)) * size


def font_sizes(big: bool = False) -> dict:
    """Font sizes (px) of a chart: body, ticks and legend; larger for the projector (汇报模式)."""
    return {"body": 20, "tick": 18, "legend": 18} if big else {"body": 14, "tick": 13, "legend": 13}


def count_ticks(top: float, target: int = 5) -> dict:
    """Axis settings for a count axis: integer ticks only (1, 2, 5 x 10^n steps), never 0 1 1 2 2."""
    top = max(float(top or 0), 1.0)
    raw = top / target
    step = 1
    for mult in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        step = mult
        if mult >= raw:
            break
    return {"tickmode": "linear", "tick0": 0, "dtick": max(1, step), "tickformat": ",d"}


def _merge(into: dict, more: dict) -> dict:
    """`more` merged into `into` key by key, nested dicts merged too (the later value wins); returns `into`."""
    for k, v in more.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v
    return into


def _figure(
    traces: list[dict],
    layout: dict,
    title: str | None,
    height: int,
    big: bool = False,
    y_labels=None,
    x_labels=None,
    count_axis: str | None = "y",
    top: float | None = None,
) -> go.Figure:
    """The figure of `traces` (plain trace dicts with their "type") in the shared look, `layout` on top of it;
    margins from the longest tick label (so no label is clipped in print), integer count ticks.

    Built from plain dicts in one go: plotly validates the whole figure once, where a chain of add_* and
    update_* calls validates at every step (about ten times the time, and most of a page's first computation).
    `y_labels` / `x_labels`: the category labels of that axis (widest one sets the margin); `count_axis`: the
    axis that holds counts ("x", "y" or None); `top`: the largest count shown (for the tick step).
    """
    sizes = font_sizes(big)
    left = 16 + max(
        (text_width(v, sizes["tick"]) for v in (y_labels if y_labels is not None else [])), default=0
    )
    if y_labels is None:  # a count axis on the left: its widest tick number plus the axis title
        left = 30 + text_width(f"{int(top or 0):,}", sizes["tick"]) + sizes["body"]
    bottom = 20
    if x_labels is not None and len(x_labels):
        widest = max(text_width(v, sizes["tick"]) for v in x_labels)
        bottom += sizes["tick"] + 10 if widest * len(x_labels) < 900 else widest * 0.72 + 10  # rotated 45
    else:
        bottom += sizes["tick"] * 2 + 10  # count ticks and the axis title

    def axis() -> dict:  # a fresh one per axis: _merge writes into its nested dicts
        return {
            "tickfont": {"size": sizes["tick"]},
            "automargin": True,
            "title": {"font": {"size": sizes["body"]}},
        }

    look = {
        "height": height,
        "margin": {"l": int(left), "r": 40, "t": 60 if title else 40, "b": int(bottom)},
        "font": {"family": FONT, "size": sizes["body"]},
        "separators": ".,",
        "legend": {
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "x": 0,
            "font": {"size": sizes["legend"]},
        },
        "plot_bgcolor": "white",
        "hoverlabel": {"font": {"family": FONT}},
        "dragmode": False,
        "xaxis": axis(),
        "yaxis": {**axis(), "gridcolor": "#e9ecef", "rangemode": "tozero"},
    }
    if title:
        look["title"] = {"text": title, "x": 0.01}
    if count_axis:
        look[f"{count_axis}axis"].update(count_ticks(top if top is not None else 1))
    return go.Figure({"data": traces, "layout": _merge(look, layout)})


def date_labels(dates: pd.Series) -> list[str]:
    """Chinese tick labels: 2019年3月12日, or 2019年3月 when every date is a month end (monthly series)."""
    d = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
    if len(d) == 0:
        return []
    month_ends = (d + pd.offsets.Day(1)).dt.day.eq(1)
    if len(d) > 2 and month_ends.iloc[:-1].all():
        return [
            f"{x.year}年{x.month}月" if i < len(d) - 1 else f"{x.month}月{x.day}日" for i, x in enumerate(d)
        ]
    if d.dt.year.nunique() == 1 and len(d) > 8:
        return [f"{x.month}月{x.day}日" for x in d]
    return [f"{x.year}年{x.month}月{x.day}日" for x in d]


def _count_line(x, y, name: str, line: dict, mode: str = "lines+markers", **extra) -> dict:
    """One line of head counts over the report dates, with its Chinese hover text (日期, name：n 人)."""
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "name": name,
        "mode": mode,
        "line": line,
        "hovertemplate": f"%{{x}}<br>{name}：%{{y:,d}} 人<extra></extra>",
        **extra,
    }


def trend_chart(
    trend: pd.DataFrame,
    title: str | None = None,
    target: float | None = None,
    target_label: str = "目标上限",
    height: int = 420,
    big: bool = False,
    last_year: pd.DataFrame | None = None,
) -> go.Figure:
    """Open cases (line), returns per period (bars), 建档立卡 open (line) and an optional target line.

    `last_year` (compare.last_year_line: date, open_last_year) adds the open cases a year earlier as a dashed
    line; slots without history stay empty rather than dropping to 0.

    The x axis is categorical (one slot per report date): report dates are irregular, and a time axis would
    squeeze 3月25日 and 3月27日 onto one another.
    """
    x = date_labels(trend["date"])
    traces = [
        {
            "type": "bar",
            "x": x,
            "y": trend["returned"],
            "name": "本期劝返",
            "marker": {"color": COLORS["returned"]},
            "opacity": 0.8,
            "text": trend["returned"].astype("object").where(trend["returned"] > 0, ""),  # no "0" on empty
            "textposition": "auto",  # inside a tall bar, just above a bar too short to hold its number
            "insidetextanchor": "start",  # at the foot of the bar, clear of the open-cases labels above
            "textangle": 0,  # never rotated, however thin the bar
            "constraintext": "none",
            "hovertemplate": "%{x}<br>本期劝返：%{y:,d} 人<extra></extra>",
        },
        _count_line(
            x,
            trend["open"],
            "在册辍学",
            {"color": COLORS["open"], "width": 3},
            mode="lines+markers+text",
            text=trend["open"],
            textposition="top center",
            cliponaxis=False,
        ),
        _count_line(x, trend["open_poor"], "其中建档立卡", {"color": COLORS["poor"], "width": 2}),
    ]
    top = max(
        int(trend["open"].max()) if len(trend) else 0, int(trend["returned"].max()) if len(trend) else 0, 1
    )
    if last_year is not None and last_year["open_last_year"].notna().any():
        ly = trend[["date"]].merge(last_year, on="date", how="left")["open_last_year"]
        traces.append(
            _count_line(
                x,
                ly.astype("float"),
                "上年同期在册",
                {"color": COLORS["open"], "width": 2, "dash": "dot"},
                marker={"symbol": "circle-open"},
                opacity=0.6,
                connectgaps=False,
            )
        )
        top = max(top, int(ly.max()))
    layout: dict = {
        "xaxis": {"type": "category"},
        "yaxis": {"title": {"text": "人数"}, "range": [0, top * 1.18]},
    }
    if target is not None:
        if target <= top * 3:  # a dashed line across the plot, its label above its left end
            line = {"xref": "x domain", "yref": "y"}
            layout["shapes"] = [
                {"type": "line", **line, "x0": 0, "x1": 1, "y0": target, "y1": target}
                | {"line": {"color": COLORS["target"], "dash": "dash"}}
            ]
            layout["annotations"] = [
                {
                    **line,
                    "x": 0,
                    "y": target,
                    "xanchor": "left",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "text": f"{target_label} {labels.cn_number(target)} 人",
                }
            ]
        else:
            layout["annotations"] = [
                {
                    "xref": "paper",
                    "yref": "paper",
                    "x": 1,
                    "y": 1.1,
                    "showarrow": False,
                    "xanchor": "right",
                    "text": f"{target_label} {labels.cn_number(target)} 人（远高于当前）",
                    "font": {"color": COLORS["target"]},
                }
            ]
    return _figure(traces, layout, title, height, big, x_labels=x, top=top * 1.18)


def split_trend_chart(
    trend: pd.DataFrame, by: str, title: str | None = None, height: int = 420, big: bool = False
) -> go.Figure:
    """Open cases per group over the report dates (one line per township or stage)."""
    value_labels = labels.VALUE_LABELS.get(by, {})
    x_all = date_labels(trend["date"].drop_duplicates().sort_values()) if len(trend) else []
    traces = []
    for name, grp in trend.groupby(by, sort=True):  # one line per group (a handful), not per case
        shown = _html_text(pd.Series([str(value_labels.get(name, name))])).iloc[0]
        traces.append(
            {
                "type": "scatter",
                "x": date_labels(grp["date"]),
                "y": grp["open"],
                "name": shown,
                "mode": "lines+markers",
                "hovertemplate": f"{shown}<br>%{{x}}<br>在册辍学：%{{y:,d}} 人<extra></extra>",
            }
        )
    layout = {"xaxis": {"type": "category"}, "yaxis": {"title": {"text": "在册辍学人数"}}}
    top = float(trend["open"].max()) if len(trend) else 1
    return _figure(traces, layout, title, height, big, x_labels=x_all, top=top)


def bar_chart(
    frame: pd.DataFrame,
    category: str,
    value: str,
    title: str | None = None,
    color: str = "open",
    height: int | None = None,
    big: bool = False,
    value_label: str = "人数",
) -> go.Figure:
    """A horizontal bar chart of `value` per `category`, largest at the top."""
    data = frame.sort_values(value, ascending=True)
    names = data[category].astype("str")
    bar = {
        "type": "bar",
        "x": data[value],
        "y": _html_text(names),
        "orientation": "h",
        "marker": {"color": COLORS.get(color, color)},
        "text": data[value],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{y}<br>" + value_label + "：%{x:,}<extra></extra>",
    }
    top = float(data[value].max()) if len(data) else 1
    layout = {
        # room for the number outside the longest bar
        "xaxis": {"title": {"text": value_label}, "range": [0, top * 1.15]},
        "yaxis": {"type": "category"},
    }
    row = 34 if big else 28
    return _figure(
        [bar],
        layout,
        title,
        height or max(260, row * len(data) + 110),
        big,
        y_labels=names,
        count_axis="x",
        top=top * 1.15,
    )


def placements_chart(
    summary: dict, title: str | None = None, height: int = 360, big: bool = False
) -> go.Figure:
    """Special-education placements as bars in the fixed placement order and colours."""
    keys = list(schema.PLACEMENTS)
    # a suppressed count (privacy.published_special) gets no bar, only its mark
    values = [summary[k] if isinstance(summary[k], int) else None for k in keys]
    bar = {
        "type": "bar",
        "x": [schema.PLACEMENTS[k] for k in keys],
        "y": [v or 0 for v in values],
        "marker": {"color": [PLACEMENT_COLORS[k] for k in keys]},
        "text": [summary[k] for k in keys],
        "textposition": "outside",
        "hovertemplate": "%{x}：%{text} 人<extra></extra>",
    }
    top = max([v for v in values if v is not None] or [1])
    layout = {"yaxis": {"title": {"text": "人数"}, "range": [0, top * 1.18]}}
    x_labels = [schema.PLACEMENTS[k] for k in keys]
    return _figure([bar], layout, title, height, big, x_labels=x_labels, top=top * 1.18)


ALL_HIDDEN = "各格人数均少于5人，按小数抑制规则不画条形（见下表）"


def stacked_placements(
    by_table: pd.DataFrame, by: str, title: str | None = None, big: bool = False
) -> go.Figure:
    """Placements stacked per township / disability type."""
    names = by_table[by].astype("str")
    shown = _html_text(names)
    traces = [
        {
            "type": "bar",
            "y": shown,
            "x": pd.to_numeric(by_table[k], errors="coerce"),  # a suppressed cell (privacy.suppress): no bar
            "name": name,
            "orientation": "h",
            "marker": {"color": PLACEMENT_COLORS[k]},
            "hovertemplate": "%{y}<br>" + name + "：%{x:,d} 人<extra></extra>",
        }
        for k, name in schema.PLACEMENTS.items()
    ]
    layout = {"barmode": "stack", "xaxis": {"title": {"text": "人数"}}, "yaxis": {"type": "category"}}
    cells = by_table[list(schema.PLACEMENTS)].apply(pd.to_numeric, errors="coerce")
    top = float(cells.sum(axis=1).max()) if len(by_table) else 1
    if len(by_table) and not top > 0:  # every cell hidden (privacy.suppress): an axis from 0, and why no bar
        layout["xaxis"]["range"] = [0, 5]
        layout["annotations"] = [
            {
                "text": ALL_HIDDEN,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"size": font_sizes(big)["body"], "color": "#495057"},
            }
        ]
        top = 5
    height = max(300, 30 * len(by_table) + 110)
    return _figure(traces, layout, title, height, big, y_labels=names, count_axis="x", top=top)


def ladder_chart(ladder: pd.DataFrame, title: str | None = None, big: bool = False) -> go.Figure:
    """Open and overdue cases per escalation step, in ladder order."""
    traces = [
        {
            "type": "bar",
            "x": ladder["label"],
            "y": ladder["open"],
            "name": "在册",
            "marker": {"color": COLORS["open"]},
            "hovertemplate": "%{x}：%{y:,d} 人<extra></extra>",
        },
        {
            "type": "bar",
            "x": ladder["label"],
            "y": ladder["overdue"],
            "name": "其中超期",
            "marker": {"color": COLORS["overdue"]},
            "hovertemplate": "%{x} 超期：%{y:,d} 人<extra></extra>",
        },
    ]
    top = max(float(ladder["open"].max()) if len(ladder) else 1, 1)
    layout = {"barmode": "group", "yaxis": {"title": {"text": "人数"}, "range": [0, top * 1.15]}}
    return _figure(traces, layout, title, 340, big, x_labels=list(ladder["label"]), top=top * 1.15)


# --- the map ----------------------------------------------------------------------------------------------------

# ordered by urgency: 建档立卡 (the red line) deep red, overdue orange, an ordinary open case a calm blue-grey
STATE_COLORS = {"poor": [201, 42, 42, 230], "overdue": [247, 103, 7, 220], "open": [92, 124, 170, 200]}
MAP_LEGEND = [
    (schema_state, label, STATE_COLORS[schema_state])
    for schema_state, label in (
        ("poor", "有建档立卡个案"),
        ("overdue", "有超期未跟进个案"),
        ("open", "有未返校个案"),
    )
]


def load_boundaries(folder: str | Path) -> dict | None:
    """Township boundaries (GeoJSON FeatureCollection) from boundaries.geojson beside the ledger, if present."""
    path = Path(folder)
    path = path / "boundaries.geojson" if path.is_dir() else path.parent / "boundaries.geojson"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _bounds(
    points: pd.DataFrame, boundaries: dict | None, townships: tuple[str, ...]
) -> tuple[float, float, float]:
    lons: list[float] = []
    lats: list[float] = []
    if boundaries:
        for f in boundaries.get("features", []):
            if townships and f.get("properties", {}).get("township") not in townships:
                continue
            geom = f.get("geometry") or {}
            rings = geom.get("coordinates", [])
            polys = rings if geom.get("type") == "MultiPolygon" else [rings]
            for poly in polys:
                for ring in poly:
                    lons += [p[0] for p in ring]
                    lats += [p[1] for p in ring]
    if not lons and len(points):
        lons, lats = points["lon"].tolist(), points["lat"].tolist()
    if not lons:
        return 108.0, 23.0, 7.0
    span = max(max(lons) - min(lons), max(lats) - min(lats), 0.02)
    zoom = max(3.0, min(13.0, 9.3 - math.log2(span / 0.6)))
    return (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2, zoom


def _html_text(values: pd.Series) -> pd.Series:
    """Text escaped for an HTML context (&, <, >, quotes): deck.gl tooltips and plotly labels read tags in
    text (plotly makes <a href> a link), ledger text must stay text."""
    out = values.astype("str").fillna("")
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        out = out.str.replace(raw, entity, regex=False)
    return out


def village_deck(
    villages: pd.DataFrame, boundaries: dict | None = None, townships: tuple[str, ...] = (), height: int = 560
):
    """A pydeck Deck: township boundaries and names, one circle per village (radius by open cases, colour by
    the most urgent state), a Chinese tooltip. No basemap. Input rows are villages, never cases."""
    import pydeck as pdk

    # only what the circles and the tooltip need, rounded: the browser gets villages, never cases
    data = pd.DataFrame(
        {
            "township": villages["township"],
            "village": villages["village"],
            "lon": villages["lon"].round(5),
            "lat": villages["lat"].round(5),
            "open": villages["open"].astype(int),
            "open_poor": _html_text(villages["open_poor"].astype("str")),  # "<5" when suppressed
            "overdue": villages["overdue"].astype(int),
            "oldest_days": villages["oldest_days"].astype("float").fillna(0).astype(int),
            "color": villages["state"].map(STATE_COLORS),
            "radius": ((villages["open"].clip(lower=1) ** 0.5) * 450).round().astype(int),
            # deck.gl puts tooltip fields into HTML: ledger text goes there escaped, never as markup
            "village_html": _html_text(villages["village"]),
            "township_html": _html_text(villages["township"]),
        }
    )
    layers = []
    if boundaries:
        layers.append(
            pdk.Layer(
                "GeoJsonLayer",
                boundaries,
                id="townships",
                stroked=True,
                filled=True,
                pickable=False,
                get_fill_color=[233, 236, 239, 160],
                get_line_color=[73, 80, 87, 255],
                line_width_min_pixels=1.5,
            )
        )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            data,
            id="villages",
            get_position=["lon", "lat"],
            get_fill_color="color",
            get_radius="radius",
            radius_min_pixels=5,
            radius_max_pixels=60,
            stroked=True,
            get_line_color=[255, 255, 255],
            line_width_min_pixels=1,
            pickable=True,
            auto_highlight=True,
        )
    )
    if boundaries:
        labels_df = pd.DataFrame(
            [
                {
                    "name": f["properties"].get("township", ""),
                    "lon": f["properties"].get("label_lon"),
                    "lat": f["properties"].get("label_lat"),
                }
                for f in boundaries.get("features", [])
                if f.get("properties", {}).get("label_lon") is not None
            ]
        )
        if len(labels_df):
            layers.append(
                pdk.Layer(
                    "TextLayer",
                    labels_df,
                    id="township-names",
                    get_position=["lon", "lat"],
                    get_text="name",
                    get_size=15,
                    get_color=[33, 37, 41, 230],
                    pickable=False,
                    # pydeck turns bare strings into accessor expressions; quoted strings stay literal
                    character_set='"auto"',
                    font_family=f'"{FONT}"',
                    get_pixel_offset=[0, -18],
                    background=True,  # drawn last, on a light label: the village dots never hide a name
                    get_background_color=[255, 255, 255, 210],
                    background_padding=[3, 1],
                )
            )
    lon, lat, zoom = _bounds(data, boundaries, townships)
    tooltip = {
        "html": "<b>{village_html}</b>（{township_html}）<br/>未返校：{open} 人<br/>其中建档立卡：{open_poor} 人"
        "<br/>超期未跟进：{overdue} 人<br/>最久已辍学：{oldest_days} 天",
        "style": {"backgroundColor": "#212529", "color": "white", "fontSize": "14px", "fontFamily": FONT},
    }
    return pdk.Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(longitude=lon, latitude=lat, zoom=zoom),
        map_provider=None,
        tooltip=tooltip,
        height=height,
    )


def static_map(
    villages: pd.DataFrame, boundaries: dict | None = None, title: str | None = None, height: int = 640
) -> go.Figure:
    """The village map as a plain plotly xy figure for print: township outlines, names and village circles.

    No geo traces and no tiles (plotly's geo traces fetch a world topojson); longitude/latitude are drawn on
    equal-scaled axes, which is accurate enough at county scale.
    """
    traces: list[dict] = []
    notes: list[dict] = []
    for f in (boundaries or {}).get("features", []):  # a county's dozen townships, not its cases
        geom = f.get("geometry") or {}
        polys = (
            geom.get("coordinates", [])
            if geom.get("type") == "MultiPolygon"
            else [geom.get("coordinates", [])]
        )
        for poly in polys:
            ring = poly[0] if poly else []
            traces.append(
                {
                    "type": "scatter",
                    "x": [p[0] for p in ring],
                    "y": [p[1] for p in ring],
                    "mode": "lines",
                    "fill": "toself",
                    "fillcolor": "rgba(233,236,239,0.6)",
                    "line": {"color": "#495057", "width": 1},
                    "hoverinfo": "skip",
                    "showlegend": False,
                }
            )
        props = f.get("properties", {})
        if props.get("label_lon") is not None:
            notes.append(
                {
                    "x": props["label_lon"],
                    "y": props["label_lat"],
                    "text": props.get("township", ""),
                    "showarrow": False,
                    "font": {"size": 13, "color": "#212529"},
                    "yshift": 14,
                    "bgcolor": "rgba(255,255,255,0.8)",
                }
            )
    for state, label, color in MAP_LEGEND:
        part = villages[villages["state"] == state]
        if part.empty:
            continue
        traces.append(
            {
                "type": "scatter",
                "x": part["lon"],
                "y": part["lat"],
                "mode": "markers",
                "name": label,
                "marker": {
                    "size": (part["open"].clip(lower=1) ** 0.5) * 9 + 6,
                    "color": f"rgba({color[0]},{color[1]},{color[2]},0.85)",
                    "line": {"color": "white", "width": 1},
                },
                "text": _html_text(part["village"]) + "：" + part["open"].astype(str) + "人",
                "hoverinfo": "text",
            }
        )
    lat0 = float(villages["lat"].mean()) if len(villages) else 23.0
    layout = {
        "xaxis": {"visible": False, "rangemode": "normal"},
        # one degree of longitude is cos(latitude) of a degree of latitude on the ground
        "yaxis": {
            "visible": False,
            "rangemode": "normal",
            "scaleanchor": "x",
            "scaleratio": 1 / math.cos(math.radians(lat0)),
        },
    }
    if notes:
        layout["annotations"] = notes
    return _figure(traces, layout, title, height, count_axis=None)
