"""The PySide6 tray application: the only package that imports Qt."""
