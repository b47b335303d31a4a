"""The code stays typed (mypy --strict), linted (ruff), and the core never imports Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QT_ALLOWED = ("app/ui/", "app/main.py", "app/__main__.py")


def test_ruff_clean() -> None:
    targets = [d for d in ("app", "tests", "bench", "scripts", "packaging") if (REPO / d).is_dir()]
    done = subprocess.run([sys.executable, "-m", "ruff", "check", *targets],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_clean() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def imported_modules(path: Path) -> list[str]:
    """Every module an `import` or `from ... import` in the file names (relative imports as written)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


def test_core_never_imports_qt() -> None:
    offenders = []
    for path in sorted((REPO / "app").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith(QT_ALLOWED):
            continue
        if any(n.split(".")[0] in ("PySide6", "shiboken6") for n in imported_modules(path)):
            offenders.append(rel)
    assert offenders == []


def test_scripts_and_bench_never_import_tests() -> None:
    """What they share with the tests lives in bench/support, which the tests import, not the other way round."""
    offenders = [
        f"{path.relative_to(REPO).as_posix()}: {name}"
        for folder in ("bench", "scripts")
        for path in sorted((REPO / folder).rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] == "tests"
    ]
    assert offenders == []
