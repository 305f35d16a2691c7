"""The http plugin (reference §10.2) through the real sandbox against a local HTTP(S) server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from utask.core.plugins import PluginConfigError
from utask_sdk.testing import plain

from .servers import DIGEST_PASSWORD, DIGEST_USER, PKI, Server, make_pki, server_context


@pytest.fixture(scope="module")
def pki() -> PKI:
    return make_pki()


@pytest.fixture(scope="module")
def http() -> Iterator[Server]:
    with Server() as server:
        yield server


@pytest.fixture(scope="module")
def https(pki: PKI, tmp_path_factory) -> Iterator[Server]:
    with Server(server_context(pki, str(tmp_path_factory.mktemp("tls")))) as server:
        yield server


@pytest.fixture(scope="module")
def mtls(pki: PKI, tmp_path_factory) -> Iterator[Server]:
    with Server(server_context(pki, str(tmp_path_factory.mktemp("mtls")), require_client=True)) as server:
        yield server


def test_json_output_exact_numbers_and_metadata(box, http):
    result = box.run("http", {"url": http.url + "/json", "method": "GET"})
    assert result.error is None, result.error
    out = result.output
    assert str(out["price"]) == "2.50" and str(out["big"]) == "12345678901234567890" and str(out["tiny"]) == "1e-7"
    assert str(out["l"][0]) == "1.0" and out["s"] == "x"
    md = result.metadata
    assert plain(md["HTTPStatus"]) == 200
    assert md["HTTPHeaders"]["Content-Type"] == "application/json"
    assert md["HTTPHeaders"]["X-Multi"] == "one"  # first value
    assert md["HTTPCookies"] == {"session": "abc", "theme": "dark"}


def test_text_output_and_host_path(box, http):
    result = box.run("http", {"host": http.url, "path": "/text", "method": "GET"})
    assert result.error is None and result.output == "plain text"


def test_request_building(box, http):
    result = box.run("http", {
        "url": http.url + "/echo?z=1&a=0", "method": "POST", "body": '{"k": 1.50}',
        "headers": [{"name": "X-Custom", "value": "one"}, {"name": "x-custom", "value": "two"}],
        "query_parameters": [{"name": "b", "value": "x y"}, {"name": "a", "value": "2"}],
        "auth": {"bearer": "tok"}})
    assert result.error is None, result.error
    out = result.output
    assert out["method"] == "POST" and out["body"] == '{"k": 1.50}'
    assert out["content_type"] == "application/json"
    assert out["query"] == "a=0&a=2&b=x+y&z=1"  # Go's url.Values.Encode: sorted by key
    assert out["authorization"] == "Bearer tok"
    assert out["x_custom"] == ["two"]  # headers are set, not added
    xml = box.run("http", {"url": http.url + "/echo", "method": "PUT", "body": "<a><b>1</b></a>",
                           "auth": {"basic": {"user": "u", "password": "p"}}})
    assert xml.output["content_type"] == "application/xml" and xml.output["authorization"] == "Basic dTpw"
    raw = box.run("http", {"url": http.url + "/echo", "method": "PATCH", "body": "just text",
                           "headers": [{"name": "Content-Type", "value": "text/csv"}]})
    assert raw.output["content_type"] == "text/csv"
    none = box.run("http", {"url": http.url + "/echo", "method": "DELETE", "body": "just text"})
    assert none.output["content_type"] is None


def test_errors_keep_output_and_metadata(box, http):
    result = box.run("http", {"url": http.url + "/status/404", "method": "GET"})
    assert (result.error.kind, result.error.message) == ("client", "Client error: failed api request: 404: status 404 body")
    assert result.output == "status 404 body" and plain(result.metadata["HTTPStatus"]) == 404
    result = box.run("http", {"url": http.url + "/status/503", "method": "GET"})
    assert (result.error.kind, result.error.message) == ("server", "failed api request: 503: status 503 body")
    assert plain(result.metadata["HTTPStatus"]) == 503
    result = box.run("http", {"url": http.url + "/badjson", "method": "GET"})
    assert result.error.kind == "server"
    assert result.error.message == "can't unmarshal body: invalid character 'n' looking for beginning of object key string"
    assert result.output is None and plain(result.metadata["HTTPStatus"]) == 200
    result = box.run("http", {"url": "http://127.0.0.1:1/x", "method": "GET"})
    assert result.error.kind == "server"
    assert result.error.message == \
        'can\'t do HTTP request: Get "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused'
    result = box.run("http", {"url": http.url + "/slow", "method": "GET", "timeout": "500ms"})
    assert result.error.message.startswith("can't do HTTP request: Get ") and "Client.Timeout exceeded" in result.error.message
    result = box.run("http", {"url": http.url + "/text", "method": "GET", "timeout": "soon"})
    assert result.error.message == 'failed to parse timeout: time: invalid duration "soon"'
    result = box.run("http", {"url": http.url + "/text", "method": "GET", "follow_redirect": "yes"})
    assert result.error.message == 'failed to parse follow_redirect: strconv.ParseBool: parsing "yes": invalid syntax'


def test_redirects_and_trim_prefix(box, http):
    result = box.run("http", {"url": http.url + "/redirect", "method": "GET"})
    assert (result.error.kind, result.error.message) == ("server", "failed api request: 302: moved")
    assert result.metadata["HTTPHeaders"]["Location"] == "/json"
    result = box.run("http", {"url": http.url + "/redirect", "method": "GET", "follow_redirect": "true"})
    assert result.error is None and str(result.output["price"]) == "2.50"
    result = box.run("http", {"url": http.url + "/loop", "method": "GET", "follow_redirect": "true"})
    assert result.error.message.endswith("stopped after 10 redirects")
    result = box.run("http", {"url": http.url + "/prefix", "method": "GET", "trim_prefix": ")]}'"})
    assert result.error is None and str(result.output["a"]) == "1.50"


def test_digest_auth(box, http):
    ok = box.run("http", {"url": http.url + "/digest", "method": "GET",
                          "auth": {"digest": {"user": DIGEST_USER, "password": DIGEST_PASSWORD}}})
    assert ok.error is None and ok.output == {"digest": "ok"}
    bad = box.run("http", {"url": http.url + "/digest", "method": "GET",
                           "auth": {"digest": {"user": DIGEST_USER, "password": "wrong"}}})
    assert bad.error.kind == "client" and bad.error.message == "Client error: failed api request: 401: unauthorized"


def test_tls_root_ca_insecure_and_mtls(box, https, mtls, pki):
    untrusted = box.run("http", {"url": https.url + "/text", "method": "GET"})
    assert untrusted.error.kind == "server" and "certificate" in untrusted.error.message
    trusted = box.run("http", {"url": https.url + "/text", "method": "GET", "root_ca": pki.ca.cert})
    assert trusted.error is None and trusted.output == "plain text"
    wrong_root = box.run("http", {"url": https.url + "/text", "method": "GET", "root_ca": pki.other_ca.cert})
    assert wrong_root.error.kind == "server"
    insecure = box.run("http", {"url": https.url + "/text", "method": "GET", "insecure_skip_verify": "true"})
    assert insecure.error is None and insecure.output == "plain text"
    no_cert = box.run("http", {"url": mtls.url + "/echo", "method": "GET", "root_ca": pki.ca.cert})
    assert no_cert.error is not None and no_cert.error.kind == "server"
    with_cert = box.run("http", {"url": mtls.url + "/echo", "method": "GET", "root_ca": pki.ca.cert,
                                 "auth": {"mutual_tls": {"client_cert": pki.client.cert, "client_key": pki.client.key}}})
    assert with_cert.error is None, with_cert.error
    assert with_cert.output["client_cn"] == "utask client"
    bad_pair = box.run("http", {"url": mtls.url + "/echo", "method": "GET", "root_ca": pki.ca.cert,
                                "auth": {"mutual_tls": {"client_cert": pki.client.cert, "client_key": pki.server.key}}})
    assert bad_pair.error.message.startswith("failed to parse x509 mTLS certificate or key: ")


def test_validation_and_resources(box, http):
    box.validate("http", {"url": "http://x", "method": "{{.input.method}}"})
    cases = [
        ({"url": "http://x", "method": "FETCH"}, "unknown method for HTTP runner: FETCH"),
        ({"url": "http://x", "host": "http://y", "method": "GET"}, "URL field conflicts with Host+Path"),
        ({"method": "GET"}, "missing either URL or Host"),
        ({"url": "http://x", "method": "GET", "headers": [{"value": "v"}]}, "missing header name (with value 'v')"),
        ({"url": "http://x", "method": "GET", "query_parameters": [{"value": "q"}]},
         "missing query parameter name (with value 'q')"),
        ({"url": "http://x", "method": "GET", "auth": {"bearer": "t", "basic": {"user": "u", "password": "p"}}},
         "basic|digest|bearer authentications are mutually exclusive"),
        ({"url": "http://x", "method": "GET", "auth": {"basic": {"user": "u"}}},
         "missing either user or password for basic auth"),
        ({"url": "http://x", "method": "GET", "auth": {"digest": {"password": "p"}}},
         "missing either user or password for digest auth"),
        ({"url": "http://x", "method": "GET", "auth": {"bearer": ""}}, "missing bearer token value"),
        ({"url": "http://x", "method": "GET", "auth": {"mutual_tls": {"client_cert": "c"}}},
         "missing either client_cert or client_key for mTLS"),
    ]
    for config, message in cases:
        with pytest.raises(PluginConfigError) as err:
            box.validate("http", config)
        assert str(err.value) == message, config
    assert box.resources("http", {"url": "https://example.org:8443/a", "method": "GET"}) == \
        ["socket", "url:example.org:8443"]
    assert box.resources("http", {"host": "https://api.example.org", "path": "/a", "method": "GET"}) == \
        ["socket", "url:api.example.org"]
    assert box.resources("http", {"url": "relative", "method": "GET"}) == ["socket"]
