"""Fixtures for the security tests: a registered client against the real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.server.runner import ServerRunner
from tests.support.oauth import OAuthClient


@pytest.fixture
def client(server: ServerRunner) -> Iterator[OAuthClient]:
    """A client registered with the running server."""
    oauth = OAuthClient(server.base_url)
    yield oauth
    oauth.close()
