"""YAML parsing with the scalar rules of go-yaml v2, which sigs.k8s.io/yaml uses on the Go side.

PyYAML resolves plain scalars with its own YAML 1.1 tables (sexagesimal numbers, timestamps,
`0o` not understood...). µTask templates were written against go-yaml v2, so plain scalars are
resolved here the way `yaml.v2/resolve.go` does:
- `y Y yes Yes YES true True TRUE on On ON` → true, `n N no No NO false False FALSE off Off OFF` → false;
- `~ null Null NULL` and the empty scalar → null;
- integers through Go's `strconv.ParseInt(s, 0, 64)` after removing `_` (so `0x1F`, `0o17`, `017`, `0b101`),
  then `ParseUint`, then floats matching `[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?`;
- timestamps stay strings (go-yaml v2 keeps them as text when decoding into interface{});
- everything else is a string. Quoted and block scalars are always strings.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

try:  # the C parser is much faster; resolution is done by our resolve() either way
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_PLAIN_TAG = "tag:utask,2026:plain"
_MERGE_TAG = "tag:yaml.org,2002:merge"

_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_NULL = {"", "~", "null", "Null", "NULL"}
_SPECIAL_FLOATS = {
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
}
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


def _go_parse_int(s: str, signed: bool) -> int | None:
    """`strconv.ParseInt(s, 0, 64)` / `ParseUint(s, 0, 64)` (underscores already removed)."""
    neg = False
    body = s
    if signed and body[:1] in ("+", "-"):
        neg = body[0] == "-"
        body = body[1:]
    if not body:
        return None
    base = 10
    low = body.lower()
    if low.startswith("0x"):
        base, body = 16, body[2:]
    elif low.startswith("0o"):
        base, body = 8, body[2:]
    elif low.startswith("0b"):
        base, body = 2, body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    if not body or not all(c in "0123456789abcdefABCDEF"[: base if base <= 10 else 22] for c in body):
        return None
    try:
        value = int(body, base)
    except ValueError:
        return None
    if neg:
        value = -value
    if signed and not (_INT64_MIN <= value <= _INT64_MAX):
        return None
    if not signed and value > _UINT64_MAX:
        return None
    return value


def resolve_plain(value: str) -> Any:
    """The Go value a plain (unquoted) YAML scalar decodes to."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value in _NULL:
        return None
    if value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    if value[:1] in "0123456789+-.":
        plain = value.replace("_", "")
        as_int = _go_parse_int(plain, signed=True)
        if as_int is not None:
            return as_int
        as_uint = _go_parse_int(plain, signed=False)
        if as_uint is not None:
            return as_uint
        if _YAML_STYLE_FLOAT.match(plain):
            f = float(plain)
            if not math.isinf(f):  # Go's ParseFloat reports a range error: the scalar stays a string
                return f
        if plain.startswith("0b") or plain.startswith("-0b"):
            neg = plain.startswith("-")
            digits = plain[3:] if neg else plain[2:]
            if digits and set(digits) <= {"0", "1"}:
                v = int(digits, 2)
                return -v if neg else v
    return value


class GoYAMLLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A SafeLoader whose plain scalars are resolved by `resolve_plain` (go-yaml v2 rules)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:  # noqa: D401 - PyYAML hook
        if kind is yaml.ScalarNode and implicit[0]:
            if value == "<<":
                return _MERGE_TAG
            return _PLAIN_TAG
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[str, Any]:
        # sigs.k8s.io/yaml turns every map key into a string (JSON objects); doing it while
        # constructing also keeps `1` and `true` keys apart (they collide in a Python dict).
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_to_string(self.construct_object(key_node, deep=deep))
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def key_to_string(key: Any) -> str:
    """sigs.k8s.io/yaml's conversion of a non-string map key (ints, 32-bit %g floats, booleans)."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        if key > (1 << 63) - 1:  # go-yaml decodes it as uint64, a key type sigs.k8s.io/yaml refuses
            raise YAMLSyntaxError(f"unsupported map key of type: uint64, key: {key:#x}")
        return str(key)
    if isinstance(key, float):
        from utask.core.templates.goformat import yaml_float_key

        return yaml_float_key(key)
    kind = "<nil>" if key is None else type(key).__name__
    raise YAMLSyntaxError(f"error converting YAML to JSON: unsupported map key of type: {kind}")


def _construct_plain(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    return resolve_plain(loader.construct_scalar(node))


def _construct_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    return loader.construct_scalar(node)


def _construct_binary(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # go-yaml gives the decoded bytes, which become a JSON string
    return loader.construct_yaml_binary(node).decode("utf-8", errors="replace")


def _construct_set(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    # a !!set is a mapping whose values are null for go-yaml
    return loader.construct_mapping(node)


GoYAMLLoader.add_constructor(_PLAIN_TAG, _construct_plain)
GoYAMLLoader.add_constructor("tag:yaml.org,2002:binary", _construct_binary)
GoYAMLLoader.add_constructor("tag:yaml.org,2002:set", _construct_set)
# `<<` is a merge only as a key (handled by flatten_mapping); as a value it is the text "<<"
GoYAMLLoader.add_constructor(_MERGE_TAG, _construct_as_text)
# an explicit !!timestamp is kept as text too (go-yaml v2 backward compatibility for interface{})
GoYAMLLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_as_text)


class YAMLSyntaxError(ValueError):
    """The document is not valid YAML."""


def load_yaml(text: str | bytes) -> Any:
    """Parse one YAML document into Python values following go-yaml v2's scalar resolution.

    Map keys keep their YAML types here; conversion to JSON (string keys) is the decoder's job.
    """
    loader = GoYAMLLoader(text)
    try:
        # like go-yaml's Unmarshal, only the first document counts
        return loader.get_data() if loader.check_data() else None
    except yaml.YAMLError as exc:
        raise YAMLSyntaxError(_yaml_error_text(exc)) from exc
    finally:
        loader.dispose()


def _yaml_error_text(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    return f"yaml: {problem}"
