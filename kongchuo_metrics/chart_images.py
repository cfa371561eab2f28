"""Chart images (SVG, PNG) for the pack and the Word reports, through one kaleido chart browser per process.

- MathJax is off: kaleido's default would fetch MathJax from a CDN.
- One render at a time: kaleido's sync server hands results back through one shared queue, so two sessions
  rendering at once could receive each other's charts.
- The browser is started at the first render and left running (kaleido closes it at exit): a pack no longer
  stops the browser a Word report in another session is using.
- A render whose tab failed is retried on a fresh browser. On a loaded machine kaleido can call into its tab
  before the tab's script has loaded (`JavascriptError: kaleido_scopes is not defined`), and that tab stays
  broken for every later chart.
"""

from __future__ import annotations

import threading
import warnings

ATTEMPTS = 3
_LOCK = threading.Lock()


def _open() -> None:
    """kaleido's sync server with MathJax off; nothing when it is running."""
    import kaleido

    kaleido.start_sync_server(mathjax=False, silence_warnings=True)


def start() -> None:
    """Start the chart browser now (a page calls this so its first report does not wait for it)."""
    with _LOCK:
        _open()


def restart() -> None:
    import kaleido

    kaleido.stop_sync_server(silence_warnings=True)
    _open()


def render(fig, fmt: str, width: int, height: int, scale: float = 1) -> bytes:
    """The figure as `fmt` ("svg" or "png") bytes at width × height CSS pixels."""
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "kopts ignored if using a server": the server has them
        _open()
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return fig.to_image(format=fmt, width=width, height=height, scale=scale)
            except (RuntimeError, OSError):  # kaleido's JavascriptError is a RuntimeError
                if attempt == ATTEMPTS:
                    raise
                restart()
    raise AssertionError("unreachable")
