"""Start at login: an XDG autostart entry (Linux), a LaunchAgent (macOS), the per-user Run key (Windows).

The builders (`desktop_entry`, `launch_agent_plist`, `run_key_value`) are pure functions, so each
platform's file is tested on any platform; `enable`, `disable` and `is_enabled` act on the current
platform. The GUI's "Start at login" checkbox calls `set_start_at_login`, which registers or
unregisters first and saves the setting only when that worked. No Qt here.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import platformdirs

from app import APP_NAME
from app.config import Settings
from app.resources import resource_path

DISPLAY_NAME = "MCP Tray"
LAUNCH_AGENT_LABEL = "io.github.mcp-tray"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE_NAME = DISPLAY_NAME
_DESKTOP_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


class AutostartError(OSError):
    """Registering or unregistering failed; the message says what and where."""


def launch_command(data_dir: Path | None = None) -> list[str]:
    """What to run at login: the frozen executable, else this Python with `-m app`.

    A data dir other than the default is passed on, so login starts the same installation.
    """
    if getattr(sys, "frozen", False):
        command = [sys.executable]
    else:
        python = Path(sys.executable)
        # pythonw.exe: no console window flashing up at every Windows login.
        if sys.platform == "win32" and (python.parent / "pythonw.exe").exists():
            python = python.parent / "pythonw.exe"
        command = [str(python), "-m", "app"]
    default = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)).resolve()
    if data_dir is not None and data_dir.resolve() != default:
        command += ["--data-dir", str(data_dir)]
    return command


def working_dir() -> Path | None:
    """Where `python -m app` finds the `app` package (the checkout); None when frozen."""
    if getattr(sys, "frozen", False):
        return None
    return Path(__file__).resolve().parent.parent


def _desktop_quote(arg: str) -> str:
    # Desktop Entry spec, "The Exec key": quote arguments with reserved characters, escape " ` $ \
    # inside quotes; then the string-value escaping doubles every backslash again; % becomes %%.
    if arg and not (_DESKTOP_RESERVED & set(arg)):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    return quoted.replace("\\", "\\\\").replace("%", "%%")


def desktop_exec(command: Sequence[str]) -> str:
    """The Exec= value for a command line."""
    return " ".join(_desktop_quote(arg) for arg in command)


def desktop_entry(
    command: Sequence[str], *, icon: str | None = None, path: Path | None = None, autostart: bool = True
) -> str:
    """A .desktop file (Desktop Entry Specification 1.4) that starts MCP Tray."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        f"Name={DISPLAY_NAME}",
        "GenericName=MCP Server",
        "Comment=A personal MCP server behind OAuth 2.1, run from your system tray",
        f"Exec={desktop_exec(command)}",
        f"Icon={icon or APP_NAME}",
        "Terminal=false",
        "Categories=Network;",
        "StartupNotify=false",
    ]
    if path is not None:
        lines.append(f"Path={path}")
    if autostart:
        lines.append("X-GNOME-Autostart-enabled=true")
    return "\n".join(lines) + "\n"


def launch_agent_plist(command: Sequence[str], *, path: Path | None = None) -> bytes:
    """A macOS LaunchAgent that runs the command once at login (no restart when the user quits)."""
    agent: dict[str, object] = {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
    }
    if path is not None:
        agent["WorkingDirectory"] = str(path)
    return plistlib.dumps(agent)


def run_key_value(command: Sequence[str]) -> str:
    """The REG_SZ data for the Run key: a Windows command line (quoted by the C runtime's rules)."""
    return subprocess.list2cmdline(list(command))


def entry_path(
    platform: str | None = None, env: Mapping[str, str] | None = None, home: Path | None = None
) -> Path | None:
    """Where the login item file lives; None on Windows (a registry value)."""
    platform = sys.platform if platform is None else platform
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    if platform == "win32":
        return None
    if platform == "darwin":
        return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    config = env.get("XDG_CONFIG_HOME") or ""
    # The XDG spec says a relative $XDG_CONFIG_HOME is invalid and must be ignored.
    base = Path(config) if os.path.isabs(config) else home / ".config"
    return base / "autostart" / f"{APP_NAME}.desktop"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def enable(command: Sequence[str] | None = None) -> str:
    """Register the login item for this user; returns where it was written."""
    command = list(command or launch_command())
    try:
        if sys.platform == "win32":
            import winreg  # only on Windows

            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.SetValueEx(key, RUN_VALUE_NAME, 0, winreg.REG_SZ, run_key_value(command))
            return rf"HKEY_CURRENT_USER\{RUN_KEY}\{RUN_VALUE_NAME}"
        path = entry_path()
        if path is None:
            raise AutostartError(f"no login item location on {sys.platform}")
        if sys.platform == "darwin":
            data = launch_agent_plist(command, path=working_dir())
        else:
            data = desktop_entry(
                command, icon=str(resource_path("icons", f"{APP_NAME}.svg")), path=working_dir()
            ).encode("utf-8")
        _write_atomically(path, data)
        return str(path)
    except OSError as exc:
        raise AutostartError(f"could not register {DISPLAY_NAME} to start at login: {exc}") from exc


def disable() -> bool:
    """Remove the login item; True if there was one."""
    try:
        if sys.platform == "win32":
            import winreg

            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                    winreg.DeleteValue(key, RUN_VALUE_NAME)
            except FileNotFoundError:
                return False
            return True
        path = entry_path()
        if path is None or not path.exists():
            return False
        path.unlink()
        return True
    except OSError as exc:
        raise AutostartError(f"could not remove the {DISPLAY_NAME} login item: {exc}") from exc


def is_enabled() -> bool:
    """Whether the login item exists (and, on Linux, is not hidden or switched off)."""
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.QueryValueEx(key, RUN_VALUE_NAME)
        except OSError:
            return False
        return True
    path = entry_path()
    if path is None or not path.is_file():
        return False
    if sys.platform == "darwin":
        return True
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    lines = {line.strip().replace(" ", "") for line in text.splitlines()}
    return "Hidden=true" not in lines and "X-GNOME-Autostart-enabled=false" not in lines


def set_start_at_login(data_dir: Path, enabled: bool) -> Settings:
    """The "Start at login" setting: register or unregister, then save it; raises AutostartError.

    The settings file changes only when the OS change worked, so the checkbox never lies.
    """
    if enabled:
        # The data dir is passed on even when it came from $MCP_TRAY_DATA_DIR: login has no such variable.
        enable(launch_command(data_dir))
    else:
        disable()
    settings = Settings.load(data_dir)
    settings.start_at_login = enabled
    settings.save(data_dir)
    return settings


def refresh_login_item(data_dir: Path) -> bool:
    """Rewrite an existing login item with the current command; True if there was one.

    The app may have moved or been updated since it was registered; the GUI calls this at start-up.
    """
    if not is_enabled():
        return False
    enable(launch_command(data_dir))
    return True
