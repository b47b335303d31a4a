"""The store on PostgreSQL: migrations, races across processes, the CLI's --database, and `serve --database`.

The rest of the store, auth and security suites also runs on PostgreSQL (ids `[postgres]`); these
tests are about what only a shared server database has: several processes at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import anyio
import psycopg
import pytest

from app.store.audit import AuditEntry
from app.store.db import SCHEMA_VERSION, URL_ENV, database_url
from app.store.migrations import MIGRATIONS, postgres_ddl, statements
from app.store.rows import IssuedTokens
from app.store.store import Store
from tests.support.oauth import call_add, mcp_initialize, obtain_tokens, run_flow
from tests.support.owner import owner_cli_process
from tests.support.postgres import Cluster, set_schema_version
from tests.support.serve import REPO, ServeProcess

pytestmark = pytest.mark.postgres_only


def _code(store: Store) -> str:
    """A fresh grant's code hash, minted through the store's own steps."""
    store.add_client("c1", "App", ["http://127.0.0.1/cb"], {"client_id": "c1"})
    approval = store.approvals.create(client_id="c1", request={"code_challenge": "x"}, scopes=["mcp"],
                                    redirect_uri="http://127.0.0.1/cb")
    assert store.approvals.answer(approval.approval_id, approve=True, scopes=["mcp"]) is not None
    delivery = store.approvals.deliver(approval.approval_id, 60)
    assert delivery is not None and delivery.code is not None
    row = store.load_code(delivery.code)
    assert row is not None
    return row.code_hash


# Each worker process opens its own Store on the URL, waits for "go" on stdin, then runs THREADS
# attempts at once and prints how many of them got tokens.
WORKER = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    from app.store.rows import IssuedTokens
    from app.store.store import Store
    action, url, secret, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = Store(Path(sys.argv[5]), url)
    won, start = [], threading.Barrier(threads)
    def attempt():
        start.wait()
        if action == "refresh":
            issued = store.rotate_refresh(secret, "c1", ["mcp"], 3600, 7200)
        else:
            issued = store.redeem_code(secret, 3600, 7200)
        if isinstance(issued, IssuedTokens):
            won.append(issued.refresh_token)
    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    print("ready", flush=True)
    sys.stdin.readline()
    for w in workers: w.start()
    for w in workers: w.join()
    print(" ".join(won), flush=True)
    store.close()
""")


def _race(action: str, url: str, secret: str, tmp_path: Path, processes: int = 5, threads: int = 10) -> list[str]:
    """The refresh tokens that processes x threads concurrent attempts got (one per success)."""
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, action, url, secret, str(threads), str(tmp_path)],
                              cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(processes)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        return [token for p in procs for token in p.communicate(timeout=120)[0].split()]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def test_fifty_concurrent_refreshes_of_one_token_have_exactly_one_winner(data_dir: Path) -> None:
    url = database_url()
    assert url is not None
    store = Store(data_dir)
    code_hash = _code(store)
    issued = store.redeem_code(code_hash, 3600, 7200)
    assert isinstance(issued, IssuedTokens)
    won = _race("refresh", url, issued.refresh_token, data_dir)  # 5 processes x 10 threads
    # One of them rotated the token; the 49 others are retries within the window and get that pair.
    assert len(won) == 50 and len(set(won)) == 1
    assert sum(1 for e in store.recent_events(500) if e.kind == "refreshed") == 1
    fresh = store.check_token(won[0])
    assert fresh is not None and not fresh.revoked and fresh.rotated_at is None
    store.close()


def test_a_code_exchanged_concurrently_is_spent_once(data_dir: Path) -> None:
    url = database_url()
    assert url is not None
    store = Store(data_dir)
    code_hash = _code(store)
    assert len(_race("code", url, code_hash, data_dir, processes=4, threads=5)) == 1
    # The first replay revokes the grant (and says so once); the rest find it revoked already.
    assert sum(1 for e in store.recent_events(500) if e.kind == "code replayed") == 1
    store.close()


def test_several_processes_starting_on_an_empty_database_migrate_it_once(
        postgres_cluster: Cluster, tmp_path: Path) -> None:
    url = postgres_cluster.new_database(empty=True)
    opener = ("import sys; from pathlib import Path; from app.store.store import Store;"
              " Store(Path(sys.argv[1]), sys.argv[2]).close()")
    procs = [subprocess.Popen([sys.executable, "-c", opener, str(tmp_path), url], cwd=REPO, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM mcp_tray_schema").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'passkeys'"
                            " AND column_name = 'public_key'").fetchone() == ("bytea",)
    postgres_cluster.drop(url)


def test_the_python_migration_hashes_plaintext_secrets_on_postgres(postgres_cluster: Cluster, tmp_path: Path) -> None:
    url = postgres_cluster.new_database(empty=True)
    with psycopg.connect(url) as conn:  # a database left at schema 2, with a secret in plain text
        conn.execute("CREATE TABLE mcp_tray_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO mcp_tray_schema VALUES (2)")
        for script in MIGRATIONS[:2]:
            assert isinstance(script, str)
            for statement in statements(script):
                conn.execute(postgres_ddl(statement))
        conn.execute("INSERT INTO clients (client_id, client_name, redirect_uris, info_json, created_at)"
                     " VALUES ('conf', 'Conf', '[]', %s, 0)", (json.dumps({"client_secret": "s3cret"}),))
    store = Store(tmp_path, url)
    assert store.client_secret_hash("conf") is not None
    assert json.loads(store.db.conn.execute("SELECT info_json FROM clients").fetchone()["info_json"]) == {
        "client_secret": None}
    store.close()
    postgres_cluster.drop(url)


@pytest.mark.parametrize(("problem", "expected"), [
    ("mysql://root@localhost/db", "must be a postgresql:// URL"),
    ("postgresql://a b", "bad database URL"),
    ("wrong password", "password authentication failed"),
    ("unreachable", "Connection refused"),
    ("too new", f"newer than this MCP Tray understands ({SCHEMA_VERSION})"),
])
def test_a_database_that_cannot_be_used_is_one_line_and_exit_2(
        problem: str, expected: str, postgres_url: str, postgres_cluster: Cluster, tmp_path: Path) -> None:
    url = {"wrong password": postgres_url.replace(postgres_cluster.password, "not-it"),
           "unreachable": "postgresql://mcptray:x@127.0.0.1:1/db", "too new": postgres_url}.get(problem, problem)
    if problem == "too new":
        set_schema_version(postgres_url, SCHEMA_VERSION + 1)
    done = subprocess.run([sys.executable, "-m", "app", "tokens", "list", "--data-dir", str(tmp_path),
                           "--database", url], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != URL_ENV})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in done.stderr
    assert postgres_cluster.password not in done.stderr


def test_a_revocation_from_the_cli_in_another_process_is_seen_on_the_next_request(
        postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)  # the flag alone says where the store is
    with ServeProcess(tmp_path, database=postgres_url) as serve:
        tokens = obtain_tokens(serve.base, "revoked app")
        assert mcp_initialize(serve.base, tokens.access_token).status_code == 200
        revoked = owner_cli_process(tmp_path, "tokens", "revoke", "--all")  # passes --database (remembered)
        assert revoked.code == 0, revoked.err
        assert mcp_initialize(serve.base, tokens.access_token).status_code == 401
        serve.stop()


def test_serve_with_a_database_url_signs_in_and_calls_add(
        postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    with ServeProcess(tmp_path, database=postgres_url) as serve:
        flow = run_flow(serve.base, "hosted app")  # the owner approves with `approve --database URL`
        assert flow.add_result == 5
        assert anyio.run(call_add, serve.base, flow.access_token, 40, 2) == 42
        code, _ = serve.stop()
    assert code == 0
    assert not (tmp_path / "mcp-tray.sqlite3").exists()  # the store is in PostgreSQL...
    assert (tmp_path / "logs").is_dir()  # ...while logs (and settings, the pid file) stay in the data dir
    store = Store(tmp_path, postgres_url)
    assert [t.client_name for t in store.list_tokens()] == ["hosted app", "hosted app"]
    assert [r.name for r in store.audit.rows()] == ["add", "add"] and store.audit.verify().ok  # the audit writer's rows
    store.close()


def test_audit_ids_are_never_handed_out_twice_on_postgres(data_dir: Path) -> None:
    store = Store(data_dir)
    entry = AuditEntry(time.time(), "c1", "App", None, "tools/call", "add", "{}", "ok", "", 1.0)
    assert store.audit.append([entry, entry]) == [1, 2]
    assert store.audit.trim(max_days=0, max_rows=0, now=time.time() + 1) == 2  # every row gone
    assert store.audit.append([entry]) == [3]  # as SQLite's AUTOINCREMENT: ids are never reused
    assert store.db.conn.execute("INSERT INTO audit (at, method, name, arguments, outcome, duration_ms, prev_hash,"
                                 " hash) VALUES (0, 'm', 'n', '', 'ok', 0, '', '') RETURNING id").fetchone()["id"] == 4
    store.close()


def test_pooled_reads_see_every_commit_at_once(data_dir: Path) -> None:
    """No connection of the pool holds an old snapshot: a write by another Store is seen by the next read."""
    reader, writer = Store(data_dir), Store(data_dir)
    code_hash = _code(writer)
    issued = writer.redeem_code(code_hash, 3600, 7200)
    assert isinstance(issued, IssuedTokens)
    for _ in range(3):  # several pooled connections serve these reads
        check = reader.check_token(issued.access_token)
        assert check is not None and not check.revoked
    writer.revoke_all()
    for _ in range(3):
        check = reader.check_token(issued.access_token)
        assert check is not None and check.revoked
    reader.close()
    writer.close()


def test_an_unreachable_database_does_not_leave_serve_running(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "app", "serve", "--port", "0", "--data-dir", str(tmp_path),
                           "--database", "postgresql://nobody:x@127.0.0.1:1/none"], cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != URL_ENV})
    assert done.returncode == 2 and "Connection refused" in done.stderr and "Traceback" not in done.stderr
