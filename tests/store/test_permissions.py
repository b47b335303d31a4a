"""app/permissions.py: on POSIX (ENFORCED) the data dir is private and unsafe paths are refused; elsewhere
(Windows, where these modes do not exist: ENFORCED false, monkeypatched here) every check passes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app import permissions
from app.permissions import UnsafePathError, check_safe, make_private
from tests.support.serve import REPO

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")

_CREATE = """
import sys
from pathlib import Path
from app import permissions
permissions.ENFORCED = sys.argv[2] == "1"
import os
os.umask(0o022)  # a usual login umask
permissions.set_private_umask()
Path(sys.argv[1]).write_text("x")
(Path(sys.argv[1]).parent / "sub").mkdir()
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _create(tmp_path: Path, enforced: bool) -> Path:
    target = tmp_path / "file"
    subprocess.run([sys.executable, "-c", _CREATE, str(target), "1" if enforced else "0"], cwd=REPO, check=True,
                   timeout=60)
    return target


def test_it_is_enforced_exactly_on_posix() -> None:
    assert permissions.ENFORCED is (os.name == "posix")


@posix
def test_the_private_umask_makes_new_files_and_folders_the_owners_only(tmp_path: Path) -> None:
    target = _create(tmp_path, enforced=True)
    assert _mode(target) == 0o600
    assert _mode(tmp_path / "sub") == 0o700


@posix
def test_not_enforced_the_umask_is_left_alone(tmp_path: Path) -> None:
    target = _create(tmp_path, enforced=False)
    assert _mode(target) == 0o644
    assert _mode(tmp_path / "sub") == 0o755


@posix
@pytest.mark.parametrize(("mode", "problem"), [(0o775, "writable by its group"), (0o757, "writable by others")])
def test_a_folder_others_can_change_is_refused_with_the_fix(tmp_path: Path, mode: int, problem: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(mode)
    with pytest.raises(UnsafePathError) as refused:
        check_safe(folder)
    assert refused.value.problem == f"it is {problem}"
    assert refused.value.fix == f"chmod go-w {folder}"
    with pytest.raises(UnsafePathError):
        make_private(folder)
    assert _mode(folder) == mode  # refused, not silently repaired


@posix
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another account needs root")
def test_a_folder_of_another_account_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    os.chown(folder, 54321, 54321)
    with pytest.raises(UnsafePathError) as refused:
        check_safe(folder)
    assert "it is owned by 54321" in refused.value.problem
    assert refused.value.fix.startswith("chown ") and refused.value.fix.endswith(str(folder))


@posix
def test_an_old_readable_data_dir_is_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o755)
    (folder / "settings.json").write_text("{}")
    (folder / "settings.json").chmod(0o644)
    assert check_safe(folder) is not None
    make_private(folder)
    assert _mode(folder) == 0o700
    assert _mode(folder / "settings.json") == 0o600


def test_not_enforced_every_check_passes_and_nothing_is_changed(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(permissions, "ENFORCED", False)
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "settings.json").write_text("{}")
    if os.name == "posix":
        folder.chmod(0o777)
        (folder / "settings.json").chmod(0o666)
    before = (_mode(folder), _mode(folder / "settings.json"))
    umask = os.umask(0o022)
    try:
        permissions.set_private_umask()
        assert os.umask(umask) == 0o022  # left as it was
    finally:
        os.umask(umask)
    assert check_safe(folder) is None
    make_private(folder)
    assert (_mode(folder), _mode(folder / "settings.json")) == before
