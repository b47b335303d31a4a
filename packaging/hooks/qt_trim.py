"""Collect a PySide6 module the way PyInstaller's own hook does, minus the Qt parts MCP Tray never uses.

PyInstaller's Qt hooks collect every plugin type a module can use (all platforms, image formats,
platform themes, Wayland shells, TLS backends...) and every translation. The GTK platform theme
alone drags in GTK, Cairo and Pango. These hooks keep only what the tray app needs, and they do it
before PyInstaller resolves shared-library dependencies, so the dependencies of dropped plugins
are never collected either.
"""

from __future__ import annotations

import os

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

# plugin directory -> plugin names kept (file name without "lib" prefix and extension).
KEEP_PLUGINS: dict[str, frozenset[str]] = {
    # xcb on Linux (Wayland sessions run it through XWayland), cocoa, windows; offscreen and
    # minimal let the frozen app run with QT_QPA_PLATFORM=offscreen (CI, diagnostics).
    "platforms": frozenset({"qxcb", "qcocoa", "qwindows", "qoffscreen", "qminimal"}),
    "iconengines": frozenset({"qsvgicon"}),  # the tray and window icons are SVG
    "imageformats": frozenset({"qsvg", "qico"}),  # PNG and BMP are built into QtGui
    "styles": frozenset({"qmodernwindowsstyle", "qwindowsvistastyle", "qmacstyle"}),
    # text fields in the dashboard: dead keys (compose) and IBus input methods
    "platforminputcontexts": frozenset(
        {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"}
    ),
}

# Qt shared libraries only the dropped plugins need.
DROP_LIBRARIES = (
    "Qt6EglFSDeviceIntegration",
    "Qt6EglFsKmsSupport",
    "Qt6WaylandClient",
    "Qt6WlShellIntegration",
    "Qt6OpenGL",
    "Qt6Pdf",
    "Qt6Qml",
    "Qt6Quick",
)


def _plugin_name(filename: str) -> str:
    stem = filename.split(".", 1)[0]
    return stem[3:] if stem.startswith("lib") else stem


def keep_binary(source: str, dest: str) -> bool:
    """True for the Qt files the app uses; every non-plugin, non-Qt-library file is kept."""
    parts = dest.replace("\\", "/").split("/")
    if "plugins" in parts:
        index = parts.index("plugins")
        if index + 1 >= len(parts):
            return True
        plugin_dir = parts[index + 1]
        return _plugin_name(os.path.basename(source)) in KEEP_PLUGINS.get(plugin_dir, frozenset())
    name = os.path.basename(source)
    return not any(lib in name for lib in DROP_LIBRARIES)


def trimmed(hook_file: str) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """(hiddenimports, binaries, datas) for the module named by `hook_file`, trimmed; no translations."""
    hiddenimports, binaries, datas = add_qt6_dependencies(hook_file)
    binaries = [(src, dest) for src, dest in binaries if keep_binary(src, dest)]
    # The UI is English only, so Qt's own translations (7 MB) stay out.
    datas = [(src, dest) for src, dest in datas if "translations" not in dest.replace("\\", "/").split("/")]
    return list(hiddenimports), binaries, datas
