"""Claude Desktop writer on many existing configs: only our entry changes, backups, atomicity, refusals."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from pytest import MonkeyPatch

from app.clients import claude_desktop as cd
from app.clients import jsonfile
from tests.clients.helpers import backups, canon, leftovers, load, without

URL = "http://127.0.0.1:8787/mcp"
OTHER_URL = "http://127.0.0.1:9999/mcp"

RICH = """{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/u"],
      "env": {"A": "1"},
      "x-unknown": {"deep": [1, {"k": null}], "n": 1.0}
    },
    "weather": {"command": "uvx", "args": ["weather"], "disabled": true}
  },
  "preferences": {"theme": "dark",
                  "nested": {"list": [1.5, "é ✓", {"z": false}], "big": 12345678901234567890}},
  "zLast": [true, 1, 1.0, "1"]
}
"""

EXISTING = {
    "rich config, other servers, unknown keys at every level": RICH,
    "empty file": "",
    "whitespace only": "  \n\t\n",
    "empty object": "{}",
    "no mcpServers key": '{"theme": "light", "extra": {"a": [1, 2]}}',
    "empty mcpServers": '{"mcpServers": {}, "after": 1}',
    "our entry outdated, between others": json.dumps(
        {"mcpServers": {"a": {"command": "a"}, "mcp-tray": {"command": "old", "args": [OTHER_URL]},
                        "z": {"command": "z"}}, "k": 1}, indent=2),
    "four-space indent": json.dumps({"mcpServers": {"a": {"command": "a"}}, "k": [1]}, indent=4),
    "tab indent": json.dumps({"mcpServers": {"a": {"command": "a"}}}, indent="\t"),
    "one line": '{"mcpServers":{"a":{"command":"a"}},"k":null}',
    "UTF-8 BOM (Windows editors)": "\ufeff" + json.dumps({"mcpServers": {"a": {"command": "a"}}}),
}


def expected_entry() -> dict[str, Any]:
    """What a default write puts in, on this machine."""
    npx = shutil.which("npx")
    return cd.mcp_remote_entry(URL, npx) if npx else cd.bridge_entry(URL)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "Claude" / "claude_desktop_config.json"


def seed(path: Path, text: str) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("text", EXISTING.values(), ids=EXISTING.keys())
def test_write_changes_only_our_entry_and_keeps_a_backup(config: Path, text: str) -> None:
    original = seed(config, text)
    before = load(config)

    result = cd.write_entry(URL, config)

    after = load(config)
    assert result.changed and result.path == config
    assert after["mcpServers"]["mcp-tray"] == result.entry == expected_entry()
    assert canon(without(after, "mcpServers", "mcp-tray")) == canon(
        without({**before, "mcpServers": before.get("mcpServers", {})}, "mcpServers", "mcp-tray"))
    # an existing entry keeps its place; a new one goes last
    servers = list(after["mcpServers"])
    old = list(before.get("mcpServers", {}))
    assert servers == (old if "mcp-tray" in old else [*old, "mcp-tray"])
    assert result.backup is not None and result.backup.read_bytes() == original
    assert backups(config) == [result.backup]
    assert leftovers(config.parent) == []
    assert config.read_bytes().startswith(b"\xef\xbb\xbf") == original.startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("text", EXISTING.values(), ids=EXISTING.keys())
def test_second_write_changes_nothing(config: Path, text: str) -> None:
    seed(config, text)
    cd.write_entry(URL, config)
    first = config.read_bytes()
    mtime = config.stat().st_mtime_ns

    again = cd.write_entry(URL, config)

    assert not again.changed and again.backup is None
    assert config.read_bytes() == first and config.stat().st_mtime_ns == mtime
    assert len(backups(config)) == 1
    assert cd.entry_status(URL, config).state is cd.EntryState.CURRENT


@pytest.mark.parametrize("text", EXISTING.values(), ids=EXISTING.keys())
def test_remove_takes_out_only_our_entry(config: Path, text: str) -> None:
    seed(config, text)
    cd.write_entry(URL, config)
    written = load(config)

    result = cd.remove_entry(config)

    assert result.changed and result.entry == expected_entry()
    assert canon(load(config)) == canon(without(written, "mcpServers", "mcp-tray"))
    assert result.backup is not None and json.loads(result.backup.read_text("utf-8-sig")) == written
    assert cd.entry_status(URL, config).state is cd.EntryState.MISSING
    untouched = config.read_bytes()
    assert not cd.remove_entry(config).changed and config.read_bytes() == untouched


def test_missing_folder_is_created_and_no_backup_is_made(tmp_path: Path) -> None:
    config = tmp_path / "a" / "b" / "Claude" / "claude_desktop_config.json"
    assert cd.entry_status(URL, config).state is cd.EntryState.NO_FILE

    result = cd.write_entry(URL, config)

    assert result.changed and result.backup is None
    assert load(config) == {"mcpServers": {"mcp-tray": expected_entry()}}
    assert backups(config) == []


def test_remove_from_a_missing_file_creates_nothing(config: Path) -> None:
    result = cd.remove_entry(config)
    assert not result.changed and not config.exists() and not config.parent.exists()


INVALID = {
    "broken JSON": '{"mcpServers": {"a": {"command": "a"}',
    "an array": '[{"mcpServers": {}}]',
    "null": "null",
    "a number": "42",
    "mcpServers is an array": '{"mcpServers": [{"command": "a"}]}',
    "mcpServers is a string": '{"mcpServers": "none"}',
    "duplicate keys": '{"mcpServers": {}, "mcpServers": {"a": {}}}',
    "NaN": '{"mcpServers": {}, "x": NaN}',
    "comments": '// my servers\n{"mcpServers": {}}',
    "trailing comma": '{"mcpServers": {},}',
    "number too large for a float": '{"mcpServers": {}, "x": 1e400}',
}


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
@pytest.mark.parametrize("action", ["write", "remove", "dry-run"])
def test_invalid_file_is_never_overwritten(config: Path, text: str, action: str) -> None:
    original = seed(config, text)
    with pytest.raises(cd.InvalidConfigError, match="left untouched"):
        if action == "write":
            cd.write_entry(URL, config)
        elif action == "remove":
            cd.remove_entry(config)
        else:
            cd.write_entry(URL, config, dry_run=True)
    assert config.read_bytes() == original
    assert backups(config) == [] and leftovers(config.parent) == []
    assert cd.entry_status(URL, config).state is cd.EntryState.INVALID


def test_not_utf8_is_invalid_and_untouched(config: Path) -> None:
    config.parent.mkdir(parents=True)
    config.write_bytes(b'{"a": "\xff\xfe"}')
    with pytest.raises(cd.InvalidConfigError, match="not UTF-8"):
        cd.write_entry(URL, config)
    assert config.read_bytes() == b'{"a": "\xff\xfe"}'


def test_comments_get_a_hint(config: Path) -> None:
    seed(config, INVALID["comments"])
    with pytest.raises(cd.InvalidConfigError, match="comments"):
        cd.write_entry(URL, config)


def test_backup_and_reset_moves_the_invalid_file_aside_then_write_works(config: Path) -> None:
    original = seed(config, INVALID["broken JSON"])

    moved = cd.backup_and_reset(config)

    assert moved.read_bytes() == original and not config.exists()
    assert moved.parent == config.parent and ".invalid-" in moved.name
    assert cd.write_entry(URL, config).changed
    assert load(config) == {"mcpServers": {"mcp-tray": expected_entry()}}


def test_dry_run_writes_nothing_and_shows_the_result(config: Path) -> None:
    original = seed(config, RICH)
    preview = cd.write_entry(URL, config, dry_run=True)
    assert preview.changed and preview.backup is None
    assert config.read_bytes() == original and backups(config) == []
    real = cd.write_entry(URL, config)
    assert preview.text == config.read_text("utf-8") == real.text


def test_symlinked_config_writes_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    target = dotfiles / "claude.json"
    original = seed(target, RICH)
    link = tmp_path / "Claude" / "claude_desktop_config.json"
    link.parent.mkdir()
    link.symlink_to(Path("..") / "dotfiles" / "claude.json")

    result = cd.write_entry(URL, link)

    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "dotfiles" / "claude.json")
    assert result.path == target
    assert load(target)["mcpServers"]["mcp-tray"] == expected_entry()
    assert result.backup is not None and result.backup.parent == dotfiles
    assert result.backup.read_bytes() == original
    assert list(link.parent.iterdir()) == [link]


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "claude_desktop_config.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    cd.write_entry(URL, link)
    assert link.is_symlink() and load(tmp_path / "elsewhere.json")["mcpServers"]["mcp-tray"]


def test_file_mode_is_kept(config: Path) -> None:
    seed(config, RICH)
    config.chmod(0o640)
    result = cd.write_entry(URL, config)
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert result.backup is not None and stat.S_IMODE(result.backup.stat().st_mode) == 0o640


def test_new_file_is_private(config: Path) -> None:
    cd.write_entry(URL, config)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_only_the_newest_backups_are_kept(config: Path) -> None:
    seed(config, RICH)
    versions = []
    for port in range(9000, 9000 + jsonfile.KEEP_BACKUPS + 3):
        versions.append(config.read_bytes())
        cd.write_entry(f"http://127.0.0.1:{port}/mcp", config)
    kept = backups(config)
    assert len(kept) == jsonfile.KEEP_BACKUPS
    assert [b.read_bytes() for b in jsonfile.backups_of(config)] == versions[-jsonfile.KEEP_BACKUPS:]


def test_pruning_spares_files_that_only_look_like_backups(config: Path) -> None:
    seed(config, RICH)
    mine = [config.with_name(config.name + ".bak-mine"),
            config.with_name(config.name + ".bak-x.bak-20200101T000000Z")]
    for path in mine:
        path.write_text("keep me")
    for port in range(9000, 9000 + jsonfile.KEEP_BACKUPS + 2):
        cd.write_entry(f"http://127.0.0.1:{port}/mcp", config)
    assert all(path.read_text() == "keep me" for path in mine)
    assert len(jsonfile.backups_of(config)) == jsonfile.KEEP_BACKUPS


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give files away")
def test_owner_is_kept_when_run_as_root(config: Path) -> None:
    seed(config, RICH)
    os.chown(config, 4321, 4321)
    result = cd.write_entry(URL, config)
    assert (config.stat().st_uid, config.stat().st_gid) == (4321, 4321)
    assert result.backup is not None and result.backup.stat().st_uid == 4321


def test_a_save_by_another_app_meanwhile_is_merged_not_lost(config: Path, monkeypatch: MonkeyPatch) -> None:
    seed(config, RICH)
    real_read_raw = jsonfile.read_raw
    calls = {"n": 0}

    def claude_saves_first(target: Path) -> bytes | None:
        calls["n"] += 1
        if calls["n"] == 1:  # Claude Desktop saves its config between our read and our write
            doc = load(config)
            doc["savedByClaude"] = True
            config.write_text(json.dumps(doc), "utf-8")
        return real_read_raw(target)

    monkeypatch.setattr(jsonfile, "read_raw", claude_saves_first)
    cd.write_entry(URL, config)
    after = load(config)
    assert after["savedByClaude"] is True and after["mcpServers"]["mcp-tray"] == expected_entry()
    assert calls["n"] == 2


def test_directory_in_place_of_the_file_is_a_clear_error(config: Path) -> None:
    config.mkdir(parents=True)
    with pytest.raises(cd.ConfigError, match="is a directory"):
        cd.write_entry(URL, config)


def test_bad_url_and_empty_name_are_refused(config: Path) -> None:
    for bad in ("127.0.0.1:8787/mcp", "ftp://x/mcp", "http:///mcp", "http://a b/mcp"):
        with pytest.raises(cd.ConfigError, match="not an http"):
            cd.write_entry(bad, config)
    with pytest.raises(cd.ConfigError, match="name"):
        cd.write_entry(URL, config, name=" ")
    assert not config.exists()


# -- which command the entry runs ---------------------------------------------------------------------


def test_bridge_entry_runs_this_interpreter(config: Path) -> None:
    result = cd.write_entry(URL, config, via="bridge")
    assert result.entry == {"command": sys.executable, "args": ["-m", "app", "bridge", URL]}
    assert os.path.isabs(result.entry["command"])


def test_frozen_bridge_entry_runs_the_executable(config: Path, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert cd.default_via("/usr/bin/npx") is cd.Via.BRIDGE
    result = cd.write_entry(URL, config)
    assert result.entry == {"command": sys.executable, "args": ["bridge", URL]}


def test_without_npx_the_default_is_the_bridge_and_says_so(config: Path, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(cd, "find_npx", lambda: None)
    result = cd.write_entry(URL, config)
    assert result.entry == cd.bridge_entry(URL)
    assert any("not found" in w for w in result.warnings)


def test_mcp_remote_without_npx_writes_plain_npx_and_warns(config: Path, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(cd, "find_npx", lambda: None)
    result = cd.write_entry(URL, config, via="mcp-remote")
    assert result.entry == {"command": "npx", "args": ["-y", "mcp-remote", URL]}
    assert any("Node.js" in w and "--via bridge" in w for w in result.warnings)


def test_npx_is_written_by_absolute_path(config: Path, monkeypatch: MonkeyPatch) -> None:
    fake_bin = config.parent.parent / "bin"
    fake_bin.mkdir()
    npx = fake_bin / "npx"
    npx.write_text("#!/bin/sh\n")
    npx.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_bin))
    result = cd.write_entry(URL, config, via="mcp-remote")
    assert result.entry["command"] == str(npx)


def test_either_working_form_counts_as_current_and_is_kept(config: Path, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(cd, "find_npx", lambda: "/opt/node/bin/npx")
    cd.write_entry(URL, config, via="bridge")
    assert cd.entry_status(URL, config).state is cd.EntryState.CURRENT
    assert cd.entry_status(URL, config, via="mcp-remote").state is cd.EntryState.OUTDATED
    # a default write does not flip a working entry to the other form
    assert not cd.write_entry(URL, config).changed
    switched = cd.write_entry(URL, config, via="mcp-remote")
    assert switched.changed and switched.entry["command"] == "/opt/node/bin/npx"


def test_status_reports_another_url_as_outdated(config: Path) -> None:
    cd.write_entry(OTHER_URL, config)
    status = cd.entry_status(URL, config)
    assert status.state is cd.EntryState.OUTDATED and OTHER_URL in status.detail
    said, would = status.detail.split("\nWe would write: ")
    assert OTHER_URL in said and URL in would and OTHER_URL not in would  # what we would write, shown
    assert cd.write_entry(URL, config).changed
    assert cd.entry_status(URL, config).state is cd.EntryState.CURRENT
