"""A plugin function exposed through its own entry point."""

from __future__ import annotations


def count_words(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())
