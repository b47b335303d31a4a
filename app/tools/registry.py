"""ToolRegistry: every tool from every source, what the user turned on, and who may see what.

The GUI (Tools tab), the server (tools/list and tools/call) and the CLI all go through this one
object. It is thread-safe: readers get an immutable snapshot, and every change (a toggle, a new
folder, a reload) tells the subscribers, which the server turns into notifications/tools/list_changed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool

from app.tools.builtins import builtin_tools
from app.tools.choices import FILE_NAME, ToolsState
from app.tools.groups import GROUPS, allowed
from app.tools.loader import ENTRY_POINT_GROUP, Discovered, PluginProblem, load_entry_points, load_folder
from app.tools.policy import POLICIES
from app.tools.spec import ToolSpec
from app.tools.workspace import ensure_tools_folder, folder_signature

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolRow:
    """One line of the Tools tab: a tool, or a plugin (or function) that failed to load."""

    name: str
    description: str
    source: str
    group: str
    scope: str | None
    enabled: bool
    error: str | None = None  # set for what failed; such a row cannot be turned on
    policy: str = "allow"  # allow, ask or block (app/tools/policy.py)
    default_policy: str = "allow"  # what the tool's annotations make it before the user chooses


@dataclass(frozen=True)
class _Snapshot:
    tools: dict[str, ToolSpec]
    problems: tuple[PluginProblem, ...]


class ToolRegistry:
    """All tools and the user's choices about them. `ToolRegistry(data_dir)` is what the app uses."""

    def __init__(self, data_dir: Path | None = None, *, plugins: bool = True,
                 entry_point_group: str = ENTRY_POINT_GROUP) -> None:
        self.data_dir = data_dir
        self.tools_dir = data_dir / "tools" if data_dir is not None else None
        self._plugins = plugins
        self._entry_point_group = entry_point_group
        self._lock = threading.RLock()
        self._reload_lock = threading.Lock()
        self._listeners: dict[object, Callable[[], None]] = {}
        self._state = ToolsState.load(data_dir) if data_dir is not None else ToolsState()
        self._snapshot = _Snapshot({}, ())
        # withheld() answers per scope set, valid for one (state, snapshot) pair: both are replaced, never edited
        self._withheld: tuple[ToolsState, _Snapshot, dict[frozenset[str], tuple[str, ...]]] | None = None
        self._signature: object = None
        if self.tools_dir is not None:
            ensure_tools_folder(self.tools_dir)
        self.reload(notify=False)

    # -- reading ----------------------------------------------------------------------------------

    def _is_enabled(self, spec: ToolSpec) -> bool:
        return self._state.enabled.get(spec.name, spec.default_enabled)

    def _policy(self, spec: ToolSpec) -> str:
        return self._state.policies.get(spec.name, spec.default_policy)

    def spec(self, name: str) -> ToolSpec | None:
        """The tool called `name`, on or off; None when there is none."""
        return self._snapshot.tools.get(name)

    def is_enabled(self, name: str) -> bool:
        """True when a tool of that name exists and is turned on."""
        with self._lock:
            spec = self._snapshot.tools.get(name)
            return spec is not None and self._is_enabled(spec)

    def policy(self, name: str) -> str:
        """Allow, ask or block for a tool (KeyError: no such tool)."""
        with self._lock:
            spec = self._snapshot.tools.get(name)
            if spec is None:
                raise KeyError(name)
            return self._policy(spec)

    def rows(self) -> list[ToolRow]:
        """Every tool, then every problem: built-ins first, then packages, then the tools folder."""
        with self._lock:
            snap = self._snapshot
            rows = [ToolRow(s.name, s.description, s.source, s.group, GROUPS[s.group].scope, self._is_enabled(s),
                            None, self._policy(s), s.default_policy)
                    for s in snap.tools.values()]
        for p in snap.problems:
            rows.append(ToolRow(p.name, "", p.source, "plugins", GROUPS["plugins"].scope, False, p.error))
        return rows

    def problems(self) -> list[PluginProblem]:
        """Plugins (or functions) that could not be loaded."""
        return list(self._snapshot.problems)

    def visible(self, scopes: frozenset[str]) -> list[Tool]:
        """The tools a token with `scopes` may list: turned on, and its group's scope granted."""
        with self._lock:
            return [s.tool for s in self._snapshot.tools.values() if self._is_enabled(s) and allowed(s.group, scopes)]

    def withheld(self, scopes: frozenset[str]) -> tuple[str, ...]:
        """Names of the tools that are turned on but whose group a token with `scopes` lacks.

        Asked on every call (app/server/step_up.py), so the answer is kept until a choice or the tools change.
        """
        with self._lock:
            state, snap, cached = self._state, self._snapshot, self._withheld
            if cached is None or cached[0] is not state or cached[1] is not snap or len(cached[2]) >= 64:
                cached = self._withheld = (state, snap, {})
            names = cached[2].get(scopes)
            if names is None:
                names = cached[2][scopes] = tuple(s.name for s in snap.tools.values()
                                                  if self._is_enabled(s) and not allowed(s.group, scopes))
            return names

    def lookup(self, name: str, scopes: frozenset[str]) -> Tool:
        """The tool to call, or ToolError with a message the client (and its user) can act on."""
        with self._lock:
            spec = self._snapshot.tools.get(name)
            on = spec is not None and self._is_enabled(spec)
        if spec is None:
            raise ToolError(f"Unknown tool: {name}")
        if not on:
            raise ToolError(f"The tool {name!r} is turned off in MCP Tray")
        if not allowed(spec.group, scopes):
            group = GROUPS[spec.group]
            raise ToolError(f"The tool {name!r} needs the permission {group.scope!r} ({group.title}), "
                            "which this connection was not granted; connect again and allow it")
        return spec.tool

    def input_schema(self, name: str) -> dict[str, object] | None:
        """The JSON schema of a tool's arguments (for the SDK's header checks), if it exists."""
        spec = self._snapshot.tools.get(name)
        return None if spec is None else spec.tool.parameters

    def folders(self) -> list[Path]:
        """The folders shared with the folder tools."""
        with self._lock:
            return [Path(f) for f in self._state.folders]

    # -- changing ---------------------------------------------------------------------------------

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Turn a tool on or off, remembered in tools.json (KeyError: no such tool; OSError: cannot save)."""
        with self._lock:
            spec = self._snapshot.tools.get(name)
            if spec is None:
                raise KeyError(name)
            if self._is_enabled(spec) is enabled:
                return
            self._commit(ToolsState({**self._state.enabled, name: enabled}, list(self._state.folders),
                                    dict(self._state.policies)))
        log.info("tool %s turned %s", name, "on" if enabled else "off")
        self._notify()

    def set_policy(self, name: str, policy: str) -> None:
        """Allow, ask or block a tool, remembered in tools.json (KeyError: no such tool; ValueError: no such
        policy; OSError: cannot save). Takes effect on the tool's next call."""
        if policy not in POLICIES:
            raise ValueError(f"{policy!r} is not one of {', '.join(POLICIES)}")
        with self._lock:
            spec = self._snapshot.tools.get(name)
            if spec is None:
                raise KeyError(name)
            if self._policy(spec) == policy:
                return
            self._commit(ToolsState(dict(self._state.enabled), list(self._state.folders),
                                    {**self._state.policies, name: policy}))
        log.info("tool %s policy: %s", name, policy)
        self._notify()

    def enable(self, name: str) -> None:
        """Turn a tool on."""
        self.set_enabled(name, True)

    def disable(self, name: str) -> None:
        """Turn a tool off."""
        self.set_enabled(name, False)

    def set_folders(self, folders: Iterable[Path | str]) -> None:
        """Share exactly these folders (absolute paths; duplicates dropped). ValueError for a relative path."""
        chosen: list[str] = []
        for folder in folders:
            path = Path(folder).expanduser()
            if not path.is_absolute():
                raise ValueError(f"{folder} is not an absolute path")
            if str(path) not in chosen:
                chosen.append(str(path))
        with self._lock:
            if chosen == self._state.folders:
                return
            self._commit(ToolsState(dict(self._state.enabled), chosen, dict(self._state.policies)))
        self._notify()

    def add_folder(self, folder: Path | str) -> None:
        """Share one more folder."""
        self.set_folders([*self.folders(), Path(folder)])

    def remove_folder(self, folder: Path | str) -> None:
        """Stop sharing a folder."""
        self.set_folders([f for f in self.folders() if f != Path(folder)])

    def reload(self, notify: bool = True) -> None:
        """Load every source again: entry points, the tools folder, and tools.json."""
        # Plugin code runs while loading, and may be slow: readers keep the old snapshot meanwhile
        # (only reloads wait for each other).
        with self._reload_lock:
            signature = self._current_signature()
            found = Discovered(tools=builtin_tools(self.folders))
            if self._plugins:
                for more in (load_entry_points(self._entry_point_group),
                             load_folder(self.tools_dir) if self.tools_dir is not None else Discovered()):
                    found.tools.extend(more.tools)
                    found.problems.extend(more.problems)
            tools: dict[str, ToolSpec] = {}
            problems = list(found.problems)
            for spec in found.tools:
                taken = tools.get(spec.name)
                if taken is not None:
                    problems.append(PluginProblem(spec.source, spec.name,
                                                  f"the name {spec.name!r} is already used by {taken.source}"))
                    continue
                tools[spec.name] = spec
            with self._lock:
                # Read here, not before loading, so a toggle made meanwhile is not lost.
                if self.data_dir is not None:
                    self._state = ToolsState.load(self.data_dir)
                self._signature = signature
                self._snapshot = _Snapshot(tools, tuple(problems))
        log.info("tools loaded: %d, problems: %d", len(tools), len(problems))
        if notify:
            self._notify()

    def reload_if_changed(self) -> bool:
        """Reload when a file in the tools folder or tools.json changed on disk (edited by hand, or by
        another process); True when it did."""
        if self._current_signature() == self._signature:
            return False
        self.reload()
        return True

    def _current_signature(self) -> object:
        if self.data_dir is None:
            return None
        return folder_signature(self.tools_dir, self.data_dir / FILE_NAME)

    def _commit(self, state: ToolsState) -> None:
        """Save first, then adopt: when tools.json cannot be written (OSError), nothing changes."""
        if self.data_dir is not None:
            state.save(self.data_dir)
        self._state = state
        self._signature = self._current_signature()  # our own write is not a change on disk

    # -- listeners --------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener()` after every change (from whichever thread made it); returns an unsubscribe."""
        token = object()
        with self._lock:
            self._listeners[token] = listener

        def unsubscribe() -> None:
            """Stop calling the listener (safe to call twice)."""
            with self._lock:
                self._listeners.pop(token, None)

        return unsubscribe

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners.values())
        for listener in listeners:
            try:
                listener()
            except Exception:  # one broken listener must not stop the others
                log.exception("tool change listener failed")
