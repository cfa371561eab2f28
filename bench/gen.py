"""Generated ledgers for the benchmarks (synthetic, vectorised): cases, follow-ups, schools, villages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kongchuo_metrics.parsers import id_check_digit


def write_folder(folder, tables) -> None:
    """A ledger folder of four Parquet files (台账, 劝返记录, 学校, 村屯) from generate()'s tables."""
    from pathlib import Path

    folder = Path(folder)
    for frame, name in zip(tables, ("台账", "劝返记录", "学校", "村屯"), strict=True):
        frame.to_parquet(folder / f"{name}.parquet")


def generate(n_cases: int, n_followups: int, n_schools: int = 200, n_villages: int = 2000, seed: int = 1):
    """Canonical-header frames: (cases, followups, schools, villages)."""
    rng = np.random.default_rng(seed)
    towns = np.array([f"第{i:02d}镇" for i in range(20)])
    school_town = towns[np.arange(n_schools) % len(towns)]
    schools = pd.DataFrame(
        {
            "学校名称": [f"学校{i:03d}{'中学' if i % 3 == 0 else '小学'}" for i in range(n_schools)],
            "乡镇": school_town,
            "小学在校生数": rng.integers(300, 2000, n_schools),
            "初中在校生数": rng.integers(300, 2000, n_schools),
        }
    )
    village_town = towns[np.arange(n_villages) % len(towns)]
    villages = pd.DataFrame(
        {
            "乡镇": village_town,
            "村": [f"村{i:04d}" for i in range(n_villages)],
            "经度": 108 + rng.random(n_villages) * 2,
            "纬度": 23 + rng.random(n_villages) * 2,
        }
    )
    s_idx = rng.integers(0, n_schools, n_cases)
    v_idx = (s_idx % len(towns)) + len(towns) * rng.integers(0, n_villages // len(towns), n_cases)
    reg = pd.Timestamp("2018-09-01") + pd.to_timedelta(rng.integers(0, 365, n_cases), unit="D")
    closed = reg + pd.to_timedelta(rng.integers(1, 300, n_cases), unit="D")
    is_closed = rng.random(n_cases) < 0.8
    birth = pd.Series(reg - pd.to_timedelta(rng.integers(7 * 365, 15 * 365, n_cases), unit="D"))
    first17 = pd.Series(
        "450804" + birth.dt.strftime("%Y%m%d") + pd.Series(rng.integers(100, 999, n_cases)).astype(str)
    )
    ids = first17 + id_check_digit(first17)
    cases = pd.DataFrame(
        {
            "乡镇": schools["乡镇"].to_numpy()[s_idx],
            "村": villages["村"].to_numpy()[v_idx],
            "姓名": pd.Series(rng.choice(list("韦黄覃梁李陈莫"), n_cases))
            + pd.Series(rng.choice(list("俊杰宇浩然子轩"), n_cases))
            + pd.Series(np.arange(n_cases) % 97).astype(str),
            "性别": np.where(first17.str[16].astype(int) % 2 == 1, "男", "女"),
            "身份证号": ids,
            "就读学校": schools["学校名称"].to_numpy()[s_idx],
            "年级": rng.choice(["三年级", "五年级", "初一", "初二", "九年级"], n_cases),
            "是否建档立卡": np.where(rng.random(n_cases) < 0.08, "是", "否"),
            "类型": "辍学",  # every case a dropout (the DuckDB peers count every case)
            "辍学时间": reg.strftime("%Y.%-m.%-d"),
            "辍学原因": rng.choice(["厌学", "外出打工", "早婚早育", "家庭经济困难"], n_cases),
            "是否返校": np.where(is_closed, "是", "否"),
            "返校时间": pd.Series(closed.strftime("%Y/%-m/%-d")).where(is_closed, ""),
            "处置情况": np.where(is_closed, "已返校就读", "未返校"),
            "劝返责任人（政府线）": pd.Series(school_town[s_idx]) + "干部",
            "劝返责任人（教育线）": pd.Series(schools["学校名称"].to_numpy()[s_idx]) + "校长",
        }
    )
    f_case = rng.integers(0, n_cases, n_followups)
    f_date = reg[f_case] + pd.to_timedelta(rng.integers(0, 200, n_followups), unit="D")
    followups = pd.DataFrame(
        {
            "身份证号": ids.to_numpy()[f_case],
            "姓名": cases["姓名"].to_numpy()[f_case],
            "劝返日期": f_date.strftime("%Y-%m-%d"),
            "劝返环节": rng.choice(
                ["学校劝返", "联合家访", "限期复学通知书", "行政督促", "司法督促"],
                n_followups,
                p=[0.5, 0.3, 0.12, 0.05, 0.03],
            ),
            "劝返方式": "家访",
        }
    )
    return cases, followups, schools, villages
