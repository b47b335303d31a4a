"""Sample plugin: two tools, and a helper that must not become one."""

from __future__ import annotations

from os.path import join  # imported, not defined here: never a tool


def shout(text: str) -> str:
    """Return the text in capital letters."""
    return text.upper() + "!"


def reverse_words(text: str) -> str:
    """Reverse the order of the words in a sentence."""
    return " ".join(reversed(text.split()))


def _helper() -> str:
    return join("a", "b")
