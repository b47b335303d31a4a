"""`pip install .` ships every package and the resources, and the build says nothing about packages it would skip."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _resource_packages() -> set[str]:
    """app._resources and one package per folder under resources/."""
    folders = [p for p in (REPO / "resources").rglob("*") if p.is_dir() and p.name != "__pycache__"]
    return {"app._resources"} | {".".join(("app._resources", *p.relative_to(REPO / "resources").parts))
                                 for p in folders}


def test_every_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "app").rglob("__init__.py")}
    assert found | _resource_packages() == set(config["packages"])
    assert config["package-dir"]["app._resources"] == "resources"


def test_the_wheel_builds_quietly_and_holds_every_resource(tmp_path: Path) -> None:
    """The build that scripts/run.sh runs: no "Package would be ignored" (it printed ~95 lines of them)."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), str(REPO)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    assert "would be ignored" not in log
    wheel = next(tmp_path.glob("mcp_tray-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (REPO / "resources").rglob("*"):
        if path.is_file():
            assert f"app/_resources/{path.relative_to(REPO / 'resources').as_posix()}" in names
    assert "app/py.typed" in names
