"""Results shared between sessions: computed once per view, and never across scopes, modes or ledgers."""

import datetime as dt

import pytest

import ui
from kongchuo_metrics import access, auth, metrics
from kongchuo_metrics.settings import Settings
from tests.app.test_roles import PASSWORD, login, tables


def view_for(scope: access.Scope, mode: str = "list", township: tuple = (), key: str = "ledger-a") -> ui.View:
    sel = metrics.Selection(townships=township, as_of=dt.date(2019, 6, 25))
    return ui.View(None, sel, None, [], mode, Settings(), scope, ("data", key, "wgs84", scope.key()))


def counting_build(calls: list, value):
    def build():
        calls.append(value)
        return value

    return build


def test_one_scope_computes_once_for_every_session():
    calls: list = []
    admin = access.Scope("甲", "county_admin")
    other_admin = access.Scope("乙", "county_admin")  # another user, the same scope: the same rows
    first = ui.shared(view_for(admin), "t_once", counting_build(calls, ["全区县"]))
    second = ui.shared(view_for(other_admin), "t_once", counting_build(calls, ["不会计算"]))
    assert second is first and calls == [["全区县"]]


@pytest.mark.parametrize(
    "other",
    [
        view_for(access.Scope("乡镇", "township", townships=("三里镇",))),
        view_for(access.Scope("学校", "school", schools=("三里二中",))),
        view_for(access.Scope("查看", "county_viewer")),
        view_for(access.Scope("甲", "county_admin"), township=("三里镇",)),
        view_for(access.Scope("甲", "county_admin"), mode="briefing"),
        view_for(access.Scope("甲", "county_admin"), key="ledger-b"),  # another accepted version
    ],
    ids=["township", "school", "viewer", "selection", "briefing", "ledger"],
)
def test_another_scope_selection_mode_or_ledger_never_gets_the_result(other):
    calls: list = []
    mine = ui.shared(view_for(access.Scope("甲", "county_admin")), "t_split", counting_build(calls, "admin"))
    theirs = ui.shared(other, "t_split", counting_build(calls, "other"))
    assert (mine, theirs) == ("admin", "other") and calls == ["admin", "other"]


def test_unmasked_views_are_never_shared():
    calls: list = []
    admin = view_for(access.Scope("甲", "county_admin"), mode="unmasked")
    ui.shared(admin, "t_unmasked", counting_build(calls, 1))
    ui.shared(admin, "t_unmasked", counting_build(calls, 2))
    assert calls == [1, 2]


def test_page_values_are_part_of_the_key():
    calls: list = []
    view = view_for(access.Scope("甲", "county_admin"))
    assert ui.shared(view, "t_dep", counting_build(calls, 14), 14) == 14
    assert ui.shared(view, "t_dep", counting_build(calls, 30), 30) == 30
    assert ui.shared(view, "t_dep", counting_build(calls, 99), 14) == 14 and calls == [14, 30]


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    auth.add_user(path, "admin", PASSWORD, "county_admin")
    auth.add_user(path, "sanli", PASSWORD, "township", townships=("三里镇",))
    monkeypatch.setenv("KONGCHUO_USERS", str(path))
    return path


@pytest.mark.parametrize("page", ["overview", "trend", "schools", "map", "special_ed", "followup"])
def test_a_township_session_after_a_county_session_sees_only_its_township(users, page):
    # the county admin's session fills the shared caches first; the township session must not get its results
    county = login("admin", page)
    assert not county.exception
    county_tables = tables(county)
    if page != "trend":  # the trend page has no township column; its numbers differ below
        assert any("乡镇" in t.columns and len(set(t["乡镇"])) > 1 for t in county_tables)
    at = login("sanli", page)
    assert not at.exception
    assert at.multiselect(key="tsp").options == ["三里镇"]
    for frame in tables(at):
        if "乡镇" in frame.columns:
            assert set(frame["乡镇"]) <= {"三里镇"}, page
        if "学校" in frame.columns:
            assert all(str(s).startswith("三里") for s in frame["学校"]), page
    assert [t.to_dict() for t in tables(at)] != [t.to_dict() for t in county_tables]
