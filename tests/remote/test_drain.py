"""Early refusals read the request body first, so a proxy in front never loses the answer.

Closing a connection with unread request bytes makes the kernel reset it, and Caddy then lost the
401 it had already received (5 in 200 unauthenticated POSTs did, before this). Here a raw socket
sends the body late: the answer must wait for it, arrive whole, and leave the connection open.
"""

from __future__ import annotations

import socket

from app.server.runner import ServerRunner


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_unauthenticated_post_waits_for_its_body_and_keeps_the_connection(server: ServerRunner) -> None:
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}'
    request = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
               f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for _ in range(2):  # the second request proves the connection was kept, not reset
            sock.sendall(request)
            sock.settimeout(0.3)
            try:
                early = sock.recv(65536)
            except TimeoutError:
                early = b""
            assert early == b"", "the server answered before reading the body it was sent"
            sock.settimeout(5)
            sock.sendall(body)
            answer = _read_response(sock)
            assert answer.startswith(b"HTTP/1.1 401") and answer.endswith(b"Authentication required\"}")
