"""A keyring compatible with symmecrypt (reference §9.2), the one encryption entry point.

Key items are symmecrypt's JSON: `{"identifier": "storage", "cipher": "aes-gcm", "timestamp": <unix s>,
"key": "<hex>", "sealed": false}`; an item value may also be a JSON list of such objects. Only keys
whose identifier is `storage` are used. The newest key (by timestamp) encrypts; decryption tries every
key, newest first. Layout of a ciphertext: `nonce || AEAD ciphertext || tag`, additional data = the
owning row's public id (UTF-8 text of the UUID), so a µTask database and its keys can be taken over.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from utask.core.gojson import loads as go_loads

from ._gojson import go_dumps

STORAGE_IDENTIFIER = "storage"
ITEM = "encryption-key"

NonceFactory = Callable[[int], bytes]


class KeyConfigError(Exception):
    """A key item cannot be used (bad JSON, unknown cipher, wrong key length, ...)."""


class DecryptionError(Exception):
    """No key of the ring authenticates this ciphertext (tampered, foreign, or wrong additional data)."""


def _decode_key_material(text: str) -> bytes:
    """symmecrypt accepts 64 hex characters, 32 raw bytes, or base64 of 32 bytes."""
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    raw = text.encode("utf-8")
    if len(raw) == 32:
        return raw
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            decoded = decoder(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(decoded) == 32:
            return decoded
    raise KeyConfigError("key must be 32 bytes: 64 hex characters, 32 raw bytes or base64 of 32 bytes")


class _AEADCipher:
    nonce_size = 12

    def __init__(self, key: bytes, nonce_factory: NonceFactory | None = None) -> None:
        self._nonce_factory = nonce_factory or os.urandom
        self._init(key)

    def _init(self, key: bytes) -> None:
        raise NotImplementedError

    def _seal(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        raise NotImplementedError

    def _open(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        raise NotImplementedError

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = self._nonce_factory(self.nonce_size)
        if len(nonce) != self.nonce_size:
            raise ValueError(f"nonce must be {self.nonce_size} bytes")
        return nonce + self._seal(nonce, plaintext, aad)

    def decrypt(self, ciphertext: bytes, aad: bytes) -> bytes:
        if len(ciphertext) < self.nonce_size + 16:
            raise DecryptionError("ciphertext too short")
        nonce, body = ciphertext[: self.nonce_size], ciphertext[self.nonce_size:]
        return self._open(nonce, body, aad)


class AESGCMCipher(_AEADCipher):
    """symmecrypt `aes-gcm`: AES-256-GCM, 12-byte random nonce, 16-byte tag."""

    def _init(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def _seal(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        return self._aead.encrypt(nonce, data, aad)

    def _open(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, data, aad)
        except InvalidTag as e:
            raise DecryptionError("message authentication failed") from e


class ChaCha20Poly1305Cipher(_AEADCipher):
    """symmecrypt `chacha20-poly1305` (IETF, 12-byte nonce)."""

    def _init(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)

    def _seal(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        return self._aead.encrypt(nonce, data, aad)

    def _open(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, data, aad)
        except InvalidTag as e:
            raise DecryptionError("message authentication failed") from e


class XChaCha20Poly1305Cipher(_AEADCipher):
    """symmecrypt `xchacha20-poly1305` (24-byte nonce), through libsodium (PyNaCl)."""

    nonce_size = 24

    def _init(self, key: bytes) -> None:
        self._key = key

    def _seal(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        from nacl import bindings  # imported on use: most deployments only have aes-gcm keys

        return bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(data, aad, nonce, self._key)

    def _open(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        from nacl import bindings
        from nacl.exceptions import CryptoError

        try:
            return bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(data, aad, nonce, self._key)
        except CryptoError as e:
            raise DecryptionError("message authentication failed") from e


CIPHERS: dict[str, type[_AEADCipher]] = {
    "aes-gcm": AESGCMCipher,
    "chacha20-poly1305": ChaCha20Poly1305Cipher,
    "xchacha20-poly1305": XChaCha20Poly1305Cipher,
}


@dataclass(frozen=True)
class Key:
    identifier: str
    cipher_name: str
    timestamp: int
    cipher: _AEADCipher

    @classmethod
    def from_dict(cls, raw: Any, nonce_factory: NonceFactory | None = None) -> Key:
        if not isinstance(raw, dict):
            raise KeyConfigError("each key must be a JSON object {identifier, cipher, timestamp, key}")
        identifier = raw.get("identifier")
        if not isinstance(identifier, str) or not identifier:
            raise KeyConfigError('"identifier" must be a non-empty string')
        if raw.get("sealed"):
            raise KeyConfigError(f'key "{identifier}": sealed keys are not supported')
        cipher_name = raw.get("cipher") or "aes-gcm"  # symmecrypt's default cipher
        if cipher_name not in CIPHERS:
            raise KeyConfigError(f'key "{identifier}": unsupported cipher "{cipher_name}" '
                            f"(supported: {', '.join(CIPHERS)})")
        timestamp = raw.get("timestamp", 0)
        if isinstance(timestamp, bool) or not isinstance(timestamp, int):
            raise KeyConfigError(f'key "{identifier}": "timestamp" must be an integer (unix seconds)')
        material = raw.get("key")
        if not isinstance(material, str) or not material:
            raise KeyConfigError(f'key "{identifier}": "key" must be a non-empty string')
        try:
            key_bytes = _decode_key_material(material)
        except KeyConfigError as e:
            raise KeyConfigError(f'key "{identifier}": {e}') from None
        return cls(identifier, cipher_name, timestamp, CIPHERS[cipher_name](key_bytes, nonce_factory))


def parse_key_values(values: Iterable[str], nonce_factory: NonceFactory | None = None) -> list[Key]:
    """Every key in these item values (each an object or a list of objects)."""
    keys: list[Key] = []
    for value in values:
        try:
            data = json.loads(value)
        except ValueError as e:
            raise KeyConfigError(f"invalid JSON: {e}") from None
        for raw in data if isinstance(data, list) else [data]:
            keys.append(Key.from_dict(raw, nonce_factory))
    return keys


def generate_key_json(cipher: str = "aes-gcm", timestamp: int | None = None) -> str:
    """A new random symmecrypt key item (for the embedded default and for operators rotating keys)."""
    if cipher not in CIPHERS:
        raise ValueError(f"unsupported cipher {cipher}")
    return json.dumps({
        "identifier": STORAGE_IDENTIFIER,
        "cipher": cipher,
        "timestamp": int(time.time()) if timestamp is None else timestamp,
        "key": os.urandom(32).hex(),
        "sealed": False,
    })


def _aad(aad: object) -> bytes:
    """Additional data: bytes as given, anything else (a public id `str` or `uuid.UUID`) as its UTF-8 text."""
    if isinstance(aad, bytes | bytearray | memoryview):
        return bytes(aad)
    return str(aad).encode("utf-8")


class KeyRing:
    """The `storage` keys, newest first."""

    def __init__(self, keys: list[Key], identifier: str = STORAGE_IDENTIFIER) -> None:
        ring = sorted((k for k in keys if k.identifier == identifier), key=lambda k: k.timestamp, reverse=True)
        if not ring:
            raise KeyConfigError(f'no key with identifier "{identifier}"')
        if len(ring) > 1 and ring[0].timestamp == ring[1].timestamp:
            raise KeyConfigError(f"ambiguous config: several encryption keys conflicting for '{identifier}'")
        self.identifier = identifier
        self.keys = ring

    @classmethod
    def from_values(cls, values: Iterable[str], nonce_factory: NonceFactory | None = None) -> KeyRing:
        """From the values of the `encryption-key` configuration items; raises `KeyConfigError`."""
        return cls(parse_key_values(values, nonce_factory))

    @property
    def newest(self) -> Key:
        return self.keys[0]

    # raw encoding -------------------------------------------------------------------------------
    def encrypt(self, plaintext: bytes, aad: str | bytes) -> bytes:
        return self.newest.cipher.encrypt(plaintext, _aad(aad))

    def decrypt(self, ciphertext: bytes, aad: str | bytes) -> bytes:
        return self._decrypt_with_index(bytes(ciphertext), _aad(aad))[0]

    def _decrypt_with_index(self, ciphertext: bytes, aad: bytes) -> tuple[bytes, int]:
        for n, key in enumerate(self.keys):
            try:
                return key.cipher.decrypt(ciphertext, aad), n
            except DecryptionError:
                continue
        raise DecryptionError("unable to decrypt: no key of the ring authenticates this data")

    # marshal encoding: JSON -> encrypt -> lower-case hex ------------------------------------------
    def encrypt_marshal(self, obj: Any, aad: str | bytes) -> bytes:
        return self.encrypt(go_dumps(obj).encode("utf-8"), aad).hex().encode("ascii")

    def decrypt_marshal(self, data: bytes, aad: str | bytes) -> Any:
        try:
            raw = bytes.fromhex(bytes(data).decode("ascii"))
        except (UnicodeDecodeError, ValueError) as e:
            raise DecryptionError("not a hex-encoded ciphertext") from e
        return go_loads(self.decrypt(raw, aad))

    # key rotation -------------------------------------------------------------------------------
    def reencrypt(self, ciphertext: bytes, aad: str | bytes) -> bytes | None:
        """The same plaintext under the newest key, or None when it already is (nothing to write)."""
        plaintext, index = self._decrypt_with_index(bytes(ciphertext), _aad(aad))
        if index == 0:
            return None
        return self.encrypt(plaintext, aad)

    def reencrypt_marshal(self, data: bytes, aad: str | bytes) -> bytes | None:
        try:
            raw = bytes.fromhex(bytes(data).decode("ascii"))
        except (UnicodeDecodeError, ValueError) as e:
            raise DecryptionError("not a hex-encoded ciphertext") from e
        out = self.reencrypt(raw, aad)
        return None if out is None else out.hex().encode("ascii")
