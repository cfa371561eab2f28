"""The programs the core runs: Debian's Chromium (the pack's PDF, and the browser tests) and LibreOffice (Word
files to PDF): where they are, and how Chromium runs headless with no network of its own."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
SOFFICE_CANDIDATES = ("/usr/bin/soffice", "/usr/bin/libreoffice")

# headless, no sandbox (root in a container), no GPU, and none of Chromium's own calls home
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find(candidates: tuple[str, ...], name: str) -> str | None:
    """The first of `candidates` that exists, else `name` on the PATH, else None."""
    for c in candidates:
        if Path(c).exists():
            return c
    return shutil.which(name)


def chromium_path() -> str | None:
    """Debian's chromium, if installed."""
    return find(CHROMIUM_CANDIDATES, "chromium")


def soffice_path() -> str | None:
    """LibreOffice's soffice, if installed."""
    return find(SOFFICE_CANDIDATES, "soffice")
