"""Sprig crypto.go: hashes, bcrypt/htpasswd, derivePassword, keys and certificates, AES-CBC helpers."""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import hmac
import os
import secrets
import struct
import zlib
from typing import Any

from ._fmt import go_bytes, go_str
from ._registry import gofunc
from .errors import TemplateFuncError

S, INT, IF = "string", "int", "interface{}"


@gofunc("sha1sum", (S,), (S,))
def sha1sum(s: str) -> str:
    return hashlib.sha1(go_bytes(s)).hexdigest()


@gofunc("sha256sum", (S,), (S,))
def sha256sum(s: str) -> str:
    return hashlib.sha256(go_bytes(s)).hexdigest()


@gofunc("sha512sum", (S,), (S,))
def sha512sum(s: str) -> str:
    """Sprig 3.3.0 (absent from 3.2.3)."""
    return hashlib.sha512(go_bytes(s)).hexdigest()


@gofunc("adler32sum", (S,), (S,))
def adler32sum(s: str) -> str:
    return str(zlib.adler32(go_bytes(s)))


@gofunc("bcrypt", (S,), (S,))
def bcrypt_(s: str) -> str:
    import bcrypt

    pw = go_bytes(s)
    if len(pw) > 72:
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
    return bcrypt.hashpw(pw, bcrypt.gensalt(rounds=10, prefix=b"2a")).decode("ascii")


@gofunc("htpasswd", (S, S), (S,))
def htpasswd(username: str, password: str) -> str:
    if ":" in username:
        return f"invalid username: {username}"
    return f"{username}:{bcrypt_(password)}"


@gofunc("randBytes", (INT,), (S, "error"))
def rand_bytes(count: int) -> str:
    if count < 0:
        raise TemplateFuncError("runtime error: makeslice: len out of range")
    return base64.b64encode(secrets.token_bytes(count)).decode("ascii")


_TEMPLATES = {
    "maximum": ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
    "long": ["CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno", "CvccnoCvcvCvcv", "CvccCvcvnoCvcv",
             "CvccCvcvCvcvno", "CvcvnoCvccCvcv", "CvcvCvccnoCvcv", "CvcvCvccCvcvno", "CvcvnoCvcvCvcc",
             "CvcvCvcvnoCvcc", "CvcvCvcvCvccno", "CvccnoCvccCvcv", "CvccCvccnoCvcv", "CvccCvccCvcvno",
             "CvcvnoCvccCvcc", "CvcvCvccnoCvcc", "CvcvCvccCvccno", "CvccnoCvcvCvcc", "CvccCvcvnoCvcc",
             "CvccCvcvCvccno"],
    "medium": ["CvcnoCvc", "CvcCvcno"],
    "short": ["Cvcn"],
    "basic": ["aaanaaan", "aannaaan", "aaannaaa"],
    "pin": ["nnnn"],
}
_CHARS = {
    "V": "AEIOU", "C": "BCDFGHJKLMNPQRSTVWXYZ", "v": "aeiou", "c": "bcdfghjklmnpqrstvwxyz",
    "A": "AEIOUBCDFGHJKLMNPQRSTVWXYZ", "a": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
    "n": "0123456789", "o": "@&%?,=[]_:-+*$#!'^~;()/.",
    "x": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
}
_SEED = b"com.lyndir.masterpassword"


@gofunc("derivePassword", ("uint32", S, S, S, S), (S,))
def derive_password(counter: int, password_type: str, password: str, user: str, site: str) -> str:
    templates = _TEMPLATES.get(password_type)
    if templates is None:
        return f"cannot find password template {password_type}"
    ub, sb = go_bytes(user), go_bytes(site)
    salt = _SEED + struct.pack(">I", len(ub) & 0xFFFFFFFF) + ub
    key = hashlib.scrypt(go_bytes(password), salt=salt, n=32768, r=8, p=2, dklen=64, maxmem=128 * 1024 * 1024)
    msg = _SEED + struct.pack(">I", len(sb) & 0xFFFFFFFF) + sb + struct.pack(">I", counter & 0xFFFFFFFF)
    seed = hmac.new(key, msg, hashlib.sha256).digest()
    temp = templates[seed[0] % len(templates)]
    out = []
    for i, element in enumerate(temp):
        chars = _CHARS[element]
        out.append(chars[seed[i + 1] % len(chars)])
    return "".join(out)


# -- keys and certificates ------------------------------------------------------------------------------------


def _pem_for_key(priv: Any) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

    if isinstance(priv, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, dsa.DSAPrivateKey)):
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        fmt = serialization.PrivateFormat.PKCS8
    return priv.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode("ascii")


@gofunc("genPrivateKey", (S,), (S,))
def gen_private_key(typ: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

    if typ in ("", "rsa"):
        priv: Any = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    elif typ == "dsa":
        priv = dsa.generate_private_key(key_size=2048)
    elif typ == "ecdsa":
        priv = ec.generate_private_key(ec.SECP256R1())
    elif typ == "ed25519":
        priv = ed25519.Ed25519PrivateKey.generate()
    else:
        return "Unknown type " + typ
    return _pem_for_key(priv)


class Certificate:
    """Sprig's `certificate` struct: fields Cert and Key (PEM strings)."""

    go_type = "sprig.certificate"
    go_kind = "struct"

    def __init__(self, cert: str = "", key: str = "") -> None:
        self.Cert = cert
        self.Key = key

    def __str__(self) -> str:
        return "{" + self.Cert + " " + self.Key + "}"

    def __repr__(self) -> str:
        return f"Certificate(Cert={self.Cert[:30]!r}..., Key=...)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and (self.Cert, self.Key) == (other.Cert, other.Key)

    def __hash__(self) -> int:
        return hash((self.Cert, self.Key))

    def __go_json__(self) -> str:
        import json

        return json.dumps({"Cert": self.Cert, "Key": self.Key}, separators=(",", ":"))

    def __go_field__(self, name: str) -> Any:
        """Go's field lookup for the executor (fields Cert and Key); AttributeError if none."""
        if name in ("Cert", "Key"):
            return getattr(self, name)
        raise AttributeError(name)


def _parse_private_key_pem(pem: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    text = pem.encode("utf-8", "surrogateescape")
    start = text.find(b"-----BEGIN ")
    if start < 0:
        raise TemplateFuncError("no PEM data in input")
    kind = text[start + 11:text.find(b"-----", start + 11)].decode("ascii", "replace")
    if kind != "PRIVATE KEY" and not kind.endswith(" PRIVATE KEY"):
        raise TemplateFuncError(f"no private key data in PEM block of type {kind}")
    if kind not in ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"):
        raise TemplateFuncError(f"invalid private key type {kind}")
    try:
        return serialization.load_pem_private_key(text, password=None)
    except (ValueError, TypeError) as exc:
        what = {"PRIVATE KEY": "decoding PEM as PKCS#8", "RSA PRIVATE KEY": "parsing RSA private key from PEM",
                "EC PRIVATE KEY": "parsing EC private key from PEM", "DSA PRIVATE KEY": "parsing DSA private key from PEM"}
        raise TemplateFuncError(f"{what[kind]}: {exc}") from None


def _rsa2048() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _net_ips(ips: Any) -> list[Any]:
    import ipaddress

    out = []
    for ip in ips or []:
        if not isinstance(ip, str):
            from ._fmt import go_v

            raise TemplateFuncError(f"error parsing ip: {go_v(ip)} is not a string")
        try:
            out.append(ipaddress.ip_address(ip))
        except ValueError:
            raise TemplateFuncError(f"error parsing ip: {ip}") from None
    return out


def _dns_names(names: Any) -> list[str]:
    out = []
    for n in names or []:
        if not isinstance(n, str):
            from ._fmt import go_v

            raise TemplateFuncError(f"error processing alternate dns name: {go_v(n)} is not a string")
        out.append(str.__str__(n))
    return out


def _build_cert(cn: str, ips: Any, dns: Any, days: int, priv: Any, signer_cert: Any, signer_key: Any,
                is_ca: bool) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ip_list = _net_ips(ips)
    dns_list = _dns_names(dns)
    now = _dt.datetime.now(_dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]) if cn else x509.Name([])
    issuer = signer_cert.subject if signer_cert is not None else subject
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(priv.public_key())
               .serial_number(secrets.randbits(128)).not_valid_before(now)
               .not_valid_after(now + _dt.timedelta(days=days)))
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=True, data_encipherment=False,
        key_agreement=False, key_cert_sign=is_ca, crl_sign=False, encipher_only=False, decipher_only=False),
        critical=True)
    builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                            ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    sans: list[Any] = [x509.DNSName(d) for d in dns_list] + [x509.IPAddress(i) for i in ip_list]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    key = signer_key if signer_key is not None else priv
    algo = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(key, algo)
    return Certificate(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), _pem_for_key(priv))


@gofunc("buildCustomCert", (S, S), ("certificate", "error"))
def build_custom_cert(b64cert: str, b64key: str) -> Certificate:
    from cryptography import x509

    try:
        cert = base64.b64decode(b64cert, validate=True)
    except (binascii.Error, ValueError):
        raise TemplateFuncError("unable to decode base64 certificate") from None
    try:
        key = base64.b64decode(b64key, validate=True)
    except (binascii.Error, ValueError):
        raise TemplateFuncError("unable to decode base64 private key") from None
    if b"-----BEGIN" not in cert:
        raise TemplateFuncError("unable to decode certificate")
    try:
        x509.load_pem_x509_certificate(cert)
    except ValueError as exc:
        raise TemplateFuncError(f"error parsing certificate: decodedCert.Bytes: {exc}") from None
    try:
        _parse_private_key_pem(go_str(key))
    except TemplateFuncError as exc:
        raise TemplateFuncError(f"error parsing private key: {exc}") from None
    return Certificate(go_str(cert), go_str(key))


@gofunc("genCA", (S, INT), ("certificate", "error"))
def gen_ca(cn: str, days: int) -> Certificate:
    priv = _rsa2048()
    return _build_cert(cn, None, None, days, priv, None, None, True)


@gofunc("genCAWithKey", (S, INT, S), ("certificate", "error"))
def gen_ca_with_key(cn: str, days: int, priv_pem: str) -> Certificate:
    try:
        priv = _parse_private_key_pem(priv_pem)
    except TemplateFuncError as exc:
        raise TemplateFuncError(f"parsing private key: {exc}") from None
    return _build_cert(cn, None, None, days, priv, None, None, True)


@gofunc("genSelfSignedCert", (S, "[]interface{}", "[]interface{}", INT), ("certificate", "error"))
def gen_self_signed_cert(cn: str, ips: Any, dns: Any, days: int) -> Certificate:
    return _build_cert(cn, ips, dns, days, _rsa2048(), None, None, False)


@gofunc("genSelfSignedCertWithKey", (S, "[]interface{}", "[]interface{}", INT, S), ("certificate", "error"))
def gen_self_signed_cert_with_key(cn: str, ips: Any, dns: Any, days: int, priv_pem: str) -> Certificate:
    try:
        priv = _parse_private_key_pem(priv_pem)
    except TemplateFuncError as exc:
        raise TemplateFuncError(f"parsing private key: {exc}") from None
    return _build_cert(cn, ips, dns, days, priv, None, None, False)


def _signer(ca: Any) -> tuple[Any, Any]:
    from cryptography import x509

    if not isinstance(ca, Certificate) or "-----BEGIN" not in ca.Cert:
        raise TemplateFuncError("unable to decode certificate")
    try:
        cert = x509.load_pem_x509_certificate(ca.Cert.encode())
    except ValueError as exc:
        raise TemplateFuncError(f"error parsing certificate: decodedSignerCert.Bytes: {exc}") from None
    try:
        key = _parse_private_key_pem(ca.Key)
    except TemplateFuncError as exc:
        raise TemplateFuncError(f"error parsing private key: {exc}") from None
    return cert, key


@gofunc("genSignedCert", (S, "[]interface{}", "[]interface{}", INT, "certificate"), ("certificate", "error"))
def gen_signed_cert(cn: str, ips: Any, dns: Any, days: int, ca: Any) -> Certificate:
    cert, key = _signer(ca)
    return _build_cert(cn, ips, dns, days, _rsa2048(), cert, key, False)


@gofunc("genSignedCertWithKey", (S, "[]interface{}", "[]interface{}", INT, "certificate", S), ("certificate", "error"))
def gen_signed_cert_with_key(cn: str, ips: Any, dns: Any, days: int, ca: Any, priv_pem: str) -> Certificate:
    try:
        priv = _parse_private_key_pem(priv_pem)
    except TemplateFuncError as exc:
        raise TemplateFuncError(f"parsing private key: {exc}") from None
    cert, key = _signer(ca)
    return _build_cert(cn, ips, dns, days, priv, cert, key, False)


# -- AES-CBC ------------------------------------------------------------------------------------------------------


def _aes_key(password: str) -> bytes:
    return (go_bytes(password) + b"\0" * 32)[:32]


@gofunc("encryptAES", (S, S), (S, "error"))
def encrypt_aes(password: str, plaintext: str) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if plaintext == "":
        return ""
    content = go_bytes(plaintext)
    pad = 16 - len(content) % 16
    content += bytes([pad]) * pad
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(_aes_key(password)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + enc.update(content) + enc.finalize()).decode("ascii")


@gofunc("decryptAES", (S, S), (S, "error"))
def decrypt_aes(password: str, crypt64: str) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from .funcs_strings import _CorruptInput, _go_b64_decode

    if crypt64 == "":
        return ""
    try:
        crypt = _go_b64_decode(go_bytes(crypt64), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", True)
    except _CorruptInput as exc:
        raise TemplateFuncError(str(exc)) from None
    if len(crypt) < 16:
        raise TemplateFuncError(f"runtime error: slice bounds out of range [:16] with capacity {len(crypt)}")
    iv, body = crypt[:16], crypt[16:]
    if len(body) % 16:
        raise TemplateFuncError("crypto/cipher: input not full blocks")
    if not body:
        raise TemplateFuncError("runtime error: index out of range [-1]")
    dec = Cipher(algorithms.AES(_aes_key(password)), modes.CBC(iv)).decryptor()
    out = dec.update(body) + dec.finalize()
    n = len(out) - out[-1]
    if n < 0:
        raise TemplateFuncError(f"runtime error: slice bounds out of range [:{n}]")
    return go_str(out[:n])
