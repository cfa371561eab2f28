"""控辍保学数据看板 — the entry script: the frame (ui.frame: page config, login, Chinese menu, sidebar,
汇报模式) around the page the URL names.

The navigation is built in `ui.frame`; its docstring says why this one mechanism needs only public API.

`streamlit run app.py` finds the st.App below and serves it; Streamlit then runs this file as `__main__` for
every session. When the server imports this file, ui.serve.preload starts on a thread of its own, so the
server accepts connections at once while the ledger is loaded and the opening views are computed.
"""

if __name__ == "__main__":  # a session's run
    import ui

    ui.run_app()
else:  # the server: imported by `streamlit run app.py` (or an ASGI server such as uvicorn)
    import threading
    import time

    import streamlit as st
    from starlette.middleware import Middleware

    _http = [0, 0.0]  # HTTP requests in flight, when the last one ended (monotonic): see ui.serve

    class _Activity:
        """ASGI middleware counting the HTTP requests for files (a browser fetching the dashboard's scripts,
        styles and media; not the websocket): the start's warming keeps off while a new visitor's page is built."""

        def __init__(self, app) -> None:
            self.app = app

        async def __call__(self, scope, receive, send) -> None:
            # health checks (a load balancer may ask every second) and host-config are not a page being built
            if scope["type"] != "http" or scope.get("path", "").startswith("/_stcore/"):
                await self.app(scope, receive, send)
                return
            _http[0] += 1  # on the event loop's thread only
            try:
                await self.app(scope, receive, send)
            finally:
                _http[0] -= 1
                _http[1] = time.monotonic()

    def _preload() -> None:
        from ui import serve  # imported here: pandas and plotly load on this thread, not the server's

        serve.preload(http=_http)

    # started as the server imports its app, before Streamlit's own start-up, which it overlaps
    threading.Thread(target=_preload, name="kongchuo-preload", daemon=True).start()
    app = st.App(__file__, middleware=[Middleware(_Activity)])
