"""Bureau settings (targets, overdue days, coordinate system, column and outcome mappings, accepted problems)
read from settings.toml beside the ledger; the mappings are also written back there by the upload page."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

OUTCOME_CHOICES = ("returned", "vocational", "special", "verified", "open")


@dataclass(frozen=True)
class Mapping:
    """What the bureau told us about its own ledger: [columns] "原表头" = "标准表头" ("" = not used),
    [outcomes] "原文" = returned|vocational|special|verified|open, and [accepted] "问题代码" = "说明" for a
    blocking problem whose consequence the bureau explicitly accepted."""

    columns: tuple[tuple[str, str], ...] = ()
    outcomes: tuple[tuple[str, str], ...] = ()
    accepted: tuple[tuple[str, str], ...] = ()

    def columns_dict(self) -> dict[str, str]:
        return dict(self.columns)

    def outcomes_dict(self) -> dict[str, str]:
        return dict(self.outcomes)

    def accepted_dict(self) -> dict[str, str]:
        return dict(self.accepted)


@dataclass(frozen=True)
class Targets:
    """Target values: dropout-rate ceilings and consolidation floor in %, 建档立卡 open ceiling in cases."""

    dropout_rate_junior_max: float = 1.5
    dropout_rate_primary_max: float = 1.0
    consolidation_rate_min: float = 95.0
    poor_open_max: int = 0


@dataclass(frozen=True)
class Settings:
    """Everything a bureau may set without touching code."""

    district: str = ""
    coords: str = "wgs84"
    targets: Targets = Targets()
    overdue_days: int = 14
    proxy_header: str = ""  # a trusted reverse proxy's user header, e.g. X-Remote-User
    oidc_provider: str = (
        ""  # st.login through the bureau's OIDC provider: "default" or an [auth.NAME] in secrets
    )
    oidc_claim: str = "email"  # the identity claim matched against the users file
    weekly_day: int = 0  # 周报 due on this ISO weekday (1 = Monday … 7 = Sunday); 0 = no weekly report
    monthly_day: int = 0  # 月报 due by this day of the month; 0 = no monthly report
    issuer: str = ""  # 发文机关 signing Word reports ([document] issuer); empty: the district's 教育局
    document_date: str = (
        ""  # 成文日期 of Word reports, YYYY-MM-DD ([document] date); empty: the day of writing
    )
    mapping: Mapping = field(default_factory=Mapping)


def settings_path(folder: str | Path) -> Path:
    """The settings.toml that belongs to a ledger folder, a ledger file or the file itself."""
    path = Path(folder)
    if path.is_dir():
        return path / "settings.toml"
    if path.suffix != ".toml":
        return path.parent / "settings.toml"
    return path


def read_toml(folder: str | Path | None) -> dict:
    """The whole settings.toml of a ledger folder (or file), {} when there is none or it cannot be read: each
    section's reader takes its defaults from there."""
    if folder is None:
        return {}
    try:
        text = settings_path(folder).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return copy.deepcopy(_parsed(text))  # callers may change what they get


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> dict:
    """The file's text parsed once per distinct content (a page run asks several times; an edit is new text)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _pairs(table: object, allowed: tuple[str, ...] | None = None) -> tuple[tuple[str, str], ...]:
    if not isinstance(table, dict):
        return ()
    out = []
    for k, v in table.items():
        value = str(v).strip()
        if allowed is not None and value not in allowed:
            continue
        out.append((str(k), value))
    return tuple(out)


def load_settings(folder: str | Path | None) -> Settings:
    """Settings from `folder/settings.toml` (or the file itself); defaults for anything missing."""
    data = read_toml(folder)
    if not data:
        return Settings()
    t = data.get("targets", {})
    targets = Targets(
        dropout_rate_junior_max=float(t.get("dropout_rate_junior_max", 1.5)),
        dropout_rate_primary_max=float(t.get("dropout_rate_primary_max", 1.0)),
        consolidation_rate_min=float(t.get("consolidation_rate_min", 95.0)),
        poor_open_max=int(t.get("poor_open_max", 0)),
    )
    coords = str(data.get("district", {}).get("coords", "wgs84")).lower()
    return Settings(
        district=str(data.get("district", {}).get("name", "")),
        coords=coords if coords in ("wgs84", "gcj02") else "wgs84",
        targets=targets,
        overdue_days=int(data.get("followup", {}).get("overdue_days", 14)),
        proxy_header=str(data.get("auth", {}).get("proxy_header", "")),
        oidc_provider=str(data.get("auth", {}).get("oidc_provider", "")),
        oidc_claim=str(data.get("auth", {}).get("oidc_claim", "email")) or "email",
        weekly_day=_int(data.get("calendar", {}).get("weekly_day", 0)),
        monthly_day=_int(data.get("calendar", {}).get("monthly_day", 0)),
        issuer=str(data.get("document", {}).get("issuer", "")),
        document_date=str(data.get("document", {}).get("date", "")),
        mapping=Mapping(
            columns=_pairs(data.get("columns")),
            outcomes=_pairs(data.get("outcomes"), OUTCOME_CHOICES),
            accepted=_pairs(data.get("accepted")),
        ),
    )


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*(#.*)?$")


def _toml_table(name: str, values: dict[str, str]) -> str:
    lines = [f"[{name}]"]
    lines += [
        f"{json.dumps(k, ensure_ascii=False)} = {json.dumps(v, ensure_ascii=False)}"
        for k, v in values.items()
    ]
    return "\n".join(lines) + "\n"


def save_mapping(
    folder: str | Path,
    columns: dict[str, str] | None = None,
    outcomes: dict[str, str] | None = None,
    accepted: dict[str, str] | None = None,
) -> Path:
    """Write the given [columns]/[outcomes]/[accepted] tables into settings.toml, keeping every other line and
    comment as it is (a table given replaces the one in the file; one not given stays). Atomic replace."""
    path = settings_path(folder)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    new = {"columns": columns, "outcomes": outcomes, "accepted": accepted}
    for name, values in new.items():
        if values is not None and name == "outcomes":
            bad = [v for v in values.values() if v not in OUTCOME_CHOICES]
            if bad:
                raise ValueError(f"unknown outcome category {bad[0]!r}")
    kept, skipping = [], False
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            skipping = new.get(m.group(1).strip()) is not None
        if not skipping:
            kept.append(line)
    body = "\n".join(kept).rstrip() + "\n"
    for name, values in new.items():
        if values is not None and values:
            body += "\n" + _toml_table(name, values)
    tomllib.loads(body)  # never write a file the loader cannot read
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".toml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body)
    os.replace(tmp, path)
    return path
