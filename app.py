"""控辍保学数据看板 — the entry script: the frame (ui.frame: page config, login, Chinese menu, sidebar,
汇报模式) around the page the URL names.

The navigation is built in `ui.frame`; its docstring says why this one mechanism needs only public API.
"""

import ui

ui.run_app()
