"""Client-side helpers shared by bench/, scripts/ and tests/: they drive a running server from outside.

`serve` starts `mcp-tray serve` as a child process, `oauth` signs in (the OAuth 2.1 driver),
`consent` and `owner` answer the waiting page as the owner does (the real CLI), `clients` starts
mcp-remote with a browser that approves, `mcp_session` opens an SDK client session, `proxies` puts
Caddy or nginx in front, `xdisplay` gives a real X display with a tray. bench/ and scripts/ import
these, never tests/; the tests import them through tests/support, their usual names.
"""
