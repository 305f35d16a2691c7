"""The email plugin (reference §10.9) through the real sandbox against a local aiosmtpd server."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import ssl
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from utask.core.plugins import PluginConfigError

from .servers import make_pki


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.Message]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"bob" and auth_data.password == b"pw"
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smtp(tmp_path_factory) -> Iterator[tuple[Inbox, int, int]]:
    """A plain server with AUTH (allowed without TLS), and a STARTTLS one with a self-signed certificate."""
    pki = make_pki()
    pem = os.path.join(str(tmp_path_factory.mktemp("smtp")), "server.pem")
    with open(pem, "w") as f:
        f.write(pki.server.cert + pki.server.key)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(pem)
    inbox = Inbox()
    plain = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=_authenticator,
                       auth_require_tls=False)
    secure = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=tls, require_starttls=True)
    plain.start()
    secure.start()
    yield inbox, plain.port, secure.port
    plain.stop()
    secure.stop()


def cfg(port: int, **extra):
    return {"smtp_hostname": "127.0.0.1", "smtp_port": str(port), "from_address": "utask@example.org",
            "to": ["a@example.org", "b@example.org"], "subject": "Hello é", "body": "Welcome aboard!\nline 2", **extra}


def test_sends_plain_text(box, smtp):
    inbox, port, _ = smtp
    inbox.messages.clear()
    result = box.run("email", cfg(port, from_name="µTask Bot"))
    assert result.error is None, result.error
    assert result.output == {"from_address": "utask@example.org", "from_name": "µTask Bot",
                             "to": ["a@example.org", "b@example.org"], "subject": "Hello é",
                             "body": "Welcome aboard!\nline 2"}
    assert result.metadata is None
    sender, rcpts, msg = inbox.messages[-1]
    assert sender == "utask@example.org" and rcpts == ["a@example.org", "b@example.org"]
    assert str(msg["Subject"]) == "Hello é" and msg["From"].addresses[0].display_name == "µTask Bot"
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    assert msg.get_content().replace("\r\n", "\n").rstrip("\n") == "Welcome aboard!\nline 2"


def test_html_and_auth(box, smtp):
    inbox, port, _ = smtp
    result = box.run("email", cfg(port, body="<html><body><b>hi</b></body></html>", smtp_username="bob",
                                  smtp_password="pw"))
    assert result.error is None, result.error
    assert "from_name" not in result.output
    assert inbox.messages[-1][2].get_content_type() == "text/html"
    denied = box.run("email", cfg(port, smtp_username="bob", smtp_password="wrong"))
    assert denied.error.kind == "server" and denied.error.message.startswith("can't send email: 535 ")


def test_starttls(box, smtp):
    inbox, _, port = smtp
    unverified = box.run("email", cfg(port))
    assert unverified.error.kind == "server"
    assert unverified.error.message.startswith("can't send email: ") and "certificate" in unverified.error.message
    result = box.run("email", cfg(port, smtp_skip_tls_verify="true", subject="over tls"))
    assert result.error is None, result.error
    assert str(inbox.messages[-1][2]["Subject"]) == "over tls"


def test_connection_refused(box):
    result = box.run("email", cfg(1))
    assert result.error.message == "can't send email: dial tcp 127.0.0.1:1: connect: connection refused"


def test_validation_and_resources(box):
    base = cfg(25)
    box.validate("email", base)
    cases = [
        ({"smtp_port": ""}, "smtp_port is missing"),
        ({"smtp_port": "70000"}, 'can\'t parse smtp_port field "70000": strconv.ParseUint: parsing "70000": value out of range'),
        ({"smtp_port": "x"}, 'can\'t parse smtp_port field "x": strconv.ParseUint: parsing "x": invalid syntax'),
        ({"smtp_hostname": ""}, "smtp_hostname is missing"),
        ({"smtp_skip_tls_verify": "maybe"},
         'can\'t parse smtp_skip_tls_verify field "maybe": strconv.ParseBool: parsing "maybe": invalid syntax'),
        ({"from_address": ""}, "from_address is missing"),
        ({"to": []}, "to is missing"),
        ({"subject": ""}, "subject is missing"),
        ({"body": ""}, "body is missing"),
    ]
    for change, message in cases:
        with pytest.raises(PluginConfigError) as err:
            box.validate("email", base | change)
        assert str(err.value) == message, change
    assert box.resources("email", base) == ["socket", "url:127.0.0.1"]
