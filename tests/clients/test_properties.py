"""Property-based: for any JSON object with any server map, writing and removing touch only our entry."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clients import claude_desktop as cd
from app.clients import cursor, vscode
from tests.clients.helpers import backups, canon, load, without

URL = "http://127.0.0.1:8787/mcp"
NAME = "mcp-tray"

keys = st.one_of(st.sampled_from([NAME, "mcpServers", "servers", "", "a", "é"]), st.text(max_size=8))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10),
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=20)
server_maps = st.dictionaries(keys, values, max_size=5)
CONTAINERS = {"claude": "mcpServers", "cursor": "mcpServers", "vscode": "servers"}


@st.composite
def configs(draw: st.DrawFn, container: str) -> dict[str, Any]:
    """A JSON object with, maybe, a server map (possibly already holding an entry of ours) in any position."""
    doc: dict[str, Any] = draw(st.dictionaries(keys.filter(lambda k: k != container), values, max_size=5))
    if draw(st.booleans()):
        servers = draw(server_maps)
        items = list(doc.items())
        at = draw(st.integers(0, len(items)))
        doc = dict([*items[:at], (container, servers), *items[at:]])
    return doc


def writer(client: str) -> Any:
    return {"claude": cd, "cursor": cursor, "vscode": vscode}[client]


def expected_after_write(doc: dict[str, Any], container: str, entry: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out.setdefault(container, {})[NAME] = entry  # an existing key keeps its place; a new one goes last
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), client=st.sampled_from(sorted(CONTAINERS)), indent=st.sampled_from([None, 2, 4, "\t"]))
def test_write_then_remove_touches_only_our_entry(data: st.DataObject, client: str, indent: Any) -> None:
    container = CONTAINERS[client]
    doc = data.draw(configs(container))
    module = writer(client)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        original = json.dumps(doc, indent=indent, ensure_ascii=False).encode("utf-8")
        path.write_bytes(original)

        written = module.write_entry(URL, path)
        after = load(path)
        assert canon(after) == canon(expected_after_write(doc, container, written.entry))
        if written.changed:
            assert written.backup is not None and written.backup.read_bytes() == original
        else:  # our entry was already exactly right: not one byte changed
            assert path.read_bytes() == original and backups(path) == []

        again = module.write_entry(URL, path)
        assert not again.changed and canon(load(path)) == canon(after)

        removed = module.remove_entry(path)
        assert removed.changed
        restored = without(doc, container, NAME)
        restored.setdefault(container, {})  # the map we created to hold our entry stays, empty
        assert canon(load(path)) == canon(restored)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), client=st.sampled_from(sorted(CONTAINERS)))
def test_remove_alone_restores_the_original_modulo_our_entry(data: st.DataObject, client: str) -> None:
    container = CONTAINERS[client]
    doc = data.draw(configs(container))
    had_ours = NAME in doc.get(container, {})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        original = json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")
        path.write_bytes(original)

        result = writer(client).remove_entry(path)

        assert result.changed is had_ours
        assert canon(load(path)) == canon(without(doc, container, NAME))
        if not had_ours:
            assert path.read_bytes() == original and backups(path) == []
