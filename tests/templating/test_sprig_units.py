"""Unit tests of the Sprig library: non-deterministic functions by shape, Sprig 3.3.0 behaviour where
Debian's 3.2.3 (the Go oracle) differs, crypto round trips, the calling convention for the executor."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from utask.core.gojson import JSONNumber
from utask.core.templating.sprig import NONHERMETIC, TemplateFuncError, gotime, sprig_funcs
from utask.core.templating.sprig.goregexp import GoRegexpError, compile_go

F = sprig_funcs()


def render(tmpl: str, data: object = None) -> str:
    from utask.core.templating import render_template

    return render_template(tmpl, data)


# -- the calling convention -------------------------------------------------------------------------------------


def test_every_function_declares_its_go_signature() -> None:
    assert len(F) >= 200
    for name, fn in F.items():
        assert isinstance(fn.sig, tuple), name
        assert isinstance(fn.returns, tuple), name
        assert fn.variadic == (bool(fn.sig) and fn.sig[-1].startswith("...")), name
        assert hasattr(fn, "__gosig__"), name
    assert F["substr"].sig == ("int", "int", "string")
    assert F["add"].sig == ("...interface{}",)
    assert F["merge"].__gosig__.variadic == "map[string]interface {}"
    assert set(F) >= NONHERMETIC


def test_sprig_funcs_is_a_fresh_dict_each_call() -> None:
    a = sprig_funcs()
    a["add"] = None
    assert sprig_funcs()["add"] is not None
    assert dict(sprig_funcs)["add"] is F["add"]


def test_go_errors_are_template_func_errors() -> None:
    with pytest.raises(TemplateFuncError, match="^runtime error: integer divide by zero$"):
        F["div"](1, 0)
    with pytest.raises(TemplateFuncError, match="^Cannot find first on type string$"):
        F["first"]("abc")
    with pytest.raises(TemplateFuncError, match="^boom$"):
        F["fail"]("boom")
    assert str(TemplateFuncError("x")) == "x"


# -- Sprig 3.3.0 where 3.2.3 differs ------------------------------------------------------------------------------


def test_camelcase_is_pascal_case_in_330() -> None:
    # 3.3.0 uses xstrings.ToPascalCase; Debian's 3.2.3 (xstrings 1.3) gives "GOLANGISGREAT" and "Helloworld"
    assert F["camelcase"]("GOLANG_IS_GREAT") == "GolangIsGreat"
    assert F["camelcase"]("some_words") == "SomeWords"
    assert F["camelcase"]("HelloWorld") == "HelloWorld"
    assert F["camelcase"]("_complex__case_") == "_Complex_Case_"
    assert F["camelcase"]("a") == "A"


def test_sha512sum_exists_in_330() -> None:
    assert F["sha512sum"]("abc").startswith("ddaf35a193617aba")


def test_merge_overwrite_replaces_scalar_by_map_in_330() -> None:
    # mergo 1.0 (Sprig 3.3.0); mergo 0.3.12 (Debian's Sprig 3.2.3) keeps "s"
    assert F["mergeOverwrite"]({"a": "s"}, {"a": {"x": 1}}) == {"a": {"x": 1}}
    assert F["merge"]({"a": "s"}, {"a": {"x": 1}}) == {"a": "s"}


# -- coercions -----------------------------------------------------------------------------------------------------


def test_cast_coercions() -> None:
    assert F["int64"](JSONNumber("12")) == 12
    assert F["int64"](JSONNumber("2.50")) == 0
    assert F["int64"](JSONNumber("3.00")) == 3
    assert F["add"](9223372036854775807, 1) == -9223372036854775808
    assert F["float64"](JSONNumber("2.50")) == 2.5
    assert F["int"](1e30) == -9223372036854775808
    assert F["toString"](None) == "<nil>"
    assert F["toString"](1e6) == "1e+06"
    assert F["toString"]({"b": [1, None], "a": JSONNumber("1.50")}) == "map[a:1.50 b:[1 <nil>]]"


# -- non-deterministic functions by shape --------------------------------------------------------------------------


def test_random_strings() -> None:
    assert re.fullmatch(r"[A-Za-z0-9]{20}", F["randAlphaNum"](20))
    assert re.fullmatch(r"[A-Za-z]{20}", F["randAlpha"](20))
    assert re.fullmatch(r"[0-9]{20}", F["randNumeric"](20))
    assert re.fullmatch(r"[ -~]{20}", F["randAscii"](20))
    assert F["randAlpha"](0) == ""
    assert len(base64.b64decode(F["randBytes"](12))) == 12
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", F["uuidv4"]())
    assert sorted(F["shuffle"]("hello")) == sorted("hello")
    assert 3 <= F["randInt"](3, 5) < 5


def test_now_date_ago() -> None:
    now = F["now"]()
    assert isinstance(now, datetime) and now.tzinfo is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", F["date"]("2006-01-02", now))
    assert F["ago"](now) == "0s"
    assert F["htmlDate"](0) == gotime.go_format(gotime.from_unix(0), "2006-01-02")
    assert re.fullmatch(r"\d+y", F["durationRound"](datetime(2020, 1, 1, tzinfo=UTC)))
    assert render("{{ now | typeOf }}") == "time.Time"


def test_time_formatting_helpers() -> None:
    assert gotime.time_string(gotime.ZERO_TIME) == "0001-01-01 00:00:00 +0000 UTC"
    t = datetime(2024, 2, 3, 16, 5, 6, 789000, tzinfo=UTC)
    assert gotime.go_format(t, "Jan _2 3:04:05.000PM .999999 ,00") == "Feb  3 4:05:06.789PM .789 ,78"
    assert gotime.duration_string(1500) == "1.5µs"
    assert gotime.duration_string(-90 * gotime.SECOND) == "-1m30s"
    assert gotime.parse_duration("1h2m3.5s") == 3723500 * gotime.MS
    with pytest.raises(TemplateFuncError, match='time: unknown unit "x" in duration "1x"'):
        gotime.parse_duration("1x")


# -- crypto ----------------------------------------------------------------------------------------------------------


def test_bcrypt_and_htpasswd() -> None:
    import bcrypt

    h = F["bcrypt"]("secret")
    assert h.startswith("$2a$10$") and bcrypt.checkpw(b"secret", h.encode())
    user, _, hashed = F["htpasswd"]("bob", "pw").partition(":")
    assert user == "bob" and bcrypt.checkpw(b"pw", hashed.encode())


def test_aes_round_trip() -> None:
    enc = F["encryptAES"]("secretkey", "plaintext")
    assert F["decryptAES"]("secretkey", enc) == "plaintext"
    assert render('{{ encryptAES "k" "hello" | decryptAES "k" }}') == "hello"


def test_keys_and_certificates() -> None:
    for typ, head in (("ecdsa", "EC PRIVATE KEY"), ("ed25519", "PRIVATE KEY"), ("bogus", None)):
        out = F["genPrivateKey"](typ)
        assert out.startswith(f"-----BEGIN {head}-----") if head else out == "Unknown type bogus"
    ca = F["genCA"]("my-ca", 30)
    assert ca.Cert.startswith("-----BEGIN CERTIFICATE-----") and ca.Key.startswith("-----BEGIN RSA PRIVATE KEY-----")
    key = F["genPrivateKey"]("ecdsa")
    cert = F["genSignedCertWithKey"]("host", ["10.0.0.1"], ["host.example"], 10, ca, key)
    from cryptography import x509

    parsed = x509.load_pem_x509_certificate(cert.Cert.encode())
    assert parsed.issuer == x509.load_pem_x509_certificate(ca.Cert.encode()).subject
    assert cert.Key == key
    same = F["buildCustomCert"](base64.b64encode(cert.Cert.encode()).decode(), base64.b64encode(key.encode()).decode())
    assert same == cert
    with pytest.raises(TemplateFuncError, match="error parsing ip: nope"):
        F["genSelfSignedCert"]("x", ["nope"], None, 1)


# -- misc ------------------------------------------------------------------------------------------------------------


def test_env_and_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPRIG_TEST_VAR", "v1")
    assert F["env"]("SPRIG_TEST_VAR") == "v1"
    assert F["expandenv"]("a $SPRIG_TEST_VAR ${SPRIG_TEST_VAR}b $$ $") == "a v1 v1b  $"
    assert F["getHostByName"]("localhost") in ("127.0.0.1", "::1")


def test_semver_objects() -> None:
    v = F["semver"]("v1.2.3-beta.1+b5")
    assert (v.Major(), v.Minor(), v.Patch(), v.Prerelease(), v.Metadata(), v.Original()) == (1, 2, 3, "beta.1", "b5", "v1.2.3-beta.1+b5")
    assert str(v) == "1.2.3-beta.1+b5"
    assert F["typeOf"](v) == "*semver.Version"
    assert v.LessThan(F["semver"]("1.2.3"))


def test_regexp_translation() -> None:
    assert compile_go(r"a$").search("a\n") is None
    assert compile_go(r"(?m)a$").search("a\nb")
    assert compile_go(r"\d").search("٣") is None  # Go's \d is ASCII
    assert compile_go(r"a(?i)b|c").fullmatch("C")
    with pytest.raises(GoRegexpError, match=r"invalid escape sequence: `\\1`"):
        compile_go(r"(a)\1")


def test_type_and_kind_of_go_values() -> None:
    assert F["typeOf"](JSONNumber("1")) == "json.Number"
    assert F["kindOf"](JSONNumber("1")) == "string"
    assert F["deepEqual"](JSONNumber("1"), 1) is False


def test_go_objects_expose_fields_and_methods_for_the_executor() -> None:
    v = F["semver"]("1.2.3")
    compare = v.__go_field__("Compare")
    assert compare.sig == ("*semver.Version",) and compare(F["semver"]("1.2.4")) == -1
    assert v.__go_field__("Major")() == 1
    with pytest.raises(AttributeError):
        v.__go_field__("Nope")
    from utask.core.templating.sprig.funcs_crypto import Certificate  # the certificate struct: fields only

    c = Certificate("C", "K")
    assert (c.__go_field__("Cert"), c.__go_field__("Key"), str(c)) == ("C", "K", "{C K}")


def test_nil_slices_print_empty_and_encode_null() -> None:
    from utask.core.gojson import GoNilSlice, dumps

    r = F["regexFindAll"]("z", "abc", -1)
    assert isinstance(r, GoNilSlice) and r == []
    assert dumps({"r": r}) == '{"r":null}'
    assert dumps(F["splitList"](",", "")) == '[""]'
