"""Errors of the client config writers; their messages are written for the user."""

from __future__ import annotations


class ConfigError(Exception):
    """A client config could not be read or written; the message says why and what to do."""


class InvalidConfigError(ConfigError):
    """The file is not valid JSON, not a JSON object, or a server map is not an object; never overwritten."""
