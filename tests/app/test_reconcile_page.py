"""数据比对 page in AppTest: upload the five lists, read the counts, open a status list, the feedback button."""

from __future__ import annotations

import re

import pytest

from kongchuo_metrics import auth, privacy
from tests.app.conftest import metric, open_page
from tests.reconcile_data import EXPECTED, make_lists

MIME = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".csv": "text/csv"}


@pytest.fixture(scope="module")
def list_files(tmp_path_factory):
    return make_lists(tmp_path_factory.mktemp("lists"))


def townships_table(at):
    return next(
        d.value for d in at.dataframe if "推送人数" in d.value.columns or "台账个案无学籍" in d.value.columns
    )


def upload_all(at, files, kinds=("xueji", "poverty", "pushed", "huji", "special")):
    for kind in kinds:
        path = files[kind]
        at.file_uploader(key=f"rc_{kind}").set_value((path.name, path.read_bytes(), MIME[path.suffix]))
    return at.run()


def test_without_lists_the_page_asks_for_one():
    at = open_page("reconcile", {"asof": "2019-06-25"})
    assert not at.exception
    assert any("请上传至少一份名单" in i.value for i in at.info)


def test_upload_the_lists_see_the_counts_open_a_status_list(list_files, isolated):
    at = upload_all(open_page("reconcile", {"asof": "2019-06-25"}), list_files)
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at, "推送人数") == "12"
    for label, n in EXPECTED["pushed"].items():
        assert metric(at, label) == str(n)
    assert metric(at, "台账已销号返校但学籍不在读") == "3"
    assert metric(at, "户籍适龄儿童没有学籍记录") == "3"
    assert metric(at, "建档立卡在册（台账）") == "0"
    assert metric(at, "建档立卡在册（按脱贫户名单校正）") == "2"
    townships = townships_table(at)
    total = townships[townships["乡镇"] == "合计"].iloc[0]
    assert total["推送人数"] == 12 and total["化解率（%）"] == 75.0
    # the sensitive columns per township are suppressed (1–4 -> <5)
    assert set(townships.loc[townships["乡镇"] != "合计", "在脱贫户名单中未标注"].astype(str)) <= {
        "0",
        privacy.SUPPRESSED,
    }
    # open the 核实在读 list: four children, names masked, no ID anywhere
    at.button_group(key="rc_status").set_value("enrolled").run()
    shown = next(d.value for d in at.dataframe if "比对结果" in d.value.columns)
    assert len(shown) == 4 and set(shown["比对结果"]) == {"核实在读"}
    assert all("*" in n for n in shown["姓名"])
    assert "覃一明" not in shown.to_csv() and not re.search(r"\d{17}[\dX]", shown.to_csv())
    # every list is accounted for, and each upload is in the audit log
    captions = " ".join(c.value for c in at.caption)
    assert "疑似辍学推送名单（疑似辍学推送名单.xlsx）：读取 12 行，比对 12 行" in captions
    log = (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert log.count('"event": "upload"') == 5
    # the local single user is a county admin: the feedback sheet is offered
    assert "rc_feedback" in [b.key for b in at.get("download_button")]


def test_a_status_with_nobody_and_a_broken_list(list_files):
    at = open_page("reconcile", {"asof": "2019-06-25"})
    at.file_uploader(key="rc_pushed").set_value(
        ("坏文件.xlsx", b"PK\x03\x04 broken", "application/octet-stream")
    )
    at = upload_all(at, list_files, kinds=("xueji",))
    assert any("疑似辍学推送名单无法使用" in e.value for e in at.error)
    assert metric(at, "台账个案没有学籍记录") == "4"
    assert "rc_feedback" not in [b.key for b in at.get("download_button")]


@pytest.fixture
def users(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    auth.add_user(path, "viewer", "test-password-1", "county_viewer")
    auth.add_user(path, "sanli", "test-password-1", "township", townships=("三里镇",))
    monkeypatch.setenv("KONGCHUO_USERS", str(path))


def login(name):
    at = open_page("overview", {"asof": "2019-06-25"})
    at.text_input(key="login_user").input(name)
    at.text_input(key="login_password").input("test-password-1")
    at.button[0].click().run()
    at.switch_page("pages/reconcile.py").run()
    return at


def test_viewer_gets_no_feedback_sheet_and_a_township_sees_only_its_own(users, list_files):
    at = upload_all(login("viewer"), list_files)
    assert metric(at, "推送人数") == "12"
    assert "rc_feedback" not in [b.key for b in at.get("download_button")]
    assert any("只有区县管理员可以下载" in i.value for i in at.info)
    at = upload_all(login("sanli"), list_files)
    assert not at.exception, [e.value for e in at.exception]
    towns = set(townships_table(at)["乡镇"]) - {"合计"}
    assert towns == {"三里镇"}
    assert metric(at, "推送人数") == "1"  # 莫小聪, placed in the special-education register


def test_save_a_run_then_next_month_shows_who_was_resolved_and_the_case_history(list_files, isolated):
    at = upload_all(open_page("reconcile", {"asof": "2019-06-25"}), list_files)
    assert not any("与上次比对相比" in s.value for s in at.subheader)
    at.button(key="rc_save").click().run()
    assert any("已保存为第 1 次比对" in s.value for s in at.success)
    log = (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"event": "check_run"' in log
    # a month later, the same lists: the three children left to visit are still to visit
    at = upload_all(open_page("reconcile", {"asof": "2019-07-25"}), list_files)
    assert any("与上次比对相比" in s.value for s in at.subheader)
    assert (
        metric(at, "上次需入户核查") == "2" and metric(at, "已化解") == "0"
    )  # 无号童 has no ID: not tracked
    since = next(d.value for d in at.dataframe if "上次结果" in d.value.columns)
    assert set(since["儿童（已脱敏）"]) == {"不*童", "陆*置"}
    # the first pushed child is a ledger case: its case timeline shows the check history
    at = open_page("followup", {"asof": "2019-06-25"})
    at.selectbox(key="fu_case").set_value("C000137").run()
    assert any("数据比对记录" in c.value for c in at.caption)
    history = next(d.value for d in at.dataframe if "比对项目" in d.value.columns)
    assert "推送名单" in set(history["比对项目"]) and "已在台账" in set(history["比对结果"])
