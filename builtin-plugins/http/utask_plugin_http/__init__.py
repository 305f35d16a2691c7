"""The http action plugin (reference §10.2), on httpx.

Output: the JSON-decoded body with exact numbers (they travel as their text, like Go's json.Number) when
the response is `application/json`, else the body text. Metadata: HTTPStatus, HTTPHeaders (first value of
each), HTTPCookies. Output and metadata are kept with the error of a non-2xx answer.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import ssl
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

from utask_sdk import (
    ActionPlugin,
    ClientError,
    ConfigError,
    Result,
    SandboxProfile,
    ServerError,
    hookimpl,
    outputs,
    protocol,
)
from utask_sdk.goconv import parse_bool, parse_duration

if TYPE_CHECKING:
    import httpx

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
DEFAULT_TIMEOUT = "30s"
MAX_REDIRECTS = 10  # Go's http.Client stops after 10 redirects


@dataclass
class Parameter:
    name: str = ""
    value: str = ""


@dataclass
class Credentials:
    user: str = ""
    password: str = ""


@dataclass
class MutualTLS:
    client_cert: str = ""
    client_key: str = ""


@dataclass
class Auth:
    basic: Credentials | None = None
    digest: Credentials | None = None
    bearer: str | None = None
    mutual_tls: MutualTLS | None = None


@dataclass
class HTTPConfig:
    url: str = ""
    host: str = ""
    path: str = ""
    method: str = ""
    body: str = ""
    headers: list[Parameter] | None = None
    timeout: str = ""
    auth: Auth = field(default_factory=Auth)
    follow_redirect: str = ""
    query_parameters: list[Parameter] | None = None
    trim_prefix: str = ""
    insecure_skip_verify: str = ""
    root_ca: str = ""


class HTTP(ActionPlugin):
    name = "http"
    version = "1.0"
    config_model = HTTPConfig
    sandbox = SandboxProfile(network=True)
    # Imported where used: the worker preloads it; the start-up catalog process (validation) does without.
    preload = ("httpx", "utask_plugin_http.tls")

    def validate(self, config: HTTPConfig) -> None:
        method = config.method
        if not method.startswith("{{") and not method.endswith("}}") and method not in METHODS:
            raise ConfigError(f"unknown method for HTTP runner: {method}")
        if config.url and (config.host or config.path):
            raise ConfigError("URL field conflicts with Host+Path")
        if not config.host and not config.url:
            raise ConfigError("missing either URL or Host")
        for p in config.headers or []:
            if p.name == "":
                raise ConfigError(f"missing header name (with value '{p.value}')")
        for p in config.query_parameters or []:
            if p.name == "":
                raise ConfigError(f"missing query parameter name (with value '{p.value}')")
        auth = config.auth or Auth()
        if sum(x is not None for x in (auth.basic, auth.bearer, auth.digest)) > 1:
            raise ConfigError("basic|digest|bearer authentications are mutually exclusive")
        if auth.basic is not None and (not auth.basic.user or not auth.basic.password):
            raise ConfigError("missing either user or password for basic auth")
        if auth.digest is not None and (not auth.digest.user or not auth.digest.password):
            raise ConfigError("missing either user or password for digest auth")
        if auth.bearer is not None and auth.bearer == "":
            raise ConfigError("missing bearer token value")
        if auth.mutual_tls is not None and (not auth.mutual_tls.client_cert or not auth.mutual_tls.client_key):
            raise ConfigError("missing either client_cert or client_key for mTLS")

    def resources(self, config: HTTPConfig) -> list[str]:
        host = _url_host(config.url if not config.host else config.host)
        return ["socket", "url:" + host] if host else ["socket"]

    def execute(self, ctx: Any, config: HTTPConfig) -> Result:
        import httpx

        body = config.body.encode()
        target = config.url
        if not target:
            host, path = urllib.parse.urlsplit(config.host), urllib.parse.urlsplit(config.path)
            target = urllib.parse.urlunsplit((host.scheme, host.netloc, path.path, path.query, path.fragment))
        parts = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        query += [(p.name, p.value) for p in config.query_parameters or []]
        # Go's url.Values.Encode: sorted by key, values in order.
        query.sort(key=lambda kv: kv[0])
        target = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path,
                                          urllib.parse.urlencode(query), parts.fragment))

        headers: dict[str, str] = {}
        auth = config.auth or Auth()
        httpx_auth: httpx.Auth | None = None
        if auth.bearer is not None:
            headers["Authorization"] = "Bearer " + auth.bearer
        elif auth.basic is not None:
            httpx_auth = httpx.BasicAuth(auth.basic.user, auth.basic.password)
        for h in config.headers or []:
            for existing in [k for k in headers if k.lower() == h.name.lower()]:
                del headers[existing]
            headers[h.name] = h.value
        if body and not any(k.lower() == "content-type" for k in headers):
            sniffed = _sniff(config.body)
            if sniffed:
                headers["Content-Type"] = sniffed
        if auth.digest is not None:
            httpx_auth = httpx.DigestAuth(auth.digest.user, auth.digest.password)

        try:
            timeout = parse_duration(config.timeout or DEFAULT_TIMEOUT) / 1e9
        except ValueError as err:
            raise ServerError(f"failed to parse timeout: {err}") from None
        follow = False
        if config.follow_redirect:
            try:
                follow = parse_bool(config.follow_redirect)
            except ValueError as err:
                raise ServerError(f"failed to parse follow_redirect: {err}") from None
        insecure = False
        if config.insecure_skip_verify:
            try:
                insecure = parse_bool(config.insecure_skip_verify)
            except ValueError as err:
                raise ServerError(f"failed to parse insecure_skip_verify: {err}") from None
        verify = _tls_context(insecure, auth.mutual_tls, config.root_ca, ctx.scratch_dir)

        try:
            with httpx.Client(timeout=timeout if timeout > 0 else None, verify=verify, follow_redirects=follow,
                              max_redirects=MAX_REDIRECTS, trust_env=False) as client:
                response = client.request(config.method, target, content=body or None, headers=headers,
                                          auth=httpx_auth)
                raw = response.content
        except httpx.HTTPError as err:
            raise ServerError(f"can't do HTTP request: {_transport_error(config.method, target, err, timeout)}") from None
        if config.trim_prefix and raw.startswith(config.trim_prefix.encode()):
            raw = raw[len(config.trim_prefix.encode()):]
        return unmarshal_response(response, raw)


def unmarshal_response(response: httpx.Response, raw: bytes) -> Result:
    """µTask's httputil.UnmarshalResponse."""
    headers: dict[str, str] = {}
    for key, value in response.headers.multi_items():
        headers.setdefault(_canonical(key), value)
    cookies: dict[str, str] = {}
    for value in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except Exception:  # a cookie Go would also skip
            continue
        for morsel in jar.values():
            cookies[morsel.key] = morsel.value
    metadata = {"HTTPStatus": response.status_code, "HTTPHeaders": headers, "HTTPCookies": cookies}
    text = raw.decode("utf-8", "replace")
    media = response.headers.get("content-type", "").split(";", 1)[0]
    output: Any
    if media == "application/json" and raw:
        try:
            output = protocol.loads(raw)  # exact numbers: non-integers keep their text
        except json.JSONDecodeError as err:
            raise ServerError(f"can't unmarshal body: {outputs.json_error_text(err.doc, err)}",
                              metadata=metadata) from None
        except (ValueError, UnicodeDecodeError) as err:
            raise ServerError(f"can't unmarshal body: {err}", metadata=metadata) from None
    else:
        output = text
    code = response.status_code
    if code < 200 or code > 299:
        message = f"failed api request: {code}: {text}"
        if 399 < code < 500:
            raise ClientError("Client error: " + message, output=output, metadata=metadata)
        raise ServerError(message, output=output, metadata=metadata)
    return Result(output=output, metadata=metadata)


def _canonical(key: str) -> str:
    """Go's CanonicalMIMEHeaderKey (`content-type` → `Content-Type`)."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in key.split("-"))


def _url_host(raw: str) -> str:
    try:
        return urllib.parse.urlsplit(raw).netloc.rpartition("@")[2]
    except ValueError:
        return ""


def _sniff(body: str) -> str:
    """Go: application/json if the body decodes as JSON, else application/xml if it decodes as XML."""
    try:
        # Go decodes one value with a json.Decoder: leading spaces skipped, what follows it not read.
        json.JSONDecoder().raw_decode(body.lstrip(" \t\r\n"))
        return "application/json"
    except ValueError:
        pass
    try:
        ET.fromstring(body)
        return "application/xml"
    except ET.ParseError:
        return ""


def _tls_context(insecure: bool, mtls: MutualTLS | None, root_ca: str, scratch: str) -> ssl.SSLContext:
    # The system trust store, as Go's default transport uses (httpx alone would use certifi's).
    if not root_ca and not insecure and mtls is None:
        from .tls import SYSTEM_CONTEXT  # loaded once by the warm worker (preload)

        return SYSTEM_CONTEXT
    context = ssl.create_default_context()
    if root_ca:
        try:
            context.load_verify_locations(cadata=root_ca)  # added to the system pool, like Go
        except ssl.SSLError:
            raise ServerError("failed to craft a new http transport: WithTLSRootCA: failed to add a "
                              "certificate to the cert pool") from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if mtls is not None:
        # ssl loads key pairs from files only: write them in the private scratch directory.
        fd, path = tempfile.mkstemp(dir=scratch or None, suffix=".pem")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(mtls.client_cert.strip() + "\n" + mtls.client_key.strip() + "\n")
            context.load_cert_chain(path)
        except ssl.SSLError as err:
            raise ServerError(f"failed to parse x509 mTLS certificate or key: {err}") from None
        finally:
            os.unlink(path)
    return context


def _transport_error(method: str, url: str, err: httpx.HTTPError, timeout: float) -> str:
    """Go's *url.Error text: `Get "http://x/": dial tcp 127.0.0.1:1: connect: connection refused`."""
    import httpx

    op = method[:1].upper() + method[1:].lower()
    if isinstance(err, httpx.TimeoutException):
        reason = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    elif isinstance(err, httpx.TooManyRedirects):
        reason = "stopped after 10 redirects"
    else:
        reason = _root_reason(err, url)
    return f'{op} "{url}": {reason}'


def _root_reason(err: BaseException, url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"tls: failed to verify certificate: {cause.verify_message}"
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return f"dial tcp {address}: connect: connection refused"
        if isinstance(cause, socket.gaierror):
            return f"dial tcp: lookup {host}: no such host"
        cause = cause.__cause__ or cause.__context__
    return str(err) or type(err).__name__


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [HTTP()]
