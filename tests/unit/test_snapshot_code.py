"""Issue 16 (1): a snapshot from an older code version is never trusted. Its code version covers every module
whose code decides what a loaded table holds: the readers, the merge, the sample and all they import."""

from __future__ import annotations

import ast
from pathlib import Path

from kongchuo_metrics import snapshot

PKG = Path(snapshot.__file__).resolve().parent


def _files(name: str) -> list[Path]:
    single = PKG / f"{name}.py"
    return [single] if single.exists() else sorted((PKG / name).glob("**/*.py"))


def _imports(name: str) -> set[str]:
    """The package's top-level modules that `name` (a module or subpackage) imports relatively."""
    out = set()
    for path in _files(name):
        package = list(path.relative_to(PKG).parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = package[: len(package) - (node.level - 1)]
            targets = [node.module] if node.module else [a.name for a in node.names]
            out |= {(base + t.split("."))[0] for t in targets}
    return out


def test_the_code_version_covers_everything_the_loaders_import():
    seen: set[str] = set()
    todo = ["ingest", "merge", "snapshot", "sample"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += sorted(_imports(name) - seen)
    assert seen <= set(snapshot._CODE_FILES), sorted(seen - set(snapshot._CODE_FILES))
    assert "arrowtext" in seen  # the closure is computed, not empty


def test_a_change_in_an_imported_module_changes_the_code_version(tmp_path, monkeypatch):
    copy = tmp_path / "kongchuo_metrics"
    for name in snapshot._CODE_FILES:
        for path in _files(name):
            target = copy / path.relative_to(PKG)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    monkeypatch.setattr(snapshot, "_PACKAGE", copy)
    before = snapshot._code_version()
    arrowtext = copy / "arrowtext.py"
    arrowtext.write_text(arrowtext.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert snapshot._code_version() != before
