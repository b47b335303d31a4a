"""PySide6.QtDBus without the Qt plugins and translations MCP Tray does not use (see qt_trim.py)."""

from qt_trim import trimmed

hiddenimports, binaries, datas = trimmed(__file__)
