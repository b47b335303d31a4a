"""Read-only configs and folders give a clear ConfigError and leave everything as it was.

Root ignores permission bits, so as root the file is made immutable (`chattr +i`) and the folder
is a read-only tmpfs mount; as another user, plain chmod does it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clients import claude_desktop as cd
from tests.clients.helpers import backups, leftovers

URL = "http://127.0.0.1:8787/mcp"
# our entry with another URL, so both writing and removing would change the file
TEXT = b'{"mcpServers": {"other": {"command": "x"}, "mcp-tray": {"url": "old"}}, "k": 1}\n'
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def read_only_file(path: Path) -> Iterator[None]:
    """Make `path` unwritable for this process (immutable when root)."""
    if IS_ROOT:
        if not shutil.which("chattr"):
            pytest.skip("running as root and chattr is missing: cannot make a file read-only for root")
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"running as root and chattr +i failed here: {done.stderr.strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(0o444)
        yield


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[None]:
    """Make the folder `path` unwritable for this process (a read-only tmpfs mount when root)."""
    if IS_ROOT:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"running as root and cannot mount a read-only tmpfs: {done.stderr.strip()}")
        try:
            yield
        finally:
            subprocess.run(["umount", str(path)], check=True)
    else:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)


def test_read_only_file_is_a_clear_error_and_untouched(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    config.write_bytes(TEXT)
    with read_only_file(config):
        with pytest.raises(cd.ConfigError, match="read-only") as caught:
            cd.write_entry(URL, config)
        assert not isinstance(caught.value, cd.InvalidConfigError)
        with pytest.raises(cd.ConfigError, match="read-only"):
            cd.remove_entry(config)
    assert config.read_bytes() == TEXT
    assert backups(config) == [] and leftovers(tmp_path) == []


def test_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "Claude"
    folder.mkdir()
    with read_only_dir(folder):
        with pytest.raises(cd.ConfigError, match=r"Cannot write .*claude_desktop_config\.json"):
            cd.write_entry(URL, folder / "claude_desktop_config.json")
        assert list(folder.iterdir()) == []
