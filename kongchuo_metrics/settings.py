"""Bureau settings (targets, overdue days, coordinate system) read from settings.toml beside the ledger."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path


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


def load_settings(folder: str | Path | None) -> Settings:
    """Settings from `folder/settings.toml` (or the file itself); defaults for anything missing."""
    if folder is None:
        return Settings()
    path = Path(folder)
    if path.is_dir():
        path = path / "settings.toml"
    elif path.suffix != ".toml":
        path = path.parent / "settings.toml"
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
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
    )


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
