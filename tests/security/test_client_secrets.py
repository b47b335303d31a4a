"""Secrets of confidential clients are kept as hashes only, and /token and /revoke still check them.

Another local account (or a backup, or a stolen laptop image) that reads the database must not
find a secret it can present; the registration response is the one place the secret appears.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.server.runner import ServerRunner
from app.store.db import DB_NAME, MIGRATIONS
from app.store.store import Store, hash_secret
from tests.conftest import parts_of, start_runner
from tests.support.consent import answer_consent, query_of
from tests.support.oauth import REDIRECT, authorize_url, pkce_pair
from tests.support.postgres import everything_stored


def register_confidential(base: str, method: str) -> dict[str, Any]:
    """Register a client that authenticates with a secret; the whole RFC 7591 response."""
    answer = httpx.post(f"{base}/register", json={
        "client_name": f"confidential ({method})", "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": method, "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"]}, timeout=10)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["token_endpoint_auth_method"] == method and body["client_secret"]
    return body


def database_bytes(data_dir: Path) -> bytes:
    """Everything on disk of the database: the file, its write-ahead log and shared memory."""
    return everything_stored(data_dir)


def code_for(base: str, client_id: str) -> tuple[str, str]:
    """An approved authorization code and its PKCE verifier."""
    verifier, challenge = pkce_pair()
    query = query_of(answer_consent(authorize_url(base, client_id, challenge)))
    return query["code"], verifier


def token_request(base: str, body: dict[str, Any], data: dict[str, str], secret: str | None) -> httpx.Response:
    """POST /token authenticated the way the client registered (secret None: left out)."""
    data = {**data, "client_id": body["client_id"]}
    headers = {}
    if secret is not None and body["token_endpoint_auth_method"] == "client_secret_post":
        data["client_secret"] = secret
    elif secret is not None:
        pair = f"{body['client_id']}:{secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    return httpx.post(f"{base}/token", data=data, headers=headers, timeout=10)


def test_the_database_holds_no_client_secret_and_no_response_shows_its_hash(
    server: ServerRunner, data_dir: Path
) -> None:
    body = register_confidential(server.base_url, "client_secret_post")
    secret, client_id = body["client_secret"], body["client_id"]
    assert secret.encode() not in database_bytes(data_dir)  # on main: in info_json, in plain text
    store = parts_of(server).store
    assert store.client_secret_hash(client_id) == hash_secret(secret)
    assert (store.client_info(client_id) or {}).get("client_secret") is None
    code, verifier = code_for(server.base_url, client_id)
    answer = token_request(server.base_url, body, {"grant_type": "authorization_code", "code": code,
                                                   "code_verifier": verifier, "redirect_uri": REDIRECT}, secret)
    assert answer.status_code == 200, answer.text
    assert hash_secret(secret) not in answer.text and hash_secret(secret) not in json.dumps(body)


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_token_and_revoke_check_the_secret_against_its_hash(server: ServerRunner, method: str) -> None:
    base = server.base_url
    body = register_confidential(base, method)
    secret = body["client_secret"]
    code, verifier = code_for(base, body["client_id"])
    exchange = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": REDIRECT}
    for wrong in (None, "not-the-secret", hash_secret(secret)):  # the stored hash is no password either
        refused = token_request(base, body, exchange, wrong)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text
    tokens = token_request(base, body, exchange, secret)
    assert tokens.status_code == 200, tokens.text
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]}
    assert token_request(base, body, refresh, "wrong").status_code == 401
    renewed = token_request(base, body, refresh, secret)
    assert renewed.status_code == 200, renewed.text
    access = renewed.json()["access_token"]

    def revoke(with_secret: str) -> httpx.Response:
        data = {"token": access, "client_id": body["client_id"]}
        headers = {}
        if method == "client_secret_post":
            data["client_secret"] = with_secret
        else:
            pair = f"{body['client_id']}:{with_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return httpx.post(f"{base}/revoke", data=data, headers=headers, timeout=10)

    assert revoke("wrong").status_code == 401
    assert (check := parts_of(server).store.check_token(access)) is not None and check.revoked is False
    assert revoke(secret).status_code == 200
    assert (check := parts_of(server).store.check_token(access)) is not None and check.revoked is True


@pytest.mark.sqlite_only  # on PostgreSQL: tests/store/test_postgres.py
def test_plaintext_secrets_of_an_old_database_are_hashed_by_the_migration(data_dir: Path) -> None:
    # A database as schema 1 left it: the secret inside the client's record.
    conn = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    conn.executescript(first)
    secret = "s3cret-" + "a" * 57
    info = {"client_id": "old-client", "client_secret": secret, "client_secret_expires_at": 0,
            "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "client_name": "Old confidential client"}
    conn.execute("INSERT INTO clients (client_id, client_name, redirect_uris, info_json, created_at)"
                 " VALUES (?, ?, ?, ?, ?)",  # registered just now: not yet a stale registration to prune
                 ("old-client", "Old", json.dumps([REDIRECT]), json.dumps(info), time.time()))
    conn.execute("PRAGMA user_version = 1")
    conn.close()

    store = Store(data_dir)
    assert store.client_secret_hash("old-client") == hash_secret(secret)
    assert (store.client_info("old-client") or {})["client_secret"] is None
    store.db.conn.execute("VACUUM")  # drop the old page contents, so the file shows what is stored now
    store.close()
    assert secret.encode() not in database_bytes(data_dir)

    runner = start_runner(data_dir)
    try:  # the client keeps working with the secret it was given
        def revoke(presented: str) -> int:
            return httpx.post(f"{runner.base_url}/revoke", data={
                "token": "unknown", "client_id": "old-client", "client_secret": presented}, timeout=10).status_code

        assert (revoke("wrong"), revoke(secret)) == (401, 200)
    finally:
        runner.close()
