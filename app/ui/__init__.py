"""The PySide6 tray app: the only package that imports Qt."""
