"""Shared fixtures: ledgers built in code (never real data)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kongchuo_metrics.parsers import id_check_digit  # noqa: E402

SAMPLE_DIR = ROOT / "data"
# the 2019 reference report of 覃塘区 (表一 at six dates, 表二 per school), written out here and not taken from the sample generator: the
# tests check the generated sample against it
REFERENCE_DATES = ["2019-03-12", "2019-03-25", "2019-03-27", "2019-04-12", "2019-05-23", "2019-06-25"]
# 表二 at 2019-06-25: open cases per school (25 in all)
REFERENCE_TABLE_2 = {
    "黄练二中": 1,
    "黄练三中": 2,
    "蒙公一中": 3,
    "蒙公民中": 3,
    "樟木三中": 2,
    "樟木民中": 3,
    "三里一中": 2,
    "三里二中": 4,
    "五里一中": 1,
    "五里二中": 2,
    "石卡一中": 2,
}


def sample_data_with(folder: Path, setting: str, value: str) -> Path:
    """A copy of the shipped data folder in `folder` with one settings.toml line changed (`setting = value`)."""
    import shutil

    data = folder / "data"
    shutil.copytree(SAMPLE_DIR, data)
    text = (data / "settings.toml").read_text(encoding="utf-8")
    assert f'{setting} = ""' in text, setting
    (data / "settings.toml").write_text(
        text.replace(f'{setting} = ""', f"{setting} = {value!r}"), encoding="utf-8"
    )
    return data


def valid_id(birth: str, seq: str = "123", region: str = "450804") -> str:
    """A checksummed 18-digit ID number for a birth date YYYYMMDD."""
    first17 = pd.Series([f"{region}{birth}{seq}"])
    return first17.iloc[0] + id_check_digit(first17).iloc[0]


CASE_HEADER = [
    "乡镇",
    "村（社区）",
    "学生姓名",
    "性别",
    "身份证号码",
    "就读学校",
    "年级",
    "是否建档立卡户",
    "类型",
    "辍学时间",
    "辍学原因",
    "是否返校",
    "返校时间",
    "处置情况/去向",
    "劝返责任人（政府线）",
    "劝返责任人（教育线）",
]


def case_row(
    township="甲镇",
    village="一村",
    name="张小三",
    sex="男",
    idn=None,
    school="甲镇一中",
    grade="初二",
    poor="否",
    ctype="辍学",
    registered="2019.3.1",
    reason="厌学",
    returned="否",
    closed="",
    outcome="未返校",
    gov="王镇长",
    edu="李校长",
) -> list:
    """One ledger row in CASE_HEADER order."""
    if idn is None:
        # distinct per name, with the sex digit matching `sex`
        idn = valid_id("20060512", f"{sum(map(ord, name)) % 90 + 10}{'1' if sex == '男' else '2'}")
    return [
        township,
        village,
        name,
        sex,
        idn,
        school,
        grade,
        poor,
        ctype,
        registered,
        reason,
        returned,
        closed,
        outcome,
        gov,
        edu,
    ]


def write_csv(
    path: Path,
    rows: list[list],
    header: list[str] | None = None,
    encoding: str = "utf-8-sig",
    sep: str = ",",
    title: str | None = None,
) -> Path:
    lines = []
    if title:
        lines.append(title + sep * (len(header or CASE_HEADER) - 1))
    lines.append(sep.join(header or CASE_HEADER))
    lines += [sep.join("" if v is None else str(v) for v in r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(
    path: Path,
    sheets: dict[str, list[list]],
    merges: dict[str, list[tuple]] | None = None,
    hidden: tuple[str, ...] = (),
) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is None or v == "":
                    continue
                if isinstance(v, dt.date):
                    ws.write_datetime(
                        r, c, dt.datetime(v.year, v.month, v.day), wb.add_format({"num_format": "yyyy-mm-dd"})
                    )
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                else:
                    ws.write_string(r, c, v)
        for r0, c0, r1, c1, value in (merges or {}).get(name, []):
            ws.merge_range(r0, c0, r1, c1, value)
        if name in hidden:
            ws.hide()
    wb.close()
    return path


@pytest.fixture(scope="session")
def sample_ledger():
    from kongchuo_metrics.ingest import load_ledger

    return load_ledger(SAMPLE_DIR)


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server started for this test session (fails, never skips, when it cannot start)."""
    from tests.pgserver import PostgresServer

    server = PostgresServer()
    try:
        url = server.start()
    except Exception as exc:
        server.stop()
        pytest.fail(f"PostgreSQL could not be started for the records tests: {exc}")
    yield url
    server.stop()
