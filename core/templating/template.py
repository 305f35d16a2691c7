"""Compile (parse once, LRU-cached) and render Go templates."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from . import builtins as _b
from .executor import MAX_OUTPUT, ExecError, execute
from .gofmt import format_value
from .parser import ActionNode, CommentNode, FieldNode, ParseError, TextNode, Tree, parse
from .values_model import MISSING

NAME = "tmpl"
CACHE_SIZE = 4096


class TemplateError(Exception):
    """A Go template parse or execution error; str is Go's text (`template: tmpl:1:5: ...`)."""


class Compiled:
    """Parse trees plus, for templates made only of text and `{{.a.b.c}}` actions, a fast plan."""

    __slots__ = ("trees", "plan")

    def __init__(self, trees: dict[str, Tree]) -> None:
        self.trees = trees
        self.plan = _fast_plan(trees)


def _fast_plan(trees: dict[str, Tree]) -> list[Any] | None:
    if len(trees) != 1 or NAME not in trees:
        return None
    root = trees[NAME].root
    if root is None:
        return None
    plan: list[Any] = []
    for n in root.nodes:
        if isinstance(n, TextNode):
            plan.append(n.text)
        elif isinstance(n, CommentNode):
            continue
        elif (
            isinstance(n, ActionNode)
            and not n.pipe.decl
            and len(n.pipe.cmds) == 1
            and len(n.pipe.cmds[0].args) == 1
            and isinstance(n.pipe.cmds[0].args[0], FieldNode)
        ):
            plan.append(tuple(n.pipe.cmds[0].args[0].ident))
        else:
            return None
    return plan


_NOT_FAST = object()


def _run_plan(plan: list[Any], data: Any) -> Any:
    """Output of a fast plan, or _NOT_FAST when a step needs the executor (errors, non-maps)."""
    out: list[str] = []
    append = out.append
    for part in plan:
        if part.__class__ is str:
            append(part)
            continue
        cur = data
        for key in part:
            if cur.__class__ is not dict:
                if cur is MISSING:
                    break
                return _NOT_FAST  # nil or non-map receiver: an error the executor words
            cur = cur.get(key, MISSING)
        if isinstance(cur, str):
            append(cur)
        else:
            append(format_value(MISSING if cur is None else cur))
    return "".join(out)


@lru_cache(maxsize=CACHE_SIZE)
def _compile(source: str, func_names: frozenset[str]) -> Compiled:
    return Compiled(parse(NAME, source, func_names))


def compile_template(source: str, func_names: frozenset[str]) -> Compiled:
    """The compiled template for `source` (cached by source and the set of function names known)."""
    try:
        return _compile(source, func_names)
    except ParseError as e:
        raise TemplateError(str(e)) from None
    except RecursionError:
        raise TemplateError(f"template: {NAME}: nesting too deep to parse") from None


def run(
    source: str,
    data: Any,
    funcs: dict[str, Callable[..., Any]],
    func_names: frozenset[str],
    local_funcs: dict[str, Callable[..., Any]] | None = None,
    max_output: int = MAX_OUTPUT,
) -> str:
    """Parse (cached) and execute `source` against `data`; raises TemplateError."""
    compiled = compile_template(source, func_names)
    if compiled.plan is not None and data is not None:
        out = _run_plan(compiled.plan, data)
        if out is not _NOT_FAST and len(out) <= max_output:
            return out  # type: ignore[no-any-return]
    try:
        return execute(compiled.trees, NAME, data, funcs, local_funcs, max_output)
    except ExecError as e:
        raise TemplateError(str(e)) from None


def names_of(*dicts: dict[str, Any]) -> frozenset[str]:
    names: set[str] = set(_b.BUILTINS)
    for d in dicts:
        names.update(d)
    return frozenset(names)
