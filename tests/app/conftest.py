import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui
from tests.conftest import ROOT

PAGES = {
    "overview": "pages/overview.py",
    "trend": "pages/trend.py",
    "schools": "pages/schools.py",
    "map": "pages/village_map.py",
    "special_ed": "pages/special_ed.py",
    "followup": "pages/followup.py",
    "reconcile": "pages/reconcile.py",
    "upload": "pages/upload.py",
    "duban": "pages/duban.py",
    "ranking": "pages/ranking.py",
}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Each test: empty caches, its own ledger store and audit log."""
    monkeypatch.setenv("KONGCHUO_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("KONGCHUO_AUDIT", str(tmp_path / "audit" / "audit.jsonl"))
    monkeypatch.setenv("KONGCHUO_DB", f"sqlite:///{tmp_path / 'records.sqlite'}")
    monkeypatch.setenv(
        "KONGCHUO_WARM", "0"
    )  # no warming thread beside AppTest (test_shared_results turns it on)
    st.cache_resource.clear()
    st.cache_data.clear()
    ui.data.forget_results()
    yield tmp_path
    st.cache_resource.clear()
    ui.data.forget_results()


def block_audit(tmp_path, monkeypatch) -> None:
    """Make the audit log unwritable: a file sits where its folder should be (root ignores chmod)."""
    blocker = tmp_path / "audit-is-a-file"
    blocker.write_text("x")
    monkeypatch.setenv("KONGCHUO_AUDIT", str(blocker / "audit.jsonl"))


def open_page(page: str = "overview", query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page != "overview":
        at.switch_page(PAGES[page])
    at.run()
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)
