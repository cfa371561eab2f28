"""Issue 16 (2): results shared between sessions. Two sessions of one scope and view compute a page once; a
session of another scope never receives the first scope's result; warming computes the townships' views
ahead of their visitors, under the very keys the pages ask for."""

from __future__ import annotations

import pytest

import ui
from kongchuo_metrics import auth, compare
from tests.app.conftest import metric
from tests.app.test_roles import PASSWORD, login


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    auth.add_user(path, "admin", PASSWORD, "county_admin")
    auth.add_user(path, "admin2", PASSWORD, "county_admin")
    auth.add_user(path, "sanli", PASSWORD, "township", townships=("三里镇",))
    monkeypatch.setenv("KONGCHUO_USERS", str(path))
    return path


@pytest.fixture
def headlines(monkeypatch):
    """Every compare.headline computation, by the townships its ledger holds."""
    calls = []
    real = compare.headline

    def counted(ledger, *args, **kwargs):
        calls.append(tuple(sorted(ledger.cases["township"].dropna().unique())))
        return real(ledger, *args, **kwargs)

    monkeypatch.setattr(compare, "headline", counted)
    return calls


def test_two_sessions_of_one_scope_share_the_overview(users, headlines):
    first = login("admin")
    assert metric(first, "在册辍学人数") == "25"
    computed = len(headlines)
    assert computed >= 1
    second = login("admin2")  # another person, another session, the same scope and view
    assert metric(second, "在册辍学人数") == "25"
    assert len(headlines) == computed  # the second session computed nothing


def test_a_session_of_another_scope_never_gets_the_result(users, headlines):
    county = login("admin", query={"tsp": "三里镇"})
    assert metric(county, "在册辍学人数") == "6"
    before = len(headlines)
    town = login("sanli")  # the township user: the same township on screen, another scope
    assert len(headlines) == before + 1  # computed again for this scope, not taken from the county's
    assert headlines[-1] == ("三里镇",)  # from the township's own scoped ledger
    assert metric(town, "在册辍学人数") == "6"
    scopes = {key[0][0][3] for key in ui.data._RESULTS.items if key[1] == "overview"}
    assert ("county_admin", (), ()) in scopes and ("township", ("三里镇",), ()) in scopes


def test_a_filter_change_is_a_new_result_with_its_own_figures(users, headlines):
    at = login("admin")
    assert metric(at, "在册辍学人数") == "25"
    at.multiselect(key="tsp").select("三里镇").run()
    assert metric(at, "在册辍学人数") == "6"
    at.multiselect(key="tsp").unselect("三里镇").run()
    assert metric(at, "在册辍学人数") == "25"


def test_warming_computes_each_townships_view_ahead_of_its_visitor(users, headlines, monkeypatch):
    from ui import results

    monkeypatch.setenv("KONGCHUO_WARM", "1")
    results._WARMED.clear()
    at = login("admin")
    assert metric(at, "在册辍学人数") == "25"
    assert results.WARM_DONE.wait(120), "warming did not finish"
    warmed = len(headlines)
    assert warmed >= 11  # the county and each of the ten townships
    visitor = login("admin2", query={"tsp": "樟木乡"})
    assert len(headlines) == warmed  # already there: the visitor computed nothing
    monkeypatch.setenv("KONGCHUO_WARM", "0")
    fresh = login("sanli")  # a scope nobody warmed: computed for it alone
    assert len(headlines) == warmed + 1
    assert metric(fresh, "在册辍学人数") == "6"
    # the warmed figures are the page's own: the same as computing the view now
    ui.data.forget_results()
    at2 = login("admin2", query={"tsp": "樟木乡"})
    assert metric(at2, "在册辍学人数") == metric(visitor, "在册辍学人数")


def test_the_servers_start_computes_the_opening_view_before_anyone_connects(headlines, monkeypatch):
    """ui.serve.preload (started by app.py's st.App lifespan): the local user's opening view is ready, so
    the first visitor's run computes no headline; the figures are the page's own."""
    import threading

    from ui import serve

    monkeypatch.delenv("KONGCHUO_USERS", raising=False)
    monkeypatch.setenv("KONGCHUO_USERS", "/nonexistent/users.json")  # no users: the local user
    serve.READY.clear()
    worker = threading.Thread(target=serve.preload, name="kongchuo-preload")
    worker.start()
    worker.join(120)
    assert serve.READY.is_set() and "opening_views" in serve.TIMELINE
    computed = len(headlines)
    assert computed >= 1  # the local user's county view, computed by the start
    from tests.app.conftest import open_page

    at = open_page("overview")
    assert metric(at, "在册辍学人数") == "25"  # the reference figure, from the preloaded result
    assert len(headlines) == computed  # the visitor computed nothing
    ui.data.forget_results()
    again = open_page("overview")
    assert metric(again, "在册辍学人数") == "25" and len(headlines) == computed + 1


def test_opening_scopes_are_the_users_distinct_scopes_county_first(users):
    from ui import serve

    scopes = serve.opening_scopes()
    assert [s.key() for s in scopes] == [("county_admin", (), ()), ("township", ("三里镇",), ())]
