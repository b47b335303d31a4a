"""Start at login: real XDG autostart files on Linux, and the macOS plist / Windows Run value by content."""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from pathlib import Path

import pytest

from app import autostart
from app.autostart import (
    AutostartError,
    desktop_entry,
    desktop_exec,
    entry_path,
    launch_agent_plist,
    launch_command,
    run_key_value,
    set_start_at_login,
)
from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="XDG autostart is the Linux mechanism")


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private $XDG_CONFIG_HOME, so the tests never touch the real autostart folder."""
    path = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(path))
    return path


def validate(path: Path) -> None:
    """desktop-file-validate (desktop-file-utils, installed by scripts/setup.sh --test) has nothing to say."""
    result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def exec_args(value: str) -> list[str]:
    """Parse an Exec value the way the Desktop Entry spec says a launcher must (an independent decoder)."""
    # 1. string-value escapes, left to right
    text, i = "", 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            text += {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(
                value[i + 1], value[i : i + 2]
            )
            i += 2
        else:
            text += value[i]
            i += 1
    # 2. arguments: split on spaces outside double quotes; inside them \ escapes " ` $ and itself
    args: list[str] = []
    current, quoted, i = None, False, 0
    while i < len(text):
        c = text[i]
        if quoted and c == "\\" and text[i + 1] in '"`$\\':
            current, i = (current or "") + text[i + 1], i + 2
            continue
        if c == '"':
            quoted, current = not quoted, current or ""
        elif c == " " and not quoted:
            if current is not None:
                args.append(current)
            current = None
        else:
            current = (current or "") + c
        i += 1
    assert not quoted, f"unbalanced quotes in {value!r}"
    if current is not None:
        args.append(current)
    # 3. field codes: %% is a literal percent sign
    return [arg.replace("%%", "%") for arg in args]


@linux_only
def test_enable_writes_a_valid_xdg_entry_and_disable_removes_it(config_home: Path, data_dir: Path) -> None:
    where = autostart.enable(launch_command(data_dir))
    path = config_home / "autostart" / "mcp-tray.desktop"
    assert where == str(path)
    validate(path)
    text = path.read_text(encoding="utf-8")
    exec_line = next(line[5:] for line in text.splitlines() if line.startswith("Exec="))
    assert exec_args(exec_line) == [sys.executable, "-m", "app", "--data-dir", str(data_dir)]
    assert f"Path={ROOT}" in text.splitlines()  # `python -m app` needs the checkout as its directory
    icon = Path(next(line[5:] for line in text.splitlines() if line.startswith("Icon=")))
    assert icon.is_file()
    assert autostart.is_enabled()
    assert autostart.disable() is True
    assert not path.exists() and not autostart.is_enabled()
    assert autostart.disable() is False


@linux_only
def test_entry_switched_off_by_the_desktop_counts_as_disabled(config_home: Path) -> None:
    autostart.enable(["mcp-tray"])
    path = config_home / "autostart" / "mcp-tray.desktop"
    path.write_text(path.read_text(encoding="utf-8") + "Hidden=true\n", encoding="utf-8")
    assert not autostart.is_enabled()


def test_relative_xdg_config_home_is_ignored(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": "relative/dir"}
    assert entry_path("linux", env, tmp_path) == tmp_path / ".config" / "autostart" / "mcp-tray.desktop"
    assert entry_path("linux", {"XDG_CONFIG_HOME": "/x/y"}, tmp_path) == Path(
        "/x/y/autostart/mcp-tray.desktop"
    )


def test_entry_paths_on_macos_and_windows(tmp_path: Path) -> None:
    assert entry_path("darwin", {}, tmp_path) == tmp_path / "Library/LaunchAgents/io.github.mcp-tray.plist"
    assert entry_path("win32", {}, tmp_path) is None


@pytest.mark.parametrize(
    "arg",
    [
        "plain",
        "with space",
        'quo"te',
        "dollar$HOME",
        "back\\slash",
        "100%",
        "tick`s",
        "semi;colon",
        "ünïcode",
    ],
)
def test_exec_quoting_round_trips_and_validates(tmp_path: Path, arg: str) -> None:
    command = ["/opt/MCP Tray/mcp-tray", "--data-dir", arg]
    assert exec_args(desktop_exec(command)) == command
    path = tmp_path / "mcp-tray.desktop"
    path.write_text(desktop_entry(command), encoding="utf-8")
    validate(path)


def test_launch_command_when_frozen_is_the_executable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/mcp-tray/mcp-tray")
    assert launch_command() == ["/opt/mcp-tray/mcp-tray"]
    assert launch_command(tmp_path) == ["/opt/mcp-tray/mcp-tray", "--data-dir", str(tmp_path)]
    assert autostart.working_dir() is None


def test_launch_agent_plist_runs_the_app_once_at_login() -> None:
    command = ["/Applications/MCP Tray.app/Contents/MacOS/mcp-tray"]
    agent = plistlib.loads(launch_agent_plist(command))
    assert agent == {
        "Label": "io.github.mcp-tray",
        "ProgramArguments": command,
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
    }
    with_dir = plistlib.loads(launch_agent_plist(["python3", "-m", "app"], path=Path("/src/mcp-tray")))
    assert with_dir["WorkingDirectory"] == "/src/mcp-tray"


def test_run_key_value_is_a_quoted_windows_command_line() -> None:
    value = run_key_value([r"C:\Program Files\MCP Tray\mcp-tray.exe", "--data-dir", r"C:\Users\Zoë\My Data"])
    assert value == r'"C:\Program Files\MCP Tray\mcp-tray.exe" --data-dir "C:\Users\Zoë\My Data"'


@linux_only
def test_setting_is_saved_only_when_registration_worked(config_home: Path, data_dir: Path) -> None:
    set_start_at_login(data_dir, True)
    assert Settings.load(data_dir).start_at_login and autostart.is_enabled()
    set_start_at_login(data_dir, False)
    assert not Settings.load(data_dir).start_at_login and not autostart.is_enabled()
    # A file where the autostart folder should be: registration fails, the setting stays off.
    (config_home / "autostart").rmdir()
    (config_home / "autostart").write_text("not a folder", encoding="utf-8")
    with pytest.raises(AutostartError, match="start at login"):
        set_start_at_login(data_dir, True)
    assert not Settings.load(data_dir).start_at_login


@linux_only
def test_cli_enable_status_disable(tmp_path: Path, data_dir: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}

    def cli(action: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir), "autostart", action],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    assert "Does not start at login" in cli("status")
    assert "will start at login" in cli("enable")
    assert "Starts at login" in cli("status")
    validate(tmp_path / "cfg" / "autostart" / "mcp-tray.desktop")
    assert "no longer" in cli("disable")
    assert not (tmp_path / "cfg" / "autostart" / "mcp-tray.desktop").exists()


class FakeRegistry:
    """Just enough of `winreg` for the Run key: keys are paths, values a dict per key."""

    HKEY_CURRENT_USER = "HKCU"
    REG_SZ = 1
    KEY_SET_VALUE = 2

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, tuple[object, int]]] = {}

    class _Key:
        def __init__(self, values: dict[str, tuple[object, int]]) -> None:
            self.values = values

        def __enter__(self) -> FakeRegistry._Key:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def CreateKey(self, root: str, path: str) -> FakeRegistry._Key:
        return self._Key(self.keys.setdefault(f"{root}\\{path}", {}))

    def OpenKey(self, root: str, path: str, reserved: int = 0, access: int = 0) -> FakeRegistry._Key:
        if f"{root}\\{path}" not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return self._Key(self.keys[f"{root}\\{path}"])

    def SetValueEx(self, key: FakeRegistry._Key, name: str, reserved: int, kind: int, value: object) -> None:
        key.values[name] = (value, kind)

    def QueryValueEx(self, key: FakeRegistry._Key, name: str) -> tuple[object, int]:
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name]

    def DeleteValue(self, key: FakeRegistry._Key, name: str) -> None:
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del key.values[name]


def test_windows_run_key_is_written_read_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = FakeRegistry()
    monkeypatch.setitem(sys.modules, "winreg", registry)
    monkeypatch.setattr(sys, "platform", "win32")
    command = [r"C:\Program Files\MCP Tray\mcp-tray.exe"]
    assert not autostart.is_enabled()
    assert autostart.enable(command) == r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\MCP Tray"
    run = registry.keys[r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"]
    assert run["MCP Tray"] == (r'"C:\Program Files\MCP Tray\mcp-tray.exe"', FakeRegistry.REG_SZ)
    assert autostart.is_enabled()
    assert autostart.disable() is True
    assert not autostart.is_enabled() and autostart.disable() is False


def test_macos_launch_agent_file_is_written_and_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "darwin")
    command = ["/Applications/MCP Tray.app/Contents/MacOS/mcp-tray"]
    where = Path(autostart.enable(command))
    assert where == tmp_path / "Library" / "LaunchAgents" / "io.github.mcp-tray.plist"
    assert plistlib.loads(where.read_bytes())["ProgramArguments"] == command
    assert autostart.is_enabled()
    assert autostart.disable() and not where.exists() and not autostart.is_enabled()


@linux_only
def test_refresh_rewrites_an_entry_that_names_an_old_location(config_home: Path, data_dir: Path) -> None:
    assert autostart.refresh_login_item(data_dir) is False  # nothing registered: nothing written
    assert not (config_home / "autostart" / "mcp-tray.desktop").exists()
    autostart.enable(["/old/place/mcp-tray"])
    assert autostart.refresh_login_item(data_dir) is True
    text = (config_home / "autostart" / "mcp-tray.desktop").read_text(encoding="utf-8")
    assert "/old/place" not in text
    assert f"Exec={desktop_exec(launch_command(data_dir))}" in text.splitlines()
