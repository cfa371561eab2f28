"""数据导入 in AppTest: the monthly routine (three township files, preview, confirm, figures, restore), a batch
with a broken file, staging hygiene and the reporting calendar."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from kongchuo_metrics import cli, storage
from tests.app.conftest import metric, open_page
from tests.conftest import SAMPLE_DIR
from tests.township_files import township_file

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOWNS = ("黄练镇", "三里镇", "五里镇")


def close_open(cases: pd.DataFrame) -> pd.DataFrame:
    is_open = cases["closed"].isna()
    return cases.assign(
        closed=cases["closed"].where(~is_open, pd.Timestamp("2019-07-10")),
        outcome=cases["outcome"].where(~is_open, "已返校就读"),
    )


@pytest.fixture
def county(isolated, sample_ledger):
    """The store starts with the sample county as v0001; three township files closing their open cases."""
    assert cli.main(["import", str(SAMPLE_DIR / "sample_ledger.xlsx"), "--scope", "county"]) == 0
    folder = isolated / "files"
    folder.mkdir()
    files = [township_file(folder, sample_ledger, t, "2019年7月20日", change=close_open) for t in TOWNS]
    return isolated, [(f.name, f.read_bytes(), XLSX) for f in files]


def frame_with(at, column: str) -> pd.DataFrame:
    """The (first) table on the page that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def audit_lines(tmp) -> list[dict]:
    path = tmp / "audit" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def incoming(tmp) -> list:
    folder = tmp / "store" / "incoming"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_monthly_routine_three_townships_preview_confirm_figures_restore(county, sample_ledger):
    tmp, files = county
    at = open_page("overview")
    assert metric(at, "在册辍学人数") == "25"
    at.switch_page("pages/upload.py").run()
    at.file_uploader(key="up_file_0").set_value(files).run()
    assert not at.exception
    assert len(incoming(tmp)) == 3
    preview = frame_with(at, "导入后").set_index("乡镇")
    assert set(preview.index[preview["导入后"] == "替换"]) == set(TOWNS)
    assert preview.loc["黄练镇", "在册（现在）"] == 3 and preview.loc["黄练镇", "在册（导入后）"] == 0
    assert preview.loc["三里镇", "在册（现在）"] == 6 and preview.loc["三里镇", "在册（导入后）"] == 0
    assert preview.loc["樟木乡", "导入后"] == "保留" and preview.loc["樟木乡", "在册（导入后）"] == 5
    assert preview.loc["樟木乡", "残疾儿童（导入后）"] == preview.loc["樟木乡", "残疾儿童（现在）"] == 59
    lines = "\n".join(t.value for t in at.text)
    n = int(sample_ledger.cases["township"].isin(TOWNS).sum())
    assert (
        f"替换 乡镇：三里镇、五里镇、黄练镇 的 {n} 条为文件中的 {n} 条；其他 {len(sample_ledger.cases) - n} 条保留不变"
        in lines
    )
    assert "残疾儿童：文件中没有此表，原有 562 条全部保留" in lines
    at.button(key="up_accept").click().run()
    assert not at.exception
    assert any("已导入为版本 v0002" in s.value for s in at.success)
    assert incoming(tmp) == []
    at.run()  # a rerun after the accept neither stages again nor logs another upload
    assert incoming(tmp) == []
    events = [(r["event"], r.get("phase")) for r in audit_lines(tmp)]
    assert events.count(("upload", None)) == 3
    assert events[-2:] == [("accept", "intent"), ("accept", "done")]
    at.switch_page("pages/overview.py").run()  # this session keeps the date it chose: 2019-06-25
    assert metric(at, "在册辍学人数") == "25"
    fresh = open_page("overview")  # a new session opens at the newest 填报时间, 2019-07-20
    assert metric(fresh, "在册辍学人数") == str(25 - 3 - 6 - 3)
    assert any("填报时间 2019-07-20" in c.value for c in fresh.caption)
    # restore the previous version from the version list
    at.switch_page("pages/upload.py").run()
    versions = frame_with(at, "版本")
    assert versions["版本"].tolist() == ["v0002", "v0001"] and versions["当前使用"].tolist() == ["当前", ""]
    assert versions["在册辍学人数"].tolist() == [13, 25]
    diff = {m.label: m.value for m in at.metric}
    assert diff["销号"] == "12" and diff["新增"] == "0"
    at.selectbox(key="up_restore_pick").select("v0001").run()
    at.button(key="up_restore").click().run()
    assert any("新版本 v0003 的数据与 v0001 相同" in s.value for s in at.success)
    assert storage.audit_states(tmp / "audit" / "audit.jsonl") == {
        "v0001": "done",
        "v0002": "done",
        "v0003": "done",
    }
    assert metric(open_page("overview"), "在册辍学人数") == "25"


def test_a_broken_file_in_the_batch_disables_confirm_and_commits_nothing(county):
    tmp, files = county
    at = open_page("upload")
    at.file_uploader(key="up_file_0").set_value(
        [*files[:2], ("坏文件.xlsx", b"PK\x03\x04 broken", XLSX)]
    ).run()
    assert any("坏文件" in e.value and "无法导入" in e.value for e in at.error)
    assert any("整批不会导入" in e.value for e in at.error)
    assert at.button(key="up_accept").disabled
    assert [v.name for v in storage.history(tmp / "store")] == ["v0001"]


def test_abandoned_and_cancelled_uploads_are_deleted(county):
    tmp, files = county
    at = open_page("upload")
    at.file_uploader(key="up_file_0").set_value(files).run()
    assert len(incoming(tmp)) == 3
    at.file_uploader(key="up_file_0").set_value(files[:1]).run()  # two taken off the uploader
    assert len(incoming(tmp)) == 1
    at.button(key="up_cancel").click().run()
    assert incoming(tmp) == [] and any("已放弃" in s.value for s in at.success)
    assert at.file_uploader(key="up_file_1").value in (None, [])  # a fresh, empty uploader
    assert [v.name for v in storage.history(tmp / "store")] == ["v0001"]


def test_reporting_calendar_on_upload_page_and_overview(county):
    tmp, files = county
    at = open_page("upload")
    at.file_uploader(key="up_file_0").set_value(files[:1]).run()
    at.button(key="up_accept").click().run()
    # a new session opens at the newest 填报时间 (this one keeps the date it already had, as in the routine above)
    status = frame_with(open_page("overview"), "报送要求")
    monthly = status[status["报送要求"] == "月报（每月 22 日前）"].set_index("乡镇")
    # as of 2019-07-20: 黄练镇 reported in July, the others not yet
    assert monthly.loc["黄练镇", "最近报送（填报时间）"] == "2019-07-20"
    assert monthly.loc["黄练镇", "状态"] == "按时报送" and monthly.loc["樟木乡", "状态"] == "待报"
    assert monthly.loc["樟木乡", "最近报送（填报时间）"] == "2019-06-25"
    # the version is a merge: the caption says so, names the file just imported and the newest 填报时间 (QA:
    # it named the last file alone, with the county's 填报时间, as if it were the whole ledger)
    overview = open_page("overview")
    line = next(c.value for c in overview.caption if "数据：" in c.value)
    assert (
        "个乡镇的台账汇总（最近导入 " in line
        and files[0][0].split(".")[0] in line
        and "最新填报时间 2019-07-20" in line
    )
    # a township chosen in the sidebar: its own section lists that township alone (QA: it listed all ten)
    one = open_page("overview", {"tsp": "樟木乡"})
    assert any(h.value == "樟木乡报送情况" for h in one.subheader)
    assert set(frame_with(one, "报送要求")["乡镇"]) == {"樟木乡"}
    at.switch_page("pages/upload.py").run()
    # the upload page judges at today: no township has reported in today's period (the files are from 2019)
    today = dt.datetime.now(storage.CST).date().isoformat()
    assert any(f"按 {today} 判断本期报送" in c.value for c in at.caption)
    status = frame_with(at, "报送要求")
    # judged at today, the 2019 reports leave every township behind: past the deadline, or not due yet with
    # the previous period skipped (never a bare 待报 for a township whose last report is years old)
    assert len(status) == 20 and set(status["状态"]) <= {"待报（上期未报）", "未报（已过截止日）"}
    assert (
        status.set_index(["乡镇", "报送要求"]).loc[("黄练镇", "周报（每周四）"), "最近报送（填报时间）"]
        == "2019-07-20"
    )
