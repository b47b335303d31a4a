"""Plugins: an installed package is discovered through its entry points; a tools-folder file is loaded,
edited and reloaded; a broken plugin is reported while the rest keep working."""

from __future__ import annotations

from pathlib import Path

from app.tools.loader import load_entry_points, load_folder
from app.tools.registry import ToolRegistry, ToolRow


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def by_name(registry: ToolRegistry) -> dict[str, ToolRow]:
    return {r.name: r for r in registry.rows()}


def test_installed_package_is_discovered_through_its_entry_points() -> None:
    found = load_entry_points()
    names = {t.name: t for t in found.tools}
    assert {"shout", "reverse_words", "count_words"} <= set(names), (
        "install tests/plugins/mcp-tray-sample-plugin into the test environment (scripts/setup.sh --test does)")
    assert names["shout"].source == "package mcp-tray-sample-plugin (sample)"
    assert names["shout"].group == "plugins"
    assert names["shout"].description == "Return the text in capital letters."
    assert "join" not in names and "_helper" not in names  # imported or private: not tools
    broken = [p for p in found.problems if p.name == "sample_broken"]
    assert broken and "ModuleNotFoundError" in broken[0].error


def test_folder_function_becomes_tool_with_schema_and_docstring(tmp_path: Path) -> None:
    write(tmp_path, "greet.py", 'def greet(name: str, times: int = 1) -> str:\n'
                                '    """Say hello."""\n    return ("hi " + name) * times\n')
    found = load_folder(tmp_path)
    assert found.problems == []
    [spec] = found.tools
    assert spec.name == "greet" and spec.description == "Say hello." and spec.source == "tools folder: greet.py"
    schema = spec.tool.parameters
    assert schema["required"] == ["name"]
    assert schema["properties"]["times"]["type"] == "integer"


def test_decorator_renames_and_skip_hides(tmp_path: Path) -> None:
    write(tmp_path, "deco.py", "from app.tools import skip, tool\n\n"
                               "@tool('weather_today', description='Weather for a city.')\n"
                               "def w(city: str) -> str:\n    return city\n\n"
                               "@skip\ndef helper(x: int) -> int:\n    return x\n")
    found = load_folder(tmp_path)
    assert [(t.name, t.description) for t in found.tools] == [("weather_today", "Weather for a city.")]


def test_broken_plugins_are_reported_and_the_rest_work(tmp_path: Path) -> None:
    write(tmp_path, "good.py", 'def ok(x: int) -> int:\n    """Fine."""\n    return x\n')
    write(tmp_path, "syntax.py", "def broken(:\n")
    write(tmp_path, "imports.py", "import module_that_does_not_exist\n")
    write(tmp_path, "exits.py", "raise SystemExit(3)\n")
    write(tmp_path, "signature.py", "def untyped(x):\n    return x\n\n"
                                    "def star(*args: int) -> int:\n    return 0\n\n"
                                    "def fine(y: str) -> str:\n    return y\n")
    write(tmp_path, "_private.py", "raise RuntimeError('never loaded')\n")
    found = load_folder(tmp_path)
    assert sorted(t.name for t in found.tools) == ["fine", "ok"]
    errors = {p.name: p.error for p in found.problems}
    assert errors["syntax.py"].startswith("SyntaxError")
    assert "ModuleNotFoundError" in errors["imports.py"]
    assert "SystemExit" in errors["exits.py"]
    assert "no type hint" in errors["untyped"]
    assert "*args" in errors["star"]
    assert "_private.py" not in errors


def test_folder_plugin_edited_and_reloaded(data_dir: Path) -> None:
    registry = ToolRegistry(data_dir)
    assert registry.tools_dir == data_dir / "tools"
    write(registry.tools_dir, "calc.py", 'def triple(x: int) -> int:\n    """Three times x."""\n    return 3 * x\n')
    assert "triple" not in by_name(registry)
    changes: list[int] = []
    registry.subscribe(lambda: changes.append(1))
    assert registry.reload_if_changed() is True
    assert "triple" in by_name(registry) and changes == [1]
    assert registry.reload_if_changed() is False  # nothing changed since
    write(registry.tools_dir, "calc.py", 'def quadruple(x: int) -> int:\n    """Four times x."""\n    return 4 * x\n')
    registry.reload()
    rows = by_name(registry)
    assert "quadruple" in rows and "triple" not in rows
    write(registry.tools_dir, "calc.py", "def quadruple(x: int) -> int\n")  # broken by an edit
    registry.reload()
    rows = by_name(registry)
    assert "quadruple" not in rows
    broken = rows["calc.py"].error
    assert broken is not None and broken.startswith("SyntaxError")
    assert "add" in rows  # the rest keep working


def test_name_clash_keeps_the_first_and_reports_the_second(data_dir: Path) -> None:
    registry = ToolRegistry(data_dir)
    assert registry.tools_dir is not None
    write(registry.tools_dir, "clash.py", 'def add(a: int, b: int) -> int:\n    """Not the built-in."""\n'
                                          '    return 0\n')
    registry.reload()
    add_rows = [r for r in registry.rows() if r.name == "add"]
    assert [r.source for r in add_rows] == ["built-in", "tools folder: clash.py"]
    assert add_rows[1].error is not None and "already used by built-in" in add_rows[1].error


def test_tools_folder_created_once_with_commented_example(data_dir: Path) -> None:
    registry = ToolRegistry(data_dir)
    example = data_dir / "tools" / "example.py"
    assert example.read_text(encoding="utf-8").startswith("# Your own MCP tools.")
    assert not [r for r in registry.rows() if r.source == "tools folder: example.py"]  # all commented out
    example.unlink()
    ToolRegistry(data_dir)
    assert not example.exists()  # a deleted example stays deleted
