"""Encryption of sensitive columns: a keyring compatible with symmecrypt (reference §9.2)."""

from .keyring import (
    CIPHERS,
    STORAGE_IDENTIFIER,
    DecryptionError,
    Key,
    KeyConfigError,
    KeyRing,
    generate_key_json,
    parse_key_values,
)

__all__ = [
    "CIPHERS",
    "STORAGE_IDENTIFIER",
    "DecryptionError",
    "Key",
    "KeyConfigError",
    "KeyRing",
    "generate_key_json",
    "parse_key_values",
]
