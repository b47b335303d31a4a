"""The one place that finds files under `resources/`, in a checkout and in a PyInstaller bundle."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path


@cache
def resources_dir() -> Path:
    """`resources/` inside the bundle when frozen, inside the installed package, or beside it in a checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    installed = Path(__file__).resolve().parent / "_resources"  # `pip install .` puts them here
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a file under resources/, e.g. `resource_path("icons", "tray.svg")`."""
    return resources_dir().joinpath(*parts)


def read_text(*parts: str) -> str:
    """Text of a resource file (UTF-8)."""
    return resource_path(*parts).read_text(encoding="utf-8")
