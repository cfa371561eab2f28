"""Who a paper is from and to: the 发文机关, 主送 and 报送 lines of the Word reports and the 填报单位 of the
government-format Excel tables.

The county's papers come from its 教育局 (or `[document] issuer`) and go to the townships and schools. A
township or school user's ledger is their part of the county (access.scoped_ledger, `scope_places`): their
papers come from their township's 人民政府 or their school and go up to the county's 教育局, never in the
county bureau's name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Papers:
    issuer: str  # 发文机关 / 编发单位 / 填报单位
    notice_to: str  # 主送 of a 情况通报
    summary_to: str  # 主送 of a 工作总结
    working_with: str  # the 工作总结's opening: 我局会同各乡镇
    brief_foot: str  # a 简报's 报送/抄送 line


def _county_word(district: str) -> str:
    return "县" if district.endswith("县") else "区"


def papers(ledger, district: str, issuer: str = "") -> Papers:
    """The papers' lines for this ledger: the county's (from `issuer` when set: the settings' 发文机关, the
    ledger's own 填报单位; an issuer not naming the ledger's county is another county's and is not used) or,
    on a township's or school's part of the county, that township's or school's."""
    places = ledger.meta.get("scope_places") or {}
    bureau = f"{district}教育局"
    if places.get("schools"):
        school = "、".join(places["schools"])
        return Papers(
            issuer=school,
            notice_to="各年级、各班级：",
            summary_to=f"{bureau}：",
            working_with="我校会同所在乡镇和村（社区）",
            brief_foot=f"报送：{bureau}",
        )
    if places.get("townships"):
        towns = places["townships"]
        we = "我乡" if len(towns) == 1 and towns[0].endswith("乡") else "我镇" if len(towns) == 1 else "我们"
        return Papers(
            issuer="、".join(f"{t}人民政府" for t in towns),
            notice_to="各村（社区），各中小学校：",
            summary_to=f"{bureau}：",
            working_with=f"{we}会同各村（社区）",
            brief_foot=f"报送：{bureau}　　抄送：各村（社区），各中小学校",
        )
    county = _county_word(district)
    if issuer and district and district not in issuer:  # the settings name another county's 发文机关
        issuer = ""
    return Papers(
        issuer=issuer or bureau,
        notice_to=f"各乡镇人民政府，{county}直有关单位，各中小学校：",
        summary_to=f"{district}人民政府：",
        working_with="我局会同各乡镇",
        brief_foot=f"报送：{district}人民政府　　抄送：各乡镇人民政府，各中小学校",
    )
