"""The µTask values container (reference §4.2) and JSON templating (§4.5)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .functions import FUNCS
from .jsvars import DEFAULT_TIMEOUT, JSEvalError, parse_go_duration, run_expression
from .template import TemplateError, names_of, run
from .utask_funcs import walk
from .values_model import MISSING, GoCallError, GoSig

THIS = "this"
_LOCAL_NAMES = ("field", "eval", "evalCache")
_NAMES = names_of(FUNCS, dict.fromkeys(_LOCAL_NAMES))
MAX_VARIABLE_DEPTH = 32
_SIG_FIELD = GoSig((), "string")
_SIG_EVAL = GoSig(("string",))


class TemplatingError(Exception):
    """A template error as µTask reports it: str is `Templating error: <Go text>`."""

    def __init__(self, go_error: str) -> None:
        super().__init__(go_error)
        self.go_error = go_error

    def __str__(self) -> str:
        return f"Templating error: {self.go_error}"


class _Variable:
    __slots__ = ("name", "value", "expression", "timeout", "timeout_text", "has_value", "cache")

    def __init__(self, d: dict[str, Any]) -> None:
        self.name = d.get("name", "")
        self.has_value = d.get("value") is not None
        self.value = d.get("value")
        self.expression = d.get("expression") or ""
        t = d.get("expression_timeout") or ""
        self.timeout_text = t
        self.timeout = parse_go_duration(t) if t else DEFAULT_TIMEOUT
        self.cache: Any = MISSING

    def as_dict(self) -> dict[str, Any]:
        # `.var.<name>` is a Go *Variable struct: templates reach its exported field names
        return {"Name": self.name, "Expression": self.expression, "ExpressionTimeout": self.timeout_text,
                "Value": self.value}


class Values:
    """The live data of a running task, rendered into templates as the root `.`."""

    def __init__(self) -> None:
        self._m: dict[str, Any] = {
            "input": {},
            "resolver_input": {},
            "step": {},
            "task": {},
            "config": {},
            "var": {},
            "iterator": None,
        }
        self._vars: dict[str, _Variable] = {}
        self._depth = 0
        self._own_funcs: dict[str, Callable[..., Any]] | None = None
        self._root_now: dict[str, Any] = self._m

    # --- setters ------------------------------------------------------------------------------
    def set_input(self, inputs: dict[str, Any]) -> None:
        self._m["input"] = inputs

    def set_resolver_input(self, inputs: dict[str, Any]) -> None:
        self._m["resolver_input"] = inputs

    def set_config(self, config: dict[str, Any]) -> None:
        self._m["config"] = config

    def set_task_infos(self, infos: dict[str, Any]) -> None:
        self._m["task"] = infos

    def set_variables(self, variables: list[dict[str, Any]]) -> None:
        self._vars = {}
        for d in variables:
            v = _Variable(d)
            self._vars[v.name] = v
        self._m["var"] = {name: v.as_dict() for name, v in self._vars.items()}

    def set_step(
        self,
        name: str,
        output: Any = None,
        metadata: Any = None,
        children: Any = None,
        error: Any = None,
        state: Any = None,
        try_count: int | None = None,
        max_retries: int | None = None,
    ) -> None:
        data: dict[str, Any] = {
            "output": {} if output is None else output,
            "metadata": {} if metadata is None else metadata,
            "children": {} if children is None else children,
            "error": "" if error is None else error,
            "state": "" if state is None else state,
        }
        if try_count is not None:
            data["try_count"] = try_count
        if max_retries is not None:
            data["max_retries"] = max_retries
        self._m["step"][name] = data

    def unset_step(self, name: str) -> None:
        self._m["step"].pop(name, None)

    def get_step(self, name: str) -> dict[str, Any] | None:
        return self._m["step"].get(name)

    def set_pre_hook(self, output: Any, metadata: Any) -> None:
        self._m["pre_hook"] = {"output": output, "metadata": metadata}

    def unset_pre_hook(self) -> None:
        self._m.pop("pre_hook", None)

    def set_function_args(self, args: dict[str, Any]) -> None:
        self._m["function_args"] = args

    def unset_function_args(self) -> None:
        self._m.pop("function_args", None)

    def clone(self) -> Values:
        """A deep copy of the data; variable caches (`evalCache`) are not carried over."""
        v = Values()
        v._own_funcs = None
        v._m = copy.deepcopy({k: val for k, val in self._m.items() if k != "var"})
        v._root_now = v._m
        v._m["var"] = copy.deepcopy(self._m["var"])
        v._vars = {}
        for name, var in self._vars.items():
            nv = copy.copy(var)
            nv.cache = MISSING
            v._vars[name] = nv
        return v

    @property
    def data(self) -> dict[str, Any]:
        """The root map templates see (read-only use)."""
        return self._m

    # --- rendering ----------------------------------------------------------------------------
    def _root(self, step: str | None, item: Any) -> dict[str, Any]:
        if step is None and (item is MISSING or item is None):
            return self._m
        root = dict(self._m)
        if item is not MISSING and item is not None:
            root["iterator"] = item
        if step is not None:
            steps = dict(root["step"])
            src = steps.get(step) or {}
            this = {k: src.get(k) for k in ("output", "metadata", "children", "error", "state")}
            for k in ("try_count", "max_retries"):
                if k in src:
                    this[k] = src[k]
            steps[THIS] = this
            root["step"] = steps
        return root

    def _funcs(self) -> dict[str, Callable[..., Any]]:
        # One set of functions per container; they read the root of the rendering under way
        # (its `this` and iterator) from self._root_now, set by _apply.
        if self._own_funcs is None:

            def field(*keys: str) -> Any:
                return walk(self._root_now, list(keys))

            def eval_(name: str) -> Any:
                return self._eval(name, self._root_now, cache=False)

            def eval_cache(name: str) -> Any:
                return self._eval(name, self._root_now, cache=True)

            field.__gosig__ = _SIG_FIELD  # type: ignore[attr-defined]
            eval_.__gosig__ = _SIG_EVAL  # type: ignore[attr-defined]
            eval_cache.__gosig__ = _SIG_EVAL  # type: ignore[attr-defined]
            self._own_funcs = {"field": field, "eval": eval_, "evalCache": eval_cache}
        return self._own_funcs

    def _apply(self, source: str, root: dict[str, Any], funcs: dict[str, Callable[..., Any]]) -> str:
        if "{{" not in source:
            return source  # no action: Go's output is the text itself
        saved = self._root_now
        self._root_now = root
        try:
            return run(source, root, FUNCS, _NAMES, funcs)
        except TemplateError as e:
            raise TemplatingError(str(e)) from None
        finally:
            self._root_now = saved

    def render(self, source: str, step: str | None = None, item: Any = MISSING) -> str:
        """Render one template string; raises TemplatingError."""
        root = self._root(step, item)
        if "{{" not in source:
            return source
        return self._apply(source, root, self._funcs())

    def render_json(self, obj: Any, step: str | None = None, item: Any = MISSING) -> Any:
        """Render the string leaves of maps and lists (keys and a top-level string are left alone)."""
        if not isinstance(obj, dict | list):
            return obj
        root = self._root(step, item)
        funcs: dict[str, Callable[..., Any]] | None = None

        def walk_obj(o: Any) -> Any:
            nonlocal funcs
            if isinstance(o, dict):
                return {k: walk_leaf(v) for k, v in o.items()}
            return [walk_leaf(v) for v in o]

        def walk_leaf(v: Any) -> Any:
            nonlocal funcs
            if isinstance(v, str):
                if "{{" not in v:
                    return v
                if funcs is None:
                    funcs = self._funcs()
                return self._apply(v, root, funcs)
            if isinstance(v, dict | list):
                return walk_obj(v)
            return v

        return walk_obj(obj)

    # --- variables ----------------------------------------------------------------------------
    def _eval(self, name: str, root: dict[str, Any], cache: bool) -> Any:
        var = self._vars.get(name)
        if var is None:
            raise GoCallError(f"Var name not found in template: '{name}'")
        if cache and var.cache is not MISSING:
            return var.cache
        if self._depth >= MAX_VARIABLE_DEPTH:
            raise GoCallError(f"variables nested deeper than {MAX_VARIABLE_DEPTH} evaluations")
        self._depth += 1
        try:
            result = self._eval_uncached(var, root)
        finally:
            self._depth -= 1
        if cache:
            var.cache = result
        return result

    def _eval_uncached(self, var: _Variable, root: dict[str, Any]) -> Any:
        if var.has_value:
            if not isinstance(var.value, str):
                return var.value
            return self._apply_nested(var.value, root)
        script = self._apply_nested(var.expression, root)
        try:
            return run_expression(script, var.timeout)
        except JSEvalError as e:
            raise GoCallError(str(e)) from None

    def _apply_nested(self, source: str, root: dict[str, Any]) -> str:
        try:
            return self._apply(source, root, self._funcs())
        except TemplatingError as e:
            raise GoCallError(str(e)) from None
