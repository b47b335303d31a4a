"""What the user chose about tools, kept in tools.json in the data dir: tools turned on or off, shared folders,
and each tool's policy (allow, ask or block) where the user changed it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.config import read_json_object, write_json_atomically
from app.tools.policy import POLICIES

FILE_NAME = "tools.json"


@dataclass
class ToolsState:
    """Only explicit choices are stored; a tool with no entry keeps its default."""

    enabled: dict[str, bool] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    policies: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> ToolsState:
        """Read tools.json; a missing or damaged file means defaults (and is logged, never fatal)."""
        raw = read_json_object(data_dir / FILE_NAME)
        if raw is None:
            return cls()
        enabled = raw.get("enabled")
        folders = raw.get("folders")
        policies = raw.get("policies")
        return cls(
            enabled={k: v for k, v in enabled.items() if isinstance(k, str) and isinstance(v, bool)}
            if isinstance(enabled, dict) else {},
            folders=[f for f in folders if isinstance(f, str) and f] if isinstance(folders, list) else [],
            policies={k: v for k, v in policies.items() if isinstance(k, str) and v in POLICIES}
            if isinstance(policies, dict) else {},
        )

    def save(self, data_dir: Path) -> None:
        """Write tools.json atomically."""
        body: dict[str, object] = {"enabled": dict(sorted(self.enabled.items())), "folders": self.folders}
        if self.policies:
            body["policies"] = dict(sorted(self.policies.items()))
        write_json_atomically(data_dir / FILE_NAME, body)
