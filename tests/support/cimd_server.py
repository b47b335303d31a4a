"""A real https server for Client ID Metadata Documents, with a certificate authority made for the test.

`TestCA` writes a CA and issues server certificates for the names a test needs (with the
`cryptography` package, which authlib already depends on). `DocumentServer` serves routes over
TLS from a thread on 127.0.0.1, counts the requests per path, remembers the Host and SNI each
request used, and can answer slowly, redirect, or send too much.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


class TestCA:
    """A throwaway certificate authority in `folder`; `pem` is the file a client trusts."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name("MCP Tray test CA"))
            .issuer_name(_name("MCP Tray test CA"))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.pem = folder / "test-ca.pem"
        self.pem.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, *names: str) -> tuple[Path, Path]:
        """A server certificate (and its key) for DNS names and IP addresses; returns their files."""
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        stem = names[0].replace(":", "_")
        cert_file, key_file = self.folder / f"{stem}.crt", self.folder / f"{stem}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_file, key_file


@dataclass
class Route:
    """What one path answers: status, headers and body; `dribble` sends the body a byte at a time."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    dribble: float = 0.0  # seconds between bytes of the body
    content_length: bool = True  # False: no Content-Length, the body ends when the connection closes

    @classmethod
    def document(cls, doc: dict[str, Any], cache_control: str | None = None) -> Route:
        """A JSON document, with an optional Cache-Control header."""
        headers = {"Content-Type": "application/json"}
        if cache_control:
            headers["Cache-Control"] = cache_control
        return cls(body=json.dumps(doc).encode(), headers=headers)


class DocumentServer:
    """An https server on 127.0.0.1 answering `routes` (path -> Route); use as a context manager."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: Counter[str] = Counter()
        self.hosts: list[str] = []
        self.sni: list[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)

        def remember_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            self.sni.append(name)

        context.sni_callback = remember_sni
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                outer.requests[path] += 1
                outer.hosts.append(self.headers.get("Host", ""))
                route = outer.routes.get(path, Route(status=404, body=b"not here"))
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.content_length:
                    self.send_header("Content-Length", str(len(route.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    if route.dribble:
                        for byte in route.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(route.dribble)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass  # the client stopped reading, as it should past a limit
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="cimd-docs",
                                        daemon=True)

    def url(self, path: str, host: str = "localhost") -> str:
        """The https URL of `path` on this server under the name `host`."""
        return f"https://{host}:{self.port}{path}"

    def __enter__(self) -> DocumentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def document_for(url: str, name: str = "CIMD Test Client", redirect: str = "http://127.0.0.1:33418/callback",
                 **extra: Any) -> dict[str, Any]:
    """A valid metadata document for a client whose id is `url`."""
    return {"client_id": url, "client_name": name, "redirect_uris": [redirect],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none", **extra}
