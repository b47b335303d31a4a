"""A server install has no Qt: PySide6 sits in the `desktop` extra, and `mcp-tray serve` never imports it.

The serve test runs the real command in a subprocess whose import system refuses PySide6 and
shiboken6 (a sys.meta_path finder), so any import of Qt on the way fails loudly.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.support.serve import REPO, free_port

BLOCK_QT = """
import sys
class NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ModuleNotFoundError(f"Qt is blocked in this test: {name}", name=name)
        return None
sys.meta_path.insert(0, NoQt())
"""


def test_pyside6_is_only_in_the_desktop_extra() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("pyside6")]
    extras = project["optional-dependencies"]
    assert all(d.lower().startswith("pyside6") for d in extras["desktop"])
    assert not [d for d in extras["server"] if "pyside" in d.lower() or "desktop" in d]
    assert any(d.startswith("psycopg[binary,pool]") for d in extras["server"])
    assert "mcp-tray[desktop]" in extras["test"] and "mcp-tray[desktop]" in extras["bundle"]


def test_the_serve_path_imports_no_qt() -> None:
    code = BLOCK_QT + """
import app.main, app.commands.serve, app.server.runner, app.server.app, app.auth.oidc_pages, app.auth.oidc
parser = app.main.build_parser()
parser.parse_args(["serve", "--public-url", "https://mcp.example.org"])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))
print("qt:", loaded)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "qt: []"


def test_serve_runs_with_qt_blocked_and_the_tray_says_what_to_install(tmp_path: Path) -> None:
    port = free_port()
    code = BLOCK_QT + f"""
import app.main
raise SystemExit(app.main.main(["serve", "--port", "{port}", "--data-dir", {str(tmp_path)!r}]))
"""
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline().strip()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert line == f"MCP server ready at http://127.0.0.1:{port}/mcp", err
    assert proc.returncode == 0 and "Qt is blocked" not in err

    code = BLOCK_QT + f"""
import app.main
raise SystemExit(app.main.main(["--data-dir", {str(tmp_path)!r}]))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "DISPLAY": ":99", "HOME": str(tmp_path)})
    assert done.returncode == 2 and "pip install 'mcp-tray[desktop]'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
