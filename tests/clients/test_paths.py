"""Config paths of every client on Linux, macOS and Windows, from injected platform, environment and home."""

from __future__ import annotations

import glob
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from app.clients import paths

LINUX_HOME = "/home/ann"
MAC_HOME = "/Users/ann"
WIN_HOME = r"C:\Users\ann"
WIN_ENV = {"USERPROFILE": WIN_HOME, "APPDATA": r"C:\Users\ann\AppData\Roaming",
           "LOCALAPPDATA": r"C:\Users\ann\AppData\Local"}
PACKAGES = r"C:\Users\ann\AppData\Local\Packages"
IN_PACKAGE = r"\LocalCache\Roaming\Claude\claude_desktop_config.json"


def no_packages(pattern: str) -> list[str]:
    return []


def test_claude_desktop_linux_default_and_xdg() -> None:
    assert paths.claude_desktop_path("linux", {}, LINUX_HOME) == PurePosixPath(
        "/home/ann/.config/Claude/claude_desktop_config.json")
    assert paths.claude_desktop_path("linux", {"XDG_CONFIG_HOME": "/xdg"}, LINUX_HOME) == PurePosixPath(
        "/xdg/Claude/claude_desktop_config.json")
    # a relative XDG_CONFIG_HOME is invalid by the XDG spec and ignored
    assert paths.claude_desktop_path("linux", {"XDG_CONFIG_HOME": "rel"}, LINUX_HOME) == PurePosixPath(
        "/home/ann/.config/Claude/claude_desktop_config.json")


def test_claude_desktop_macos() -> None:
    assert paths.claude_desktop_path("darwin", {"XDG_CONFIG_HOME": "/xdg"}, MAC_HOME) == PurePosixPath(
        "/Users/ann/Library/Application Support/Claude/claude_desktop_config.json")


def test_claude_desktop_windows_classic_without_msix() -> None:
    found = paths.claude_desktop_path("win32", WIN_ENV, WIN_HOME, glob=no_packages)
    assert found == PureWindowsPath(r"C:\Users\ann\AppData\Roaming\Claude\claude_desktop_config.json")
    assert str(found) == r"C:\Users\ann\AppData\Roaming\Claude\claude_desktop_config.json"


def test_claude_desktop_windows_without_appdata_uses_the_profile() -> None:
    found = paths.claude_desktop_path("win32", {"USERPROFILE": r"D:\u"}, WIN_HOME, glob=no_packages)
    assert found == PureWindowsPath(r"D:\u\AppData\Roaming\Claude\claude_desktop_config.json")


def test_claude_desktop_windows_prefers_the_msix_package() -> None:
    asked: list[str] = []

    def glob(pattern: str) -> list[str]:
        asked.append(pattern)
        return [PACKAGES + r"\Claude_pzs8sxrjxfjjc"]

    found = paths.claude_desktop_path("win32", WIN_ENV, WIN_HOME, glob=glob)
    assert asked == [PACKAGES + r"\Claude_*"]
    assert found == PureWindowsPath(
        PACKAGES + r"\Claude_pzs8sxrjxfjjc\LocalCache\Roaming\Claude\claude_desktop_config.json")


def test_claude_desktop_windows_several_packages_prefers_the_one_with_a_config() -> None:
    packages = [PACKAGES + r"\Claude_aaa", PACKAGES + r"\Claude_bbb"]
    with_config = PureWindowsPath(PACKAGES + r"\Claude_bbb" + IN_PACKAGE)
    found = paths.claude_desktop_path("win32", WIN_ENV, WIN_HOME, glob=lambda p: packages,
                                      exists=lambda p: p == with_config)
    assert found == with_config
    # with no config in any of them, the first package wins (sorted, so stable)
    first = paths.claude_desktop_path("win32", WIN_ENV, WIN_HOME, glob=lambda p: packages[::-1],
                                      exists=lambda p: False)
    assert first == PureWindowsPath(PACKAGES + r"\Claude_aaa" + IN_PACKAGE)


def test_claude_desktop_msix_found_on_a_real_folder_tree(tmp_path: Path) -> None:
    local = tmp_path / "Local"
    (local / "Packages" / "Claude_pzs8sxrjxfjjc").mkdir(parents=True)
    (local / "Packages" / "Other_x").mkdir()
    # the real glob on a real tree; the Windows flavour only changes the separators
    found = paths.claude_desktop_candidates("win32", {"LOCALAPPDATA": str(local), "APPDATA": "A"}, "/",
                                            glob=lambda p: glob.glob(p.replace("\\", "/")))
    assert [str(p).replace("\\", "/") for p in found] == [
        f"{local}/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude/claude_desktop_config.json",
        "A/Claude/claude_desktop_config.json",
    ]


@pytest.mark.parametrize(("platform", "env", "home", "expected"), [
    ("linux", {}, LINUX_HOME, PurePosixPath("/home/ann/.cursor/mcp.json")),
    ("darwin", {}, MAC_HOME, PurePosixPath("/Users/ann/.cursor/mcp.json")),
    ("win32", WIN_ENV, WIN_HOME, PureWindowsPath(r"C:\Users\ann\.cursor\mcp.json")),
])
def test_cursor(platform: str, env: dict[str, str], home: str, expected: object) -> None:
    assert paths.cursor_path(platform, env, home) == expected


@pytest.mark.parametrize(("platform", "env", "home", "expected"), [
    ("linux", {}, LINUX_HOME, PurePosixPath("/home/ann/.config/Code/User/mcp.json")),
    ("linux", {"XDG_CONFIG_HOME": "/xdg"}, LINUX_HOME, PurePosixPath("/xdg/Code/User/mcp.json")),
    ("darwin", {}, MAC_HOME, PurePosixPath("/Users/ann/Library/Application Support/Code/User/mcp.json")),
    ("win32", WIN_ENV, WIN_HOME, PureWindowsPath(r"C:\Users\ann\AppData\Roaming\Code\User\mcp.json")),
])
def test_vscode(platform: str, env: dict[str, str], home: str, expected: object) -> None:
    assert paths.vscode_path(platform, env, home) == expected


@pytest.mark.parametrize(("platform", "env", "home", "expected"), [
    ("linux", {}, LINUX_HOME, PurePosixPath("/home/ann/.claude.json")),
    ("darwin", {}, MAC_HOME, PurePosixPath("/Users/ann/.claude.json")),
    ("win32", WIN_ENV, WIN_HOME, PureWindowsPath(r"C:\Users\ann\.claude.json")),
    ("linux", {"CLAUDE_CONFIG_DIR": "/cfg"}, LINUX_HOME, PurePosixPath("/cfg/.claude.json")),
])
def test_claude_code(platform: str, env: dict[str, str], home: str, expected: object) -> None:
    assert paths.claude_code_path(platform, env, home) == expected


def test_this_machine_follows_home_and_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    if sys.platform != "linux":
        pytest.skip("checks the Linux layout of this machine")
    assert paths.claude_desktop_default() == tmp_path / "xdg" / "Claude" / "claude_desktop_config.json"
    assert paths.here(paths.vscode_path) == tmp_path / "xdg" / "Code" / "User" / "mcp.json"
    assert paths.here(paths.cursor_path) == tmp_path / ".cursor" / "mcp.json"
    assert paths.here(paths.claude_code_path) == tmp_path / ".claude.json"
