"""Real local counterparts for the builtin plugins' tests: an HTTP(S) server and a test PKI."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import re
import ssl
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Pem:
    cert: str
    key: str


@dataclass
class PKI:
    ca: Pem
    server: Pem
    client: Pem
    other_ca: Pem  # signs nothing we serve: a root that must not be trusted for our server


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    return Pem(cert.public_bytes(serialization.Encoding.PEM).decode(),
               key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode())


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _leaf(ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], name: str, server: bool) -> Pem:
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(ca[0].subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca[1].public_key()), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return _pem(builder.sign(ca[1], hashes.SHA256()), key)


def make_pki() -> PKI:
    ca = _ca("utask test CA")
    other = _ca("utask other CA")
    return PKI(ca=_pem(*ca), server=_leaf(ca, "localhost", True), client=_leaf(ca, "utask client", False),
               other_ca=_pem(*other))


DIGEST_USER, DIGEST_PASSWORD, REALM, NONCE = "dig", "s3cret", "utask", "dcd98b7102dd2f0e8b11d0f600bfb0c093"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet tests
        pass

    def _send(self, code: int, body: str | bytes, content_type: str = "text/plain; charset=utf-8",
              headers: list[tuple[str, str]] = ()) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path = url.path
        if path == "/json":
            self._send(200, '{"price": 2.50, "big": 12345678901234567890, "tiny": 1e-7, "s": "x", "l": [1.0]}',
                       "application/json", [("Set-Cookie", "session=abc; Path=/"), ("Set-Cookie", "theme=dark"),
                                            ("X-Multi", "one"), ("X-Multi", "two")])
        elif path == "/text":
            self._send(200, "plain text")
        elif path == "/echo":
            cert = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
            subject = dict(x[0] for x in cert["subject"]) if cert else {}
            self._send(200, json.dumps({
                "method": self.command, "query": url.query, "body": body,
                "content_type": self.headers.get("Content-Type"), "authorization": self.headers.get("Authorization"),
                "x_custom": self.headers.get_all("X-Custom"), "client_cn": subject.get("commonName"),
            }), "application/json; charset=utf-8")
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(code, f"status {code} body", "application/json" if code == 422 else "text/plain",
                       [("Location", "/json")] if 300 <= code < 400 else [])
        elif path == "/redirect":
            self._send(302, "moved", headers=[("Location", "/json")])
        elif path == "/loop":
            self._send(302, "again", headers=[("Location", "/loop")])
        elif path == "/prefix":
            self._send(200, ")]}'\n{\"a\": 1.50}", "application/json")
        elif path == "/badjson":
            self._send(200, "{nope", "application/json")
        elif path == "/slow":
            import time

            time.sleep(3)
            self._send(200, "late")
        elif path == "/digest":
            self._digest()
        else:
            self._send(404, "not found")

    def _digest(self) -> None:
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Digest "):
            fields = dict(re.findall(r'(\w+)="?([^",]*)"?', auth[7:]))
            ha1 = _md5(f"{fields.get('username')}:{REALM}:{DIGEST_PASSWORD}")
            ha2 = _md5(f"{self.command}:{fields.get('uri')}")
            want = _md5(f"{ha1}:{NONCE}:{fields.get('nc')}:{fields.get('cnonce')}:{fields.get('qop')}:{ha2}")
            if fields.get("username") == DIGEST_USER and fields.get("response") == want:
                self._send(200, '{"digest": "ok"}', "application/json")
                return
        self._send(401, "unauthorized", headers=[
            ("WWW-Authenticate", f'Digest realm="{REALM}", nonce="{NONCE}", qop="auth", algorithm=MD5')])

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 in a thread; TLS when given a context."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *_: None  # type: ignore[method-assign]  # failed TLS handshakes are expected
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def server_context(pki: PKI, tmpdir: str, require_client: bool = False) -> ssl.SSLContext:
    import os

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert = os.path.join(tmpdir, "server.pem")
    with open(cert, "w") as f:
        f.write(pki.server.cert + pki.server.key)
    ctx.load_cert_chain(cert)
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=pki.ca.cert)
    return ctx
