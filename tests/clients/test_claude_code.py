"""Claude Code: `claude mcp add/remove --scope user` when `claude` exists, else `~/.claude.json` edited.

The CLI route runs against the real Claude Code CLI when it is installed (PATH or node_modules/.bin),
and always against a small fake `claude` that records its arguments and edits the same file the
way the real one does (it proves what we run, and when we run nothing).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest import MonkeyPatch

from app.clients import claude_code as cc
from app.clients.entries import EntryState
from app.clients.errors import ConfigError
from tests.clients.helpers import backups, canon, load

URL = "http://127.0.0.1:8787/mcp"
REPO = Path(__file__).resolve().parents[2]
# No "theme" and no 1.0: the real CLI migrates its own keys when it saves (it moved "theme" out and
# wrote 1.0 as 1 in 2.1.328); our backup keeps the exact bytes from before.
ORIGINAL: dict[str, Any] = {"customKey": {"a": [1, "x", None]},
            "projects": {"/src/x": {"mcpServers": {"local": {"command": "l"}}}},
            "mcpServers": {"other": {"type": "stdio", "command": "x", "args": [], "env": {}}}, "zz": [1, 2.5]}

FAKE = '''#!{python}
"""A stand-in for `claude mcp add|remove ... --scope user` (arguments logged to $FAKE_CLAUDE_LOG)."""
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_CLAUDE_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if os.environ.get("FAKE_CLAUDE_FAIL"):
    print("Error: " + os.environ["FAKE_CLAUDE_FAIL"], file=sys.stderr)
    sys.exit(1)
path = os.path.join(os.environ["HOME"], ".claude.json")
doc = json.load(open(path)) if os.path.exists(path) else {{}}
servers = doc.setdefault("mcpServers", {{}})
if args[:2] == ["mcp", "add"] and args[2:4] == ["--transport", "http"] and args[6:] == ["--scope", "user"]:
    if args[4] in servers:
        print("MCP server %s already exists in user config" % args[4], file=sys.stderr)
        sys.exit(1)
    servers[args[4]] = {{"type": "http", "url": args[5]}}
elif args[:2] == ["mcp", "remove"] and args[3:] == ["--scope", "user"]:
    if args[2] not in servers:
        sys.exit(1)
    del servers[args[2]]
else:
    print("fake claude: unexpected arguments", args, file=sys.stderr)
    sys.exit(2)
with open(path, "w") as out:
    json.dump(doc, out, indent=2)
'''


def real_claude() -> str | None:
    """The real Claude Code CLI, if this machine has it."""
    return shutil.which("claude") or shutil.which("claude", path=str(REPO / "node_modules" / ".bin"))


@pytest.fixture(params=["fake", "real"])
def claude(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: MonkeyPatch) -> Iterator[Path]:
    """A HOME with ~/.claude.json, and a `claude` (fake or real) alone on PATH."""
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if request.param == "fake":
        exe = bin_dir / "claude"
        exe.write_text(FAKE.format(python=sys.executable))
        exe.chmod(0o755)
    else:
        found = real_claude()
        if not found:
            pytest.skip("the Claude Code CLI is not installed (npm @anthropic-ai/claude-code)")
        (bin_dir / "claude").symlink_to(found)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("FAKE_CLAUDE_LOG", str(tmp_path / "calls.log"))
    monkeypatch.setenv("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")  # the real one: no telemetry
    (home / ".claude.json").write_text(json.dumps(ORIGINAL, indent=2))
    yield home / ".claude.json"


def calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def kept_everything_else(path: Path, extra_entry: dict[str, Any] | None) -> None:
    """Every original key keeps its value (the real CLI adds bookkeeping keys of its own)."""
    doc = load(path)
    for key, value in ORIGINAL.items():
        if key != "mcpServers":
            assert canon(doc[key]) == canon(value), key
    expected = dict(ORIGINAL["mcpServers"])
    if extra_entry is not None:
        expected["mcp-tray"] = extra_entry
    assert canon(doc["mcpServers"]) == canon(expected)


def test_cli_route_adds_once_and_keeps_a_backup(claude: Path, tmp_path: Path) -> None:
    original = claude.read_bytes()
    assert cc.entry_status(URL).state is EntryState.MISSING

    result = cc.write_entry(URL)

    assert result.changed and result.entry == {"type": "http", "url": URL}
    assert result.backup is not None and result.backup.read_bytes() == original
    kept_everything_else(claude, {"type": "http", "url": URL})
    assert cc.entry_status(URL).state is EntryState.CURRENT
    if calls(tmp_path):  # the fake records exactly what we ran
        assert calls(tmp_path) == [["mcp", "add", "--transport", "http", "mcp-tray", URL, "--scope", "user"]]
    before = claude.read_bytes()

    again = cc.write_entry(URL)

    assert not again.changed and again.backup is None and claude.read_bytes() == before
    assert len(calls(tmp_path)) <= 1 and len(backups(claude)) == 1


def test_cli_route_replaces_an_outdated_entry(claude: Path, tmp_path: Path) -> None:
    cc.write_entry("http://127.0.0.1:1111/mcp")
    assert cc.entry_status(URL).state is EntryState.OUTDATED

    assert cc.write_entry(URL).changed

    kept_everything_else(claude, {"type": "http", "url": URL})
    if calls(tmp_path):
        assert [c[:2] for c in calls(tmp_path)] == [["mcp", "add"], ["mcp", "remove"], ["mcp", "add"]]


def test_cli_route_removes_only_ours(claude: Path, tmp_path: Path) -> None:
    cc.write_entry(URL)
    removed = cc.remove_entry()
    assert removed.changed and removed.backup is not None
    kept_everything_else(claude, None)
    assert not cc.remove_entry().changed  # nothing left to remove: nothing run


def test_cli_route_dry_run_runs_nothing(claude: Path, tmp_path: Path) -> None:
    original = claude.read_bytes()
    preview = cc.write_entry(URL, dry_run=True)
    assert preview.changed and any(w.startswith("Would run:") and "mcp add" in w for w in preview.warnings)
    assert json.loads(preview.text)["mcpServers"]["mcp-tray"] == {"type": "http", "url": URL}
    assert claude.read_bytes() == original and calls(tmp_path) == [] and backups(claude) == []


def test_cli_failure_is_one_clear_error(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "claude").write_text(FAKE.format(python=sys.executable))
    (bin_dir / "claude").chmod(0o755)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("FAKE_CLAUDE_LOG", str(tmp_path / "calls.log"))
    monkeypatch.setenv("FAKE_CLAUDE_FAIL", "config is locked")
    with pytest.raises(ConfigError, match=r"`claude mcp add` failed \(exit 1\): Error: config is locked"):
        cc.write_entry(URL)


def test_file_route_without_claude(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    config = tmp_path / ".claude.json"
    config.write_text(json.dumps(ORIGINAL))

    result = cc.write_entry(URL)

    assert result.changed and result.backup is not None and result.path == config
    ours = {"type": "http", "url": URL}
    servers = {**ORIGINAL["mcpServers"], "mcp-tray": ours}
    assert canon(load(config)) == canon({**ORIGINAL, "mcpServers": servers})
    assert not cc.write_entry(URL).changed
    assert cc.remove_entry().changed and canon(load(config)) == canon(ORIGINAL)


def test_explicit_path_always_edits_the_file(claude: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.json"
    assert cc.write_entry(URL, other).changed
    assert load(other) == {"mcpServers": {"mcp-tray": {"type": "http", "url": URL}}}
    assert calls(tmp_path) == [] and "mcp-tray" not in load(claude)["mcpServers"]
