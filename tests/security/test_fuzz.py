"""Property-based fuzzing (hypothesis) of every OAuth endpoint's parameters and of JSON-RPC bodies: no 5xx.

FUZZ_EXAMPLES (default 40) sets how many examples each property tries; raise it for a longer hunt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.server.runner import ServerRunner
from tests.conftest import parts_of, start_runner
from tests.support.oauth import MCP_HEADERS, OAuthClient, pkce_pair

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
junk = st.one_of(
    text,
    st.sampled_from(
        [
            "",
            "S256",
            "plain",
            "code",
            "token",
            "mcp",
            "openid email profile",
            "http://127.0.0.1:33418/callback",
            "https://evil.example/",
            "javascript:alert(1)",
            "%00",
            "\x00",
            "a" * 500,
        ]
    ),
)


class Target:
    """One server, a registered client and a live token, shared by the fuzzing properties."""

    def __init__(self, runner: ServerRunner) -> None:
        self.runner = runner
        self.client = OAuthClient(runner.base_url)
        self.tokens = self.client.login()
        self.session = self.client.session(self.tokens.access_token)
        self.http = self.client.http

    def check(self, answer: httpx.Response) -> None:
        """The property: a clear answer below 500, with no traceback."""
        assert answer.status_code < 500, (answer.request.method, answer.request.url, answer.text[:300])
        assert "Traceback" not in answer.text


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    runner = start_runner(data_dir)
    shared = Target(runner)
    yield shared
    assert runner.parts is not None and parts_of(runner).stats.snapshot().last_error is None
    shared.client.close()
    runner.close()


authorize_params = st.fixed_dictionaries(
    {},
    optional={
        k: junk
        for k in (
            "response_type",
            "client_id",
            "redirect_uri",
            "code_challenge",
            "code_challenge_method",
            "state",
            "scope",
            "resource",
        )
    },
)


@FUZZ
@given(params=authorize_params, use_real_client=st.booleans(), method=st.sampled_from(["GET", "POST"]))
def test_fuzz_authorize(target: Target, params: dict[str, str], use_real_client: bool, method: str) -> None:
    if use_real_client:
        params = {
            "client_id": target.client.client_id,
            "redirect_uri": target.client.redirect,
            "code_challenge": pkce_pair()[1],
            **{k: v for k, v in params.items() if k != "client_id"},
        }
    answer = (
        target.http.get("/authorize", params=params) if method == "GET" else target.http.post("/authorize", data=params)
    )
    target.check(answer)
    if answer.status_code in (302, 303):
        location = answer.headers["location"]
        if not location.startswith(target.runner.base_url + "/consent?"):
            # only ever the registered redirect (RFC 8252: a loopback one may differ in port only)
            sent = urlsplit(location)
            assert (sent.scheme, sent.hostname, sent.path) == ("http", "127.0.0.1", "/callback"), location


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "grant_type",
                "code",
                "code_verifier",
                "redirect_uri",
                "refresh_token",
                "scope",
                "resource",
                "client_secret",
                "assertion",
            ]
        ),
        junk,
    ),
    grant=st.sampled_from(["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer", None]),
    client_id=st.one_of(st.none(), junk, st.just("REAL")),
)
def test_fuzz_token(target: Target, data: dict[str, str], grant: str | None, client_id: str | None) -> None:
    form = dict(data)
    if grant is not None:
        form["grant_type"] = grant
    if client_id is not None:
        form["client_id"] = target.client.client_id if client_id == "REAL" else client_id
    target.check(target.http.post("/token", data=form))


@FUZZ
@given(
    data=st.dictionaries(st.sampled_from(["token", "token_type_hint", "client_id", "client_secret"]), junk),
    real=st.booleans(),
)
def test_fuzz_revoke(target: Target, data: dict[str, str], real: bool) -> None:
    if real:
        data = {**data, "client_id": target.client.client_id}
        data.pop("token", None) if data.get("token") == target.tokens.access_token else None
    target.check(target.http.post("/revoke", data=data))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
metadata = st.fixed_dictionaries(
    {},
    optional={
        "redirect_uris": st.one_of(st.lists(junk, max_size=3), json_values),
        "client_name": st.one_of(junk, json_values),
        "scope": st.one_of(junk, json_values),
        "grant_types": st.one_of(
            st.lists(st.sampled_from(["authorization_code", "refresh_token", "password", ""]), max_size=3),
            json_values,
        ),
        "response_types": st.one_of(st.lists(junk, max_size=2), json_values),
        "token_endpoint_auth_method": st.one_of(
            st.sampled_from(["none", "client_secret_post", "client_secret_basic", "private_key_jwt"]),
            json_values,
        ),
        "client_uri": junk,
        "logo_uri": junk,
        "software_id": junk,
        "contacts": json_values,
    },
)


@FUZZ
@given(body=st.one_of(metadata.map(json.dumps), json_values.map(json.dumps), st.binary(max_size=200).map(bytes)))
def test_fuzz_register(target: Target, body: str | bytes) -> None:
    answer = target.http.post("/register", content=body, headers={"Content-Type": "application/json"})
    target.check(answer)
    if answer.status_code == 201:
        info = answer.json()
        for uri in info["redirect_uris"]:
            assert not uri.startswith("http://") or uri.split("/")[2].split(":")[0] in (
                "localhost",
                "127.0.0.1",
                "[::1]",
            )


@FUZZ
@given(
    request=junk,
    csrf=junk,
    action=st.one_of(st.sampled_from(["approve", "deny"]), junk),
    method=st.sampled_from(["GET", "STATUS", "POST"]),
)
def test_fuzz_consent(target: Target, request: str, csrf: str, action: str, method: str) -> None:
    if method == "GET":
        answer = target.http.get("/consent", params={"wait": request})
    elif method == "STATUS":
        answer = target.http.get("/consent/status", params={"wait": request})
    else:
        answer = target.http.post(
            "/consent",
            data={"request": request, "csrf_token": csrf, "action": action},
            headers={"Origin": target.runner.base_url},
        )
    target.check(answer)
    assert answer.status_code != 303  # nothing forged gets a redirect


rpc_ids = st.one_of(st.integers(), text, st.none(), json_values)
rpc_bodies = st.one_of(
    st.fixed_dictionaries(
        {
            "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
            "method": st.one_of(
                st.sampled_from(
                    [
                        "initialize",
                        "tools/list",
                        "tools/call",
                        "ping",
                        "notifications/initialized",
                        "resources/list",
                        "prompts/get",
                        "logging/setLevel",
                    ]
                ),
                text,
            ),
        },
        optional={"id": rpc_ids, "params": json_values},
    ),
    st.fixed_dictionaries(
        {
            "jsonrpc": st.just("2.0"),
            "id": rpc_ids,
            "method": st.just("tools/call"),
            "params": st.fixed_dictionaries(
                {"name": st.one_of(st.just("add"), text)}, optional={"arguments": json_values}
            ),
        }
    ),
    st.lists(json_values, max_size=3),
    json_values,
)


@FUZZ
@given(
    body=rpc_bodies,
    in_session=st.booleans(),
    version=st.one_of(st.none(), st.sampled_from(["2025-06-18", "2025-03-26", "1999-01-01", "", "x" * 80])),
)
def test_fuzz_json_rpc(target: Target, body: Any, in_session: bool, version: str | None) -> None:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {target.tokens.access_token}"}
    if in_session:
        headers["Mcp-Session-Id"] = target.session
    if version is not None:
        headers["MCP-Protocol-Version"] = version
    target.check(target.http.post("/mcp", content=json.dumps(body), headers=headers))


@FUZZ
@given(
    raw=st.binary(max_size=300),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "multipart/form-data",
            "text/plain",
        ]
    ),
    path=st.sampled_from(["/mcp", "/token", "/register", "/revoke", "/consent", "/authorize", "/messages/"]),
)
def test_fuzz_raw_bodies(target: Target, raw: bytes, content_type: str, path: str) -> None:
    headers = {**MCP_HEADERS, "Content-Type": content_type, "Authorization": f"Bearer {target.tokens.access_token}"}
    target.check(target.http.post(path, content=raw, headers=headers))
