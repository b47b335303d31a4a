"""The plugin example in docs/TOOLS.md works as printed: copied into a tools folder, it is a tool."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest

from app.tools.registry import ToolRegistry

DOC = Path(__file__).resolve().parents[2] / "docs" / "TOOLS.md"


def test_readme_plugin_example_loads_and_runs(data_dir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    block = re.search(r"```python\n(# tools/(\w+\.py)\n.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block is not None
    code, file_name = block.group(1), block.group(2)
    assert len(code.strip().splitlines()) <= 13
    monkeypatch.setenv("HOME", str(tmp_path))  # the example writes ~/notes.txt
    registry = ToolRegistry(data_dir, plugins=False)
    assert registry.tools_dir is not None
    (registry.tools_dir / file_name).write_text(code, encoding="utf-8")
    registry = ToolRegistry(data_dir)
    rows = {r.name: r for r in registry.rows() if r.source == f"tools folder: {file_name}"}
    assert list(rows) == ["add_note"] and rows["add_note"].error is None
    tool = registry.lookup("add_note", frozenset({"tools:plugins"}))
    answer = anyio.run(lambda: tool.fn_metadata.call_fn(tool.fn, tool.is_async, {"text": "buy milk"}))
    assert answer == "saved; 1 notes"
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8").endswith(": buy milk\n")
