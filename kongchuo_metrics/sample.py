"""The synthetic sample ledger: invented children, valid ID numbers, a real-looking government workbook.

Built so that the 2019 reference report (覃塘区) comes out exactly (表一 at its six dates, 表二 by school,
the special-education breakdown), while looking like what a township fills in: a merged title row, a
填报单位/统计日期 row, a two-row header with varied spellings, merged township cells, mixed date formats and a
合计 row. All names are random combinations; the ID numbers carry valid check digits but belong to no one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .parsers import id_check_digit

DISTRICT = "覃塘区"
DISTRICT_CODE = "450804"
REPORT_DATES = ["2019-03-12", "2019-03-25", "2019-03-27", "2019-04-12", "2019-05-23", "2019-06-25"]
RETURNS_PER_PERIOD = [53, 6, 5, 10, 3]
OPEN_AT_END = {
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
TOTAL_CHILDREN = 86_258
PLACEMENT_COUNTS = {"随班就读": 361, "特殊教育学校": 32, "送教上门": 33, "办理免学": 125, "未入学": 11}
HOME_TEACHING_POOR = 14
UNPLACED_REASONS = (
    ["随父母外出务工，联系不上"] * 4
    + ["联系不上"] * 2
    + ["自闭症", "住院治疗", "小学毕业后未升入初中", "聋哑", "超龄"]
)

# One school year of history before 2019 (2017–18), so that 同比 (against the same date a year earlier) shows.
# Every history case is closed before 1 September 2018, the start of the 2018–19 school year, so no 2019 figure
# moves: open cases at the 2019 dates and the school year's cumulative returns (表一) stay exactly as reported.
HISTORY_REPORT_DATES = ["2018-03-12", "2018-03-25", "2018-03-27", "2018-04-12", "2018-05-23", "2018-06-25"]
HISTORY_OPEN = [118, 64, 57, 49, 38, 31]  # open at each history date
HISTORY_RETURNS = [46, 7, 6, 9, 5]  # returns in each history period (the rest of the drop is 核实在外地就读)
HISTORY_VERIFIED = [8, 0, 2, 2, 2]  # closures as 核实在外地就读 in each history period
HISTORY_EARLY_CLOSED = (15, 3)  # returned and verified before 2018-03-12
HISTORY_POOR_OPEN = [3, 2, 2, 1, 1, 1]
HISTORY_SEED_OFFSET = 2018  # history draws from its own random stream: the 2019 rows stay byte-identical

TOWNSHIPS = {  # name: (lon, lat) of the township seat — invented positions in a plausible area
    "覃塘镇": (109.44, 23.13),
    "东龙镇": (109.31, 23.04),
    "三里镇": (109.55, 23.21),
    "黄练镇": (109.27, 23.25),
    "石卡镇": (109.37, 23.35),
    "五里镇": (109.52, 23.03),
    "山北乡": (109.18, 23.12),
    "樟木乡": (109.43, 23.46),
    "蒙公乡": (109.58, 23.36),
    "大岭乡": (109.17, 23.38),
}
JUNIOR_SCHOOLS = {
    "覃塘镇": ["覃塘一中", "覃塘二中"],
    "东龙镇": ["东龙一中", "东龙二中"],
    "三里镇": ["三里一中", "三里二中"],
    "黄练镇": ["黄练一中", "黄练二中", "黄练三中"],
    "石卡镇": ["石卡一中", "石卡二中"],
    "五里镇": ["五里一中", "五里二中"],
    "山北乡": ["山北中学"],
    "樟木乡": ["樟木一中", "樟木三中", "樟木民中"],
    "蒙公乡": ["蒙公一中", "蒙公民中"],
    "大岭乡": ["大岭中学"],
}
VILLAGE_PARTS_A = list("那古大新龙石平福六长岭塘甘团旺罗黎清和安")
VILLAGE_PARTS_B = [
    "良",
    "楼",
    "塘",
    "岭",
    "村",
    "湾",
    "江",
    "坡",
    "垌",
    "山",
    "屯",
    "岸",
    "圩",
    "坪",
    "冲",
    "陂",
]
SURNAMES = list("韦黄覃梁李陈莫蒙卢罗刘甘潘周吴杨谭邓农廖林何钟苏")
GIVEN = list("俊杰宇浩然子轩晨阳思雨欣怡佳琪梦婷文博志强海燕丽华明辉伟嘉诗涵雅静子豪宏宁春秀玉兰凤")
# officials' given names share no character with the children's, so no child's name can appear inside one
OFFICIAL_GIVEN = list("建国德军平庆立新刚勇林峰磊斌超")
REASONS = [
    "学习困难、厌学",
    "厌学",
    "外出打工",
    "早婚早育",
    "家庭经济困难",
    "随父母外出",
    "身体原因",
    "家长不重视教育",
    "家庭缺乏劳动力",
    "其他",
]
DISABILITY_TYPES = ["智力残疾", "肢体残疾", "听力残疾", "视力残疾", "言语残疾", "精神残疾", "多重残疾"]


def _names(rng: np.random.Generator, n: int, given: list[str] = GIVEN) -> list[str]:
    surname = rng.choice(SURNAMES, n)
    one = rng.choice(given, n)
    two = rng.choice(given, n)
    single = rng.random(n) < 0.25
    return [s + a + ("" if k else b) for s, a, b, k in zip(surname, one, two, single, strict=True)]


def _ids(rng: np.random.Generator, births: pd.Series, male: np.ndarray) -> list[str]:
    seq = rng.integers(0, 99, len(births))
    sex_digit = np.where(
        male, rng.choice([1, 3, 5, 7, 9], len(births)), rng.choice([0, 2, 4, 6, 8], len(births))
    )
    first17 = pd.Series(
        [f"{DISTRICT_CODE}{b:%Y%m%d}{s:02d}{d}" for b, s, d in zip(births, seq, sex_digit, strict=True)]
    )
    return (first17 + id_check_digit(first17)).tolist()


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    prefix = rng.choice(["138", "139", "150", "177", "187", "135"], n)
    return [f"{p}{x:08d}" for p, x in zip(prefix, rng.integers(0, 10**8, n), strict=True)]


# --- geography -------------------------------------------------------------------------------------------------


def _clip(poly: list[tuple[float, float]], a: tuple[float, float], b: tuple[float, float]):
    """Sutherland–Hodgman: the part of `poly` closer to point a than to point b."""
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    nx, ny = b[0] - a[0], b[1] - a[1]

    def inside(p):
        return (p[0] - mx) * nx + (p[1] - my) * ny <= 0

    def cross(p, q):
        dp = (p[0] - mx) * nx + (p[1] - my) * ny
        dq = (q[0] - mx) * nx + (q[1] - my) * ny
        t = dp / (dp - dq)
        return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))

    out = []
    for i, cur in enumerate(poly):
        prev = poly[i - 1]
        if inside(cur):
            if not inside(prev):
                out.append(cross(prev, cur))
            out.append(cur)
        elif inside(prev):
            out.append(cross(prev, cur))
    return out


def _district_outline(rng: np.random.Generator) -> list[tuple[float, float]]:
    cx, cy = 109.38, 23.24
    angles = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    radius = 0.27 + 0.05 * np.sin(3 * angles) + rng.uniform(-0.015, 0.015, len(angles))
    return [
        (round(cx + 1.1 * r * np.cos(t), 5), round(cy + r * np.sin(t), 5))
        for r, t in zip(radius, angles, strict=True)
    ]


def _point_in(poly: list[tuple[float, float]], x: float, y: float) -> bool:
    inside = False
    for i, (x1, y1) in enumerate(poly):
        x0, y0 = poly[i - 1]
        if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
            inside = not inside
    return inside


def township_cells(rng: np.random.Generator) -> dict[str, list[tuple[float, float]]]:
    """Voronoi cells of the township seats clipped to a synthetic district outline."""
    outline = _district_outline(rng)
    cells = {}
    for name, centre in TOWNSHIPS.items():
        poly = outline
        for other, c2 in TOWNSHIPS.items():
            if other != name:
                poly = _clip(poly, centre, c2)
        cells[name] = [(round(x, 5), round(y, 5)) for x, y in poly]
    return cells


def boundaries_geojson(cells: dict[str, list[tuple[float, float]]]) -> dict:
    """A FeatureCollection of township polygons with properties township and kind."""
    feats = []
    for name, poly in cells.items():
        ring = [list(p) for p in poly] + [list(poly[0])]
        lon = round(sum(p[0] for p in poly) / len(poly), 5)
        lat = round(sum(p[1] for p in poly) / len(poly), 5)
        feats.append(
            {
                "type": "Feature",
                "properties": {"township": name, "level": "乡镇", "label_lon": lon, "label_lat": lat},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {"type": "FeatureCollection", "name": f"{DISTRICT}乡镇界线（示意，非官方）", "features": feats}


def _villages(rng: np.random.Generator, cells) -> pd.DataFrame:
    rows, used = [], set()
    for township, poly in cells.items():
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        n = int(rng.integers(9, 15))
        made = 0
        while made < n:
            x, y = rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys))
            if not _point_in(poly, x, y):
                continue
            name = str(rng.choice(VILLAGE_PARTS_A)) + str(rng.choice(VILLAGE_PARTS_B)) + "村"
            if name in used:
                continue
            used.add(name)
            rows.append({"乡镇": township, "村（社区）": name, "经度": round(x, 5), "纬度": round(y, 5)})
            made += 1
    return pd.DataFrame(rows)


def _schools(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for township in TOWNSHIPS:
        short = township[:2]
        for name in JUNIOR_SCHOOLS[township]:
            rows.append({"学校名称": name, "乡镇": township, "学段": "初中"})
        rows.append(
            {
                "学校名称": f"{short}镇中心小学" if township.endswith("镇") else f"{short}乡中心小学",
                "乡镇": township,
                "学段": "小学",
            }
        )
        for k in range(2):
            rows.append(
                {
                    "学校名称": f"{short}{rng.choice(VILLAGE_PARTS_A)}{rng.choice(['江', '岭', '塘'])}小学{'' if k == 0 else ''}",
                    "乡镇": township,
                    "学段": "小学",
                }
            )
    df = pd.DataFrame(rows).drop_duplicates("学校名称").reset_index(drop=True)
    primary = df["学段"] == "小学"
    junior_total = 27_958
    primary_total = TOTAL_CHILDREN - junior_total
    w_p = rng.uniform(0.5, 1.5, primary.sum())
    w_j = rng.uniform(0.6, 1.4, (~primary).sum())
    p = np.floor(w_p / w_p.sum() * primary_total).astype(int)
    p[0] += primary_total - p.sum()
    j = np.floor(w_j / w_j.sum() * junior_total).astype(int)
    j[0] += junior_total - j.sum()
    df["小学在校生数"] = 0
    df["初中在校生数"] = 0
    df.loc[primary, "小学在校生数"] = p
    df.loc[~primary, "初中在校生数"] = j
    intake = np.round(df["初中在校生数"] / 3 * rng.uniform(1.0, 1.04, len(df))).astype(int)
    df["入学年级人数"] = intake.where(~primary, pd.NA)
    df["转入人数"] = rng.integers(0, 12, len(df))
    df["转出人数"] = rng.integers(0, 15, len(df))
    df["毕业生数"] = np.round(
        (intake + df["转入人数"] - df["转出人数"]) * rng.uniform(0.955, 0.99, len(df))
    ).astype(int)
    for col in ("入学年级人数", "转入人数", "转出人数", "毕业生数"):
        df[col] = df[col].where(~primary, pd.NA)
    lon = df["乡镇"].map(lambda t: TOWNSHIPS[t][0]) + rng.uniform(-0.04, 0.04, len(df))
    lat = df["乡镇"].map(lambda t: TOWNSHIPS[t][1]) + rng.uniform(-0.04, 0.04, len(df))
    df["经度"], df["纬度"] = lon.round(5), lat.round(5)
    return df


# --- cases --------------------------------------------------------------------------------------------------------


def _date_text(rng: np.random.Generator, d: dt.date, allow_month: bool = False) -> object:
    style = rng.integers(0, 6 if allow_month else 5)
    if style == 0:
        return d  # a real date cell
    if style == 1:
        return f"{d.year}.{d.month}.{d.day}"
    if style == 2:
        return f"{d.year}/{d.month}/{d.day}"
    if style == 3:
        return f"{d.year}年{d.month}月{d.day}日"
    if style == 4:
        return f"{d:%Y%m%d}"
    return f"{d.year}年{d.month}月"


def _add_people(
    rng: np.random.Generator, df: pd.DataFrame, schools: pd.DataFrame, villages: pd.DataFrame
) -> None:
    """Case type, reason, village, both lines' owners, guardian and ethnicity, drawn in one fixed order (the
    sample's bytes depend on it) for the 2019 cases and the earlier school year alike."""
    df["type"] = np.where(rng.random(len(df)) < 0.2, "疑似辍学", "辍学")
    df["reason"] = rng.choice(REASONS, len(df), p=[0.22, 0.2, 0.15, 0.08, 0.08, 0.1, 0.05, 0.05, 0.04, 0.03])
    vil = villages.groupby("乡镇")["村（社区）"].apply(list)
    df["village"] = [str(rng.choice(vil[t])) for t in df["township"]]
    gov = {t: n for t, n in zip(TOWNSHIPS, _names(rng, len(TOWNSHIPS), OFFICIAL_GIVEN), strict=True)}
    df["gov_owner"] = [f"{gov[t]}（{t}）" for t in df["township"]]
    edu_names = dict(zip(schools["学校名称"], _names(rng, len(schools), OFFICIAL_GIVEN), strict=True))
    df["edu_owner"] = [f"{edu_names[s]}（{s}）" for s in df["school"]]
    df["guardian"] = _names(rng, len(df))
    df["phone"] = _phones(rng, len(df))
    df["ethnicity"] = rng.choice(["汉族", "壮族", "瑶族"], len(df), p=[0.55, 0.4, 0.05])


def _cases(rng: np.random.Generator, schools: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    dates = [dt.date.fromisoformat(d) for d in REPORT_DATES]
    junior = schools[schools["学段"] == "初中"]
    primary = schools[schools["学段"] == "小学"]
    recs = []
    # 25 children still out of school on the last date, by school (表二)
    for school, n in OPEN_AT_END.items():
        recs += [{"school": school, "stage": "junior", "close": None, "outcome": "open"} for _ in range(n)]
    # 77 returns, by period (表一)
    period_ends = dates[1:]
    period_starts = dates[:-1]
    for start, end, n in zip(period_starts, period_ends, RETURNS_PER_PERIOD, strict=True):
        span = (end - start).days
        for _ in range(n):
            close = start + dt.timedelta(days=int(rng.integers(1, span + 1)))
            recs.append({"school": None, "stage": None, "close": close, "outcome": "returned"})
    df = pd.DataFrame(recs)
    returned = df["outcome"] == "returned"
    n_ret = int(returned.sum())
    stages = np.array(["primary"] * 20 + ["junior"] * (n_ret - 20))
    rng.shuffle(stages)
    df.loc[returned, "stage"] = stages
    df.loc[returned & (df["stage"] == "primary"), "school"] = rng.choice(
        primary["学校名称"], (stages == "primary").sum()
    )
    df.loc[returned & (df["stage"] == "junior"), "school"] = rng.choice(
        junior["学校名称"], (stages == "junior").sum()
    )
    # five older returners went to vocational school instead (also 劝返成功)
    voc = df.index[returned & (df["stage"] == "junior")][
        rng.choice(int((returned & (df["stage"] == "junior")).sum()), 5, replace=False)
    ]
    df.loc[voc, "outcome"] = "vocational"
    df["township"] = df["school"].map(schools.set_index("学校名称")["乡镇"])
    # registration: autumn-term dropouts and spring-term non-returners, all on or before the first report date
    reg_offsets = rng.integers(0, 190, len(df))
    df["registered"] = [dates[0] - dt.timedelta(days=int(x)) for x in reg_offsets]
    month_only = rng.random(len(df)) < 0.06
    df["month_only"] = month_only & (pd.to_datetime(df["registered"]).dt.month != 3)
    grade = np.where(df["stage"] == "junior", rng.integers(7, 10, len(df)), rng.integers(3, 7, len(df)))
    df["grade"] = grade
    age = grade + 5 + rng.integers(0, 2, len(df))
    births = [
        pd.Timestamp(r) - pd.DateOffset(years=int(a)) - pd.Timedelta(days=int(rng.integers(10, 300)))
        for r, a in zip(df["registered"], age, strict=True)
    ]
    df["birth"] = pd.to_datetime(births)
    df["male"] = rng.random(len(df)) < 0.55
    df["id"] = _ids(rng, df["birth"], df["male"].to_numpy())
    df["name"] = _names(rng, len(df))
    df["poor"] = False
    first_period = df.index[
        df["outcome"].isin(["returned", "vocational"]) & df["close"].le(dates[1]) & df["close"].notna()
    ]
    df.loc[rng.choice(first_period, 2, replace=False), "poor"] = True
    _add_people(rng, df, schools, villages)
    return df.sort_values(["township", "school", "registered"]).reset_index(drop=True)


def _history(rng: np.random.Generator, schools: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """The 2017–18 school year's cases, all closed by 31 August 2018, with the same columns as `_cases`."""
    dates = [dt.date.fromisoformat(d) for d in HISTORY_REPORT_DATES]
    year_start = dt.date(2017, 9, 1)
    windows = [(year_start, dates[0], *HISTORY_EARLY_CLOSED)]
    windows += [
        (a, b, r, v)
        for a, b, r, v in zip(dates[:-1], dates[1:], HISTORY_RETURNS, HISTORY_VERIFIED, strict=True)
    ]
    windows.append((dt.date(2018, 6, 30), dt.date(2018, 8, 31), HISTORY_OPEN[-1], 0))  # summer: all back
    recs = []
    for period, (start, end, n_ret, n_ver) in enumerate(windows):
        span = (end - start).days
        for k in range(n_ret + n_ver):
            close = start + dt.timedelta(days=int(rng.integers(1, span + 1)))
            outcome = "returned" if k < n_ret else "verified"
            recs.append({"close": close, "outcome": outcome, "period": period})
    df = pd.DataFrame(recs)
    assert len(df) - sum(HISTORY_EARLY_CLOSED) == HISTORY_OPEN[0]
    junior = df.index[rng.random(len(df)) < 0.75]
    df["stage"] = "primary"
    df.loc[junior, "stage"] = "junior"
    by_stage = schools.groupby("学段")["学校名称"].apply(list)
    df["school"] = [str(rng.choice(by_stage["初中" if st == "junior" else "小学"])) for st in df["stage"]]
    older = df.index[(df["stage"] == "junior") & (df["outcome"] == "returned")]
    df.loc[rng.choice(older, 6, replace=False), "outcome"] = "vocational"
    df["township"] = df["school"].map(schools.set_index("学校名称")["乡镇"])
    # registration: on or before the first history date and before the closure
    latest = [min(dates[0], c - dt.timedelta(days=1)) for c in df["close"]]
    df["registered"] = [
        max(year_start, d - dt.timedelta(days=int(x)))
        for d, x in zip(latest, rng.integers(0, 180, len(df)), strict=True)
    ]
    df["month_only"] = False
    df["grade"] = np.where(df["stage"] == "junior", rng.integers(7, 10, len(df)), rng.integers(3, 7, len(df)))
    age = df["grade"] + 5 + rng.integers(0, 2, len(df))
    df["birth"] = pd.to_datetime(
        [
            pd.Timestamp(r) - pd.DateOffset(years=int(a)) - pd.Timedelta(days=int(rng.integers(10, 300)))
            for r, a in zip(df["registered"], age, strict=True)
        ]
    )
    df["male"] = rng.random(len(df)) < 0.55
    df["id"] = _ids(rng, df["birth"], df["male"].to_numpy())
    df["name"] = _names(rng, len(df))
    # 建档立卡 open at the history dates: 3, then one back in the first period, one in the third, one in summer
    df["poor"] = False
    for period in (1, 3, len(windows) - 1):
        pick = df.index[(df["period"] == period) & (df["outcome"] == "returned") & ~df["poor"]]
        df.loc[rng.choice(pick, 1), "poor"] = True
    _add_people(rng, df, schools, villages)
    return df.drop(columns="period").sort_values(["township", "school", "registered"]).reset_index(drop=True)


def _followups(rng: np.random.Generator, cases: pd.DataFrame) -> pd.DataFrame:
    """Visits along the ladder; for the children still out, some overdue and some past a notice deadline."""
    last = dt.date.fromisoformat(REPORT_DATES[-1])
    recs = []
    ladder = ["学校劝返", "联合家访", "限期复学通知书", "行政督促", "司法督促"]
    methods = {
        "学校劝返": "班主任家访",
        "联合家访": "乡镇村干部与教师联合上门",
        "限期复学通知书": "乡镇政府下达通知书",
        "行政督促": "约谈监护人",
        "司法督促": "法院发出司法建议书",
    }
    open_ix = cases.index[cases["outcome"] == "open"]
    depth = pd.Series(1, index=cases.index)
    depth.loc[open_ix] = rng.choice([2, 3, 3, 4, 5], len(open_ix))
    # the last visit for some open cases is long ago (overdue), for others recent
    stale = set(rng.choice(open_ix, min(9, len(open_ix)), replace=False)) if len(open_ix) else set()
    for i, row in cases.iterrows():  # builds synthetic data, not a metric
        reg = row["registered"]
        end = row["close"] if row["close"] is not None else last
        steps = ladder[: int(depth[i]) if row["outcome"] == "open" else int(rng.integers(1, 3))]
        span = max((end - reg).days, 2)
        offsets = sorted(rng.choice(np.arange(1, span), min(len(steps), span - 1), replace=False))
        if row["outcome"] == "open" and i not in stale:
            offsets[-1] = span - int(rng.integers(0, 10))
        elif row["outcome"] == "open":
            offsets[-1] = min(offsets[-1], span - 20 - int(rng.integers(0, 20)))
            offsets = sorted(min(o, offsets[-1]) for o in offsets)
        for step, off in zip(steps, offsets, strict=False):
            day = reg + dt.timedelta(days=int(off))
            deadline = day + dt.timedelta(days=15) if step == "限期复学通知书" else None
            recs.append(
                {
                    "身份证号码": row["id"],
                    "学生姓名": row["name"],
                    "就读学校": row["school"],
                    "劝返日期": day,
                    "劝返环节": step,
                    "劝返方式": methods[step],
                    "劝返人员": row["edu_owner"].split("（")[0]
                    if step == "学校劝返"
                    else row["gov_owner"].split("（")[0],
                    "劝返结果": ("核实在外地就读" if row["outcome"] == "verified" else "同意返校")
                    if (row["outcome"] != "open" and step == steps[-1])
                    else "暂未返校",
                    "复学期限": deadline,
                }
            )
    return pd.DataFrame(recs).sort_values("劝返日期").reset_index(drop=True)


def _special_ed(rng: np.random.Generator, villages: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    placements = [p for p, n in PLACEMENT_COUNTS.items() for _ in range(n)]
    n = len(placements)
    df = pd.DataFrame({"安置方式": placements})
    pick = villages.iloc[rng.integers(0, len(villages), n)].reset_index(drop=True)
    df["乡镇"], df["村（社区）"] = pick["乡镇"], pick["村（社区）"]
    df["姓名"] = _names(rng, n)
    male = rng.random(n) < 0.58
    df["性别"] = np.where(male, "男", "女")
    births = pd.to_datetime(
        [dt.date(2019, 6, 25) - dt.timedelta(days=int(x)) for x in rng.integers(6 * 366, 15 * 365, n)]
    )
    df["身份证号"] = _ids(rng, pd.Series(births), male)
    df["残疾类别"] = rng.choice(DISABILITY_TYPES, n, p=[0.38, 0.2, 0.12, 0.08, 0.08, 0.06, 0.08])
    df["残疾等级"] = rng.choice(["一级", "二级", "三级", "四级"], n)
    home = df.index[df["安置方式"] == "送教上门"]
    poor = pd.Series(rng.random(n) < 0.07, index=df.index)
    poor.loc[home] = False
    poor.loc[rng.choice(home, HOME_TEACHING_POOR, replace=False)] = True
    df["是否建档立卡"] = np.where(poor, "是", "否")
    school_by_tsp = schools.groupby("乡镇")["学校名称"].apply(list)
    df["就读学校"] = [
        str(rng.choice(school_by_tsp[t]))
        if p in ("随班就读", "送教上门")
        else ("贵港市特殊教育学校" if p == "特殊教育学校" else "")
        for t, p in zip(df["乡镇"], df["安置方式"], strict=True)
    ]
    df["未安置原因"] = ""
    unplaced = df.index[df["安置方式"] == "未入学"]
    df.loc[unplaced, "未安置原因"] = UNPLACED_REASONS
    lessons = rng.integers(15, 23, len(home))
    lessons[0] += 632 - lessons.sum()
    df["送教次数"] = pd.Series(pd.NA, index=df.index, dtype="Int64")
    df.loc[home, "送教次数"] = lessons
    return (
        df.sample(frac=1, random_state=int(rng.integers(0, 10**6)))
        .sort_values("乡镇", kind="stable")
        .reset_index(drop=True)
    )


# --- writing the workbook -------------------------------------------------------------------------------------------


def _write_title(ws, wb, title: str, ncols: int) -> None:
    ws.merge_range(
        0, 0, 0, ncols - 1, title, wb.add_format({"bold": True, "font_size": 16, "align": "center"})
    )
    ws.merge_range(
        1,
        0,
        1,
        ncols - 1,
        f"填报单位：{DISTRICT}教育局（盖章）          统计日期：2019年6月25日",
        wb.add_format({"align": "left"}),
    )


def _write_simple(wb, name: str, title: str, df: pd.DataFrame, date_fmt, head_fmt) -> None:
    ws = wb.add_worksheet(name)
    cols = ["序号", *df.columns]
    _write_title(ws, wb, title, len(cols))
    ws.write_row(2, 0, cols, head_fmt)
    for r, rec in enumerate(df.itertuples(index=False), start=3):
        ws.write_number(r, 0, r - 2)
        for c, v in enumerate(rec, start=1):
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
                continue
            if isinstance(v, (dt.date, pd.Timestamp)):
                ws.write_datetime(r, c, pd.Timestamp(v).to_pydatetime(), date_fmt)
            elif isinstance(v, (int, np.integer, float, np.floating)) and not isinstance(v, bool):
                ws.write_number(r, c, float(v))
            else:
                ws.write_string(r, c, str(v))
    ws.set_column(0, len(cols), 14)


def write_sample(out_dir: str | Path, seed: int = 2019) -> Path:
    """Write sample_ledger.xlsx, boundaries.geojson and settings.toml into out_dir; return the workbook path."""
    import xlsxwriter

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cells = township_cells(rng)
    villages = _villages(rng, cells)
    schools = _schools(rng)
    cases = _cases(rng, schools, villages)
    followups = _followups(rng, cases)
    special = _special_ed(rng, villages, schools)
    history_rng = np.random.default_rng([seed, HISTORY_SEED_OFFSET])
    history = _history(history_rng, schools, villages)
    followups = pd.concat([followups, _followups(history_rng, history)], ignore_index=True)
    # last school year's closed cases sit below this year's, as bureaus keep them in the same sheet
    rows = pd.concat([cases, history], ignore_index=True)

    path = out / "sample_ledger.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    head = wb.add_format(
        {
            "bold": True,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
            "border": 1,
            "bg_color": "#DDEBF7",
        }
    )
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    text_fmt = wb.add_format({"num_format": "@"})
    cell = wb.add_format({"valign": "vcenter"})

    ws = wb.add_worksheet("控辍保学台账")
    headers = [
        "序号",
        "乡镇（街道）",
        "村（社区）",
        "学生姓名",
        "性别",
        "民族",
        "身份证号码",
        "出生日期",
        "就读学校",
        "年级",
        "是否建档立卡户\n（√）",
        "类型",
        "辍学时间",
        "辍学原因",
        "是否返校",
        "返校时间",
        "处置情况/去向",
        "劝返责任人",
        None,
        "监护人姓名",
        "联系电话",
        "备注",
    ]
    ncols = len(headers)
    ws.merge_range(
        0,
        0,
        0,
        ncols - 1,
        f"{DISTRICT}2019年春季期控辍保学工作台账（虚构样例数据）",
        wb.add_format({"bold": True, "font_size": 16, "align": "center"}),
    )
    ws.merge_range(1, 0, 1, ncols - 1, f"填报单位：{DISTRICT}教育局（盖章）          统计日期：2019年6月25日")
    for c, h in enumerate(headers):
        if h == "劝返责任人":
            ws.merge_range(2, c, 2, c + 1, h, head)
            ws.write(3, c, "政府线", head)
            ws.write(3, c + 1, "教育线", head)
        elif h is not None:
            ws.merge_range(2, c, 3, c, h, head)
    grade_cn = {3: "三年级", 4: "四年级", 5: "五年级", 6: "六年级", 7: "七年级", 8: "初二", 9: "九年级"}
    first = 4
    for i, row in rows.iterrows():
        r = first + i
        rng_i = rng if i < len(cases) else history_rng
        ws.write_number(r, 0, i + 1)
        ws.write_string(r, 2, row["village"])
        ws.write_string(r, 3, row["name"])
        ws.write_string(r, 4, "男" if row["male"] else "女")
        ws.write_string(r, 5, row["ethnicity"])
        ws.write_string(r, 6, row["id"], text_fmt)
        ws.write_string(r, 7, f"{row['birth']:%Y.%m.%d}") if i % 3 else ws.write_datetime(
            r, 7, row["birth"].to_pydatetime(), date_fmt
        )
        ws.write_string(r, 8, row["school"])
        ws.write_string(
            r, 9, grade_cn[int(row["grade"])] if row["grade"] in grade_cn else f"{int(row['grade'])}年级"
        )
        ws.write_string(r, 10, ("√" if i % 2 else "是") if row["poor"] else ("" if i % 7 == 0 else "否"))
        ws.write_string(r, 11, row["type"])
        reg = (
            _date_text(rng_i, row["registered"])
            if not row["month_only"]
            else f"{row['registered'].year}年{row['registered'].month}月"
        )
        if isinstance(reg, dt.date):
            ws.write_datetime(r, 12, dt.datetime(reg.year, reg.month, reg.day), date_fmt)
        else:
            ws.write_string(r, 12, reg)
        ws.write_string(r, 13, row["reason"])
        if row["outcome"] == "open":
            ws.write_string(r, 14, "否")
            ws.write_string(r, 16, "未返校，继续劝返")
        else:
            ws.write_string(r, 14, "否" if row["outcome"] == "verified" else "是")
            close = _date_text(rng_i, row["close"])
            if isinstance(close, dt.date):
                ws.write_datetime(r, 15, dt.datetime(close.year, close.month, close.day), date_fmt)
            else:
                ws.write_string(r, 15, close)
            done = {"vocational": "进入中职学校就读", "verified": "核实在外地就读"}
            ws.write_string(r, 16, done.get(row["outcome"], "已返校就读"))
        ws.write_string(r, 17, row["gov_owner"])
        ws.write_string(r, 18, row["edu_owner"])
        ws.write_string(r, 19, row["guardian"])
        ws.write_string(r, 20, row["phone"], text_fmt)
    # township cells merged over each township's rows, as townships fill them in
    blocks = rows.assign(block=(rows.index >= len(cases)).astype(int))
    for (_, township), grp in blocks.groupby(["block", "township"], sort=False):
        top, bottom = first + grp.index.min(), first + grp.index.max()
        if bottom > top:
            ws.merge_range(top, 1, bottom, 1, township, cell)
        else:
            ws.write_string(top, 1, township)
    total_row = first + len(rows)
    ws.write_string(total_row, 0, "合计")
    ws.write_string(total_row, 3, f"{len(rows)}人")
    ws.write_string(total_row + 2, 0, "填表人：                审核人：                联系电话：")
    ws.set_column(0, ncols, 12)
    ws.freeze_panes(4, 0)

    _write_simple(
        wb, "残疾儿童", f"{DISTRICT}6-15周岁残疾儿童少年入学安置情况（虚构样例数据）", special, date_fmt, head
    )
    _write_simple(wb, "学校", f"{DISTRICT}义务教育学校基本情况（虚构样例数据）", schools, date_fmt, head)
    _write_simple(wb, "村屯", f"{DISTRICT}村（社区）坐标（WGS-84，示意）", villages, date_fmt, head)
    _write_simple(
        wb, "劝返记录", f"{DISTRICT}控辍保学劝返工作记录（虚构样例数据）", followups, date_fmt, head
    )
    reports = pd.DataFrame(
        {"统计日期": pd.to_datetime(REPORT_DATES), "说明": ["春季学期开学核查"] + ["动态销号报送"] * 5}
    )
    _write_simple(wb, "统计节点", f"{DISTRICT}控辍保学统计报送节点", reports, date_fmt, head)
    lists = wb.add_worksheet("下拉选项")
    lists.write_column(0, 0, ["是", "否"])
    lists.hide()
    wb.close()

    (out / "boundaries.geojson").write_text(
        json.dumps(boundaries_geojson(cells), ensure_ascii=False), encoding="utf-8"
    )
    (out / "settings.toml").write_text(SETTINGS_TEMPLATE.format(district=DISTRICT), encoding="utf-8")
    return path


SETTINGS_TEMPLATE = """# 看板设置（本文件与台账放在同一文件夹）
[district]
name = "{district}"
# 村屯坐标的坐标系：wgs84（默认，含 CGCS2000）或 gcj02（高德/腾讯导出的坐标，导入时换算为 WGS-84）
coords = "wgs84"

[targets]
# 指标目标值：辍学率上限（%）、巩固率下限（%）、建档立卡辍学人数上限
dropout_rate_junior_max = 1.5
dropout_rate_primary_max = 1.0
consolidation_rate_min = 95.0
poor_open_max = 0

[followup]
# 超过多少天没有劝返记录即视为超期
overdue_days = 14

[auth]
# 由可信的反向代理（统一身份认证）传入用户名的请求头，例如 "X-Remote-User"；留空表示使用本地账号登录
proxy_header = ""
# 单位有 OIDC 统一身份认证（st.login）时填写："default" 使用 .streamlit/secrets.toml 的 [auth]，
# 或填 [auth.名称] 中的名称；留空表示不用。登录后按 oidc_claim（默认 email）在用户文件中查找角色和范围
oidc_provider = ""
oidc_claim = "email"

[document]
# Word 通报/总结/简报的发文机关（落款）与成文日期（如 2019-06-28；留空为生成当天）
issuer = "{district}教育局"
date = ""
[records]
# 记录数据库（督办单、通知书、考核排名）。留空使用 var/records.sqlite；多台服务器共用时填 PostgreSQL 地址，
# 例如 "postgresql://kongchuo@db.example/kongchuo"。环境变量 KONGCHUO_DB 优先于这里
url = ""

[duban]
# 督办单文号：{{前缀}}〔年〕第N号，每年从第1号起
prefix = "{district}控辍督"
issuer = "{district}控辍保学工作领导小组办公室"

[notices]
# 通知书文号模板：{{乡镇}}、{{年}}、{{n}}（序号）；每个乡镇每年一个序列，两种通知书共用
template = "{{乡镇}}控辍通字〔{{年}}〕第{{n}}号"
# 收到通知书后返校的期限（天）
"days_劝学通知书" = 7
"days_限期复学通知书" = 15

[ranking]
# 乡镇考核排名规则
base = 100
# 辍学率每超过目标 dropout_step 个百分点（不足一档按一档计），小学、初中分别扣 dropout_points 分
dropout_step = 0.1
dropout_points = 2
# 劝返率（本期劝返 ÷ 本期应劝返）满分，按比例计
return_points = 10
# 督办单逾期反馈、逾期未反馈每件扣分
late_report_points = 1
missing_report_points = 3
# 名次均分为几档，每档的等次赋分（从好到差）；一票否决的乡镇赋分 veto_points
buckets = [10, 8, 6, 4]
veto_points = 0
# 最后几名标为末位
last_places = 1

[ranking.overdue_points]
# 超期个案按所处环节每人扣分
none = 1
school_visit = 1
joint_visit = 2
notice = 3
administrative = 4
judicial = 5
"""
