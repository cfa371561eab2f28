"""The `reconcile` command: the ledger against up to five lists, figures as text or JSON, the feedback sheet."""

from __future__ import annotations

import getpass
import hashlib
import json
from pathlib import Path

from .. import cli, schema
from ..ingest import LedgerError, load_ledger
from ..settings import load_settings
from .checks import FINDINGS, PUSHED_STATUSES, reconcile
from .feedback import feedback_xlsx
from .lists import read_list

OPTIONS = {
    "xueji": "--xueji",
    "poverty": "--poverty",
    "pushed": "--pushed",
    "huji": "--huji",
    "special": "--special",
}


def add_arguments(sp) -> None:
    """The command's arguments on an argparse sub-parser."""
    sp.add_argument("path", help="台账文件或文件夹")
    sp.add_argument("--as-of", required=True, help="核查日期，如 2024-10-08")
    for kind, flag in OPTIONS.items():
        sp.add_argument(flag, dest=kind, help=schema.LIST_LABELS[kind] + "（.xlsx/.xls/.csv）")
    sp.add_argument(
        "--feedback-out", help="写出反馈表（推送名单原样 + 核查结果、核查日期、核查人；含完整个人信息）"
    )
    sp.add_argument("--checker", default="", help="反馈表中的核查人")
    sp.add_argument(
        "--save", action="store_true", help="把本次比对结果保存到记录数据库（下月可查看已化解的儿童）"
    )
    sp.add_argument("--format", choices=("text", "json"), default="text")


def run(args, parse_date) -> int:
    """Run the check; print the figures; write the feedback sheet when asked (audited)."""
    as_of = parse_date(args.as_of)
    ledger = load_ledger(args.path, coords=load_settings(args.path).coords)
    lists = {kind: read_list(getattr(args, kind), kind) for kind in OPTIONS if getattr(args, kind)}
    result = reconcile(ledger, lists, as_of)
    if args.feedback_out:
        if "pushed" not in lists:
            raise LedgerError("写反馈表需要推送名单（--pushed）。")
        data = feedback_xlsx(lists["pushed"], result, checker=args.checker)
        cli.audit_line(
            "download",
            file=Path(args.feedback_out).name,
            rows=len(result.pushed),
            mode="unmasked",
            sha256=hashlib.sha256(data).hexdigest(),
        )
        Path(args.feedback_out).write_bytes(data)
    saved = _save(args, ledger, lists, result) if args.save else None
    summary = result.summary()
    if args.format == "json":
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(f"核查日期 {as_of:%Y-%m-%d}，台账 {len(ledger.cases)} 个案")
    for note in result.notes:
        print("注意：" + note)
    for table in lists.values():
        print(
            f"{table.label}（{table.source}）：读取 {table.rows_read} 行，载入 {table.rows_loaded}，"
            f"排除 {sum(table.excluded.values())}，无有效身份证号 {table.unmatchable}"
        )
    if summary["pushed"] is not None:
        print(
            "推送名单："
            + "，".join(f"{label} {summary['pushed'][label]}" for label in PUSHED_STATUSES.values())
        )
    for key, label in FINDINGS.items():
        if summary[key] is not None:
            print(f"{label}：{summary[key]} 人")
    if result.open_poor_corrected is not None:
        print(
            f"建档立卡在册：台账 {result.open_poor_ledger} 个案，按脱贫户名单校正后 {result.open_poor_corrected} 个案"
        )
    if args.feedback_out:
        print(f"已写出反馈表 {args.feedback_out}")
    if saved is not None:
        run_id, since = saved
        print(f"已保存为第 {run_id} 次比对")
        if since is not None:
            print(f"上次需入户核查 {len(since)} 人，已化解 {int(since['resolved'].sum())} 人")
    return 0


def _save(args, ledger, lists, result):
    """Store the run in the records database (audited); the previous run's 需入户核查 children and now."""
    from .. import records
    from . import store

    try:
        engine = records.open_db(records.database_url(args.path))
    except records.RecordsError as exc:
        raise LedgerError(str(exc)) from exc
    previous = store.previous_run(engine, result.as_of)
    since = store.resolved_since(engine, previous, result) if previous is not None else None
    run_id = store.save_run(engine, result, lists, ledger.meta.get("sha256", ""), getpass.getuser(), "全区县")
    cli.audit_line(
        "check_run",
        run_id=run_id,
        as_of=f"{result.as_of:%Y-%m-%d}",
        inputs={k: t.digest for k, t in lists.items()},
    )
    return run_id, since
