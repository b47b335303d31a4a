"""A refresh's answer kept for its retry window, sealed with a key only the old refresh token gives.

When a refresh token is spent, the new pair is kept so that a client whose answer was lost can ask
again with the same token and get the same pair. The store holds tokens as hashes only, and this
must not change that: the pair is encrypted (AES-256-GCM) under a key derived (HKDF-SHA256) from the
spent token itself, which is never stored. Whoever reads the database learns nothing usable; only
the client that still holds the spent token can open it, and only for as long as the window lasts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"mcp-tray refresh retry v1"
NONCE_BYTES = 12


@dataclass(frozen=True)
class SealedPair:
    """What a retry gets back: the pair minted by the refresh it repeats."""

    access_token: str
    refresh_token: str
    access_expires_at: float
    scopes: tuple[str, ...]


def _key(old_token: str, token_hash: str) -> AESGCM:
    # The token carries 256 random bits, so HKDF needs no secret salt; the row's hash binds the key to it.
    derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=token_hash.encode(), info=INFO)
    return AESGCM(derive.derive(old_token.encode()))


def seal(old_token: str, token_hash: str, pair: SealedPair) -> bytes:
    """The pair encrypted under a key from `old_token` (nonce + ciphertext + tag)."""
    plain = json.dumps({"a": pair.access_token, "r": pair.refresh_token, "x": pair.access_expires_at,
                        "s": list(pair.scopes)}).encode()
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _key(old_token, token_hash).encrypt(nonce, plain, token_hash.encode())


def unseal(old_token: str, token_hash: str, box: bytes) -> SealedPair | None:
    """The pair, or None when `old_token` is not the key (or the box was altered)."""
    if len(box) <= NONCE_BYTES:
        return None
    try:
        plain = _key(old_token, token_hash).decrypt(box[:NONCE_BYTES], box[NONCE_BYTES:], token_hash.encode())
    except InvalidTag:
        return None
    data = json.loads(plain)
    return SealedPair(str(data["a"]), str(data["r"]), float(data["x"]), tuple(str(s) for s in data["s"]))
