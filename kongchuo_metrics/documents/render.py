"""LibreOffice rendering of a .docx to PDF (for checks and previews), with a private profile per call."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from .. import programs


class RenderError(Exception):
    """LibreOffice is missing or failed; the message is Chinese."""


soffice_path = programs.soffice_path


# the 公文 font names mapped to what Debian ships (fonts-noto-cjk), so a preview looks like the printed page
FONTCONFIG = """<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>
{aliases}</fontconfig>"""
ALIASES = {
    "方正小标宋简体": "Noto Serif CJK SC",
    "仿宋_GB2312": "Noto Serif CJK SC",
    "仿宋": "Noto Serif CJK SC",
    "楷体_GB2312": "Noto Serif CJK SC",
    "楷体": "Noto Serif CJK SC",
    "宋体": "Noto Serif CJK SC",
    "黑体": "Noto Sans CJK SC",
}


def _fontconfig(folder: Path) -> Path:
    aliases = "".join(
        f'<match target="pattern"><test name="family"><string>{k}</string></test>'
        f'<edit name="family" mode="assign" binding="strong"><string>{v}</string></edit></match>'
        for k, v in ALIASES.items()
    )
    path = folder / "fonts.conf"
    path.write_text(FONTCONFIG.format(aliases=aliases), encoding="utf-8")
    return path


def docx_to_pdf(docx: bytes, timeout: int = 180) -> bytes:
    """The PDF LibreOffice prints from the .docx bytes (headless, its own throw-away user profile)."""
    soffice = soffice_path()
    if not soffice:
        raise RenderError(
            "需要 LibreOffice（apt-get install -y libreoffice-writer-nogui）才能把 Word 文件转为 PDF。"
        )
    with tempfile.TemporaryDirectory(prefix="kc_soffice_") as tmp:
        tmp_path = Path(tmp)
        src = tmp_path / "doc.docx"
        src.write_bytes(docx)
        profile = (tmp_path / "profile").as_uri()
        cmd = [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(src),
        ]
        env = {**os.environ, "FONTCONFIG_FILE": str(_fontconfig(tmp_path)), "HOME": str(tmp_path)}
        try:
            subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, env=env)
        except subprocess.TimeoutExpired as exc:
            raise RenderError("LibreOffice 转换超时。") from exc
        out = tmp_path / "doc.pdf"
        if not out.exists():
            raise RenderError("LibreOffice 未能把 Word 文件转为 PDF。")
        return out.read_bytes()
