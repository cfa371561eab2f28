"""Invented lists for the 三比对 tests, laid out as the real ones are, built around the shipped sample ledger.

学籍 export: xlsx with a title row, 学校标识码, 身份证件类型, 全国学籍号 (G + ID), 学生状态. 脱贫户 list: GBK CSV
with 户编号, 户主姓名, 成员姓名, 与户主关系, 脱贫属性. Pushed list: xlsx with a merged title and a 推送日期 row.
户籍 list: UTF-8 CSV. Special-education register: xlsx like the ledger's own 残疾儿童 sheet.

EXPECTED holds what a clerk checking these by hand would count on 2019-06-25.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.conftest import SAMPLE_DIR, valid_id, write_xlsx

AS_OF = "2019-06-25"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

EXPECTED = {
    "pushed": {"已在台账": 3, "核实在读": 4, "残疾已安置": 2, "需入户核查": 3},
    "poverty_unflagged": 3,
    "open_poor_corrected": 2,
    "returned_not_enrolled": 3,
    "ledger_no_xueji": 4,
    "school_age_no_xueji": 3,
    "unmatchable": {"xueji": 1, "poverty": 0, "pushed": 1, "huji": 1, "special": 0, "ledger": 0},
}


def _cases() -> pd.DataFrame:
    from kongchuo_metrics.ingest import load_ledger

    led = load_ledger(SAMPLE_DIR)
    return led.cases, led.special_ed


def outsider(n: int, birth: str = "20070315") -> str:
    """A child not in the ledger (region 450821, another county's code)."""
    return valid_id(birth, f"{n:03d}", region="450821")


def make_lists(folder: Path) -> dict[str, Path]:
    """Write the five lists into `folder`; returns kind -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    cases, special = _cases()
    day = pd.Timestamp(AS_OF)
    returned = cases[cases["outcome_category"].isin(["returned", "vocational"]) & (cases["closed"] <= day)]
    open_ = cases[(cases["registered"] <= day) & ~(cases["closed"] <= day)]
    # 学籍: every returned child except 4 (no record at all); 3 of them transferred out / suspended
    # returned.iloc[:4]: no 学籍 record at all
    not_enrolled = returned.iloc[4:7]
    at_school = returned.iloc[7:]
    rows = [["2019年春季学期学生学籍信息导出"] + [None] * 11]
    rows.append(
        [
            "序号",
            "学校标识码",
            "学校名称",
            "姓名",
            "性别",
            "出生日期",
            "身份证件类型",
            "身份证件号",
            "全国学籍号",
            "年级",
            "班级",
            "学生状态",
        ]
    )
    n = 0

    def xrow(name, sex, idn, school, status, grade="七年级", g_only=False):
        nonlocal n
        n += 1
        birth = idn[6:14] if idn else ""
        rows.append(
            [
                n,
                f"21450{n:05d}",
                school,
                name,
                sex,
                birth,
                "居民身份证",
                "" if g_only else idn,
                "G" + idn if idn else "",
                grade,
                "1班",
                status,
            ]
        )

    for r in at_school.itertuples():
        xrow(r.name, r.sex, r.id_number, r.school, "在读")
    for r, st in zip(not_enrolled.itertuples(), ["转出", "休学", "毕业"], strict=True):
        xrow(r.name, r.sex, r.id_number, r.school, st)
    # open cases: all have a 学籍 (休学), none 在读
    for r in open_.itertuples():
        xrow(r.name, r.sex, r.id_number, r.school, "休学")
    # every other ledger case (closed as verified, special education, other; the earlier school year): 学籍 kept
    others = cases[~cases.index.isin(returned.index) & ~cases.index.isin(open_.index)]
    for r in others.itertuples():
        xrow(r.name, r.sex, r.id_number, r.school, "在读")
    # children at school who are not ledger cases: pushed ones below, by ID, by G-number only, lowercase x
    for i in range(1, 5):
        xrow(f"覃{'一二三四'[i - 1]}明", "男", outsider(i), "覃塘一中", "在读")
    xrow("黄小丽", "女", outsider(5), "黄练一中", "在读", g_only=True)  # pushed child matched by G + ID
    rows.append([n + 1, "2145099999", "五里一中", "无证生", "男", "", "", "", "", "七年级", "2班", "在读"])
    xueji = write_xlsx(
        folder / "学籍导出.xlsx", {"学生信息": rows}, {"学生信息": [(0, 0, 0, 11, rows[0][0])]}
    )

    # 脱贫户: 2 open ledger children and 1 returned one not flagged in the ledger, plus their households
    header = ["乡镇", "村", "户编号", "户主姓名", "成员姓名", "与户主关系", "身份证号", "脱贫属性"]
    prows = []
    for hh, r in enumerate([*open_.iloc[:2].itertuples(), *at_school.iloc[:1].itertuples()], start=1):
        prows.append(
            [
                r.township,
                r.village,
                f"H{hh:04d}",
                "父亲" + str(hh),
                "父亲" + str(hh),
                "户主",
                valid_id("19800101", f"{hh:02d}1", region="450804"),
                "脱贫户",
            ]
        )
        prows.append(
            [
                r.township,
                r.village,
                f"H{hh:04d}",
                "父亲" + str(hh),
                r.name,
                "之子",
                r.id_number.lower(),
                "脱贫不稳定户" if hh == 1 else "脱贫户",
            ]
        )
    # the two children the ledger already flags stay flagged: they are on the list too
    for r in cases[cases["poor"].eq(True)].itertuples():
        prows.append([r.township, r.village, "H0099", "某户主", r.name, "之女", r.id_number, "脱贫户"])
    poverty = folder / "脱贫户名单.csv"
    poverty.write_bytes(("\r\n".join(",".join(map(str, r)) for r in [header, *prows]) + "\r\n").encode("gbk"))

    # special-education register: two pushed children placed, one unplaced (does not count as placed)
    sp_rows = [["序号", "乡镇", "村", "姓名", "性别", "身份证号", "残疾类别", "安置方式", "就读学校"]]
    sp_rows.append(
        [1, "樟木乡", "樟木村", "韦小残", "男", outsider(20, "20080101"), "肢体", "送教上门", "樟木一中"]
    )
    sp_rows.append(
        [2, "三里镇", "三里村", "莫小聪", "女", outsider(21, "20090202"), "智力", "特殊教育学校", ""]
    )
    sp_rows.append([3, "石卡镇", "石卡村", "陆未置", "男", outsider(22, "20090303"), "多重", "未安置", ""])
    sp_rows.append([4, "覃塘镇", "覃塘村", "覃四明", "男", outsider(4), "视力", "随班就读", "覃塘一中"])
    special_path = write_xlsx(folder / "残联名单.xlsx", {"残疾儿童": sp_rows})

    # pushed: 12 children in the sender's order, a title and a date row above the header
    title = "港北区疑似辍学学生核查名单（2019年第2批）"
    pushed_rows = [[title, None, None, None, None], ["推送日期：2019年6月20日", None, None, None, None]]
    pushed_rows.append(["序号", "姓名", "身份证件号", "推送原因", "核查结果"])
    o0, o1, a1 = open_.iloc[0], open_.iloc[1], at_school.iloc[1]
    pushed = [
        (o0["name"], o0["id_number"], "学籍异动"),  # 已在台账
        ("覃一明", outsider(1), "学籍与户籍不符"),  # 核实在读
        ("韦小残", outsider(20, "20080101"), "未注册学籍"),  # 残疾已安置
        ("不明童", outsider(30), "未注册学籍"),  # 需入户核查
        ("覃二明", outsider(2).translate(FULL_WIDTH), "学籍异动"),  # full-width digits: 核实在读
        (a1["name"], a1["id_number"], "休学超期"),  # ledger + 在读: 已在台账
        ("覃四明", outsider(4), "学籍异动"),  # 在读 and placed: 核实在读 (precedence)
        ("莫小聪", outsider(21, "20090202"), "未注册学籍"),  # 残疾已安置
        ("陆未置", outsider(22, "20090303"), "未注册学籍"),  # unplaced: 需入户核查
        ("黄小丽", outsider(5).lower(), "学籍异动"),  # 学籍 by G-number only: 核实在读
        ("无号童", "", "户籍无学籍"),  # no ID: 需入户核查, unmatchable
        (o1["name"], o1["id_number"], "学籍异动"),  # 已在台账
    ]
    for i, (name, idn, reason) in enumerate(pushed, start=1):
        pushed_rows.append([i, name, idn, reason, ""])
    pushed_path = write_xlsx(
        folder / "疑似辍学推送名单.xlsx", {"Sheet1": pushed_rows}, {"Sheet1": [(0, 0, 0, 4, title)]}
    )

    # 户籍 of the age group: two school-age children unknown everywhere, one edge each side of the window
    h = ["姓名,公民身份号码,户籍地乡镇"]
    h.append(
        f"庞无籍,{outsider(40, '20080901')},樟木乡"
    )  # born 2008-09-01: school age (Y=2018 -> 2003-09-01..2012-08-31)
    h.append(f"庞边缘,{outsider(41, '20120831')},三里镇")  # 2012-08-31: the youngest of school age
    h.append(f"庞太小,{outsider(42, '20120901')},三里镇")  # 2012-09-01: too young
    h.append(f"庞太大,{outsider(43, '20030831')},五里镇")  # 2003-08-31: too old
    h.append(f"庞最大,{outsider(44, '20030901')},五里镇")  # 2003-09-01: the oldest of school age
    h.append(f"覃一明,{outsider(1)},覃塘镇")  # has a 学籍
    h.append(f"韦小残,{outsider(20, '20080101')},樟木乡")  # in the special register
    h.append(f"{o0['name']},{o0['id_number']},{o0['township']}")  # a ledger case
    h.append("缺号童,,樟木乡")
    huji = folder / "户籍名单.csv"
    huji.write_text("\r\n".join(h) + "\r\n", encoding="utf-8-sig")
    return {"xueji": xueji, "poverty": poverty, "pushed": pushed_path, "huji": huji, "special": special_path}
