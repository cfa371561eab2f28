"""The command line for the records database: rank, duban add/feedback/close/list, notice (registered by cli.py).

The CLI acts as the bureau's operator (a county admin, identity = the OS user); every change is audited.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from pathlib import Path

from . import audit, cli, metrics, ranking
from .access import Scope
from .documents import orders
from .records import RecordsError, database_url, duban, notices, open_db, workflows
from .records.config import load_paper_settings


def _settings_folder() -> Path:
    return Path(os.environ.get("KONGCHUO_DATA", "data"))


def _engine(folder: str | Path | None = None):
    try:
        return open_db(database_url(folder or _settings_folder()))
    except RecordsError as exc:
        raise cli.UsageError(str(exc)) from exc


def _actor() -> Scope:
    return Scope(getpass.getuser(), "county_admin")


def _audit(event: str, **fields) -> None:
    log = Path(os.environ.get("KONGCHUO_AUDIT", "var/audit/audit.jsonl"))
    try:
        audit.record(log, event, getpass.getuser(), "cli", "全区县", **fields)
    except audit.AuditError as exc:
        raise cli.UsageError(str(exc)) from exc


def delivered_for(ledger, path: str):
    """`ledger` with the notices delivered in the records database (of LEDGER's settings) on its follow-up log."""
    engine = _engine(path)
    return workflows.with_notices(ledger, workflows.delivered_followups(engine, _actor(), ledger.cases))


def duban_brief(path: str, townships: tuple[str, ...] = ()):
    """The 督办 items (status, 超时) for the pack and the Word 通报 made from the command line."""
    return workflows.duban_brief(duban.items(_engine(path), _actor()), townships)


def ranking_brief(ledger, settings, path: str, as_of):
    """The township ranking (Chinese table) for a Word 通报 made from the command line (`ledger` already carries
    the delivered notices)."""
    table = workflows.ranking_table(ledger, as_of, ranking.load_rules(path), settings, _engine(path))
    return ranking.display_table(table)


def cmd_rank(args) -> int:
    ledger, settings = cli._load(args.path)
    as_of = cli._date(args.as_of)
    engine = _engine(args.path)
    delivered = workflows.delivered_followups(engine, _actor(), ledger.cases)
    table = workflows.ranking_table(ledger, as_of, ranking.load_rules(args.path), settings, engine, delivered)
    if args.xlsx:
        data = ranking.xlsx(
            table,
            f"{settings.district}乡镇控辍保学工作考核排名",
            f"{settings.district}教育局",
            metrics.cn_date(as_of),
            ranking.load_rules(args.path),
        )
        _audit(
            "download", file=Path(args.xlsx).name, rows=len(table), columns=list(ranking.display_table(table))
        )
        Path(args.xlsx).write_bytes(data)
    if args.format == "json":
        print(json.dumps(ranking.as_records(table), ensure_ascii=False, indent=2))
    elif args.format == "csv":
        cli._emit(ranking.display_table(table), "csv")
    else:
        for r in ranking.as_records(table):
            parts = "，".join(f"{ranking.COMPONENTS[k]} {v:g}" for k, v in r["components"].items())
            flags = ("（一票否决）" if r["veto"] else "") + ("（末位）" if r["last"] else "")
            print(f"{r['rank']:>3}  {r['township']}  {r['score']:g} 分{flags}  {parts}")
        print(ranking.previous_words(table))
    return 0


def _item_json(item: dict) -> dict:
    keys = ("id", "number", "township", "item", "due", "status", "overdue", "overdue_reason", "lead_unit")
    return {
        **{k: item[k] for k in keys},
        "feedback": [{"text": f["text"], "at": f["at"]} for f in item["feedback"]],
    }


def cmd_duban(args) -> int:
    engine = _engine()
    actor = _actor()
    paper = load_paper_settings(_settings_folder())
    try:
        if args.action == "add":
            if not (args.township and args.item and args.due):
                raise cli.UsageError("duban add 需要 --township、--item 和 --due")
            made = duban.add(
                engine,
                actor,
                township=args.township,
                item=args.item,
                due=cli._date(args.due),
                lead_unit=args.lead or "",
                partners=args.partners or "",
                cycle_days=args.cycle_days,
                as_of=dt.date.today(),
                template=paper.duban_template,
                audit=_audit,
            )
            print(
                json.dumps(made, ensure_ascii=False)
                if args.format == "json"
                else f"已交办 {made['number']}（ID {made['id']}）"
            )
        elif args.action in ("feedback", "close"):
            if args.id is None:
                raise cli.UsageError(f"duban {args.action} 需要督办单 ID")
            if args.action == "feedback":
                if not args.text:
                    raise cli.UsageError("duban feedback 需要 --text")
                done = duban.feedback(engine, actor, args.id, args.text, audit=_audit)
            else:
                done = duban.close(engine, actor, args.id, audit=_audit)
            print(
                json.dumps(done, ensure_ascii=False)
                if args.format == "json"
                else f"督办单 {args.id}：{duban.STATUSES[done['status']]}"
            )
        else:
            day = cli._date(args.as_of) if args.as_of else None
            listed = [_item_json(i) for i in duban.items(engine, actor, day)]
            if args.format == "json":
                print(json.dumps(listed, ensure_ascii=False, indent=2))
            for i in listed if args.format != "json" else []:
                late = f"（超时：{i['overdue_reason']}）" if i["overdue"] else ""
                print(
                    f"{i['id']}\t{i['number']}\t{i['township']}\t{i['status']}{late}\t时限 {i['due']}\t{i['item']}"
                )
    except duban.DubanError as exc:
        raise cli.UsageError(str(exc)) from exc
    return 0


def cmd_notice(args) -> int:
    ledger, settings = cli._load(args.path)
    as_of = cli._date(args.as_of)
    engine = _engine(args.path)
    actor = _actor()
    paper = load_paper_settings(args.path)
    delivered = workflows.delivered_followups(engine, actor, ledger.cases)
    status = metrics.followup_status(ledger.cases, ledger.followups, as_of, settings.overdue_days, delivered)
    try:
        child = workflows.notice_child(status, ledger.cases, args.case)
        made = notices.issue(
            engine,
            actor,
            kind=args.kind,
            child=child,
            as_of=as_of,
            template=paper.notice_template,
            deadline_days=paper.notice_days.get(args.kind),
            audit=_audit,
        )
    except notices.NoticeError as exc:
        raise cli.UsageError(str(exc)) from exc
    data = orders.notice_docx(
        {**made, "kind": args.kind, "township": child["township"]},
        {**child, "name": child["label"]},
        metrics.cn_date(as_of),
    )
    Path(args.out).write_bytes(data)
    _audit("download", file=Path(args.out).name, rows=1, columns=["label"], number=made["number"])
    print(f"已发出《{args.kind}》{made['number']}（ID {made['id']}），写出 {args.out}")
    return 0


def register(sub, add) -> None:
    """Add rank, duban and notice to the CLI's subcommands (`add` is cli.build_parser's helper)."""
    sp = add(
        "rank",
        cmd_rank,
        "乡镇考核排名（规则见 settings.toml [ranking]）",
        fmt=("text", "json", "csv"),
        filters=False,
    )
    sp.add_argument("--as-of", required=True)
    sp.add_argument("--xlsx", help="同时写出公文格式 Excel")
    sp = sub.add_parser("duban", help="督办单：add / feedback / close / list")
    sp.add_argument("action", choices=("add", "feedback", "close", "list"))
    sp.add_argument("id", nargs="?", type=int, help="督办单 ID（feedback、close）")
    sp.add_argument("--township")
    sp.add_argument("--item", help="督办事项")
    sp.add_argument("--due", help="交办时限，如 2019-07-05")
    sp.add_argument("--lead", help="牵头单位")
    sp.add_argument("--partners", help="配合单位")
    sp.add_argument("--cycle-days", type=int, help="反馈周期（每 N 天），缺省为一次性反馈")
    sp.add_argument("--text", help="反馈内容")
    sp.add_argument("--as-of", help="按哪一天计算是否超时（缺省今天）")
    sp.add_argument("--format", choices=("text", "json"), default="text")
    sp.set_defaults(func=cmd_duban)
    sp = add(
        "notice", cmd_notice, "发出劝学通知书或限期复学通知书（Word，含送达回证）", fmt=None, filters=False
    )
    sp.add_argument("--case", required=True, help="个案编号，如 C000123")
    sp.add_argument("--kind", required=True, choices=tuple(notices.KINDS))
    sp.add_argument("--as-of", required=True)
    sp.add_argument("--out", required=True, help="输出的 .docx 文件")
