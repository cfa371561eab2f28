"""Small rendering helpers every page uses: escaped text, empty-selection messages, tables, charts, choices,
rate cards."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st
from plotly.basedatatypes import BaseFigure

from kongchuo_metrics import metrics, privacy

from .data import _Held

if TYPE_CHECKING:
    from .view import View


_SCREEN = _Held(256, budget=128e6)


EMPTY_MESSAGE = "当前筛选条件下没有个案。请调整左侧的统计日期、乡镇、学校或学段。"


def literal(text: object) -> str:
    """Text (ledger values, file names, user names) made safe to place inside Streamlit markdown: shown as
    typed, never as a link, image, HTML, formula, colour directive or icon."""
    out = str("" if text is None else text).replace("\r", " ").replace("\n", " ")
    # GFM turns bare URLs and e-mail addresses into links after escapes are resolved: an invisible word joiner
    # after the scheme, "www" or "@" keeps them text
    out = _AUTOLINK.sub(lambda m: m.group(0) + "\u2060", out)
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), out)


# every ASCII punctuation mark may be backslash-escaped in CommonMark; these are the ones that start markup
# (links, images, HTML, emphasis, code, tables, math, :icons: and :colour[...] directives, bare URLs)
_AUTOLINK = re.compile(r"(?i)(?:https?|ftps?|mailto|www|xmpp)(?=[:.])|@")


_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~:/$&=\"']")


def counting_rule() -> None:
    st.caption(metrics.counting_rule())


def empty(frame: pd.DataFrame, message: str = EMPTY_MESSAGE) -> bool:
    """Show the short Chinese message and return True when there is nothing to draw."""
    if frame is None or len(frame) == 0:
        st.info(message)
        return True
    return False


def public(frame: pd.DataFrame, view: View, detail: bool = False) -> pd.DataFrame:
    """Case rows masked for the view's mode (server side, before rendering)."""
    return privacy.public_view(frame, view.mode, detail=detail)


SCREEN_ROWS = 500


def table(frame: pd.DataFrame, columns: list[str] | None = None, **kwargs) -> None:
    """A read-only table with Chinese headers and values (only `columns`, when given); blanks as blanks; the
    small-count rule stated under a table that hides cells (privacy.suppress)."""
    shown, hidden = _on_screen(frame, tuple(columns) if columns is not None else None)
    st.dataframe(shown, hide_index=True, width="stretch", **kwargs)
    if hidden:
        st.caption(privacy.SUPPRESSION_RULE)


def _on_screen(frame: pd.DataFrame, columns: tuple | None = None) -> tuple[pd.DataFrame, bool]:
    """The frame (its `columns`) in its screen form and whether it hides cells; for a frame shared between
    sessions (ui.shared) made once (`_once_per_object`)."""
    from kongchuo_metrics.labels import for_screen

    def make() -> tuple[pd.DataFrame, bool]:
        part = frame if columns is None else frame[list(columns)]
        return for_screen(part), privacy.is_suppressed(part)

    return _once_per_object(frame, ("screen", columns), make)


def _once_per_object(obj, extra: tuple, make):
    """`make()` once per object (and `extra`), kept in _SCREEN. Keyed on the object itself, which the entry
    holds: an id is never reused while its entry exists, so a lookup that finds the same object finds its
    own value."""
    key = (id(obj), *extra)
    held = _SCREEN.items.get(key)
    if held is not None and held[0] is obj:
        return held[1]
    value = make()
    _SCREEN.put(key, (obj, value))
    return value


def choice(label: str, options: dict[str, str], key: str, where=st) -> str:
    """A page-level choice among `options` (code -> Chinese words, from the label book): one always chosen, the
    first by default, kept in the URL under `key`. Returns the chosen code."""
    return where.segmented_control(
        label,
        list(options),
        default=next(iter(options)),
        required=True,
        format_func=options.get,
        key=key,
        bind="query-params",
    )


def chart(fig, key: str) -> None:
    """A plotly chart with the dashboard's chart config: no (English) mode bar, no zoom by accident."""
    from kongchuo_metrics.figures import PLOTLY_CONFIG

    st.plotly_chart(_drawn(fig), key=key, config=PLOTLY_CONFIG, width="stretch")


def _drawn(fig):
    """The figure as st.plotly_chart reads it, its spec copied out once per figure object.

    st.plotly_chart takes a figure's `to_dict()` (a deep copy of data, layout and plotly's default template:
    3 ms of a 30 ms rerun per chart, every rerun) and only reads it. A figure shared between sessions
    (ui.shared) is never modified, so its dict is made once and handed out again (`_once_per_object`)."""
    return _once_per_object(fig, ("chart",), lambda: _Spec(fig.to_dict()))


class _Spec(BaseFigure):
    """A figure's finished spec (plotly's to_dict of a validated figure), given to st.plotly_chart as the
    figure it came from: Streamlit asks a figure for its `to_dict()` and reads the result."""

    def __init__(self, spec: dict) -> None:  # noqa: D107 - the spec is the figure: nothing to validate again
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec


def count_card(
    where, label: str, value: int, change: int | None, since: str | None, inverse: bool, help=None
):
    """A head-count card with its change since the last report date: 持平 without an arrow when unchanged (a
    bare grey 0 says nothing on a projector), nothing when the ledger has no earlier date."""
    from kongchuo_metrics.labels import cn_number

    if change == 0:
        flat = {"delta_color": "off", "delta_arrow": "off"}
        where.metric(label, cn_number(value), delta="持平", delta_description=since, help=help, **flat)
        return
    color = "inverse" if inverse else "normal"
    where.metric(label, cn_number(value), delta=change, delta_color=color, delta_description=since, help=help)


def rate_cards(cols: list, rates: list, big: bool = False) -> None:
    """The dropout and consolidation rates as metric cards against their targets (达标 / 未达标 / 无法计算);
    on the projector (`big`) the target goes into the label, so that the badge is one word that never wraps."""
    for col, rate in zip(cols, rates, strict=True):
        sign = "≤" if rate.kind == "max" else "≥"
        label = f"{rate.label}（目标{sign}{rate.target}%）" if big else rate.label
        if rate.value is None:
            col.metric(label, "—", help=rate.note)
            col.caption(rate.note)
            continue
        verdict = "达标" if rate.met else "未达标"
        col.metric(
            label,
            f"{rate.value:.3f}%" if rate.kind == "max" else f"{rate.value:.2f}%",
            delta=verdict if big else f"目标 {sign}{rate.target}%　{verdict}",
            delta_color="normal" if rate.met else "inverse",
            delta_arrow="off",
        )
