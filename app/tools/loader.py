"""Find plugin tools: Python files in the tools folder, and installed packages (entry points `mcp_tray.tools`).

A plugin that fails (syntax error, import error, a function that cannot be a tool) becomes a
`PluginProblem` the user sees in the Tools tab; it never stops the others or the server.

Plugins run as the owner, so the tools folder and each file in it must be the owner's and
writable by nobody else (as ssh treats authorized_keys). A folder that fails this is refused
whole and a file that fails it is refused alone, each with the command that fixes it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from app.permissions import UnsafePathError, check_safe
from app.tools.decorator import ATTRIBUTE
from app.tools.groups import PLUGINS
from app.tools.spec import BadToolError, ToolSpec, make_spec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mcp_tray.tools"
FOLDER_MODULE_PREFIX = "mcp_tray_tools_folder"


@dataclass(frozen=True)
class PluginProblem:
    """Why a plugin, or one function of it, is not available."""

    source: str
    name: str  # the function, or the plugin's file / entry point when the whole plugin failed
    error: str


@dataclass
class Discovered:
    """What one discovery pass found."""

    tools: list[ToolSpec] = field(default_factory=list)
    problems: list[PluginProblem] = field(default_factory=list)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"


def public_functions(module: ModuleType) -> list[Callable[..., Any]]:
    """Public top-level functions defined in `module` itself (not imported into it), in source order."""
    found: list[Callable[..., Any]] = []
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module.__name__:
            continue
        if hasattr(value, ATTRIBUTE) and getattr(value, ATTRIBUTE) is None:
            continue  # marked with @skip
        found.append(value)
    return found


def _add_functions(found: Discovered, functions: Iterable[Callable[..., Any]], source: str) -> None:
    for fn in functions:
        try:
            found.tools.append(make_spec(fn, group=PLUGINS, source=source))
        except BadToolError as exc:
            found.problems.append(PluginProblem(source, getattr(fn, "__name__", repr(fn)), str(exc)))


def _load_file(path: Path) -> ModuleType:
    name = f"{FOLDER_MODULE_PREFIX}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path.name}")
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs so dataclasses and pickling inside the plugin can find their module.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_folder(folder: Path) -> Discovered:
    """Every `*.py` file directly in `folder` (names starting with `_` are skipped), freshly executed."""
    found = Discovered()
    if not folder.is_dir():
        return found
    try:
        check_safe(folder)
    except (UnsafePathError, OSError) as exc:
        error = exc.refusing("load plugins from") if isinstance(exc, UnsafePathError) else _describe(exc)
        log.warning("mcp-tray: %s", error)
        found.problems.append(PluginProblem("tools folder", str(folder), error))
        return found
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        source = f"tools folder: {path.name}"
        try:
            check_safe(path)
        except (UnsafePathError, OSError) as exc:
            error = exc.refusing("load the plugin") if isinstance(exc, UnsafePathError) else _describe(exc)
            log.warning("mcp-tray: %s", error)
            found.problems.append(PluginProblem(source, path.name, error))
            continue
        try:
            module = _load_file(path)
        except (Exception, SystemExit) as exc:  # a plugin's own bug: show it, keep going
            log.warning("tool plugin %s failed to load: %s", path, _describe(exc))
            found.problems.append(PluginProblem(source, path.name, _describe(exc)))
            continue
        _add_functions(found, public_functions(module), source)
    return found


def _entry_point_functions(loaded: object) -> list[Callable[..., Any]]:
    if isinstance(loaded, ModuleType):
        return public_functions(loaded)
    if callable(loaded):
        return [loaded]
    if isinstance(loaded, list | tuple):
        return [f for f in loaded if callable(f)]
    raise TypeError(f"the entry point gives a {type(loaded).__name__}; expected a module, a function "
                    "or a list of functions")


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> Discovered:
    """Tools of installed packages that declare entry points in `group`."""
    found = Discovered()
    importlib.invalidate_caches()  # so a package installed while we run is found on Reload
    for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
        dist = getattr(ep.dist, "name", None) or ep.module
        source = f"package {dist} ({ep.name})"
        try:
            functions = _entry_point_functions(ep.load())
        except (Exception, SystemExit) as exc:
            log.warning("tool plugin entry point %s failed to load: %s", ep.value, _describe(exc))
            found.problems.append(PluginProblem(source, ep.name, _describe(exc)))
            continue
        _add_functions(found, functions, source)
    return found
