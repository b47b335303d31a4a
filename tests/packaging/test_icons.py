"""The committed icon set: made from the current SVG, the right sizes, and well-formed .ico/.icns/.desktop."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from app.autostart import desktop_entry

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "packaging" / "icons"
sys.path.insert(0, str(ROOT / "packaging"))
import make_icons  # noqa: E402 - a script, not a package

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_image(data: bytes, size: int) -> QImage:
    """Decode PNG bytes and check they are a square image of this size with the icon drawn on it."""
    assert data.startswith(PNG_SIGNATURE)
    image = QImage.fromData(data)  # the format is read from the data
    assert not image.isNull() and (image.width(), image.height()) == (size, size)
    centre = image.pixelColor(size // 2, size // 2)
    corner = image.pixelColor(0, 0)
    assert centre.alpha() == 255, "the middle of the icon is drawn"
    assert corner.alpha() < 128, "the rounded corner stays transparent"
    return image


def test_icons_were_generated_from_the_current_svg() -> None:
    recorded = (ICONS / "SOURCE-SHA256").read_text(encoding="ascii").split()[0]
    assert recorded == make_icons.source_hash(), (
        "resources/icons/mcp-tray.svg changed: run packaging/make_icons.py"
    )


@pytest.mark.parametrize("size", make_icons.PNG_SIZES)
def test_png_sizes(size: int) -> None:
    png_image((ICONS / f"mcp-tray-{size}.png").read_bytes(), size)


def test_ico_holds_png_entries_16_to_256() -> None:
    data = (ICONS / "mcp-tray.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind, count) == (0, 1, len(make_icons.ICO_SIZES))
    sizes = []
    for index in range(count):
        width, height, _colors, _res, planes, bpp, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * index
        )
        size = width or 256
        assert height == width and (planes, bpp) == (1, 32)
        png_image(data[offset : offset + length], size)
        sizes.append(size)
    assert tuple(sizes) == make_icons.ICO_SIZES


def test_icns_holds_every_macos_size() -> None:
    data = (ICONS / "mcp-tray.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    found, at = {}, 8
    while at < len(data):
        kind, length = data[at : at + 4], struct.unpack_from(">I", data, at + 4)[0]
        found[kind] = data[at + 8 : at + length]
        at += length
    assert at == len(data)
    assert {k: None for k in found} == {k: None for k, _ in make_icons.ICNS_TYPES}
    for kind, size in make_icons.ICNS_TYPES:
        png_image(found[kind], size)


def test_builders_round_trip_what_they_are_given(qapp: object) -> None:
    # pytest-qt's QApplication: render_pngs would otherwise create a QGuiApplication that outlives
    # this test and breaks every later test that needs a QApplication.
    pngs = make_icons.render_pngs(make_icons.SOURCE, (16, 256))
    for size, data in pngs.items():
        png_image(data, size)
    ico = make_icons.build_ico(pngs)
    assert struct.unpack_from("<BB", ico, 6 + 16) == (0, 0)  # 256 is written as 0 in an ICONDIRENTRY


def test_linux_desktop_file_is_valid_and_matches_the_builder() -> None:
    path = ROOT / "packaging" / "linux" / "mcp-tray.desktop"
    assert path.read_text(encoding="utf-8") == desktop_entry(["mcp-tray"], autostart=False)
    result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


def test_linux_install_script_installs_and_uninstalls_for_the_user(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "mcp-tray").write_text("#!/bin/sh\necho frozen\n", encoding="utf-8")
    (bundle / "mcp-tray").chmod(0o755)
    prefix = tmp_path / "home" / ".local"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "PREFIX": str(prefix)}
    script = ROOT / "packaging" / "linux" / "install.sh"
    subprocess.run([str(script), str(bundle)], env=env, check=True, capture_output=True, timeout=60)
    entry = prefix / "share" / "applications" / "mcp-tray.desktop"
    result = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout
    assert f"Exec={prefix}/lib/mcp-tray/mcp-tray" in entry.read_text(encoding="utf-8").splitlines()
    ran = subprocess.run([str(prefix / "bin" / "mcp-tray")], capture_output=True, text=True, check=True)
    assert ran.stdout == "frozen\n"
    for size in (16, 48, 256, 512):
        icon = prefix / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "mcp-tray.png"
        png_image(icon.read_bytes(), size)
    subprocess.run([str(script), "--uninstall"], env=env, check=True, capture_output=True, timeout=60)
    assert not entry.exists() and not (prefix / "lib" / "mcp-tray").exists()
    assert not (prefix / "bin" / "mcp-tray").is_symlink()
