"""AppTest: 督办 from the overdue list, a township user's answer, issuing and delivering a notice, 考核排名."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from kongchuo_metrics import auth, records
from kongchuo_metrics.access import Scope
from kongchuo_metrics.records import duban, notices
from tests.app.conftest import PAGES, metric, open_page

PASSWORD = "test-password-1"
ADMIN = Scope("admin", "county_admin")


@pytest.fixture(autouse=True)
def fresh_db():
    records.dispose_all()
    yield
    records.dispose_all()


def engine():
    return records.open_db(os.environ["KONGCHUO_DB"])


def login(name: str, page: str):
    at = open_page("overview")
    at.text_input(key="login_user").input(name)
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    return at.switch_page(PAGES[page]).run()


def texts(at) -> str:
    return " ".join(
        str(e.value) for kind in ("success", "error", "info", "markdown", "caption") for e in at.get(kind)
    )


def test_admin_creates_a_duban_from_the_overdue_list(isolated):
    at = open_page("duban")
    assert not at.exception
    make = [b for b in at.button if str(b.key).startswith("db_make_")]
    assert [b.key for b in make] == ["db_make_三里镇", "db_make_蒙公乡", "db_make_黄练镇", "db_make_樟木乡"]
    make[0].click().run()
    assert any(s.value.startswith("已生成 覃塘区控辍督〔2019〕第1号（三里镇，3 人）") for s in at.success)
    [listed] = [d.value for d in at.dataframe][:1]
    assert listed["文号"].tolist() == ["覃塘区控辍督〔2019〕第1号"] and listed["状态"].tolist() == ["待办"]
    kids = at.dataframe[1].value
    assert sorted(kids["学生"]) == ["潘*", "蒙*志", "蒙*怡"]  # masked, never the full names
    assert set(kids["当前状态"]) == {"未返校"}
    assert any(b.label == "打印督办单（Word）" for b in at.get("download_button"))
    [item] = duban.items(engine(), ADMIN)
    assert item["township"] == "三里镇" and item["children"] == 3
    log = (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"event": "duban_add"' in log and "蒙雨怡" not in log


def test_township_user_sees_and_answers_only_its_own(tmp_path, monkeypatch):
    users = tmp_path / "users.json"
    auth.add_user(users, "sanli", PASSWORD, "township", townships=("三里镇",))
    monkeypatch.setenv("KONGCHUO_USERS", str(users))
    due = dt.date(2019, 7, 5)
    mine = duban.add(engine(), ADMIN, township="三里镇", item="三里镇督办", due=due, as_of=due)
    duban.add(engine(), ADMIN, township="蒙公乡", item="蒙公乡督办", due=due, as_of=due)
    at = login("sanli", "duban")
    assert not at.exception
    assert at.dataframe[0].value["乡镇"].tolist() == ["三里镇"]  # 蒙公乡's item is not even listed
    assert at.selectbox(key="db_pick").options == [f"{mine['number']}　三里镇　待办"]
    assert not [b for b in at.button if str(b.key).startswith("db_make_")]
    assert [e.label for e in at.get("expander")] == ["统计口径"]  # no form to create one
    at.text_area(key="db_fb_text").input("已联合家访，2人承诺返校")
    next(b for b in at.button if b.label == "提交反馈").click().run()
    assert not at.exception
    assert at.dataframe[0].value["状态"].tolist() == ["已反馈"]
    assert "已联合家访，2人承诺返校" in at.dataframe[-1].value["反馈内容"].tolist()
    assert not [b for b in at.button if b.key == "db_close"]  # only a county admin closes
    other = [i for i in duban.items(engine(), ADMIN) if i["township"] == "蒙公乡"][0]
    assert other["feedback"] == [] and other["status"] == "待办"


def test_issue_and_deliver_a_notice_moves_the_ladder(isolated):
    at = open_page("followup")
    assert not at.exception
    before = int(metric(at, "已到限期复学通知书及以上环节"))
    case = "C000208"  # 五里镇, 联合家访
    at.selectbox(key="fu_case").set_value(case).run()
    at.radio(key="fu_nt_kind").set_value("限期复学通知书").run()
    at.button(key="fu_nt_issue").click().run()
    assert any("已发出《限期复学通知书》五里镇控辍通字〔2019〕第1号" in s.value for s in at.success)
    shown = at.dataframe[-1].value
    assert shown["文号"].tolist() == ["五里镇控辍通字〔2019〕第1号"] and shown["送达日期"].tolist() == [
        "未送达"
    ]
    assert int(metric(at, "已到限期复学通知书及以上环节")) == before  # issuing alone does not count
    at.text_input(key="fu_nt_to").input("钟父")
    at.text_input(key="fu_nt_place").input("五里镇某村家中")
    next(b for b in at.button if b.label == "登记送达").click().run()
    assert not at.exception
    assert any(
        s.value.startswith("已登记送达：五里镇控辍通字〔2019〕第1号，送达日期2019年6月25日，复学限期至2019年")
        for s in at.success
    )
    assert int(metric(at, "已到限期复学通知书及以上环节")) == before + 1
    cells = " ".join(str(v) for d in at.dataframe for v in d.value.astype("str").to_numpy().ravel())
    assert "钟父" not in cells and "钟*" in cells  # the guardian who signed, masked in the timeline too
    shown = at.dataframe[-1].value
    assert shown["送达日期"].tolist() == ["2019-06-25"] and shown["受送达人"].tolist() == ["钟*"]
    counts = [
        d.value
        for d in at.dataframe
        if "乡镇" in d.value.columns and "限期复学通知书已送达" in d.value.columns
    ]
    assert counts and counts[0].to_dict("records") == [
        {"乡镇": "五里镇", "限期复学通知书已发出": 1, "限期复学通知书已送达": 1}
    ]
    [n] = notices.listing(engine(), ADMIN).to_dict("records")
    assert n["delivered_on"] == "2019-06-25" and n["label"] == "钟*"
    log = (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"event": "notice_issue"' in log and '"event": "notice_deliver"' in log and "钟父" not in log


def test_ranking_page_shows_components_veto_and_last_place():
    at = open_page("ranking", {"asof": "2019-03-12"})
    assert not at.exception
    shown = at.dataframe[0].value
    assert {
        "基础分",
        "辍学率扣分",
        "劝返率加分",
        "超期个案扣分",
        "督办反馈扣分",
        "总分",
        "较上期",
        "末位",
    } <= set(shown.columns)
    parts = shown[["基础分", "辍学率扣分", "劝返率加分", "超期个案扣分", "督办反馈扣分"]].sum(axis=1).round(2)
    assert (parts == shown["总分"]).all()
    assert shown.loc[shown["一票否决"] == "否决", "乡镇"].tolist() == ["蒙公乡", "樟木乡"]
    assert shown["名次"].tolist() == sorted(shown["名次"]) and shown["末位"].tolist()[-1] == "末位"
    assert metric(at, "一票否决") == "2"
    assert any(b.label.startswith("下载考核排名") for b in at.get("download_button"))


def test_rank_change_is_against_the_ranking_saved_at_the_last_meeting():
    at = open_page("ranking", {"asof": "2019-06-10"})  # a meeting between two report dates
    assert any("重新计算" in c.value for c in at.caption)
    saved = at.dataframe[0].value.set_index("乡镇")["名次"]
    at.button(key="rk_save").click().run()
    assert any("已保存 2019年6月10日 的考核结果" in s.value for s in at.success)
    later = open_page("ranking", {"asof": "2019-06-25"})
    assert any("与2019年6月10日保存的考核结果比较" in c.value for c in later.caption)
    shown = later.dataframe[0].value.set_index("乡镇")
    arrows = {
        n: (f"↑{d}" if d > 0 else f"↓{-d}" if d < 0 else "持平") for n, d in (saved - shown["名次"]).items()
    }
    assert shown["较上期"].to_dict() == arrows
    # the ledger's previous report date (5月23日) would give other changes: the saved ranks are the ones used
    recomputed = open_page("ranking", {"asof": "2019-05-23"}).dataframe[0].value.set_index("乡镇")["名次"]
    assert not recomputed.equals(saved)


def test_ranking_is_for_county_users_only(tmp_path, monkeypatch):
    users = tmp_path / "users.json"
    auth.add_user(users, "sanli", PASSWORD, "township", townships=("三里镇",))
    monkeypatch.setenv("KONGCHUO_USERS", str(users))
    at = login("sanli", "ranking")
    assert any("只对区县用户开放" in i.value for i in at.info) and not at.dataframe
