"""The store: hashes only, one-time codes, refresh rotation with reuse detection, schema versioning."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from app.store.approvals import PER_CLIENT_PENDING
from app.store.db import DB_NAME, SCHEMA_VERSION, SchemaTooNewError, database_url
from app.store.rows import IssuedTokens
from app.store.store import Store, hash_secret
from app.store.token_rules import RETRY_WINDOW, Reason, Refused
from tests.support.postgres import everything_stored, set_schema_version


def _pending(store: Store, client_id: str = "c1") -> str:
    if store.client_info(client_id) is None:
        store.add_client(client_id, "App", ["http://127.0.0.1/cb"], {"client_id": client_id})
    return store.approvals.create(client_id=client_id, request={"code_challenge": "x", "redirect_explicit": True},
                                scopes=["mcp"], redirect_uri="http://127.0.0.1/cb").approval_id


def _approve(store: Store, lifetime: float | None = None) -> str:
    approval_id = _pending(store)
    assert store.approvals.answer(approval_id, approve=True, scopes=["mcp"], lifetime=lifetime) is not None
    delivery = store.approvals.deliver(approval_id, 60)
    assert delivery is not None and delivery.code is not None
    return delivery.code


def test_only_hashes_are_stored(data_dir: Path) -> None:
    store = Store(data_dir)
    code = _approve(store)
    row = store.load_code(code)
    assert row is not None
    issued = store.redeem_code(row.code_hash, 3600, 7200)
    assert isinstance(issued, IssuedTokens)
    store.close()
    raw = everything_stored(data_dir)
    for secret in (code, issued.access_token, issued.refresh_token):
        assert secret.encode() not in raw
    assert hash_secret(issued.access_token).encode() in raw


def test_code_is_single_use_and_replay_revokes_grant(data_dir: Path) -> None:
    store = Store(data_dir)
    row = store.load_code(_approve(store))
    assert row is not None
    issued = store.redeem_code(row.code_hash, 3600, 7200)
    assert isinstance(issued, IssuedTokens)
    assert store.redeem_code(row.code_hash, 3600, 7200) == Refused(Reason.REPLAYED)
    check = store.check_token(issued.access_token)
    assert check is not None and check.revoked


def test_a_request_is_answered_once_and_delivered_once(data_dir: Path) -> None:
    store = Store(data_dir)
    approval_id = _pending(store)
    assert store.approvals.answer(approval_id, approve=False) is not None
    assert store.approvals.answer(approval_id, approve=True, scopes=["mcp"]) is None  # the first answer stands
    delivery = store.approvals.deliver(approval_id, 60)
    assert delivery is not None and delivery.status == "denied" and delivery.code is None
    approved = _pending(store)
    store.approvals.answer(approved, approve=True, scopes=["mcp"])
    first, second = store.approvals.deliver(approved, 60), store.approvals.deliver(approved, 60)
    assert first is not None and first.code and second is not None and second.status == "delivered"
    assert second.code is None


def test_answers_by_match_code_and_caps_per_client(data_dir: Path) -> None:
    store = Store(data_dir)
    ids = [_pending(store) for _ in range(PER_CLIENT_PENDING + 2)]
    waiting = store.approvals.waiting()
    assert [a.approval_id for a in waiting] == ids[-PER_CLIENT_PENDING:]
    newest = waiting[-1]
    found = store.approvals.get(newest.match_code.lower())
    assert found is not None and found.approval_id == newest.approval_id
    oldest = store.approvals.get(ids[0])
    assert oldest is not None and oldest.status == "superseded"


def test_a_grant_with_a_lifetime_caps_its_tokens(data_dir: Path) -> None:
    store = Store(data_dir)
    row = store.load_code(_approve(store, lifetime=60))
    assert row is not None
    issued = store.redeem_code(row.code_hash, 3600, 7200)
    assert isinstance(issued, IssuedTokens) and issued.access_expires_in <= 60
    assert all(t.expires_at <= row.expires_at + 60 for t in store.list_tokens())


def test_refresh_rotates_and_reuse_revokes_everything(data_dir: Path) -> None:
    store = Store(data_dir)
    row = store.load_code(_approve(store))
    assert row is not None
    first = store.redeem_code(row.code_hash, 3600, 7200)
    assert isinstance(first, IssuedTokens)
    second = store.rotate_refresh(first.refresh_token, "c1", ["mcp"], 3600, 7200)
    assert isinstance(second, IssuedTokens) and second.refresh_token != first.refresh_token
    later = time.time() + RETRY_WINDOW + 1
    assert store.rotate_refresh(first.refresh_token, "c1", ["mcp"], 3600, 7200, now=later) == Refused(Reason.REPLAYED)
    for token in (second.access_token, second.refresh_token):
        check = store.check_token(token)
        assert check is not None and check.revoked


def test_revocation_seen_by_another_connection(data_dir: Path) -> None:
    writer, reader = Store(data_dir), Store(data_dir)
    row = writer.load_code(_approve(writer))
    assert row is not None
    issued = writer.redeem_code(row.code_hash, 3600, 7200)
    assert isinstance(issued, IssuedTokens)
    before = reader.check_token(issued.access_token)
    assert before is not None and not before.revoked
    writer.revoke_all()
    after = reader.check_token(issued.access_token)
    assert after is not None and after.revoked


@pytest.mark.sqlite_only
def test_schema_version_and_newer_file_refused(data_dir: Path) -> None:
    Store(data_dir).close()
    conn = sqlite3.connect(data_dir / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError):
        Store(data_dir)


@pytest.mark.postgres_only
def test_postgres_schema_version_and_newer_schema_refused(data_dir: Path) -> None:
    url = database_url()
    assert url is not None
    store = Store(data_dir)
    assert store.db.kind == "postgres" and store.db.url == url
    assert store.db.conn.execute("SELECT version FROM mcp_tray_schema").fetchone()["version"] == SCHEMA_VERSION
    store.close()
    set_schema_version(url, SCHEMA_VERSION + 1)
    with pytest.raises(SchemaTooNewError, match="newer than this MCP Tray understands"):
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


@pytest.mark.sqlite_only
def test_a_second_store_in_one_process_keeps_the_first_ones_locks(data_dir: Path) -> None:
    """Opening the file again (a second Store: the audit writer, the tray's approval desk) must not drop
    the first connection's SQLite locks; else another process's close deletes the WAL under it."""
    import subprocess
    import sys

    first = Store(data_dir)
    approval_id = _pending(first)
    second = Store(data_dir)  # as the server's audit writer and the tray's reader do
    writer = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
              " c.execute(\"UPDATE approvals SET status = 'denied'\"); c.commit(); c.close()")
    subprocess.run([sys.executable, "-c", writer, str(data_dir / DB_NAME)], check=True, timeout=30)
    seen = first.approvals.get(approval_id)
    assert seen is not None and seen.status == "denied"  # the other process's write is seen
    assert (data_dir / f"{DB_NAME}-wal").exists()  # and the WAL is still there for us
    second.close()
    first.close()
