"""The store: hashes only, one-time codes, refresh rotation with reuse detection, schema versioning."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.store.db import DB_NAME, SCHEMA_VERSION, SchemaTooNewError
from app.store.store import ConsentAlreadyAnsweredError, Store, hash_secret


def _approve(store: Store, nonce: str = "n1") -> str:
    store.add_client("c1", "App", ["http://127.0.0.1/cb"], {"client_id": "c1"})
    return store.approve(nonce=nonce, client_id="c1", scopes=["mcp"], resource=None,
                         redirect_uri="http://127.0.0.1/cb", redirect_explicit=True, code_challenge="x", code_ttl=60)


def test_only_hashes_are_stored(data_dir: Path) -> None:
    store = Store(data_dir)
    code = _approve(store)
    row = store.load_code(code)
    assert row is not None
    issued = store.redeem_code(row.code_hash, 3600, 7200)
    assert issued is not None
    store.close()
    raw = (data_dir / DB_NAME).read_bytes() + b"".join(p.read_bytes() for p in data_dir.glob(f"{DB_NAME}-*"))
    for secret in (code, issued.access_token, issued.refresh_token):
        assert secret.encode() not in raw
    assert hash_secret(issued.access_token).encode() in raw


def test_code_is_single_use_and_replay_revokes_grant(data_dir: Path) -> None:
    store = Store(data_dir)
    row = store.load_code(_approve(store))
    assert row is not None
    issued = store.redeem_code(row.code_hash, 3600, 7200)
    assert issued is not None
    assert store.redeem_code(row.code_hash, 3600, 7200) is None
    check = store.check_token(issued.access_token)
    assert check is not None and check.revoked


def test_consent_answered_once(data_dir: Path) -> None:
    store = Store(data_dir)
    _approve(store, nonce="same")
    with pytest.raises(ConsentAlreadyAnsweredError):
        store.deny(nonce="same", client_id="c1")


def test_refresh_rotates_and_reuse_revokes_everything(data_dir: Path) -> None:
    store = Store(data_dir)
    row = store.load_code(_approve(store))
    assert row is not None
    first = store.redeem_code(row.code_hash, 3600, 7200)
    assert first is not None
    second = store.rotate_refresh(hash_secret(first.refresh_token), ["mcp"], 3600, 7200)
    assert second is not None and second.refresh_token != first.refresh_token
    assert store.rotate_refresh(hash_secret(first.refresh_token), ["mcp"], 3600, 7200) is None
    for token in (second.access_token, second.refresh_token):
        check = store.check_token(token)
        assert check is not None and check.revoked


def test_revocation_seen_by_another_connection(data_dir: Path) -> None:
    writer, reader = Store(data_dir), Store(data_dir)
    row = writer.load_code(_approve(writer))
    assert row is not None
    issued = writer.redeem_code(row.code_hash, 3600, 7200)
    assert issued is not None
    before = reader.check_token(issued.access_token)
    assert before is not None and not before.revoked
    writer.revoke_all()
    after = reader.check_token(issued.access_token)
    assert after is not None and after.revoked


def test_schema_version_and_newer_file_refused(data_dir: Path) -> None:
    Store(data_dir).close()
    conn = sqlite3.connect(data_dir / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError):
        Store(data_dir)


def test_many_openers_of_a_new_file_all_succeed(tmp_path: Path) -> None:
    """The server and the GUI's reader may create the database at the same moment."""
    import threading

    for round_ in range(15):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def open_store(
            folder: Path = folder, start: threading.Barrier = start, errors: list[BaseException] = errors
        ) -> None:
            start.wait()
            try:
                Store(folder).close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
