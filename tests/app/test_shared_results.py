"""Issue 16 (2): results shared between sessions. Two sessions of one scope and view compute a page once; a
session of another scope never receives the first scope's result; warming computes the townships' views
ahead of their visitors, under the very keys the pages ask for."""

from __future__ import annotations

import pytest

import ui
from kongchuo_metrics import auth, compare
from tests.app.conftest import metric, open_page
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
    # and the sidebar's school choices of each township
    assert {k[-1] for k in ui.data._OPTIONS.items} >= {None, (), ("樟木乡",), ("三里镇",)}
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
    import shutil

    shutil.rmtree(
        ui.persist.folder()
    )  # neither in memory nor kept on disk (tests/app/test_persisted_results)
    ui.data.forget_results()
    again = open_page("overview")
    assert metric(again, "在册辍学人数") == "25" and len(headlines) == computed + 1


def test_opening_scopes_are_the_users_distinct_scopes_county_first(users):
    from ui import serve

    scopes = serve.opening_scopes()
    assert [s.key() for s in scopes] == [("county_admin", (), ()), ("township", ("三里镇",), ())]


def test_a_changed_column_mapping_moves_every_page_of_the_sample_folder(tmp_path, monkeypatch):
    """No store yet (a fresh install): the ledger is the data folder's file, read with settings.toml's column
    mapping. Unmapping the return columns makes every child open again, on the follow-up page as well as on
    the overview (the follow-up status is keyed on the settings too, not only on the file)."""
    import shutil

    from tests.app.conftest import open_page
    from tests.conftest import SAMPLE_DIR

    shutil.copytree(SAMPLE_DIR, tmp_path / "data")
    monkeypatch.setenv("KONGCHUO_DATA", str(tmp_path / "data"))
    at = open_page("followup")
    assert metric(at, "未返校个案") == "25"
    settings = tmp_path / "data" / "settings.toml"
    text = settings.read_text(encoding="utf-8")
    unmapped = '\n[columns]\n"是否返校" = ""\n"返校时间" = ""\n"处置情况/去向" = ""\n'
    settings.write_text(text + unmapped, encoding="utf-8")
    overview = open_page("overview")
    opened = metric(overview, "在册辍学人数")
    assert opened != "25"
    at.run()
    assert metric(at, "未返校个案") == opened
    village = open_page("map")
    assert metric(village, "未返校学生") == opened


def test_a_township_users_special_education_cards_follow_the_small_count_rule(users):
    """The township user's whole scope is a place finer than the county: its cards hide what the county
    admin's cards hide for the same township (and what the user's own CSV hides)."""
    admin = login("admin", "special_ed", query={"tsp": "三里镇"})
    town = login("sanli", "special_ed")
    labels = [m.label for m in admin.metric]
    assert labels == [m.label for m in town.metric]
    assert [metric(town, x) for x in labels] == [metric(admin, x) for x in labels]
    assert "<5*" in {metric(town, x) for x in labels}


CHART_PAGES = [
    ("overview", {}),
    ("overview", {"tsp": "三里镇"}),
    ("trend", {"trend_split": "township"}),
    ("schools", {}),
    ("special_ed", {}),
    ("followup", {"briefing": "true"}),
]


def _chart_specs(page, query) -> list[str]:
    at = open_page(page, query)
    assert not at.exception
    return [chart.proto.spec for chart in at.get("plotly_chart")]


@pytest.mark.parametrize("page,query", CHART_PAGES)
def test_a_shared_chart_reaches_the_browser_as_plotly_draws_its_figure(page, query, monkeypatch):
    """The charts a page sends, from the figure's spec made once (ui.widgets._drawn), are the ones Streamlit
    makes of the figure itself, on the first run and on a rerun served from the shared results; and no
    session's drawing changes the spec that the next one is given."""
    ui.data.forget_results()
    first, again = _chart_specs(page, query), _chart_specs(page, query)
    monkeypatch.setattr(ui.widgets, "_drawn", lambda fig: fig)
    plain = _chart_specs(page, query)
    assert first and first == again == plain
