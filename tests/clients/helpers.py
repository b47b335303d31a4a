"""Helpers for the config writer tests: canonical JSON, our entry taken out, files beside a config."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any


def canon(value: Any) -> str:
    """JSON text that differs whenever values, types (1 vs 1.0 vs true) or key order differ."""
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def without(doc: dict[str, Any], container: str, name: str) -> dict[str, Any]:
    """`doc` with `container[name]` taken out (the container itself stays)."""
    out = copy.deepcopy(doc)
    if isinstance(out.get(container), dict):
        out[container].pop(name, None)
    return out


def load(path: Path) -> Any:
    """The parsed JSON at `path` (an empty file is {})."""
    text = path.read_text(encoding="utf-8-sig")
    return json.loads(text) if text.strip() else {}


def backups(path: Path) -> list[Path]:
    """Timestamped backups beside `path`, oldest first."""
    return sorted(path.parent.glob(path.name + ".bak-*"))


def leftovers(directory: Path) -> list[Path]:
    """Temp files a writer left behind."""
    return sorted(directory.glob(".*.tmp"))
