"""Executor for Go text/template parse trees (after src/text/template/exec.go, Go 1.19).

Values follow `values_model`: MISSING is Go's invalid reflect.Value, None a nil interface. Go's
`state.at(node)` bookkeeping is reproduced so that errors name the same node and position.

A value that came out of a map or a list is "boxed" (its static Go type is `interface {}`); this
only changes the type named by field errors (`can't evaluate field x in type interface {}`), so the
flag travels beside the dot and the variables instead of wrapping every value.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import inspect
import weakref
from collections.abc import Callable
from typing import Any

from utask.core.gojson import JSONNumber

from . import builtins as _b
from .gofmt import format_value
from .gotime_methods import method as time_method
from .nodes import (
    ActionNode,
    BoolNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    Tree,
    VariableNode,
    WithNode,
)
from .values_model import (
    INTERFACE,
    MISSING,
    GoCallError,
    GoSig,
    Int64,
    assignable,
    can_be_nil,
    concrete_type_name,
    go_type_name,
    zero_of,
)

REFLECT_VALUE = "reflect.Value"
MAX_TEMPLATE_DEPTH = 64  # Go allows 100000 nested calls; Python's stack does not
MAX_TEMPLATE_CALLS = 100_000  # a call tree that doubles at each level would otherwise run for ever
MAX_OUTPUT = 16 * 1024 * 1024


class ExecError(Exception):
    """A template execution error; str is Go's text."""


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Abort(Exception):
    """Internal: carries an already formatted error out of deep recursion."""


# --- function signatures ----------------------------------------------------------------------

_sig_cache: dict[Any, GoSig] = {}  # module-level functions (builtins, Sprig): a bounded set
_weak_sig_cache: weakref.WeakKeyDictionary[Any, GoSig] = weakref.WeakKeyDictionary()


def signature_of(fn: Callable[..., Any]) -> GoSig:
    """The Go signature of a template function: Sprig's `fn.sig`/`fn.returns`, `__gosig__`, or
    all-`interface {}` parameters read from the Python signature."""
    fn = getattr(fn, "__func__", fn)  # a bound method: its function carries the signature
    try:
        return _sig_cache[fn]
    except (KeyError, TypeError):
        pass
    try:
        return _weak_sig_cache[fn]
    except (KeyError, TypeError):
        pass
    bsig = getattr(fn, "sig", None)
    declared = getattr(fn, "__gosig__", None)
    if isinstance(bsig, tuple):
        gs = _from_sprig_sig(bsig, getattr(fn, "returns", None))
    elif declared is not None:
        # such functions may be per-container closures: remember them weakly
        with contextlib.suppress(TypeError):
            _weak_sig_cache[fn] = declared
        return declared
    else:
        # an undeclared Python callable: every parameter is interface {}
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            gs = GoSig((), INTERFACE)
        else:
            fixed = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            var = any(p.kind == p.VAR_POSITIONAL for p in params)
            gs = GoSig(tuple(INTERFACE for _ in fixed), INTERFACE if var else None)
        # callers' own functions come and go: remember them weakly
        with contextlib.suppress(TypeError):
            _weak_sig_cache[fn] = gs
        return gs
    with contextlib.suppress(TypeError):
        _sig_cache[fn] = gs
    return gs


# --- the executor -----------------------------------------------------------------------------


def register_signatures(funcs: dict[str, Callable[..., Any]]) -> None:
    """Resolve the signatures of a long-lived function map once (the hot path is one dict lookup)."""
    for fn in funcs.values():
        with contextlib.suppress(TypeError):
            _sig_cache[fn] = signature_of(fn)


def _norm_type(t: str) -> str:
    # Sprig's registry spells `interface{}`; Go's messages print `interface {}`
    return t.replace("interface{}", "interface {}")


def _from_sprig_sig(sig: tuple[str, ...], returns: Any = None) -> GoSig:
    """Sprig's `fn.sig` convention: Go parameter types, a trailing `...T` for a variadic."""
    result = "int64" if isinstance(returns, tuple) and returns[:1] == ("int64",) else None
    if sig and sig[-1].startswith("..."):
        return GoSig(tuple(_norm_type(t) for t in sig[:-1]), _norm_type(sig[-1][3:]), result)
    return GoSig(tuple(_norm_type(t) for t in sig), None, result)


register_signatures(_b.BUILTINS)


class State:
    __slots__ = (
        "trees", "tree", "funcs", "local_funcs", "vars", "node", "depth", "out", "size", "max_output", "dot_now",
        "calls",
    )

    def __init__(
        self,
        trees: dict[str, Tree],
        tree: Tree,
        funcs: dict[str, Callable[..., Any]],
        local_funcs: dict[str, Callable[..., Any]] | None,
        max_output: int = MAX_OUTPUT,
    ) -> None:
        self.trees = trees
        self.tree = tree
        self.funcs = funcs
        self.local_funcs = local_funcs or {}
        self.vars: list[list[Any]] = []  # [name, value, boxed]
        self.node: Node | None = None
        self.depth = 0
        self.out: list[str] = []
        self.size = 0
        self.max_output = max_output
        self.dot_now: Any = MISSING  # the dot of the command under way (arguments of method calls)
        self.calls = 0

    # errors ---------------------------------------------------------------------------------
    def errorf(self, msg: str) -> None:
        name = self.tree.name
        if self.node is None:
            raise ExecError(f"template: {name}: {msg}")
        tree = self.node.tree or self.tree
        location, context = tree.error_context(self.node)
        from .gofmt import go_quote

        raise ExecError(f"template: {location}: executing {go_quote(name)} at <{context}>: {msg}")

    def write(self, s: str) -> None:
        self.size += len(s)
        if self.size > self.max_output:  # bounded output: a runaway range cannot exhaust memory
            self.node = None
            self.errorf(f"output exceeds the maximum of {self.max_output} bytes")
        self.out.append(s)

    # variables ------------------------------------------------------------------------------
    def var_value(self, name: str) -> tuple[Any, bool]:
        for v in reversed(self.vars):
            if v[0] == name:
                return v[1], v[2]
        self.errorf(f"undefined variable: {name}")
        raise AssertionError

    def set_var(self, name: str, value: Any) -> None:
        for v in reversed(self.vars):
            if v[0] == name:
                v[1] = value
                v[2] = False
                return
        self.errorf(f"undefined variable: {name}")

    # walking --------------------------------------------------------------------------------
    def walk(self, dot: Any, boxed: bool, node: Node) -> None:
        self.node = node
        t = type(node)
        if t is ListNode:
            for n in node.nodes:  # type: ignore[attr-defined]
                self.walk(dot, boxed, n)
        elif t is TextNode:
            self.write(node.text)  # type: ignore[attr-defined]
        elif t is ActionNode:
            pipe = node.pipe  # type: ignore[attr-defined]
            val = self.eval_pipeline(dot, boxed, pipe)
            if not pipe.decl:
                self.node = node
                self.write(format_value(val))
        elif t is IfNode or t is WithNode:
            self.walk_if_or_with(t is WithNode, dot, boxed, node)  # type: ignore[arg-type]
        elif t is RangeNode:
            self.walk_range(dot, boxed, node)  # type: ignore[arg-type]
        elif t is TemplateNode:
            self.walk_template(dot, boxed, node)  # type: ignore[arg-type]
        elif t is CommentNode:
            pass
        elif t is BreakNode:
            raise _Break
        elif t is ContinueNode:
            raise _Continue
        else:
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, is_with: bool, dot: Any, boxed: bool, node: IfNode | WithNode) -> None:
        mark = len(self.vars)
        try:
            val = self.eval_pipeline(dot, boxed, node.pipe)
            if _b.is_true(val):
                if is_with:
                    self.walk(val, False, node.list)
                else:
                    self.walk(dot, boxed, node.list)
            elif node.else_list is not None:
                self.walk(dot, boxed, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, boxed: bool, r: RangeNode) -> None:
        self.node = r
        mark0 = len(self.vars)
        try:
            val = self.eval_pipeline(dot, boxed, r.pipe)
            mark = len(self.vars)
            ndecl = len(r.pipe.decl)

            def one(index: Any, elem: Any) -> None:
                if ndecl > 0:
                    v = self.vars[mark - 1]
                    v[1], v[2] = elem, True
                if ndecl > 1:
                    v = self.vars[mark - 2]
                    v[1], v[2] = index, False
                try:
                    self.walk(elem, True, r.list)
                except _Continue:
                    pass
                finally:
                    del self.vars[mark:]

            try:
                if isinstance(val, list | tuple):
                    if val:
                        for i, e in enumerate(val):
                            one(i, e)
                        return
                elif isinstance(val, dict):
                    if val:
                        for k in sorted(val):
                            one(k, val[k])
                        return
                elif val is MISSING:
                    pass
                else:
                    self.errorf(f"range can't iterate over {format_value(val)}")
            except _Break:
                return
            if r.else_list is not None:
                self.walk(dot, boxed, r.else_list)
        finally:
            del self.vars[mark0:]

    def walk_template(self, dot: Any, boxed: bool, t: TemplateNode) -> None:
        self.node = t
        tree = self.trees.get(t.name)
        if tree is None or tree.root is None:
            self.errorf(f"template {_q(t.name)} not defined")
            raise AssertionError
        if self.depth >= MAX_TEMPLATE_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})")
        self.calls += 1
        if self.calls > MAX_TEMPLATE_CALLS:
            self.errorf(f"exceeded maximum number of template calls ({MAX_TEMPLATE_CALLS})")
        new_dot = self.eval_pipeline(dot, boxed, t.pipe) if t.pipe is not None else MISSING
        saved = (self.tree, self.vars, self.depth)
        self.tree = tree
        self.vars = [["$", new_dot, False]]
        self.depth += 1
        try:
            self.walk(new_dot, False, tree.root)
        finally:
            self.tree, self.vars, self.depth = saved

    # pipelines ------------------------------------------------------------------------------
    def eval_pipeline(self, dot: Any, boxed: bool, pipe: PipeNode | None) -> Any:
        if pipe is None:
            return MISSING
        self.node = pipe
        value: Any = _FINAL_MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, boxed, cmd, value)
            if value is None:
                # an empty interface holding nil is dug out into the invalid value
                value = MISSING
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.vars.append([var.ident[0], value, False])
        return value

    def eval_command(self, dot: Any, boxed: bool, cmd: CommandNode, final: Any) -> Any:
        self.dot_now = dot
        first = cmd.args[0]
        t = type(first)
        if t is FieldNode:
            self.node = first
            return self.eval_field_chain(dot, dot, boxed, first, first.ident, cmd.args, final)  # type: ignore[attr-defined]
        if t is ChainNode:
            return self.eval_chain_node(dot, boxed, first, cmd.args, final)  # type: ignore[arg-type]
        if t is IdentifierNode:
            return self.eval_function(dot, boxed, first, cmd, cmd.args, final)  # type: ignore[arg-type]
        if t is PipeNode:
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, boxed, first)  # type: ignore[arg-type]
        if t is VariableNode:
            return self.eval_variable_node(dot, boxed, first, cmd.args, final)  # type: ignore[arg-type]
        self.node = first
        self.not_a_function(cmd.args, final)
        if t is BoolNode:
            return first.true  # type: ignore[attr-defined]
        if t is DotNode:
            return dot
        if t is NilNode:
            self.errorf("nil is not a command")
        if t is NumberNode:
            return self.ideal_constant(first)  # type: ignore[arg-type]
        if t is StringNode:
            return first.text  # type: ignore[attr-defined]
        self.errorf(f"can't evaluate command {_q(str(first))}")
        raise AssertionError

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _FINAL_MISSING:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def ideal_constant(self, c: NumberNode) -> Any:
        self.node = c
        v = c.const
        if v is _UNSET:
            v = c.const = _ideal_value(c)
        if v is _OVERFLOW:
            self.errorf(f"{c.text} overflows int")
        return v

    def eval_chain_node(self, dot: Any, boxed: bool, chain: ChainNode, args: list[Node] | None, final: Any) -> Any:
        self.node = chain
        if isinstance(chain.node, NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, boxed, None, chain.node)
        return self.eval_field_chain(dot, pipe, False, chain, chain.fields, args, final)

    def eval_variable_node(self, dot: Any, boxed: bool, v: VariableNode, args: list[Node] | None, final: Any) -> Any:
        self.node = v
        value, vboxed = self.var_value(v.ident[0])
        if len(v.ident) == 1:
            if args is not None:
                self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, vboxed, v, v.ident[1:], args, final)

    def eval_field_chain(
        self, dot: Any, receiver: Any, boxed: bool, node: Node, ident: list[str], args: list[Node] | None, final: Any
    ) -> Any:
        n = len(ident)
        for i in range(n - 1):
            from_map = isinstance(receiver, dict)
            receiver = self.eval_field(ident[i], node, None, _FINAL_MISSING, receiver, boxed)
            boxed = from_map  # a map element is an interface {}; a method result has its own type
        return self.eval_field(ident[n - 1], node, args, final, receiver, boxed)

    def eval_field(
        self, name: str, node: Node, args: list[Node] | None, final: Any, receiver: Any, boxed: bool
    ) -> Any:
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, dict):
            if (args is not None and len(args) > 1) or final is not _FINAL_MISSING:
                self.errorf(f"{name} is not a method but has arguments")
            return receiver.get(name, MISSING)
        if isinstance(receiver, _dt.datetime):
            m = time_method(receiver, name)
            if m is not None:
                return self.eval_call(self.dot_now, False, m, False, node, name, args, final)
        go_field = getattr(receiver, "__go_field__", None)
        if go_field is not None:
            # Go values with methods or fields (Sprig's *semver.Version, certificates)
            try:
                member = go_field(name)
            except AttributeError:
                pass
            else:
                if callable(member):
                    return self.eval_call(self.dot_now, False, member, False, node, name, args, final)
                if (args is not None and len(args) > 1) or final is not _FINAL_MISSING:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return member
        typ = INTERFACE if boxed else go_type_name(receiver)
        self.errorf(f"can't evaluate field {name} in type {typ}")
        raise AssertionError

    # function calls -------------------------------------------------------------------------
    def eval_function(
        self, dot: Any, boxed: bool, node: IdentifierNode, cmd: Node, args: list[Node] | None, final: Any
    ) -> Any:
        self.node = node
        name = node.ident
        fn = self.local_funcs.get(name)
        builtin = False
        if fn is None:
            fn = self.funcs.get(name)
            if fn is None:
                fn = _b.BUILTINS.get(name)
                builtin = fn is not None
            else:
                builtin = name in _b.BUILTINS and fn is _b.BUILTINS[name]
        if fn is None:
            self.errorf(f"{_q(name)} is not a defined function")
        return self.eval_call(dot, boxed, fn, builtin, cmd, name, args, final)  # type: ignore[arg-type]

    def eval_call(
        self,
        dot: Any,
        boxed: bool,
        fn: Callable[..., Any],
        builtin: bool,
        node: Node,
        name: str,
        args: list[Node] | None,
        final: Any,
    ) -> Any:
        args = args[1:] if args is not None else []
        nargs = len(args)
        try:
            sig = _sig_cache[fn]  # builtins and the shared function map are registered up front
        except (KeyError, TypeError):
            sig = signature_of(fn)
        params = sig.params
        variadic = sig.variadic
        has_final = final is not _FINAL_MISSING
        num_in = nargs + 1 if has_final else nargs
        nparams = len(params)
        if variadic is not None:
            if num_in < nparams:
                self.errorf(f"wrong number of args for {name}: want at least {nparams} got {nargs}")
        elif num_in != nparams:
            self.errorf(f"wrong number of args for {name}: want {nparams} got {num_in}")

        if builtin and (name == "and" or name == "or"):
            want = name == "or"
            v: Any = MISSING
            for a in args:
                v = self.eval_arg(dot, boxed, REFLECT_VALUE, a)
                if _b.is_true(v) == want:
                    return v
            return final if has_final else v

        eval_arg = self.eval_arg
        if variadic is None:
            argv = [eval_arg(dot, boxed, params[i], args[i]) for i in range(nargs)]
            if has_final:
                argv.append(self.validate_type(final, params[nparams - 1]))
        else:
            argv = [eval_arg(dot, boxed, params[i] if i < nparams else variadic, args[i]) for i in range(nargs)]
            if has_final:
                argv.append(self.validate_type(final, params[num_in - 1] if num_in - 1 < nparams else variadic))
        try:
            result = fn(*argv)
        except (ExecError, _Abort, RecursionError):
            raise
        except Exception as e:  # GoCallError, or a panic in Go: safeCall reports both the same way
            self.node = node
            self.errorf(f"error calling {name}: {_exc_text(e)}")
            raise AssertionError from None
        if sig.result is not None and type(result) is int:
            result = Int64(result)  # Go's int64 results are not assignable to int parameters
        return result

    def validate_type(self, value: Any, typ: str | None) -> Any:
        if value is MISSING:
            if typ is None:
                return MISSING
            if typ == REFLECT_VALUE:
                return MISSING
            if can_be_nil(typ):
                return zero_of(typ)
            self.errorf(f"invalid value; expected {typ}")
        if typ is None or typ in (REFLECT_VALUE, INTERFACE):
            return value
        if value is None or not assignable(value, typ):
            self.errorf(f"wrong type for value; expected {typ}; got {concrete_type_name(value)}")
        return value

    def eval_arg(self, dot: Any, boxed: bool, typ: str | None, n: Node) -> Any:
        self.node = n
        t = type(n)
        if t is DotNode:
            return self.validate_type(dot, typ)
        if t is NilNode:
            if typ is None or typ == REFLECT_VALUE:
                return MISSING
            if can_be_nil(typ):
                return zero_of(typ)
            self.errorf(f"cannot assign nil to {typ}")
        if t is FieldNode:
            return self.validate_type(
                self.eval_field_chain(dot, dot, boxed, n, n.ident, [n], _FINAL_MISSING), typ  # type: ignore[attr-defined]
            )
        if t is VariableNode:
            return self.validate_type(self.eval_variable_node(dot, boxed, n, None, _FINAL_MISSING), typ)  # type: ignore[arg-type]
        if t is PipeNode:
            return self.validate_type(self.eval_pipeline(dot, boxed, n), typ)  # type: ignore[arg-type]
        if t is IdentifierNode:
            return self.validate_type(self.eval_function(dot, boxed, n, n, None, _FINAL_MISSING), typ)  # type: ignore[arg-type]
        if t is ChainNode:
            return self.validate_type(self.eval_chain_node(dot, boxed, n, None, _FINAL_MISSING), typ)  # type: ignore[arg-type]
        if typ is None or typ in (INTERFACE, REFLECT_VALUE):
            return self.eval_empty_interface(dot, boxed, n)
        if typ == "bool":
            if t is BoolNode:
                return n.true  # type: ignore[attr-defined]
            self.errorf(f"expected bool; found {n}")
        if typ in ("int", "int64", "int32", "int16", "int8"):
            if t is NumberNode and n.is_int:  # type: ignore[attr-defined]
                return n.int64  # type: ignore[attr-defined]
            self.errorf(f"expected integer; found {n}")
        if typ in ("uint", "uint64", "uint32", "uint16", "uint8"):
            if t is NumberNode and n.is_uint:  # type: ignore[attr-defined]
                return n.uint64  # type: ignore[attr-defined]
            self.errorf(f"expected unsigned integer; found {n}")
        if typ == "float64":
            if t is NumberNode and n.is_float:  # type: ignore[attr-defined]
                return n.float64  # type: ignore[attr-defined]
            self.errorf(f"expected float; found {n}")
        if typ == "string":
            if t is StringNode:
                return n.text  # type: ignore[attr-defined]
            self.errorf(f"expected string; found {n}")
        self.errorf(f"can't handle {n} for arg of type {typ}")
        raise AssertionError

    def eval_empty_interface(self, dot: Any, boxed: bool, n: Node) -> Any:
        self.node = n
        t = type(n)
        if t is BoolNode:
            return n.true  # type: ignore[attr-defined]
        if t is NumberNode:
            return self.ideal_constant(n)  # type: ignore[arg-type]
        if t is StringNode:
            return n.text  # type: ignore[attr-defined]
        self.errorf(f"can't handle assignment of {n} to empty interface argument")
        raise AssertionError


_UNSET = None  # NumberNode.const before the first evaluation
_OVERFLOW = object()


def _ideal_value(c: NumberNode) -> Any:
    """Go's idealConstant: the syntax decides between int, float64 and complex128."""
    if c.is_complex:
        return c.complex128
    text = c.text
    is_hex_int = len(text) > 2 and text[0] == "0" and text[1] in "xX" and not any(ch in text for ch in "pP")
    if c.is_float and not is_hex_int and text[0] != "'" and any(ch in text for ch in ".eEpP"):
        return c.float64
    if c.is_int:
        return c.int64
    if c.is_uint:
        return _OVERFLOW
    return MISSING


class _FinalMissing:
    """Go's missingVal: marks 'no value piped in from the previous command'."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<final missing>"


_FINAL_MISSING = _FinalMissing()


def _q(s: str) -> str:
    from .gofmt import go_quote

    return go_quote(s)


def _exc_text(e: BaseException) -> str:
    text = str(e)
    if isinstance(e, KeyError) and e.args:
        text = str(e.args[0])
    return text or type(e).__name__


def execute(
    trees: dict[str, Tree],
    name: str,
    data: Any,
    funcs: dict[str, Callable[..., Any]],
    local_funcs: dict[str, Callable[..., Any]] | None = None,
    max_output: int = MAX_OUTPUT,
) -> str:
    tree = trees.get(name)
    if tree is None:
        raise ExecError(f'template: {name}: "{name}" is an incomplete or empty template')
    st = State(trees, tree, funcs, local_funcs, max_output)
    dot = MISSING if data is None else data
    st.vars.append(["$", dot, False])
    try:
        assert tree.root is not None
        st.walk(dot, False, tree.root)
    except RecursionError:
        raise ExecError(f"template: {name}: nesting too deep to execute") from None
    return "".join(st.out)


__all__ = ["ExecError", "GoCallError", "JSONNumber", "execute", "signature_of"]
