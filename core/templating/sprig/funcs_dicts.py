"""Sprig dict functions (dict.go) with mergo's map merge rules and copystructure's deep copy."""

from __future__ import annotations

from typing import Any

from ._cast import empty, strval
from ._fmt import norm
from ._registry import gofunc

M, S, IF = "map[string]interface{}", "string", "interface{}"


@gofunc("dict", ("...interface{}",), (M,))
def dict_(*v: Any) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for i in range(0, len(v), 2):
        key = strval(norm(v[i]))
        d[key] = norm(v[i + 1]) if i + 1 < len(v) else ""
    return d


@gofunc("get", (M, S), (IF,))
def get(d: dict[str, Any], key: str) -> Any:
    return d.get(key, "")


@gofunc("set", (M, S, IF), (M,))
def set_(d: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    d[key] = norm(value)
    return d


@gofunc("unset", (M, S), (M,))
def unset(d: dict[str, Any], key: str) -> dict[str, Any]:
    d.pop(key, None)
    return d


@gofunc("hasKey", (M, S), ("bool",))
def has_key(d: dict[str, Any], key: str) -> bool:
    return key in d


@gofunc("pluck", (S, "...map[string]interface{}"), ("[]interface{}",))
def pluck(key: str, *dicts: dict[str, Any]) -> list[Any]:
    return [d[key] for d in dicts if d is not None and key in d]


@gofunc("keys", ("...map[string]interface{}",), ("[]string",))
def keys(*dicts: dict[str, Any]) -> list[Any]:
    return [k for d in dicts if d for k in d]


@gofunc("values", (M,), ("[]interface{}",))
def values(d: dict[str, Any]) -> list[Any]:
    return list(d.values()) if d else []


@gofunc("pick", (M, "...string"), (M,))
def pick(d: dict[str, Any], *ks: str) -> dict[str, Any]:
    return {k: d[k] for k in ks if d is not None and k in d}


@gofunc("omit", (M, "...string"), (M,))
def omit(d: dict[str, Any], *ks: str) -> dict[str, Any]:
    drop = set(ks)
    return {k: v for k, v in (d or {}).items() if k not in drop}


def _merge(dst: dict[str, Any], src: dict[str, Any], overwrite: bool) -> None:
    """mergo.Merge / mergo.MergeWithOverwrite for map[string]interface{}."""
    for k, sv in src.items():
        exists = k in dst
        dv = dst.get(k)
        if sv is None:
            if overwrite:
                dst[k] = None
            continue
        if isinstance(sv, dict):
            if exists and isinstance(dv, dict):
                _merge(dv, sv, overwrite)
        elif isinstance(sv, list) and overwrite:
            dst[k] = sv
        if exists and not empty(dv):
            if isinstance(sv, list):
                continue
            if isinstance(sv, dict) and isinstance(dv, dict):
                continue
        if overwrite or not exists or empty(dv):
            dst[k] = sv


@gofunc(("merge", "mustMerge"), (M, "...map[string]interface{}"), (IF,))
def merge(dst: dict[str, Any], *srcs: dict[str, Any]) -> Any:
    for src in srcs:
        if src:
            _merge(dst, src, False)
    return dst


@gofunc(("mergeOverwrite", "mustMergeOverwrite"), (M, "...map[string]interface{}"), (IF,))
def merge_overwrite(dst: dict[str, Any], *srcs: dict[str, Any]) -> Any:
    for src in srcs:
        if src:
            _merge(dst, src, True)
    return dst


def deep_copy_value(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: deep_copy_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [deep_copy_value(x) for x in v]
    return v


@gofunc(("deepCopy", "mustDeepCopy"), (IF,), (IF,))
def deep_copy(v: Any) -> Any:
    return deep_copy_value(norm(v))
