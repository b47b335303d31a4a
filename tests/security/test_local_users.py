"""Other local accounts can neither read the data dir nor plant code the server runs.

The owner is the account running MCP Tray. The tests run as root, so another owner is made with
`os.chown` to `nobody`; the last tests use a real second account (`useradd`, `runuser`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.store.db import DB_NAME
from app.tools.registry import ToolRegistry
from tests.conftest import start_runner
from tests.support.oauth import OAuthClient, rpc_result
from tests.support.serve import REPO, ServeProcess, app_command

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes and accounts are POSIX")

OTHER = "mcptray-other"
PLANTED = '''
from pathlib import Path
Path({marker!r}).write_text("ran as the server's user")

def planted() -> str:
    """A tool someone else put here."""
    return "planted"
'''


def nobody() -> int:
    """The uid of `nobody`, another account that exists on every Linux system."""
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("there is no 'nobody' account to own files")


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another account needs root")


def modes(root: Path) -> dict[str, int]:
    """Path (relative) -> permission bits of everything under `root`, and `root` itself as '.'."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


# -- the data dir and its files ---------------------------------------------------------------


@pytest.mark.parametrize("existing", [False, True], ids=["new data dir", "data dir left 0755/0644"])
def test_the_data_dir_is_0700_and_every_file_in_it_0600(tmp_path: Path, existing: bool) -> None:
    data = tmp_path / "data"
    if existing:  # as an older version (or a umask of 022) left it
        (data / "logs").mkdir(parents=True, mode=0o755)
        for name, mode in (("settings.json", 0o644), ("tools.json", 0o664), ("logs/mcp-tray.log.1", 0o644)):
            (data / name).write_text("{}\n")
            (data / name).chmod(mode)
        data.chmod(0o755)
    with ServeProcess(data) as served:
        assert served.stop()[0] == 0
    found = modes(data)
    for name in ("mcp-tray.sqlite3", "logs/mcp-tray.log"):
        assert name in found, sorted(found)
    exposed = {name: oct(mode) for name, mode in found.items()
               if mode & 0o077 and not name.startswith("tools")}  # plugin files are the user's own
    assert exposed == {}, exposed
    assert found["."] == 0o700 and found["logs"] == 0o700 and found["tools"] == 0o700


def test_wal_and_shm_are_private_while_the_server_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ServeProcess(data):
        running = modes(data)
    assert {DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"} <= set(running)
    assert {n: oct(m) for n, m in running.items() if n.startswith(DB_NAME) and m & 0o077} == {}


def _refusal(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(app_command("tokens", "list", "--data-dir", str(data)), cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_a_data_dir_owned_by_another_account_is_refused(tmp_path: Path) -> None:
    needs_root()
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    os.chown(data, nobody(), -1)
    answer = _refusal(data)
    assert answer.returncode == 2, answer
    assert answer.stderr.strip() == (f"mcp-tray: refusing to use {data}: it is owned by nobody, not by you (root); "
                                     f"run: chown root {data}")
    assert not (data / DB_NAME).exists()  # nothing was opened in it


def test_a_data_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    answer = _refusal(data)
    assert answer.returncode == 2, answer
    assert f"refusing to use {data}: it is writable by others; run: chmod go-w {data}" in answer.stderr
    assert "Traceback" not in answer.stderr and not (data / DB_NAME).exists()


# -- plugins ----------------------------------------------------------------------------------


def _plant(folder: Path, name: str, marker: Path) -> Path:
    path = folder / name
    path.write_text(PLANTED.format(marker=str(marker)).replace("planted", path.stem))
    return path


@pytest.mark.parametrize(("owner", "mode", "problem", "fix"), ids=["nobody's", "writable by others", "by group"],
                         argvalues=[
    ("nobody", 0o777, "it is owned by nobody, not by you (root)", "chown root"),
    ("me", 0o777, "it is writable by others", "chmod go-w"),
    ("me", 0o775, "it is writable by its group", "chmod go-w"),
])
def test_a_tools_folder_others_can_change_runs_nothing_and_the_server_still_works(
    data_dir: Path, tmp_path: Path, owner: str, mode: int, problem: str, fix: str
) -> None:
    tools = data_dir / "tools"
    tools.mkdir()
    marker = tmp_path / "marker"
    _plant(tools, "evil.py", marker)
    tools.chmod(mode)
    if owner == "nobody":
        needs_root()
        os.chown(tools, nobody(), -1)
    runner = start_runner(data_dir)
    try:
        assert not marker.exists(), "the plugin ran"
        problems = runner.tools.problems()
        refused = f"refusing to load plugins from {tools}: {problem}; run: {fix} {tools}"
        assert [(p.name, p.error) for p in problems if p.source == "tools folder"] == [(str(tools), refused)]
        rows = {r.name: r for r in runner.tools.rows()}
        assert rows[str(tools)].error == refused and "evil" not in rows
        client = OAuthClient(runner.base_url)  # the rest of the server works
        try:
            tokens = client.login()
            answer = client.call_add(tokens.access_token, client.session(tokens.access_token))
            assert rpc_result(answer)["result"]["content"][0]["text"] == "5"
        finally:
            client.close()
    finally:
        runner.close()


def test_a_plugin_file_others_can_change_is_refused_alone(data_dir: Path, tmp_path: Path) -> None:
    tools = data_dir / "tools"
    tools.mkdir(mode=0o700)
    markers = {n: tmp_path / f"ran-{n}" for n in ("fine", "shared", "foreign")}
    _plant(tools, "fine.py", markers["fine"])
    _plant(tools, "shared.py", markers["shared"]).chmod(0o666)
    foreign = _plant(tools, "foreign.py", markers["foreign"])
    if os.geteuid() == 0:
        os.chown(foreign, nobody(), -1)
    registry = ToolRegistry(data_dir)
    errors = {p.name: p.error for p in registry.problems()}
    assert markers["fine"].exists() and "fine" in {r.name for r in registry.rows() if r.error is None}
    assert not markers["shared"].exists()
    assert errors["shared.py"] == (f"refusing to load the plugin {tools / 'shared.py'}: it is writable by others; "
                                   f"run: chmod go-w {tools / 'shared.py'}")
    if os.geteuid() == 0:
        assert not markers["foreign"].exists()
        assert errors["foreign.py"].endswith(f"it is owned by nobody, not by you (root); run: chown root {foreign}")


# -- a real second account ----------------------------------------------------------------------


PYTHON: list[str] = [sys.executable]  # how the other account runs this checkout; see other_account
PYTHON_ENV: dict[str, str] = {}


def _as_other(*command: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    home = Path(pwd.getpwnam(OTHER).pw_dir)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8", **PYTHON_ENV}
    return subprocess.run(["runuser", "-u", OTHER, "--", *command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def _find_python_for_other() -> str | None:
    """Make PYTHON an interpreter the other account may run with this checkout's packages; None, or why not.

    The venv's interpreter may live in a home the other account cannot enter (pyenv under /root);
    the system's interpreter of the same version can then load the venv's packages.
    """
    probe = _as_other(sys.executable, "-c", "import app.main, mcp")
    if probe.returncode == 0:
        return None
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if system is None:
        return f"it cannot run {sys.executable} ({probe.stderr.strip()[-200:]}) and there is no system {version}"
    PYTHON_ENV["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
    fallback = _as_other(system, "-c", "import app.main, mcp")
    if fallback.returncode != 0:
        PYTHON_ENV.clear()
        return f"neither {sys.executable} nor {system} can load this checkout: {fallback.stderr.strip()[-300:]}"
    PYTHON[:] = [system]
    return None


@pytest.fixture(scope="session")
def other_account() -> Iterator[str]:
    """A second OS account, made for these tests and removed after them."""
    if os.geteuid() != 0:
        pytest.skip("making a second OS account (useradd, runuser) needs root")
    if shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("useradd and runuser are not installed")
    made = subprocess.run(["useradd", "-m", OTHER], capture_output=True, text=True)
    if made.returncode not in (0, 9):  # 9: it exists already (a previous run that was killed)
        pytest.skip(f"useradd failed: {made.stderr.strip()}")
    try:
        problem = _find_python_for_other()
        if problem is not None:
            pytest.skip(f"the second account cannot run this checkout: {problem}")
        yield OTHER
    finally:
        subprocess.run(["userdel", "-r", OTHER], capture_output=True)


@pytest.fixture
def owners_server() -> Iterator[tuple[Path, ServeProcess]]:
    """The owner's running server, its data dir in a folder every account may enter.

    So only the data dir's own permissions stand between the other account and the files.
    """
    parent = Path(tempfile.mkdtemp(prefix="mcp-tray-owner-"))
    parent.chmod(0o755)
    data = parent / "data"
    try:
        with ServeProcess(data) as served:
            assert (data / DB_NAME).exists()
            yield data, served
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_another_account_cannot_read_the_owners_data_dir(
    other_account: str, owners_server: tuple[Path, ServeProcess]
) -> None:
    data, _ = owners_server
    for target in (data / DB_NAME, data / (DB_NAME + "-wal"), data / "logs" / "mcp-tray.log"):
        opened = _as_other(*PYTHON, "-c", f"open({str(target)!r}, 'rb').read(1)")
        assert opened.returncode != 0 and "PermissionError" in opened.stderr, (target, opened)
    listed = _as_other("ls", str(data))
    assert listed.returncode != 0 and "Permission denied" in listed.stderr, listed


def test_another_account_cannot_use_the_owners_data_dir_with_the_cli(
    other_account: str, owners_server: tuple[Path, ServeProcess]
) -> None:
    data, _ = owners_server
    answer = _as_other(*PYTHON, "-m", "app", "tokens", "list", "--data-dir", str(data))
    assert answer.returncode == 2, answer
    assert answer.stderr.strip() == (f"mcp-tray: cannot use the data dir {data}: Permission denied. "
                                     "It must be a folder of your own account.")
    assert "Traceback" not in answer.stderr and answer.stdout == ""


def test_settings_and_tools_json_are_written_private_even_without_the_umask(data_dir: Path) -> None:
    # In-process, as a test or an embedding program runs it: no umask from main.
    previous = os.umask(0o022)
    try:
        Settings(port=9999).save(data_dir)
        registry = ToolRegistry(data_dir, plugins=False)
        registry.disable("add")
    finally:
        os.umask(previous)
    for name in ("settings.json", "tools.json"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
