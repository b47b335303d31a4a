"""The PySide6 tray app: the only package that imports Qt.

First of all, PySide6 is kept from holding the source of every module imported after it
(app/ui/lean_imports.py): about 22 MiB in the tray app.
"""

import shiboken6  # noqa: F401 - what installs the import hook that lean_imports changes

from app.ui import lean_imports

lean_imports.install()
