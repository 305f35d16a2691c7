"""Step `json_schema`: version normalisation (§5.10), compilation, and the property resolution used by
linting (§1.4), ported from µTask's `pkg/jsonschema` (which uses santhosh-tekuri/jsonschema v1).

Compilation checks the schema against its draft's meta-schema (python-jsonschema) and resolves every
`$ref` inside the document (JSON pointers, optionally after an `$id`/`id` base). References to other
documents are not fetched: they are a compile error here (µTask would try to download them).
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

import jsonschema as pyjsonschema
from utask.core.gojson import JSONNumber

ROOT_KEY = "utaskRootKey"
DRAFT7 = "http://json-schema.org/draft-07/schema#"
DRAFT6 = "http://json-schema.org/draft-06/schema#"
DRAFT4 = "http://json-schema.org/draft-04/schema#"

# santhosh-tekuri/jsonschema v1.2.4 knows exactly these `$schema` values (no normalisation)
_DRAFTS = {
    "http://json-schema.org/schema#": (DRAFT7, pyjsonschema.Draft7Validator),
    DRAFT7: (DRAFT7, pyjsonschema.Draft7Validator),
    DRAFT6: (DRAFT6, pyjsonschema.Draft6Validator),
    DRAFT4: (DRAFT4, pyjsonschema.Draft4Validator),
}


class SchemaCompileError(ValueError):
    pass


def compute_version(schema: Any) -> Any:
    """Insert `$schema` from `version` (4, 6, else draft-07) when absent; `version` is removed.

    Non-object schemas are returned unchanged (Go fails to decode them into a map and keeps them).
    """
    if not isinstance(schema, dict):
        return schema
    if "$schema" in schema:
        return schema
    m = dict(schema)
    version = 0.0
    if "version" in m:
        v = m.pop("version")
        # Go: `version, _ = v.(float64)` — only JSON numbers count
        if isinstance(v, JSONNumber | int | float) and not isinstance(v, bool):
            try:
                version = float(v)
            except ValueError:
                version = 0.0
    m["$schema"] = {6.0: DRAFT6, 4.0: DRAFT4}.get(version, DRAFT7)
    # Go re-marshals the map: keys sorted
    return {k: m[k] for k in sorted(m)}


def _to_plain(value: Any) -> Any:
    """JSONNumber → int/float so python-jsonschema sees numbers."""
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, JSONNumber):
        text = str(value)
        try:
            return int(text)
        except ValueError:
            return float(text)
    return value


class _Schema:
    """A compiled schema node: only the keywords property extraction follows."""

    __slots__ = ("ref", "properties", "not_", "if_", "then", "else_", "all_of", "any_of", "one_of")

    def __init__(self) -> None:
        self.ref: _Schema | None = None
        self.properties: dict[str, _Schema] = {}
        self.not_: _Schema | None = None
        self.if_: _Schema | None = None
        self.then: _Schema | None = None
        self.else_: _Schema | None = None
        self.all_of: list[_Schema] = []
        self.any_of: list[_Schema] = []
        self.one_of: list[_Schema] = []


class _Compiler:
    def __init__(self, url: str, root: Any, draft: str) -> None:
        self.root = root
        self.draft = draft
        self.id_key = "id" if draft == DRAFT4 else "$id"
        self.cache: dict[tuple[str, str], _Schema] = {}
        self.base = url
        self.ids: dict[str, tuple[str, Any]] = {}
        self._collect_ids(root, "", url)

    def _collect_ids(self, node: Any, ptr: str, base: str) -> None:
        if isinstance(node, dict):
            ident = node.get(self.id_key)
            if isinstance(ident, str) and not ident.startswith("#"):
                base = urljoin(base, ident)
                self.ids[urldefrag(base)[0]] = (ptr, node)
            for k, v in node.items():
                if k in ("enum", "const"):
                    continue
                self._collect_ids(v, f"{ptr}/{k}", base)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._collect_ids(v, f"{ptr}/{i}", base)

    def _resolve_pointer(self, doc: Any, pointer: str, ref: str) -> Any:
        """santhosh-tekuri's resolvePtr, with its error texts: a missing key yields null (then refused
        by the meta-schema), walking through a non-container is `invalid $ref <ptr>`."""
        node = doc
        if pointer in ("", "/"):
            return doc
        for raw in pointer.lstrip("/").split("/"):
            token = unquote(raw.replace("~1", "/").replace("~0", "~"))
            if isinstance(node, dict):
                node = node.get(token)
            elif isinstance(node, list):
                if not token.lstrip("-").isdigit():
                    raise SchemaCompileError(
                        f'invalid $ref "#{pointer}", reason: strconv.Atoi: parsing "{token}": invalid syntax'
                    )
                if not 0 <= int(token) < len(node):
                    raise SchemaCompileError(f'invalid $ref "#{pointer}", reason: array index outofrange')
                node = node[int(token)]
            else:
                raise SchemaCompileError(f"invalid $ref #{pointer}")
        if node is None:
            where = pointer.lstrip("/")
            expected = "object" if self.draft == DRAFT4 else "object or boolean"
            raise SchemaCompileError(
                f'json-schema "{self.base}" compilation failed. Reason:\n'
                f'I[#/{where}] S[#] doesn\'t validate with "{self.draft}"\n'
                f"  I[#/{where}] S[#/type] expected {expected}, but got null"
            )
        return node

    def compile(self, node: Any, ptr: str, base: str) -> _Schema:
        key = (base, ptr)
        if key in self.cache:
            return self.cache[key]
        s = _Schema()
        self.cache[key] = s
        if not isinstance(node, dict):
            return s
        ident = node.get(self.id_key)
        if isinstance(ident, str) and not ident.startswith("#"):
            base = urljoin(base, ident)
        ref = node.get("$ref")
        if isinstance(ref, str):
            # draft 4/6/7: with $ref every other keyword is ignored
            s.ref = self._compile_ref(ref, base)
            return s
        props = node.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                s.properties[name] = self.compile(sub, f"{ptr}/properties/{name}", base)
        for kw, attr in (("not", "not_"), ("if", "if_"), ("then", "then"), ("else", "else_")):
            if kw in ("if", "then", "else") and self.draft != DRAFT7:
                continue
            if kw in node:
                setattr(s, attr, self.compile(node[kw], f"{ptr}/{kw}", base))
        for kw, attr in (("allOf", "all_of"), ("anyOf", "any_of"), ("oneOf", "one_of")):
            subs = node.get(kw)
            if isinstance(subs, list):
                setattr(s, attr, [self.compile(x, f"{ptr}/{kw}/{i}", base) for i, x in enumerate(subs)])
        return s

    def _compile_ref(self, ref: str, base: str) -> _Schema:
        target = urljoin(base, ref)
        doc_url, fragment = urldefrag(target)
        root_url = urldefrag(self.base)[0]
        if doc_url == root_url or doc_url == "":
            doc_ptr, doc = "", self.root
        elif doc_url in self.ids:
            doc_ptr, doc = self.ids[doc_url]
        else:
            raise SchemaCompileError(f'json-schema "{ref}": reference to another document is not supported')
        node = self._resolve_pointer(doc, fragment, ref)
        return self.compile(node, doc_ptr + fragment, doc_url or root_url)


def compile_schema(url: str, schema: Any) -> _Schema | None:
    """Compile (meta-schema check + `$ref` resolution); None when there is no schema."""
    if schema is None:
        return None
    plain = _to_plain(schema)
    if not isinstance(plain, dict):
        if isinstance(plain, bool):
            return _Schema()
        raise SchemaCompileError(f'json-schema "{url}": expected an object, got {type(plain).__name__}')
    declared = plain.get("$schema", DRAFT7)
    known = _DRAFTS.get(declared) if isinstance(declared, str) else None
    if known is None:
        raise SchemaCompileError(f"unknown $schema {_go_q(declared)}")
    normalized, validator = known
    try:
        validator.check_schema(plain)
    except pyjsonschema.SchemaError as exc:
        # santhosh-tekuri's layout; the nested cause is python-jsonschema's wording
        where = "/".join(str(p) for p in exc.path)
        schema_ptr = "/".join(str(p) for p in exc.schema_path)
        raise SchemaCompileError(
            f'json-schema "{url}" compilation failed. Reason:\n'
            f'I[#] S[#] doesn\'t validate with "{normalized}"\n'
            f"  I[#{'/' + where if where else ''}] S[#/{schema_ptr}] {exc.message}"
        ) from None
    return _Compiler(url, copy.deepcopy(plain), normalized).compile(plain, "", url)


def _go_q(value: Any) -> str:
    """fmt's %q of a decoded JSON value (strings quoted, others as Go prints a bad %q verb)."""
    if isinstance(value, str) and not isinstance(value, JSONNumber):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return f"%!q(bool={'true' if value else 'false'})"
    if isinstance(value, JSONNumber | int | float):
        return f"%!q(float64={value})"
    return f"%!q({value})"


def normalize_and_compile(url: str, schema: Any) -> Any:
    """`NormalizeAndCompile`: the normalised schema, or SchemaCompileError."""
    schema = compute_version(schema)
    compile_schema(url, schema)
    return schema


# --- property extraction (literal port of pkg/jsonschema) ----------------------------------------


def _extract_schemas_from_schema(s: _Schema) -> list[_Schema]:
    out = [x for x in (s.ref, s.not_, s.if_, s.then, s.else_) if x is not None]
    out += s.all_of + s.any_of + s.one_of
    return out


def _extract_properties_from_schema(schemas: list[_Schema]) -> list[str]:
    result: list[str] = []
    for schema in schemas:
        if schema.ref is not None:
            schema = schema.ref
        result.extend(schema.properties)
    return result


def _extract_schemas(s: _Schema, properties: dict[str, list[_Schema]]) -> dict[str, list[_Schema]]:
    if s.ref is not None:
        return _extract_schemas(s.ref, properties)
    length = len(properties)
    for name, schema in s.properties.items():
        if name not in properties:
            properties[name] = _extract_schemas_from_schema(schema)
    if len(properties) == length:
        return properties
    for prop in s.properties.values():
        for sub in (prop.ref, prop.not_, prop.if_, prop.then, prop.else_):
            if sub is not None:
                properties = _extract_schemas(sub, properties)
        for sub in prop.any_of + prop.all_of + prop.one_of:
            properties = _extract_schemas(sub, properties)
    return properties


def _extract_properties(schema: _Schema, properties: dict[str, list[str]], key: str) -> dict[str, list[str]]:
    for name, s in schema.properties.items():
        if key != ROOT_KEY:
            properties.setdefault(key, []).append(name)
        properties.setdefault(name, [])
        _extract_properties(s, properties, name)
    return properties


def extract_property(url: str, schema: Any) -> dict[str, list[str]] | None:
    """name → possible child property names; root properties under ROOT_KEY."""
    try:
        compiled = compile_schema(url, schema)
    except SchemaCompileError:
        return None
    if compiled is None:
        return None
    extracted = _extract_schemas(compiled, {})
    output = {name: _extract_properties_from_schema(lst) for name, lst in extracted.items()}
    properties = _extract_properties(compiled, output, ROOT_KEY)
    if ROOT_KEY in properties:
        raise ValueError(f'Cannot use property "{ROOT_KEY}" as it\'s a reserved keyword. Please rename your property')
    # Go ranges over the root's own Properties (none when the root is a bare $ref)
    for name in compiled.properties:
        properties.setdefault(ROOT_KEY, []).append(name)
    return properties


def try_variable_path(properties: dict[str, list[str]] | None, parts: list[str]) -> str | None:
    """None when the path resolves; else the `Variable <path> does not exist` message."""
    last = ROOT_KEY
    props = properties or {}
    for p in parts:
        if last not in props or p not in props[last]:
            return f"Variable {'.'.join(parts)} does not exist"
        last = p
    return None
