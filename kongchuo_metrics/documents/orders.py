"""Word 督办单 and notices (劝学通知书, 限期复学通知书) with their 送达回证 page, on the shared GB/T 9704 layout.

Children appear as the caller passes them: masked labels (张*三) unless an unmasked, audited view chose to print
the full name on a notice that goes to the child's own guardian. The text stays editable.
"""

from __future__ import annotations

from docx.enum.text import WD_ALIGN_PARAGRAPH

from . import layout as L

LAW = (
    "根据《中华人民共和国义务教育法》第五条、第十一条和《中华人民共和国未成年人保护法》第十六条的规定，"
    "适龄儿童、少年的父母或者其他法定监护人应当依法保证其按时入学接受并完成义务教育。"
)
FORM_WIDTHS = (46, L.text_width_mm() - 46)


def _number(doc, number: str) -> None:
    L.paragraph(doc, number, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    L.paragraph(doc, "", indent=False)


def _form(doc, rows: list[tuple[str, str]]):
    """A two-column form without a header row: label | value (newlines kept as line breaks)."""
    t = L.table(doc, [], [(label, "") for label, _ in rows], widths_mm=FORM_WIDTHS, left_columns=2)
    for row, (_, value) in zip(t.rows, rows, strict=True):
        cell = row.cells[1]
        lines = str(value).split("\n")
        cell.paragraphs[0].add_run(lines[0])
        for line in lines[1:]:
            par = cell.add_paragraph(line, style=cell.paragraphs[0].style)
            par.alignment = cell.paragraphs[0].alignment
    return t


def duban_docx(item: dict, district: str, children: list[dict], issuer: str = "") -> bytes:
    """A 督办单: 督办事项, 文号, 内容, 承办乡镇, 牵头/配合单位, 交办时限, 反馈周期, 联系人, 状态 (with 超时), the
    children it names (masked, with where they stand now) and the feedback so far."""
    doc = L.new_document()
    L.title(doc, f"{district}控辍保学工作督办单")
    _number(doc, item["number"])
    cycle = f"每{item['cycle_days']}天反馈一次" if item.get("cycle_days") else "办结后一次性反馈"
    kids = "\n".join(
        f"{i}. {c['label']}　{c.get('school') or ''}　{c.get('step') or ''}　{c.get('present') or ''}".rstrip()
        for i, c in enumerate(children, start=1)
    )
    feedback = "\n".join(f"{f['at'][:10]}　{f['text']}" for f in item.get("feedback", [])) or "（尚未反馈）"
    status = item["status"] + (f"（超时：{item['overdue_reason']}）" if item.get("overdue") else "")
    _form(
        doc,
        [
            ("督办事项", item["item"]),
            ("督办内容", item.get("content") or item["item"]),
            ("承办乡镇", item["township"]),
            (
                "牵头单位/牵头领导",
                "　".join(x for x in (item.get("lead_unit"), item.get("lead_person")) if x) or "—",
            ),
            ("配合单位", item.get("partners") or "—"),
            ("交办时限", item["due"]),
            ("反馈周期", cycle),
            ("督办联系人", item.get("contact") or "—"),
            ("办理状态", status),
            *([("涉及儿童（已脱敏）", kids)] if children else []),
            ("反馈情况", feedback),
        ],
    )
    L.signature(
        doc,
        f"{issuer or district + '控辍保学工作领导小组办公室'}（盖章）",
        f"交办日期：{item['created_at'][:10]}",
    )
    return L.to_bytes(doc)


def notice_docx(notice: dict, child: dict, issued: str) -> bytes:
    """A 劝学通知书 or 限期复学通知书 and, on a page of its own, the 送达回证 (文书名称及文号, 受送达人, 送达地点,
    送达时间, 签名 lines).

    notice: kind, number, deadline_days, township, and once delivered delivered_on, recipient, place;
    child: name (as the caller chose to print it), school, grade, registered (text).
    """
    doc = L.new_document()
    kind, number, days = notice["kind"], notice["number"], int(notice["deadline_days"])
    name, school = child.get("name") or "＿＿＿＿", child.get("school") or "＿＿＿＿"
    since = child.get("registered") or "＿＿＿＿"
    L.title(doc, kind)
    _number(doc, number)
    L.paragraph(doc, f"{name}同学的监护人：", indent=False)
    if kind == "劝学通知书":
        issuer = school
        body = (
            f"你的子女{name}系{school}{child.get('grade') or ''}学生，自{since}起未到校上学。{LAW}"
            f"请你自收到本通知书之日起{days}日内送子女返校就读。逾期仍未返校的，学校将报请"
            f"{notice['township']}人民政府依法督促复学。"
        )
    else:
        issuer = f"{notice['township']}人民政府"
        body = (
            f"你的子女{name}（原就读{school}）自{since}起辍学，经学校和村（社区）多次劝返，至今仍未返校。{LAW}"
            f"现责令你于收到本通知书之日起{days}日内送子女到{school}复学。逾期仍不送子女复学的，本机关将依照"
            "《中华人民共和国义务教育法》第五十八条的规定给予批评教育、责令限期改正，并可依法申请人民法院督促复学。"
        )
    L.paragraph(doc, body)
    L.paragraph(doc, "特此通知。")
    L.signature(doc, f"{issuer}（盖章）", issued)
    L.page_break(doc)
    L.title(doc, "送达回证")
    sign = "\n\n　　　　　　　　　　　年　　月　　日"
    _form(
        doc,
        [
            ("送达文书名称及文号", f"《{kind}》{number}"),
            ("受送达人", notice.get("recipient") or "\n"),
            ("送达地点", notice.get("place") or "\n"),
            ("送达时间", notice.get("delivered_on") or "　　年　　月　　日　　时"),
            ("送达方式", "直接送达"),
            ("受送达人签名或盖章", sign),
            ("送达人签名或盖章", sign),
            ("备注", "受送达人拒绝签收的，送达人应在备注栏注明情况，并由见证人签名。\n"),
        ],
    )
    return L.to_bytes(doc)
