"""The command line: python -m kongchuo_metrics COMMAND ... (validate, sample, trend, schools, special-ed,
summary, overdue, pack, report, case-file, reconcile). JSON for machines, CSV with Chinese headers for people.
Exit 2 with a one-line Chinese reason on stderr when the input cannot be used; never a traceback.

Each command imports what it needs inside its own function, so a process pays only for its command: `trend`
never loads plotly, kaleido, pydeck or Streamlit (tests/unit/test_cli_imports.py checks the modules a command
leaves in sys.modules). New commands: import inside the command function too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from . import metrics
    from .ingest import Ledger


class UsageError(Exception):
    """A bad argument (unknown township, a date that is not a date); the message is Chinese."""


def _date(text: str) -> dt.date:
    import re

    m = re.fullmatch(r"(\d{4})[-./]?(\d{1,2})[-./]?(\d{1,2})", text.strip())
    if not m:
        raise UsageError(f"“{text}”不是日期，请写成 2019-06-25")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise UsageError(f"“{text}”不是有效日期") from exc


def _store_dir(args) -> Path:
    import os

    return Path(getattr(args, "store", None) or os.environ.get("KONGCHUO_STORE", "var/store"))


def _data_dir() -> Path:
    import os

    return Path(os.environ.get("KONGCHUO_DATA", Path(__file__).resolve().parent.parent / "data"))


def _load(
    path: str | None, store: str | None = None, fields: tuple[str, ...] | None = None, ordered: bool = True
) -> tuple[Ledger, object]:
    """The ledger of a file or folder, or the current version of a store (`--store`).

    `fields`: the case columns the command needs; a file is then parsed for those only (see load_ledger);
    `ordered=False`: the command only counts, so the cases may stay in file order."""
    from .ingest import load_ledger
    from .settings import load_settings

    if store:
        from . import storage

        settings = load_settings(_data_dir())
        version, warning = storage.current(store)
        if version is None:
            raise UsageError(warning or f"数据库 {store} 中还没有导入过台账。")
        if warning:
            print(f"注意：{warning}", file=sys.stderr)
        return storage.load(store, version.name, settings.coords), settings
    if not path:
        raise UsageError("请给出台账文件或文件夹，或用 --store 指定已导入的数据库。")
    if Path(path).is_dir():  # (a file is never a version folder: the store code is not imported for it)
        from . import storage

        if storage.is_version(Path(path)):  # a version folder of a store: its snapshot, not its raw files
            settings = load_settings(_data_dir())
            return storage.load_folder(path, settings.coords), settings
    settings = load_settings(path)
    ledger = load_ledger(
        path, coords=settings.coords, mapping=settings.mapping, fields=fields, ordered=ordered
    )
    return ledger, settings


def _known(ledger: Ledger, column: str) -> set[str]:
    # distinct values first (a million cases hold a few hundred places): never a Python loop over cases
    return set(ledger.cases[column].dropna().unique()) | set(ledger.schools[column].dropna().unique())


def _duban_brief(path: str | None, sel: metrics.Selection):
    """The 督办 items of the selected townships with their status (they open the pack and the Word 通报)."""
    from .records_cli import duban_brief

    return duban_brief(path, sel.townships)


def _with_notices(ledger: Ledger, path: str | None) -> Ledger:
    """The ledger with the notices delivered in the records database on its follow-up log (steps, deadlines)."""
    from .records_cli import delivered_for

    return delivered_for(ledger, path)


def _selection(args, ledger: Ledger, as_of: dt.date | None = None) -> metrics.Selection:
    from . import metrics

    towns = tuple(args.township or ())
    schools = tuple(args.school or ())
    known_t = _known(ledger, "township") if towns else set()
    for t in towns:
        if t not in known_t:
            raise UsageError(f"台账中没有乡镇“{t}”。可选：{'、'.join(sorted(known_t))}")
    known_s = _known(ledger, "school") if schools else set()
    for s in schools:
        if s not in known_s:
            raise UsageError(f"台账中没有学校“{s}”。")
    stage = getattr(args, "stage", None)
    return metrics.Selection(townships=towns, schools=schools, stage=stage, as_of=as_of)


def _records(frame: pd.DataFrame) -> list[dict]:
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col].dtype):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records", force_ascii=False))


def _emit(frame: pd.DataFrame, fmt: str, payload: object | None = None) -> None:
    if fmt == "csv":
        from . import exports

        sys.stdout.buffer.write(exports.csv_bytes(frame))
    else:
        print(json.dumps(payload if payload is not None else _records(frame), ensure_ascii=False, indent=2))


def cmd_validate(args) -> int:
    ledger, _ = _load(args.path, args.store)
    r = ledger.report
    if args.format == "json" and r.open_blocking:
        print(f"有 {len(r.open_blocking)} 个阻断问题未处理（会改变统计数字）", file=sys.stderr)
    # exit 2 while a blocking problem (one that would change a figure) is neither fixed nor accepted
    code = 2 if r.open_blocking else 0
    if args.format == "json":
        print(json.dumps(r.as_dict(), ensure_ascii=False, indent=2))
        return code
    print(
        f"读取 {r.rows_read} 行：载入 {r.rows_loaded}，隔离 {r.rows_quarantined}，排除 {r.rows_excluded}"
        f"（空行 {r.excluded['blank']}、合计行 {r.excluded['total']}、表尾 {r.excluded['footer']}、"
        f"重复表头 {r.excluded['header']}、重复行 {r.excluded['duplicate']}）"
    )
    print("各表：" + "，".join(f"{k} {v}" for k, v in r.tables.items()))
    for s in r.sheets:
        print(
            f"  {s.source}/{s.sheet}：{s.status}"
            + (f"（{s.table}，表头在第 {s.header_row} 行）" if s.table else f"（{s.rows_read} 行）")
            + (f" {s.note}" if s.note else "")
        )
    if len(r.problems):
        print(f"问题 {len(r.problems)} 条：")
        for rec in r.problems.head(200).itertuples(index=False):
            print(
                f"  [{rec.severity}] {rec.table}/{rec.sheet} 第{rec.row}行 {rec.column}：{rec.problem}"
                + (f"（{rec.value}）" if isinstance(rec.value, str) and rec.value else "")
            )
    for b in r.accepted_blocking:
        print(f"已接受：{b.message}（{b.code}）")
    if r.open_blocking:
        print(
            f"阻断导入的问题 {len(r.open_blocking)} 个（会改变统计数字，须先处理或在 settings.toml 的 [accepted] 中确认接受）："
        )
        for b in r.open_blocking:
            print(f"  [{b.code}] {b.message}")
        print(f"有 {len(r.open_blocking)} 个阻断问题未处理（会改变统计数字）", file=sys.stderr)
    return code


def cmd_sample(args) -> int:
    from .sample import write_sample

    path = write_sample(args.out_dir, seed=args.seed)
    print(f"已写出样例台账：{path}")
    return 0


def cmd_trend(args) -> int:
    import pandas as pd

    from . import metrics

    # 表一 reads four case fields, and the ones the filters name; it counts, so file order will do
    fields = ("registered", "closed", "outcome_category", "poor", "township", "school")
    ledger, _ = _load(args.path, args.store, fields + (("stage",) if args.stage else ()), ordered=False)
    sel = _selection(args, ledger)
    cases = metrics.select_cases(ledger.cases, sel)
    if args.dates:
        dates = [pd.Timestamp(_date(d)) for d in args.dates.split(",") if d.strip()]
    else:
        dates = metrics.report_dates(ledger.cases, ledger.report_dates, args.mode)
    table = metrics.trend(cases, dates)
    _emit(table, args.format)
    return 0


def cmd_schools(args) -> int:
    from . import metrics

    ledger, _ = _load(args.path, args.store)
    as_of = _date(args.as_of)
    sel = _selection(args, ledger, as_of)
    table = metrics.schools_table(metrics.select_cases(ledger.cases, sel), as_of, mode="list")
    _emit(table, args.format)
    return 0


def cmd_special_ed(args) -> int:
    import pandas as pd

    from . import metrics

    ledger, _ = _load(args.path, args.store)
    sel = _selection(args, ledger)
    special = metrics.select_special(ledger.special_ed, sel)
    summary = metrics.special_ed_summary(special)
    if args.format == "csv":
        rows = [{"item": k, "count": v} for k, v in summary.items() if k != "unplaced_reasons"]
        rows += [{"item": f"未安置原因：{k}", "count": v} for k, v in summary["unplaced_reasons"].items()]
        _emit(pd.DataFrame(rows).rename(columns={"item": "项目"}), "csv")
    else:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


def cmd_summary(args) -> int:
    import pandas as pd

    from . import compare

    ledger, settings = _load(args.path, args.store)
    as_of = _date(args.as_of)
    head = compare.headline(ledger, _selection(args, ledger, as_of), settings, overdue=False)
    rates = {r.key: r for r in head.rates}
    payload = {
        "as_of": as_of.isoformat(),
        "open": head.open,
        "open_poor": head.open_poor,
        "returned_total": head.returned_total,
        "previous_date": head.previous_date.date().isoformat() if head.previous_date is not None else None,
        "change": head.change,
        "previous": head.comparison.previous.as_dict(),
        "last_year": head.comparison.last_year.as_dict(),
        "dropout_rate": {"primary": rates["dropout_primary"].value, "junior": rates["dropout_junior"].value},
        "consolidation_rate": rates["consolidation"].value,
        "targets": {
            r.key: {"value": r.value, "target": r.target, "kind": r.kind, "met": r.met, "note": r.note}
            for r in head.rates
        },
    }
    if args.format == "csv":
        rows = [
            {
                "指标": r.label,
                "数值": r.value,
                "目标": r.target,
                "是否达标": {True: "达标", False: "未达标", None: "无法计算"}[r.met],
            }
            for r in head.rates
        ]
        rows = [
            {"指标": "在册辍学人数", "数值": head.open},
            {"指标": "累计劝返人数", "数值": head.returned_total},
            *rows,
        ]
        _emit(pd.DataFrame(rows), "csv")
    else:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    return 0


OVERDUE_COLUMNS = [
    "case_id",
    "township",
    "village",
    "school",
    "name",
    "stage",
    "registered",
    "open_days",
    "step",
    "last_visit",
    "days_since",
    "deadline",
    "overdue_reason",
    "gov_owner",
    "edu_owner",
]


def cmd_overdue(args) -> int:
    from . import metrics, privacy

    ledger, settings, as_of, sel = _noticed_selection(args)
    days = args.days if args.days is not None else settings.overdue_days
    status = metrics.followup_status(metrics.select_cases(ledger.cases, sel), ledger.followups, as_of, days)
    table = privacy.public_view(status[status["overdue"]], mode="list")[OVERDUE_COLUMNS]
    _emit(table, args.format)
    return 0


def _noticed_selection(args):
    """(ledger with the delivered notices on its follow-ups, settings, as-of date, selection) of a command."""
    ledger, settings = _load(args.path, args.store)
    ledger = _with_notices(ledger, args.path)
    as_of = _date(args.as_of)
    return ledger, settings, as_of, _selection(args, ledger, as_of)


def cmd_pack(args) -> int:

    from . import figures, pack

    ledger, settings, as_of, sel = _noticed_selection(args)
    try:
        result = pack.make_pack(
            ledger,
            sel,
            settings,
            figures.load_boundaries(args.path or _data_dir()),
            with_pptx=bool(args.pptx),
            duban=_duban_brief(args.path, sel),
        )
    except pack.PackError as exc:
        raise UsageError(str(exc)) from exc
    _audit_cli("pack", sel.describe(), result.pdf, file=Path(args.out).name, pages=result.pages)
    Path(args.out).write_bytes(result.pdf)
    if args.pptx:
        Path(args.pptx).write_bytes(result.pptx or b"")
    print(
        f"已生成 {args.out}（{result.pages} 页，用时 {result.seconds:.1f} 秒）"
        + (f"，以及 {args.pptx}" if args.pptx else "")
    )
    return 0


def audit_line(event: str, **fields) -> dict:
    """One audit line for a command: the CLI acts as the operating-system user, a county admin (全区县); a log
    that cannot be written stops the command (exit 2) before anything is written out."""
    import getpass
    import os

    from . import audit

    log = Path(os.environ.get("KONGCHUO_AUDIT", "var/audit/audit.jsonl"))
    try:
        return audit.record(log, event, getpass.getuser(), "cli", "全区县", **fields)
    except audit.AuditError as exc:
        raise UsageError(str(exc)) from exc


def _audit_cli(event: str, sel_text: str, payload: bytes, **fields) -> None:
    import hashlib

    audit_line(event, filters=sel_text, sha256=hashlib.sha256(payload).hexdigest(), **fields)


def cmd_report(args) -> int:
    from .documents import report

    ledger, settings, as_of, sel = _noticed_selection(args)
    try:
        from .records_cli import ranking_brief

        result = report.build(
            ledger,
            sel,
            settings,
            args.kind,
            annex=args.annex,
            duban=_duban_brief(args.path, sel),
            ranking=ranking_brief(ledger, settings, args.path, as_of),
        )
    except report.ReportError as exc:
        raise UsageError(str(exc)) from exc
    if args.annex:
        _audit_cli("unmask", sel.describe(), result.docx, file=Path(args.out).name, document="report_annex")
    _audit_cli(
        "download",
        sel.describe(),
        result.docx,
        file=Path(args.out).name,
        document="report",
        kind=args.kind,
        full_names=bool(args.annex),
    )
    Path(args.out).write_bytes(result.docx)
    h = result.headline
    print(
        f"已生成 {args.out}（{report.KINDS[args.kind]}，在册 {h.open} 人，累计劝返 {h.returned_total} 人，"
        f"用时 {result.seconds:.1f} 秒）" + ("，含完整姓名附件（已记入审计）" if args.annex else "")
    )
    return 0


def cmd_case_file(args) -> int:
    from .documents import case_file

    ledger, settings = _load(args.path, args.store)
    ledger = _with_notices(ledger, args.path)
    as_of = _date(args.as_of) if args.as_of else None
    try:
        data = case_file.build_case_file(ledger, args.case, settings, as_of, unmasked=args.full_names)
    except case_file.CaseFileError as exc:
        raise UsageError(str(exc)) from exc
    if args.full_names:
        _audit_cli("unmask", f"个案：{args.case}", data, file=Path(args.out).name, document="case_file")
    _audit_cli(
        "download",
        f"个案：{args.case}",
        data,
        file=Path(args.out).name,
        document="case_file",
        full_names=bool(args.full_names),
    )
    Path(args.out).write_bytes(data)
    print(
        f"已生成 {args.out}（个案 {args.case}"
        + ("，含完整个人信息，已记入审计）" if args.full_names else "，已脱敏）")
    )
    return 0


def _needs_all(argv: list[str] | None, light: set[str]) -> bool:
    """False when the command line names one of the `light` commands (so the others need not be declared)."""
    if argv is None:
        return True
    words = [a for a in argv if not a.startswith("-")]
    return not words or words[0] not in light


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; given `argv` naming a ledger command, without the reconcile and records commands,
    whose declarations import SQLAlchemy, python-docx and the reconcile checks (about 0.3 s that `validate` and
    `trend` would pay for nothing)."""
    p = argparse.ArgumentParser(prog="python -m kongchuo_metrics", description="控辍保学台账：校验与统计")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, func, help_text, path=True, fmt=("json", "csv"), filters=True):
        sp = sub.add_parser(name, help=help_text)
        if path:
            sp.add_argument("path", nargs="?", help="台账文件或文件夹（或用 --store）")
            sp.add_argument("--store", help="用已导入的数据库的当前版本代替台账文件")
        if fmt:
            sp.add_argument("--format", choices=fmt, default=fmt[0])
        if filters:
            sp.add_argument("--township", action="append", help="乡镇（可重复）")
            sp.add_argument("--school", action="append", help="学校（可重复）")
        sp.set_defaults(func=func)
        return sp

    add("validate", cmd_validate, "校验台账并报告每一行的去向", fmt=("text", "json"), filters=False)
    sp = add("sample", cmd_sample, "写出虚构样例台账", path=False, fmt=None, filters=False)
    sp.add_argument("out_dir")
    sp.add_argument("--seed", type=int, default=2019)
    sp = add("trend", cmd_trend, "表一：各统计日的在册与劝返人数")
    sp.add_argument("--dates", help="统计日期，逗号分隔，如 2019-03-12,2019-03-25")
    sp.add_argument("--mode", choices=("ledger", "weekly", "monthly"), default="ledger")
    sp.add_argument("--stage", choices=("primary", "junior"))
    sp = add("schools", cmd_schools, "表二：各学校未返校人数")
    sp.add_argument("--as-of", required=True)
    add("special-ed", cmd_special_ed, "残疾儿童安置情况")
    sp = add("summary", cmd_summary, "关键指标与目标")
    sp.add_argument("--as-of", required=True)
    sp = add("overdue", cmd_overdue, "超期未跟进个案（已脱敏）")
    sp.add_argument("--as-of", required=True)
    sp.add_argument("--days", type=int)
    sp = add("pack", cmd_pack, "生成联席会议汇报材料（A4 横向 PDF，可选 PPTX）", fmt=None)
    sp.add_argument("--as-of", required=True)
    sp.add_argument("--out", required=True, help="输出的 PDF 文件")
    sp.add_argument("--pptx", help="同时输出 PPTX 幻灯片")
    sp = add("report", cmd_report, "生成 Word 情况通报/工作总结/简报（公文格式，可编辑）", fmt=None)
    sp.add_argument("--as-of", required=True)
    sp.add_argument("--kind", choices=("通报", "总结", "简报"), default="通报")
    sp.add_argument("--out", required=True, help="输出的 .docx 文件")
    sp.add_argument("--annex", action="store_true", help="附完整姓名名单（记入审计）")
    sp = add("case-file", cmd_case_file, "生成一人一案档案（Word）", fmt=None, filters=False)
    sp.add_argument("--case", required=True, help="个案编号，如 C000195")
    sp.add_argument("--as-of", help="填表日期（默认今天）")
    sp.add_argument("--out", required=True, help="输出的 .docx 文件")
    sp.add_argument("--full-names", action="store_true", help="显示完整姓名、身份证号和联系电话（记入审计）")
    from . import store_cli  # import, versions, restore, users, audit (cheap: each command imports its own)

    sp = sub.add_parser("import", help="导入台账（可多个文件，作为一个新版本；按范围合并）")
    sp.add_argument("files", nargs="+", help="台账文件")
    sp.add_argument("--store", help="数据库文件夹（默认 var/store 或 $KONGCHUO_STORE）")
    sp.add_argument(
        "--scope", action="append", help="county | township:乡镇名 | school:学校名（缺省按文件内容推断）"
    )
    sp.add_argument("--accept-blocking", action="store_true", help="有阻断问题也导入")
    sp.set_defaults(func=store_cli.cmd_import)
    sp = sub.add_parser("versions", help="列出已导入的版本")
    sp.add_argument("--store", help="数据库文件夹（默认 var/store 或 $KONGCHUO_STORE）")
    sp.add_argument("--format", choices=("text", "json"), default="text")
    sp.set_defaults(func=store_cli.cmd_versions)
    sp = sub.add_parser("restore", help="把某个历史版本恢复为当前数据（作为新版本）")
    sp.add_argument("version")
    sp.add_argument("--store", help="数据库文件夹（默认 var/store 或 $KONGCHUO_STORE）")
    sp.set_defaults(func=store_cli.cmd_restore)
    sp = sub.add_parser("users", help="管理本地登录用户")
    sp.add_argument("action", choices=("add", "disable", "set-password", "list"))
    sp.add_argument("name", nargs="?")
    sp.add_argument("--role", choices=("county_admin", "county_viewer", "township", "school"))
    sp.add_argument("--township", action="append")
    sp.add_argument("--school", action="append")
    sp.add_argument("--file", help="用户文件（默认 var/users.json 或 $KONGCHUO_USERS）")
    sp.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（脚本用）")
    sp.set_defaults(func=store_cli.cmd_users)
    sp = sub.add_parser("audit", help="审计日志")
    sp.add_argument("action", choices=("verify",))
    sp.add_argument("--log", help="审计日志（默认 var/audit/audit.jsonl 或 $KONGCHUO_AUDIT）")
    sp.set_defaults(func=store_cli.cmd_audit)
    if not _needs_all(argv, set(sub.choices)):
        return p
    from . import records_cli  # rank, duban, notice: the records database
    from .reconcile import command as reconcile_command  # its arguments are declared there

    sp = sub.add_parser("reconcile", help="三比对：台账与学籍、脱贫户、推送、户籍、特教名单比对")
    reconcile_command.add_arguments(sp)
    sp.set_defaults(func=lambda a: reconcile_command.run(a, _date))
    records_cli.register(sub, add)
    return p


def _whole_process_memory() -> None:
    """Tune the allocators for one short process that builds and drops columns of a million rows: keep freed
    memory for reuse instead of returning it to the system and faulting it in again (half the system time of
    a `trend` on a million cases). Only when this module runs as the program, never inside a server."""
    import ctypes
    import os

    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")  # read when pyarrow first allocates
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 1 << 30)
    libc.mallopt(m_trim_threshold, (1 << 31) - 1)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit code (0 fine, 2 unusable input or bad arguments)."""
    if argv is None:
        _whole_process_memory()
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("错误：文件过大，内存不足。", file=sys.stderr)
        return 2
    except Exception as exc:  # the last line of defence: one Chinese line, never a traceback
        from .ingest import LedgerError  # imported here: a command that never reads a ledger does not pay

        if isinstance(exc, LedgerError):
            print(f"错误：{exc}", file=sys.stderr)
        else:
            print(
                f"错误：处理时出现意外问题（{type(exc).__name__}），请把文件交给技术人员检查。",
                file=sys.stderr,
            )
        return 2
