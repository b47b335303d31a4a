"""app/clients/jsonfile.py: after the rename the directory itself is fsynced (POSIX): the new entry
survives a power cut.

The calls are seen through Python's audit events (`open`, `os.rename`) in a child process: an audit
hook cannot be removed, so it never runs inside the test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.clients.jsonfile import _fsync_dir, atomic_write
from tests.support.serve import REPO

_WATCH = """
import json, os, sys
from pathlib import Path
from app.clients import jsonfile
seen = []
def hook(event, args):
    if event == "open":
        seen.append(["open", str(args[0]), args[2] if len(args) > 2 else None])
    elif event == "os.rename":
        seen.append(["rename", str(args[0]), str(args[1])])
target = Path(sys.argv[1])
if sys.argv[2] != "posix":
    os.name = sys.argv[2]  # the only platform fact the function reads
sys.addaudithook(hook)
jsonfile.atomic_write(target, b'{"a": 1}\\n', 0o600)
print(json.dumps(seen))
"""


def _calls(target: Path, os_name: str = "posix") -> list[list[object]]:
    done = subprocess.run([sys.executable, "-c", _WATCH, str(target), os_name], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)
    found: list[list[object]] = json.loads(done.stdout)
    return found


@pytest.mark.skipif(os.name != "posix", reason="the POSIX branch opens the directory")
def test_the_directory_is_opened_for_fsync_after_the_rename(tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    calls = _calls(target)
    renames = [i for i, c in enumerate(calls) if c[0] == "rename" and c[2] == str(target)]
    assert len(renames) == 1, calls
    after = [c for c in calls[renames[0] + 1:] if c[0] == "open"]
    assert [c[1] for c in after] == [str(tmp_path)], calls
    assert int(str(after[0][2])) & (os.O_WRONLY | os.O_RDWR) == 0  # read-only: a directory cannot be opened to write
    assert target.read_bytes() == b'{"a": 1}\n'


def test_where_directories_cannot_be_opened_nothing_is(tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    calls = _calls(target, "nt")  # Windows: os.open on a directory fails, and NTFS needs no such step
    assert not [c for c in calls if c[0] == "open" and c[1] == str(tmp_path)], calls
    assert target.read_bytes() == b'{"a": 1}\n'


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts this process's open descriptors")
def test_the_directory_descriptor_is_closed_again(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        _fsync_dir(tmp_path)
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.skipif(os.name != "posix", reason="the POSIX branch opens the directory")
def test_a_directory_that_is_gone_is_an_error_not_silence(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _fsync_dir(tmp_path / "gone")
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "gone" / "config.json", b"{}", 0o600)
