"""What the approval says about a client: verified by its metadata document, or a name it chose itself."""

from __future__ import annotations

from typing import Any

import pytest

from app.auth.cimd import DOCUMENT_MARKER
from app.auth.client_identity import UNVERIFIED_LABEL, describe_client, is_document_client

CLAUDE = "https://claude.ai/oauth/mcp-oauth-client-metadata"


def _document_info(url: str, *redirects: str, name: str | None = "Claude") -> dict[str, Any]:
    info: dict[str, Any] = {"client_id": url, "redirect_uris": list(redirects),
                            DOCUMENT_MARKER: {"host": "claude.ai", "fetched_at": 1.0, "expires_at": 2.0}}
    if name is not None:
        info["client_name"] = name
    return info


def test_document_client_is_verified_by_its_host() -> None:
    who = describe_client(CLAUDE, _document_info(CLAUDE, "https://claude.ai/api/mcp/auth_callback"))
    assert who.verified and who.name == "Claude" and who.label == "verified: claude.ai"
    assert who.warning is None  # the answer goes to claude.ai itself


def test_a_port_other_than_443_is_part_of_the_host_shown() -> None:
    url = "https://apps.example.com:8443/client.json"
    assert describe_client(url, _document_info(url, "https://apps.example.com/cb")).label == \
        "verified: apps.example.com:8443"


@pytest.mark.parametrize("redirects", [
    ("http://127.0.0.1:33418/callback",),
    ("http://localhost:3000/callback", "http://127.0.0.1:3000/callback"),
    ("http://[::1]:8080/cb",),
])
def test_loopback_only_redirects_get_the_impersonation_warning(redirects: tuple[str, ...]) -> None:
    who = describe_client(CLAUDE, _document_info(CLAUDE, *redirects))
    assert who.verified and who.warning is not None
    assert "any program on this computer can claim to be Claude" in who.warning
    assert "claude.ai vouches for Claude" in who.warning


def test_one_redirect_off_this_computer_means_no_warning() -> None:
    who = describe_client(CLAUDE, _document_info(CLAUDE, "http://127.0.0.1:3000/cb", "https://claude.ai/cb"))
    assert who.warning is None


def test_document_client_without_a_name_is_called_by_its_host() -> None:
    who = describe_client(CLAUDE, _document_info(CLAUDE, "https://claude.ai/cb", name=None))
    assert who.name == "claude.ai" and who.verified


def test_registered_client_is_unverified() -> None:
    info = {"client_id": "5f0c", "client_name": "Claude Desktop", "redirect_uris": ["http://127.0.0.1:1/cb"]}
    who = describe_client("5f0c", info)
    assert not who.verified and who.name == "Claude Desktop"
    assert who.label == UNVERIFIED_LABEL == "unverified: this name was chosen by the program itself"
    assert who.warning is None


def test_a_url_shaped_id_without_a_fetched_document_is_not_verified() -> None:
    """Verified means we fetched the document, not that the id looks like a URL."""
    info = {"client_id": CLAUDE, "client_name": "Claude", "redirect_uris": ["https://claude.ai/cb"]}
    assert not is_document_client(CLAUDE, info)
    assert not describe_client(CLAUDE, info).verified
    # ... and a marker on a registered client's random id does not make it verified either.
    assert not describe_client("5f0c", {**info, DOCUMENT_MARKER: {}}).verified


def test_unnamed_registered_client() -> None:
    assert describe_client("5f0c", {"client_name": "  "}).name == "An unnamed app"
