"""A throwaway PostgreSQL cluster for the tests, from Debian's `postgresql` package.

`initdb` and `pg_ctl` come from the newest /usr/lib/postgresql/*/bin. The cluster lives in a temp
dir owned by the `postgres` account (PostgreSQL refuses to run as root; as root the tests start it
with `runuser -u postgres --`), listens on 127.0.0.1 on a free port, keeps its unix socket in the
temp dir, and is stopped at the end (of the test session or the benchmark). Clients connect as the
role `mcptray` with a password (scram-sha-256 over TCP), as a hosted server would; each test gets
its own database, copied from a template that is already migrated.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bench.support.serve import free_port

ROLE = "mcptray"
TEMPLATE = "mcp_tray_template"


def bin_dir() -> Path | None:
    """The newest PostgreSQL server's bin dir with initdb and pg_ctl, or None."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")
             if (Path(p) / "initdb").exists() and (Path(p) / "pg_ctl").exists()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0) if found else None


class Cluster:
    """One running cluster; `new_database()` hands out a fresh database URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="mcp-tray-pg-"))
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self._as: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.root.chmod(0o700)
        self.data = self.root / "data"
        self._count = 0

    def _run(self, *argv: str) -> None:
        done = subprocess.run([*self._as, *argv], capture_output=True, text=True, timeout=120, cwd=self.root,
                              env={**os.environ, "LC_ALL": "C.UTF-8"}, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def start(self) -> None:
        """initdb, start, make the test role and the migrated template."""
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{self.password}'")
            conn.execute(f"CREATE DATABASE {TEMPLATE} OWNER {ROLE}")
        from app.store.store import Store  # migrate the template once; each test's copy starts there

        Store(self.root, self.url(TEMPLATE)).close()

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection over the unix socket."""
        return psycopg.connect(host=str(self.root), port=self.port, user="postgres", dbname="postgres",
                               autocommit=True)

    def url(self, database: str) -> str:
        """The URL the app is given: the test role, with its password, over TCP."""
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    def new_database(self, empty: bool = False) -> str:
        """A fresh database of its own (migrated, unless `empty`); its URL."""
        self._count += 1
        name = f"t{os.getpid()}_{self._count}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE {'template0' if empty else TEMPLATE}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a database made by `new_database`, cutting any connection a test left open."""
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
