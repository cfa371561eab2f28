"""The command line of the versioned store, the users file and the audit log: import, versions, restore,
users, audit (declared by cli.build_parser; each command imports what it needs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .cli import UsageError, _data_dir, _store_dir


def _users_file(args) -> Path:
    import os

    return Path(args.file or os.environ.get("KONGCHUO_USERS", "var/users.json"))


def _password(args) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码：")
    if getpass.getpass("再输一次：") != first:
        raise UsageError("两次输入的密码不一致")
    return first


def cmd_users(args) -> int:
    from . import auth

    path = _users_file(args)
    try:
        if args.action == "add":
            user = auth.add_user(
                path,
                args.name,
                _password(args),
                args.role,
                tuple(args.township or ()),
                tuple(args.school or ()),
            )
            print(f"已创建用户 {user.name}（{auth.ROLES[user.role]}，{user.scope().describe()}）")
        elif args.action == "set-password":
            auth.set_password(path, args.name, _password(args))
            print(f"已修改 {args.name} 的密码")
        elif args.action == "disable":
            auth.disable_user(path, args.name)
            print(f"已停用 {args.name}")
        else:
            for u in auth.list_users(path):
                print(
                    f"{u.name}\t{auth.ROLES.get(u.role, u.role)}\t{u.scope().describe() if not u.disabled else '已停用'}"
                )
    except auth.AuthError as exc:
        raise UsageError(str(exc)) from exc
    return 0


def cmd_audit(args) -> int:
    import os

    from . import audit

    path = Path(args.log or os.environ.get("KONGCHUO_AUDIT", "var/audit/audit.jsonl"))
    ok, _, message = audit.verify(path)
    print(message)
    from .storage import unfinished

    for version in unfinished(path):
        print(f"导入未完成：版本 {version} 有开始（intent）记录，没有完成（done）记录")
    return 0 if ok else 1


def _cli_audit(args):
    """An audit callable for storage (intent/done lines as the shell user); refuses when the log is unwritable."""
    import getpass
    import os

    from . import audit

    log = Path(os.environ.get("KONGCHUO_AUDIT", "var/audit/audit.jsonl"))

    def write(phase: str, **fields):
        try:
            return audit.record(log, "accept", getpass.getuser(), "cli", "全区县", phase=phase, **fields)
        except audit.AuditError as exc:
            raise UsageError(str(exc)) from exc

    return write


def cmd_import(args) -> int:
    import getpass

    from . import merge, storage
    from .ingest import LedgerError
    from .settings import load_settings

    store = _store_dir(args)
    settings = load_settings(_data_dir())
    coords = settings.coords
    scopes = args.scope or []
    if len(scopes) not in (0, 1, len(args.files)):
        raise UsageError("--scope 要么只写一次，要么每个文件写一次。")
    current = storage.current_ledger(store, coords)
    subs, files, failed = [], [], []
    for i, file in enumerate(args.files):
        path = Path(file)
        try:
            sub = storage.load_submission(path, path.name, coords, mapping=settings.mapping, base=current[1])
            if scopes:
                text = scopes[i] if len(scopes) > 1 else scopes[0]
                sub = merge.Submission(
                    sub.name, sub.ledger, merge.parse_scope(text, sub.ledger), sub.tables, sub.mapping
                )
        except (LedgerError, merge.ScopeError) as exc:
            failed.append(f"{path.name}：{exc}")
            continue
        blocking = storage.open_blocking(sub, current[1])
        r = sub.ledger.report
        print(f"{path.name}：{sub.scope.describe()}，载入 {r.rows_loaded} 行，隔离 {r.rows_quarantined} 行")
        for problem in blocking:
            print(f"  阻断问题：{problem.message}（{problem.code}）")
        if blocking and not args.accept_blocking:
            failed.append(f"{path.name}：有 {len(blocking)} 个阻断问题（确认无误可加 --accept-blocking）")
        subs.append(sub)
        files.append((path, path.name))
    if failed:
        raise UsageError("整批没有导入：" + "；".join(failed))
    batch = storage.prepare(store, subs, files, coords, current)
    if not batch.ok:
        raise UsageError("整批没有导入：" + "；".join(batch.errors.values()))
    for line in merge.change_lines(batch.base, subs):
        print(line)
    try:
        version = storage.commit(store, batch, getpass.getuser(), coords, audit=_cli_audit(args))
    except storage.VersionError as exc:
        raise UsageError(str(exc)) from exc
    h = version.headline
    print(
        f"已导入为版本 {version.name}（{version.scope}）：个案 {h['cases']}，在册 {h['open']}，"
        f"累计劝返 {h['returned']}，建档立卡在册 {h['open_poor']}（按 {h['as_of']}）"
    )
    return 0


def cmd_versions(args) -> int:
    import os

    from . import storage

    store = _store_dir(args)
    current, warning = storage.current(store)
    states = storage.audit_states(os.environ.get("KONGCHUO_AUDIT", "var/audit/audit.jsonl"))
    rows = [
        {
            "version": v.name,
            "created": v.created,
            "user": v.user,
            "kind": v.kind,
            "scope": v.scope,
            "files": list(v.files),
            "parent": v.parent,
            "restored": v.source or None,
            "current": current is not None and v.name == current.name,
            "audit": states.get(v.name, "none"),
            **{
                k: v.headline.get(k)
                for k in ("as_of", "cases", "open", "returned", "open_poor", "special_ed", "schools")
            },
        }
        for v in storage.history(store)
    ]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if warning:
        print(f"注意：{warning}")
    for r in rows:
        print(
            f"{'*' if r['current'] else ' '} {r['version']}  {r['created']}  {r['user']}  {r['scope']}  "
            f"个案 {r['cases']} 在册 {r['open']} 累计劝返 {r['returned']}  "
            f"{'、'.join(r['files'])}{'' if r['audit'] == 'done' else '  （审计：无完成记录）'}"
        )
    if not rows:
        print("还没有导入过台账。")
    return 0


def cmd_restore(args) -> int:
    import getpass

    from . import storage
    from .settings import load_settings

    store = _store_dir(args)
    coords = load_settings(_data_dir()).coords
    audit = _cli_audit(args)
    try:
        version = storage.restore(
            store,
            args.version,
            getpass.getuser(),
            coords,
            audit=lambda phase, **f: audit(phase, kind="restore", **f),
        )
    except storage.VersionError as exc:
        raise UsageError(str(exc)) from exc
    print(f"已恢复：新版本 {version.name} 的数据与 {args.version} 相同。")
    return 0
