"""Render resources/icons/mcp-tray.svg into the icon set the packages need, and write it to packaging/icons/.

    python packaging/make_icons.py

Writes mcp-tray-<N>.png (16..1024; the Linux hicolor theme and the .desktop file), mcp-tray.ico
(Windows: PNG-compressed entries, 16..256) and mcp-tray.icns (macOS: PNG entries, 16..1024 with
the @2x variants), plus SOURCE-SHA256, the hash of the SVG they came from, so a test notices
when the SVG changes and the icons were not regenerated. Qt's own SVG renderer draws them, the
same one that draws the tray icon at run time.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources" / "icons" / "mcp-tray.svg"
OUT = ROOT / "packaging" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size (Apple's "icns" format: icp4..ic14).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)


def render_pngs(svg: Path, sizes: tuple[int, ...]) -> dict[int, bytes]:
    """PNG bytes of the SVG at each size (square, transparent background); uses or makes a Qt app."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    result = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        # PySide6 accepts only str here at run time, though its stubs say bytes.
        image.save(buffer, "PNG")  # type: ignore[call-overload]
        buffer.close()
        result[size] = bytes(data.data())
    return result


def build_ico(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico whose entries are PNG images (supported since Windows Vista)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))  # reserved, type 1 = icon, count
    offset = len(header) + 16 * len(sizes)
    directory, images = b"", b""
    for size in sizes:
        data = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in the ICONDIRENTRY
        directory += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(images))
        images += data
    return header + directory + images


def build_icns(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns made of PNG elements."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def source_hash(svg: Path = SOURCE) -> str:
    """SHA-256 of the SVG the icons are made from."""
    return hashlib.sha256(svg.read_bytes()).hexdigest()


def main() -> int:
    """Write the icon set."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed to draw into images
    OUT.mkdir(parents=True, exist_ok=True)
    pngs = render_pngs(SOURCE, PNG_SIZES)
    for size, data in pngs.items():
        (OUT / f"mcp-tray-{size}.png").write_bytes(data)
    (OUT / "mcp-tray.ico").write_bytes(build_ico({s: pngs[s] for s in ICO_SIZES}))
    (OUT / "mcp-tray.icns").write_bytes(build_icns(pngs))
    (OUT / "SOURCE-SHA256").write_text(f"{source_hash()}  resources/icons/mcp-tray.svg\n", encoding="ascii")
    print(
        f"wrote {len(pngs)} PNGs, mcp-tray.ico and mcp-tray.icns to {OUT.relative_to(ROOT)}", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
