"""What the user chose about tools, kept in tools.json in the data dir: tools turned on or off, shared folders."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "tools.json"


@dataclass
class ToolsState:
    """Only explicit choices are stored; a tool with no entry keeps its default."""

    enabled: dict[str, bool] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, data_dir: Path) -> ToolsState:
        """Read tools.json; a missing or damaged file means defaults (and is logged, never fatal)."""
        path = data_dir / FILE_NAME
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s: %s", path, exc)
            return cls()
        if not isinstance(raw, dict):
            return cls()
        enabled = raw.get("enabled")
        folders = raw.get("folders")
        return cls(
            enabled={k: v for k, v in enabled.items() if isinstance(k, str) and isinstance(v, bool)}
            if isinstance(enabled, dict) else {},
            folders=[f for f in folders if isinstance(f, str) and f] if isinstance(folders, list) else [],
        )

    def save(self, data_dir: Path) -> None:
        """Write tools.json atomically."""
        path = data_dir / FILE_NAME
        tmp = path.with_suffix(".json.tmp")
        body = {"enabled": dict(sorted(self.enabled.items())), "folders": self.folders}
        tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
