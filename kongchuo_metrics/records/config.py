"""What a bureau sets for its 督办单 and notices in settings.toml ([duban], [notices]): 文号 formats and deadlines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..settings import read_toml
from .notices import DEFAULT_TEMPLATE, KINDS


@dataclass(frozen=True)
class PaperSettings:
    """督办单 文号 prefix (→ `{prefix}〔{年}〕第{n}号`), the notice number template and days to return per kind."""

    duban_prefix: str = "督办"
    notice_template: str = DEFAULT_TEMPLATE
    notice_days: dict[str, int] = field(default_factory=lambda: {k: v[1] for k, v in KINDS.items()})
    issuer: str = ""  # who signs a 督办单, e.g. 覃塘区控辍保学工作领导小组办公室

    @property
    def duban_template(self) -> str:
        return self.duban_prefix + "〔{年}〕第{n}号"


def load_paper_settings(folder: str | Path | None) -> PaperSettings:
    """[duban] prefix, issuer and [notices] template, days_劝学通知书, days_限期复学通知书 from settings.toml."""
    data = read_toml(folder)
    d, n = data.get("duban", {}), data.get("notices", {})
    default = PaperSettings()
    template = str(n.get("template", default.notice_template))
    if "{n}" not in template:
        template = default.notice_template  # a template without the number would repeat numbers
    return PaperSettings(
        duban_prefix=str(d.get("prefix", default.duban_prefix)),
        notice_template=template,
        notice_days={k: int(n.get(f"days_{k}", v)) for k, v in default.notice_days.items()},
        issuer=str(d.get("issuer", "")),
    )
