"""Counted nouns for messages: "1 sign-in", "3 sign-ins", never "sign-in(s)"."""

from __future__ import annotations

IRREGULAR = {"entry": "entries", "was": "were", "is": "are"}


def plural(count: int, word: str, many: str | None = None) -> str:
    """`count` and `word`, in the plural unless the count is one ("2 tokens", "1 file")."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {many or IRREGULAR.get(word) or word + 's'}"
