"""The one hash the store keeps instead of a secret (tokens, codes, client secrets)."""

from __future__ import annotations

import hashlib


def hash_secret(value: str) -> str:
    """SHA-256 hex digest of a token, code or client secret.

    Every value hashed here is at least 256 random bits minted by us, so a plain SHA-256 cannot be
    reversed by guessing; a slow password hash would only cost time on every request.
    """
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
