"""What a reverse proxy in front of the server adds to a request, for tests that play the proxy's part."""

from __future__ import annotations

from app.server.runner import ServerRunner
from app.store.rows import IssuedTokens
from app.store.store import hash_secret
from tests.conftest import parts_of

PUBLIC = "https://mcp.example.test"
PUBLIC_HOST = "mcp.example.test"


def via_proxy(host: str = PUBLIC_HOST, proto: str = "https", caller: str = "203.0.113.7") -> dict[str, str]:
    """The headers Caddy's reverse_proxy sends: the Host kept, X-Forwarded-Proto/-Host/-For set."""
    return {"Host": host, "X-Forwarded-Proto": proto, "X-Forwarded-Host": host, "X-Forwarded-For": caller}


def mint(server: ServerRunner, client_id: str, resource: str | None, *, remote: bool = False) -> tuple[str, str]:
    """An access and refresh token for `resource`, approved straight in the store (no browser, no CLI)."""
    store = parts_of(server).store
    pending = store.approvals.create(client_id=client_id, scopes=["mcp"], redirect_uri="http://127.0.0.1:9/cb",
                                   request={"resource": resource, "code_challenge": "x" * 43,
                                            "redirect_explicit": True, "remote": remote})
    store.approvals.answer(pending.approval_id, approve=True, scopes=["mcp"])
    delivery = store.approvals.deliver(pending.approval_id, 60)
    assert delivery is not None and delivery.code is not None
    code = delivery.code
    issued = store.redeem_code(hash_secret(code), 600, 6000)
    assert isinstance(issued, IssuedTokens)
    return issued.access_token, issued.refresh_token
