"""The symmecrypt-compatible keyring: known-answer vectors, both encodings, rotation, refusal of tampering."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from utask.core.crypto import DecryptionError, KeyConfigError, KeyRing, generate_key_json
from utask.core.gojson import JSONNumber

AAD = "9f1c3c5e-6b1d-4c1e-8d9a-3f0e5b2a7c41"  # a row's public id


def fixed_nonce(value: bytes) -> Callable[[int], bytes]:
    """The test seam: symmecrypt draws the nonce at random; fixing it makes the output a known answer."""

    def factory(size: int) -> bytes:
        assert size == len(value)
        return value

    return factory


def key_item(key: str, timestamp: int = 1535627466, cipher: str = "aes-gcm", identifier: str = "storage") -> str:
    return json.dumps({"identifier": identifier, "cipher": cipher, "timestamp": timestamp, "key": key,
                       "sealed": False})


# AES-256-GCM, test case 16 of McGrew & Viega's GCM specification (the NIST vectors).
GCM_KEY = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
GCM_IV = bytes.fromhex("cafebabefacedbaddecaf888")
GCM_P = bytes.fromhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
GCM_A = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
GCM_C = ("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
         "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662")
GCM_T = "76fc6ece0f4e1768cddf8853bb2d551b"


def test_aes_gcm_known_answer_layout_nonce_ciphertext_tag() -> None:
    ring = KeyRing.from_values([key_item(GCM_KEY)], nonce_factory=fixed_nonce(GCM_IV))
    out = ring.encrypt(GCM_P, GCM_A)
    assert out.hex() == GCM_IV.hex() + GCM_C + GCM_T
    assert ring.decrypt(out, GCM_A) == GCM_P


# XChaCha20-Poly1305, the test vector of draft-irtf-cfrg-xchacha (A.3.1).
XC_KEY = bytes(range(0x80, 0xA0)).hex()
XC_NONCE = bytes(range(0x40, 0x58))
XC_AAD = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
XC_P = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
        b"sunscreen would be it.")
XC_C = ("bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39"
        "ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
        "21f9664c97637da9768812f615c68b13b52e")
XC_T = "c0875924c1c7987947deafd8780acf49"


def test_xchacha20_poly1305_known_answer() -> None:
    ring = KeyRing.from_values([key_item(XC_KEY, cipher="xchacha20-poly1305")], nonce_factory=fixed_nonce(XC_NONCE))
    out = ring.encrypt(XC_P, XC_AAD)
    assert out.hex() == XC_NONCE.hex() + XC_C + XC_T
    assert ring.decrypt(out, XC_AAD) == XC_P


# Built from the format of reference §9.2: key 00..1f, nonce 00..0b, AAD = the public id text.
KAT_KEY = bytes(range(32))
KAT_NONCE = bytes(range(12))
KAT_RAW = "000102030405060708090a0b3563a13ba79cb67efe7d57fc75b3637bc4f150a6ec54f938c4"
KAT_MARSHAL = ("000102030405060708090a0b3c20b739ffc79e6ebd71a4e8c9b50d5db3e5e268854b6f4e0e45c9a77f4b3a832f259e"
               "d08da230a22fd00d98edab464d82353df0ebc75a3e22f96a15bee9f9e8a8c717fb")


@pytest.mark.parametrize("text", [KAT_KEY.hex(), base64.b64encode(KAT_KEY).decode()], ids=["hex", "base64"])
def test_key_encodings_and_raw_known_answer(text: str) -> None:
    ring = KeyRing.from_values([key_item(text)], nonce_factory=fixed_nonce(KAT_NONCE))
    assert ring.encrypt(b"raw bytes", AAD).hex() == KAT_RAW


def test_raw_32_byte_key_text() -> None:
    text = "0123456789abcdefghijklmnopqrstuv"  # 32 bytes used as they are
    ring = KeyRing.from_values([key_item(text)])
    same = KeyRing.from_values([key_item(text.encode().hex())])
    assert same.decrypt(ring.encrypt(b"x", AAD), AAD) == b"x"


def test_marshal_known_answer_go_json_then_lower_hex() -> None:
    ring = KeyRing.from_values([key_item(KAT_KEY.hex())], nonce_factory=fixed_nonce(KAT_NONCE))
    obj = {"b": JSONNumber("1.50"), "a": "<x>&", "c": [True, None]}
    out = ring.encrypt_marshal(obj, AAD)
    assert out == KAT_MARSHAL.encode("ascii")  # lower-case hex text, as stored in the BYTEA column
    # the plaintext is Go's encoding: sorted keys, HTML escaped, exact numbers
    assert ring.decrypt(bytes.fromhex(out.decode()), AAD) == b'{"a":"\\u003cx\\u003e\\u0026","b":1.50,"c":[true,null]}'
    back = ring.decrypt_marshal(out, AAD)
    assert back == {"a": "<x>&", "b": JSONNumber("1.50"), "c": [True, None]}
    assert isinstance(back["b"], JSONNumber)


@pytest.mark.parametrize("cipher", ["aes-gcm", "xchacha20-poly1305", "chacha20-poly1305"])
def test_tampered_or_foreign_ciphertext_is_refused(cipher: str) -> None:
    ring = KeyRing.from_values([key_item(KAT_KEY.hex(), cipher=cipher)])
    other = KeyRing.from_values([key_item("cd" * 32, cipher=cipher)])
    data = ring.encrypt(b"secret input", AAD)
    assert ring.decrypt(data, AAD) == b"secret input"
    for pos in (0, len(data) // 2, len(data) - 1):  # nonce, ciphertext, tag
        tampered = bytearray(data)
        tampered[pos] ^= 0x01
        with pytest.raises(DecryptionError):
            ring.decrypt(bytes(tampered), AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(data, "another-row-public-id")  # moved to another row
    with pytest.raises(DecryptionError):
        other.decrypt(data, AAD)  # foreign key
    with pytest.raises(DecryptionError):
        ring.decrypt(data[:10], AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt_marshal(b"not hex at all", AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt_marshal(other.encrypt_marshal({"a": 1}, AAD), AAD)


def test_newest_key_encrypts_every_key_decrypts_and_rotation() -> None:
    old = key_item("11" * 32, timestamp=100)
    new = key_item("22" * 32, timestamp=200, cipher="xchacha20-poly1305")
    old_ring = KeyRing.from_values([old])
    written_before = old_ring.encrypt(b"v1", AAD)
    marshal_before = old_ring.encrypt_marshal({"k": "v"}, AAD)

    ring = KeyRing.from_values([old, new])  # several items
    assert ring.newest.timestamp == 200
    assert KeyRing.from_values([json.dumps([json.loads(new), json.loads(old)])]).newest.timestamp == 200  # one list
    assert ring.decrypt(written_before, AAD) == b"v1"
    fresh = ring.encrypt(b"v2", AAD)
    with pytest.raises(DecryptionError):
        old_ring.decrypt(fresh, AAD)  # written with the newest key only

    rotated = ring.reencrypt(written_before, AAD)
    assert rotated is not None and rotated != written_before
    assert KeyRing.from_values([new]).decrypt(rotated, AAD) == b"v1"
    assert ring.reencrypt(rotated, AAD) is None  # already under the newest key: nothing to write
    rotated_marshal = ring.reencrypt_marshal(marshal_before, AAD)
    assert rotated_marshal is not None
    assert KeyRing.from_values([new]).decrypt_marshal(rotated_marshal, AAD) == {"k": "v"}
    with pytest.raises(DecryptionError):
        ring.reencrypt(b"\x00" * 40, AAD)


def test_only_storage_identifier_and_conflicts() -> None:
    ring = KeyRing.from_values([key_item("11" * 32, timestamp=5, identifier="other"),
                                key_item("22" * 32, timestamp=1)])
    assert [k.identifier for k in ring.keys] == ["storage"]
    with pytest.raises(KeyConfigError, match="ambiguous config: several encryption keys conflicting for 'storage'"):
        KeyRing.from_values([key_item("11" * 32), key_item("22" * 32)])
    # an older timestamp may be shared: only the newest must be unique
    KeyRing.from_values([key_item("11" * 32, 1), key_item("22" * 32, 1), key_item("33" * 32, 2)])


def test_uuid_public_id_is_its_text() -> None:
    import uuid

    ring = KeyRing.from_values([key_item(KAT_KEY.hex())], nonce_factory=fixed_nonce(KAT_NONCE))
    assert ring.encrypt(b"raw bytes", uuid.UUID(AAD)).hex() == KAT_RAW


def test_generated_key_is_usable() -> None:
    item = json.loads(generate_key_json())
    assert item["identifier"] == "storage" and item["cipher"] == "aes-gcm" and len(item["key"]) == 64
    ring = KeyRing.from_values([json.dumps(item)])
    assert ring.decrypt(ring.encrypt(b"ok", AAD), AAD) == b"ok"
