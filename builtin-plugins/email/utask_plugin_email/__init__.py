"""The email action plugin (reference §10.9): one message over SMTP.

Like µTask's gomail dialer: implicit TLS on port 465, else STARTTLS when the server offers it; the TLS
server name is `smtp_hostname`; authentication only when a username is given; the content type of the
body is sniffed like Go's http.DetectContentType.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate
from typing import Any

from utask_sdk import ActionPlugin, ConfigError, SandboxProfile, ServerError, hookimpl
from utask_sdk.goconv import go_quote, parse_bool, parse_uint

DIAL_TIMEOUT = 10.0  # gomail's default


@dataclass
class EmailConfig:
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_port: str = ""
    smtp_hostname: str = ""
    smtp_skip_tls_verify: str = ""
    from_address: str = ""
    from_name: str = ""
    to: list[str] | None = None
    subject: str = ""
    body: str = ""


class Email(ActionPlugin):
    name = "email"
    version = "0.2"
    config_model = EmailConfig
    sandbox = SandboxProfile(network=True)

    def validate(self, config: EmailConfig) -> None:
        if config.smtp_port == "":
            raise ConfigError("smtp_port is missing")
        try:
            parse_uint(config.smtp_port, 16)
        except ValueError as err:
            raise ConfigError(f"can't parse smtp_port field {go_quote(config.smtp_port)}: {err}") from None
        if config.smtp_hostname == "":
            raise ConfigError("smtp_hostname is missing")
        if config.smtp_skip_tls_verify != "":
            try:
                parse_bool(config.smtp_skip_tls_verify)
            except ValueError as err:
                raise ConfigError(f"can't parse smtp_skip_tls_verify field {go_quote(config.smtp_skip_tls_verify)}: "
                                  f"{err}") from None
        if config.from_address == "":
            raise ConfigError("from_address is missing")
        if not config.to:
            raise ConfigError("to is missing")
        if config.subject == "":
            raise ConfigError("subject is missing")
        if config.body == "":
            raise ConfigError("body is missing")

    def resources(self, config: EmailConfig) -> list[str]:
        return ["socket", "url:" + config.smtp_hostname]

    def execute(self, ctx: Any, config: EmailConfig) -> dict[str, Any]:
        try:
            port = parse_uint(config.smtp_port, 16)
        except ValueError:
            port = 0  # Go ignores the error here (validated at load)
        try:
            skip = parse_bool(config.smtp_skip_tls_verify) if config.smtp_skip_tls_verify else False
        except ValueError:
            skip = False
        message = build_message(config)
        try:
            send(config, port, skip, message)
        except (OSError, smtplib.SMTPException, ssl.SSLError) as err:
            raise ServerError(f"can't send email: {_error_text(err, config.smtp_hostname, port)}") from None
        out: dict[str, Any] = {"from_address": config.from_address}
        if config.from_name:
            out["from_name"] = config.from_name
        out.update({"to": list(config.to or []), "subject": config.subject, "body": config.body})
        return out


def build_message(config: EmailConfig) -> bytes:
    """The message gomail writes: From/To/Subject, MIME-Version, Date, sniffed Content-Type, quoted-printable."""
    import quopri

    sender = config.from_address
    if config.from_name:
        sender = formataddr((str(Header(config.from_name, "utf-8")), config.from_address))
    lines = [
        "Mime-Version: 1.0",
        f"Date: {formatdate(time.time(), localtime=False)}",
        f"From: {sender}",
        "To: " + ", ".join(config.to or []),
        f"Subject: {Header(config.subject, 'utf-8').encode()}",
        f"Content-Type: {detect_content_type(config.body.encode())}",
        "Content-Transfer-Encoding: quoted-printable",
    ]
    body = quopri.encodestring(config.body.encode()).decode("ascii").replace("\r\n", "\n").replace("\n", "\r\n")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("ascii")


def send(config: EmailConfig, port: int, skip_verify: bool, message: bytes) -> None:
    context = ssl.create_default_context()
    if skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    smtp: smtplib.SMTP
    if port == 465:
        smtp = smtplib.SMTP_SSL(config.smtp_hostname, port, timeout=DIAL_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(config.smtp_hostname, port, timeout=DIAL_TIMEOUT)
    with smtp:
        smtp.ehlo()
        if port != 465 and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.smtp_username and smtp.has_extn("auth"):
            _login(smtp, config, tls=port == 465 or smtp.sock.__class__.__name__ == "SSLSocket")
        smtp.sendmail(config.from_address, list(config.to or []), message)


def _login(smtp: smtplib.SMTP, config: EmailConfig, tls: bool) -> None:
    """gomail's choice of one mechanism: CRAM-MD5 when offered, LOGIN when offered without PLAIN, else
    PLAIN, which Go's net/smtp refuses over an unencrypted connection to anything but localhost."""
    offered = (smtp.esmtp_features.get("auth") or "").upper().split()
    smtp.user, smtp.password = config.smtp_username, config.smtp_password
    if "CRAM-MD5" in offered:
        smtp.auth("CRAM-MD5", smtp.auth_cram_md5)
    elif "LOGIN" in offered and "PLAIN" not in offered:
        smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
    else:
        if not tls and config.smtp_hostname not in ("localhost", "127.0.0.1", "::1"):
            raise smtplib.SMTPException("unencrypted connection")
        smtp.auth("PLAIN", smtp.auth_plain)


def _error_text(err: BaseException, host: str, port: int) -> str:
    if isinstance(err, smtplib.SMTPResponseException):
        text = err.smtp_error.decode("utf-8", "replace") if isinstance(err.smtp_error, bytes) else str(err.smtp_error)
        return f"{err.smtp_code} {text}"
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(err.recipients.values()))
        return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
    if isinstance(err, ConnectionRefusedError):
        return f"dial tcp {host}:{port}: connect: connection refused"
    return str(err) or type(err).__name__


# --- Go's http.DetectContentType (the WHATWG sniffing algorithm, as net/http implements it) -------------
_WS = b"\t\n\x0c\r "
_HTML_TAGS = [b"<!DOCTYPE HTML", b"<HTML", b"<HEAD", b"<SCRIPT", b"<IFRAME", b"<H1", b"<DIV", b"<FONT",
              b"<TABLE", b"<A", b"<STYLE", b"<TITLE", b"<B", b"<BODY", b"<BR", b"<P", b"<!--"]
_EXACT = [(b"%PDF-", "application/pdf"), (b"%!PS-Adobe-", "application/postscript"),
          (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"\x89PNG\x0d\x0a\x1a\x0a", "image/png"),
          (b"\xff\xd8\xff", "image/jpeg"), (b"BM", "image/bmp"), (b"\x00\x00\x01\x00", "image/x-icon"),
          (b"\x00\x00\x02\x00", "image/x-icon"), (b"OggS\x00", "application/ogg"),
          (b"\x1f\x8b\x08", "application/x-gzip"), (b"PK\x03\x04", "application/zip"),
          (b"Rar!\x1a\x07\x00", "application/x-rar-compressed"), (b"Rar!\x1a\x07\x01\x00", "application/x-rar-compressed"),
          (b"\x00asm", "application/wasm"), (b"wOFF", "font/woff"), (b"wOF2", "font/woff2"),
          (b"\x1a\x45\xdf\xa3", "video/webm")]


def detect_content_type(data: bytes) -> str:
    data = data[:512]
    if data.startswith((b"\xfe\xff",)):
        return "text/plain; charset=utf-16be"
    if data.startswith(b"\xff\xfe"):
        return "text/plain; charset=utf-16le"
    if data.startswith(b"\xef\xbb\xbf"):
        return "text/plain; charset=utf-8"
    stripped = data.lstrip(_WS)
    upper = stripped.upper()
    for tag in _HTML_TAGS:
        if upper.startswith(tag) and len(stripped) > len(tag) and stripped[len(tag)] in b" >":
            return "text/html; charset=utf-8"
    if stripped.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    for sig, media in _EXACT:
        if data.startswith(sig):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wave"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if any(b <= 0x08 or b == 0x0B or 0x0E <= b <= 0x1A or 0x1C <= b <= 0x1F for b in data):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Email()]
