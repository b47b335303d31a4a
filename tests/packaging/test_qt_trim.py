"""Which Qt files the bundle keeps (packaging/hooks/qt_trim.py), by plugin folder and library name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging" / "hooks"))
from qt_trim import keep_binary

QT = "PySide6/Qt"


@pytest.mark.parametrize(
    ("source", "dest"),
    [
        ("/w/PySide6/Qt/plugins/platforms/libqxcb.so", f"{QT}/plugins/platforms"),
        ("C:/w/PySide6/plugins/platforms/qwindows.dll", "PySide6/plugins/platforms"),
        ("/w/PySide6/Qt/plugins/platforms/libqcocoa.dylib", f"{QT}/plugins/platforms"),
        ("/w/PySide6/Qt/plugins/iconengines/libqsvgicon.so", f"{QT}/plugins/iconengines"),
        ("/w/PySide6/Qt/plugins/imageformats/libqsvg.so", f"{QT}/plugins/imageformats"),
        ("/w/PySide6/Qt/lib/libQt6Widgets.so.6", f"{QT}/lib"),
        ("/w/PySide6/Qt/lib/libQt6DBus.so.6", f"{QT}/lib"),  # the xcb platform plugin links it
        ("/usr/lib/libxcb-cursor.so.0", "."),
    ],
)
def test_kept(source: str, dest: str) -> None:
    assert keep_binary(source, dest)


@pytest.mark.parametrize(
    ("source", "dest"),
    [
        ("/w/PySide6/Qt/plugins/platformthemes/libqgtk3.so", f"{QT}/plugins/platformthemes"),  # pulls in GTK
        ("/w/PySide6/Qt/plugins/platforms/libqwayland.so", f"{QT}/plugins/platforms"),
        ("/w/PySide6/Qt/plugins/platforms/libqeglfs.so", f"{QT}/plugins/platforms"),
        ("/w/PySide6/Qt/plugins/imageformats/libqtiff.so", f"{QT}/plugins/imageformats"),
        ("/w/PySide6/Qt/plugins/tls/libqopensslbackend.so", f"{QT}/plugins/tls"),
        (
            "/w/PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so",
            f"{QT}/plugins/wayland-shell-integration",
        ),
        ("/w/PySide6/Qt/lib/libQt6WaylandClient.so.6", f"{QT}/lib"),
        ("/w/PySide6/Qt/lib/libQt6Qml.so.6", f"{QT}/lib"),
    ],
)
def test_dropped(source: str, dest: str) -> None:
    assert not keep_binary(source, dest)
