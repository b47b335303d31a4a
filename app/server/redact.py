"""The argument summary the audit log keeps: secrets removed, long values cut, file paths kept.

A value is removed when its field's name looks like a secret (token, password, key, ...) or when
the value itself looks like a credential (a bearer token, an API key, a JWT). Strings are cut at
LONG characters, except path-like fields, which keep up to PATH_LONG so the log says which file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
LONG = 200
PATH_LONG = 1024
MAX_ITEMS = 20
MAX_DEPTH = 4
MAX_SUMMARY = 4000

_SECRET_NAME = re.compile(
    r"(secret|token|passw|passphrase|pwd|api.?key|private.?key|access.?key|^key$|.[_-]key$|"
    r"credential|cookie|auth|session.?id|signature|otp|pin$)", re.IGNORECASE)
_SECRET_VALUE = re.compile(
    r"^(bearer\s+\S+|mcp[ar]t_\S+|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-\S+|"
    r"AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.\S*)$", re.IGNORECASE)
_PATH_NAME = re.compile(r"(path|file|folder|dir|directory|filename)s?$", re.IGNORECASE)


def secret_name(name: str) -> bool:
    """True for a field name that looks like it holds a secret."""
    return bool(_SECRET_NAME.search(name))


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit} chars)"


def _clean(value: Any, name: str, depth: int) -> Any:
    if isinstance(value, str):
        if _SECRET_VALUE.match(value.strip()):
            return REDACTED
        return _cut(value, PATH_LONG if _PATH_NAME.search(name) else LONG)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = f"+{len(value) - MAX_ITEMS} more fields"
                break
            key = str(k)
            out[key] = REDACTED if secret_name(key) else _clean(v, key, depth + 1)
        return out
    if isinstance(value, list | tuple):
        items = [_clean(v, name, depth + 1) for v in list(value)[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… +{len(value) - MAX_ITEMS} more")
        return items
    return _cut(repr(value), LONG)


def summarize(arguments: Mapping[str, Any] | None) -> str:
    """A JSON summary of a call's arguments that is safe to keep."""
    if not arguments:
        return "{}"
    text = json.dumps(_clean(dict(arguments), "", 0), ensure_ascii=False, separators=(", ", ": "))
    return _cut(text, MAX_SUMMARY)
