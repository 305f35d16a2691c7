"""Template validation (§1.3) with step validation (§5.15), conditions (§5.4), dependencies (§5.3),
functions (§1.5, §5.6) and linting (§1.4). Texts and order are µTask's.

Plugin-specific configuration checks go through an `ActionCatalog` (see `catalogs`).

µTask iterates steps (and condition `then` maps) in Go's random map order; here they are taken in
sorted order, so the reported error is deterministic (and one of the errors Go could report).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from utask.core.templates.catalogs import KNOWN_TEMPLATES, ActionCatalog
from utask.core.templates.dependencies import can_impact, dependencies_chain, dependency_parts
from utask.core.templates.functions import FunctionRegistry, function_valid_config
from utask.core.templates.goformat import duration_string, parse_duration
from utask.core.templates.inputs import InputError, validate_definition
from utask.core.templates.jsonschema_lint import SchemaCompileError, normalize_and_compile
from utask.core.templates.lint import lint_template
from utask.core.templates.models import UNSET, ZERO_TIME, Condition, Executor, Step, TaskTemplate
from utask_sdk.re2 import RegexError, compile_re2

MIN_TEXT_SIZE = 3
MAX_TEXT_SIZE = 1000
MAX_TEXT_SIZE_LONG = 100000
MAX_EXECUTION_DELAY_NS = 20_000_000_000
PARENT_TASK_TAG = "_utask_parent_task_id"
THIS = "this"

BUILTIN_STATES = (
    "TODO", "WAITING", "RUNNING", "DONE", "CLIENT_ERROR", "SERVER_ERROR", "FATAL_ERROR",
    "CRASHED", "PRUNE", "TO_RETRY", "RETRY_NOW", "AFTERRUN_ERROR", "ANY", "EXPANDED",
)
CONDITION_VALID_STATES = ("DONE", "PRUNE", "TO_RETRY", "RETRY_NOW", "FATAL_ERROR", "CLIENT_ERROR")
OPERATORS = ("EQ", "NE", "GT", "LT", "GE", "LE", "IN", "NOTIN", "REGEXP", "NOTREGEXP")
RETRY_PATTERNS = ("", "seconds", "minutes", "hours")

@dataclass
class Problem:
    """One validation problem. `message` is the full µTask text (`Invalid task template: ...`)."""

    message: str
    step: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        return self.message


class TemplateValidationError(ValueError):
    """The template is invalid; str() is µTask's message for the first problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].message)
        self.problems = problems
        self.step = problems[0].step
        self.field = problems[0].field


class _StepError(Exception):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class _Ctx:
    def __init__(self, tpl: TaskTemplate, actions: ActionCatalog, functions: FunctionRegistry) -> None:
        self.tpl = tpl
        self.actions = actions
        self.functions = functions
        self.steps = tpl.steps
        self.base_configs = tpl.base_configurations


# --- executors and functions ----------------------------------------------------------------------


def _runner_exists(ctx: _Ctx, t: str) -> bool:
    return t in ctx.functions or ctx.actions.has(t)


def _annotate(names: list[str], message: str) -> str:
    for name in names:
        message = f'function "{name}": {message}'
    return message


def _valid_executor(ctx: _Ctx, ex: Executor, pre_hook: Executor | None) -> tuple[Executor | None, str | None]:
    """Go's `validExecutor`: (effective pre-hook, error message)."""
    base_configs = ctx.base_configs
    if ex.base_configuration and (base_configs is None or ex.base_configuration not in base_configs):
        return None, "BaseConfiguration key not found"
    base = (base_configs or {}).get(ex.base_configuration)
    runner_type, configuration = ex.type, ex.configuration
    names: list[str] = []
    while True:
        if not _runner_exists(ctx, runner_type):
            return None, f"No runner for type '{runner_type}'"
        fn = ctx.functions.get(runner_type)
        if fn is not None:
            err = function_valid_config(fn, configuration)
            if err:
                return None, _annotate(names, err)
        else:
            try:
                ctx.actions.validate(runner_type, base, configuration)
            except Exception as exc:  # plugin validation errors carry the user-facing text
                return None, _annotate(names, str(exc))
            break
        if runner_type in names:
            return None, _annotate(names, f'invalid cyclic import in function for "{runner_type}"')
        names.append(runner_type)
        runner_type, configuration = fn.action.type, fn.action.configuration
        if fn.pre_hook is not None:
            if pre_hook is not None:
                return fn.pre_hook, _annotate(names, "pre_hook override")
            pre_hook = fn.pre_hook
    return pre_hook, None


def _walk_functions(ctx: _Ctx, st: Step):
    """The functions a step's action goes through, outermost first (Go's walkThroughFunctions)."""
    runner = st.action.type
    seen: set[str] = set()
    while True:
        if not _runner_exists(ctx, runner):
            raise LookupError(f"No runner for type '{runner}'")
        fn = ctx.functions.get(runner)
        if fn is None or runner in seen:
            return
        seen.add(runner)
        yield fn
        runner = fn.action.type


def step_custom_states(ctx: _Ctx, st: Step) -> list[str]:
    """The step's custom states plus those of the functions it uses."""
    states = list(st.custom_states or [])
    for fn in _walk_functions(ctx, st):
        for s in fn.custom_states or []:
            if s not in states:
                states.append(s)
    return states


def step_pre_hook(ctx: _Ctx, st: Step) -> Executor | None:
    pre_hook = st.pre_hook
    for fn in _walk_functions(ctx, st):
        if fn.pre_hook is not None:
            pre_hook = fn.pre_hook
    return pre_hook


# --- conditions -----------------------------------------------------------------------------------


def _valid_condition(ctx: _Ctx, sc: Condition, step_name: str) -> None:
    if sc.type not in ("skip", "check"):
        raise _StepError(f"Unknown condition type: {sc.type}", "conditions")
    if sc.foreach not in ("", "children", "parent"):
        raise _StepError(f"Unknown condition foreach: {sc.foreach}", "conditions")
    for a in sc.if_ or []:
        op = a.operator.upper()
        if op not in OPERATORS:
            raise _StepError(f"Unknown condition operator: {a.operator}", "conditions")
        if op in ("REGEXP", "NOTREGEXP"):
            try:
                compile_re2(a.expected)
            except RegexError as exc:
                raise _StepError(str(exc), "conditions") from None
    steps = ctx.steps
    for then_step in sorted(sc.then or {}):
        then_state = (sc.then or {})[then_step]
        if then_step == step_name and not steps[step_name].foreach:
            raise _StepError("Step condition should not reference itself, use 'this'", "conditions")
        target = step_name if then_step == THIS else then_step
        impacted = steps.get(target)
        if impacted is None:
            raise _StepError(f"Step condition points to non-existing step: {target}", "conditions")
        if not can_impact(steps, step_name, target):
            raise _StepError(
                f"Step condition cannot impact the state of step {target}, only those who belong to the "
                "dependency chain are allowed",
                "conditions",
            )
        try:
            custom = step_custom_states(ctx, impacted)
        except LookupError as exc:
            raise _StepError(f"invalid custom stats found for step {step_name}: {exc}", "conditions") from None
        if then_state not in CONDITION_VALID_STATES and then_state not in custom:
            raise _StepError(f"Step condition implies invalid state for step {target}: {then_state}", "conditions")
    if sc.foreach:
        if not steps[step_name].foreach:
            raise _StepError("Step condition cannot set foreach on a non-foreach step", "conditions")
        if sc.type != "skip":
            raise _StepError("Step condition can set foreach on a skip condition", "conditions")


# --- steps ----------------------------------------------------------------------------------------


def _valid_and_normalize(ctx: _Ctx, name: str, st: Step) -> None:
    """Go's `Step.ValidAndNormalize` (normalises foreach_strategy, condition foreach, json_schema)."""
    if name == THIS:
        raise _StepError("'this' step name is reserved", "name")

    _, err = _valid_executor(ctx, st.action, st.pre_hook)
    if err:
        raise _StepError(f"Invalid executor action: {err}", "action")
    try:
        pre_hook = step_pre_hook(ctx, st)
    except LookupError as exc:
        raise _StepError(f"Invalid prehook action: {exc}", "pre_hook") from None
    if pre_hook is not None:
        ph, err = _valid_executor(ctx, pre_hook, None)
        if ph is not None:
            raise _StepError("Invalid prehook on a prehook", "pre_hook")
        if err:
            raise _StepError(f"Invalid prehook action: {err}", "pre_hook")

    if st.foreach_strategy and not st.foreach:
        raise _StepError("step foreach_strategy can't be set without foreach", "foreach_strategy")
    if st.foreach:
        if st.foreach_strategy == "":
            st.foreach_strategy = "parallel"
        elif st.foreach_strategy not in ("parallel", "sequence"):
            raise _StepError(f'step foreach_strategy "{st.foreach_strategy}" is not a valid value', "foreach_strategy")

    if st.execution_delay < 0 or st.execution_delay > MAX_EXECUTION_DELAY_NS:
        raise _StepError(
            f"execution_delay: expected {duration_string(st.execution_delay)} to be a duration between 0s and "
            f"{duration_string(MAX_EXECUTION_DELAY_NS)}",
            "execution_delay",
        )

    if st.retry_pattern not in RETRY_PATTERNS:
        raise _StepError(
            f"Invalid retry pattern: {st.retry_pattern} Expecting(seconds|minutes|hours)", "retry_pattern"
        )

    for state in st.custom_states or []:
        if state in BUILTIN_STATES:
            reserved = '", "'.join(BUILTIN_STATES)
            raise _StepError(
                f'Custom state "{state}" is not allowed as it\'s a reserved state. Reserved state are: "{reserved}"',
                "custom_states",
            )

    for sc in st.conditions or []:
        if st.foreach and sc.type == "skip" and sc.foreach == "":
            sc.foreach = "children"
        _valid_condition(ctx, sc, name)

    if st.json_schema is not UNSET:
        try:
            st.json_schema = normalize_and_compile(name, st.json_schema)
        except SchemaCompileError as exc:
            raise _StepError(f"Jsonschema: step {name}: {exc}", "json_schema") from None

    seen: set[str] = set()
    for d in st.dependencies or []:
        dep_step, dep_states = dependency_parts(d)
        target = ctx.steps.get(dep_step)
        if target is None:
            raise _StepError(f'Invalid dependency, no step with that name: "{dep_step}"', "dependencies")
        if dep_step in seen:
            raise _StepError(f'Invalid dependency, already defined dependency to: "{dep_step}"', "dependencies")
        if len(set(dep_states)) != len(dep_states):
            raise _StepError("Invalid dependency, duplicated state detected", "dependencies")
        for state in dep_states:
            if state == "DONE":
                continue
            if state == "ANY":
                if len(dep_states) != 1:
                    raise _StepError("Invalid dependency, no other state allowed if ANY is declared", "dependencies")
                continue
            if state not in (target.custom_states or []):
                raise _StepError(
                    f'Invalid dependency on step {dep_step}, step state not allowed: "{state}"', "dependencies"
                )
        seen.add(dep_step)

    chain = dependencies_chain(ctx.steps, st.dependencies)
    if name in chain:
        raise _StepError(f"Invalid: circular dependency [{' '.join(sorted(chain))}] <-> {name}", "dependencies")


def _valid_new_step(st: Step) -> None:
    """Go's `ValidAndNormalizeNewStep`: runtime fields must not come from a template."""
    checks = (
        (bool(st.state), "step state must not be set", "state"),
        (st.children_steps is not None, "step children_steps must not be set", "children_steps"),
        (st.children_steps_map is not None, "step children_steps_map must not be set", "children_steps_map"),
        (st.output is not None, "step output must not be set", "output"),
        (st.metadata is not None, "step metadatas must not be set", "metadata"),
        (st.tags is not None, "step tags must not be set", "tags"),
        (st.children is not None, "step children must not be set", "children"),
        (bool(st.error), "step error must not be set", "error"),
        (st.try_count != 0, "step try_count must not be set", "try_count"),
        (st.last_run != ZERO_TIME, "step last_time must not be set", "last_run"),
        (st.item is not None, "step item must not be set", "item"),
    )
    for failed, message, field in checks:
        if failed:
            raise _StepError(message, field)


# --- template -------------------------------------------------------------------------------------


def _length_problem(field: str, label: str, value: str, maximum: int) -> Problem | None:
    size = len(value.encode())
    if size < MIN_TEXT_SIZE:
        return Problem(f"{label} can't be shorter than {MIN_TEXT_SIZE} characters", field=field)
    if size > maximum:
        return Problem(f"{label} can't be longer than {maximum} characters", field=field)
    return None


def _variable_problem(var: Any) -> str | None:
    if var.name == "":
        return "variable name can't be empty"
    if var.value is not None and var.expression != "":
        return f'variable "{var.name}" can\'t have both value and expression defined'
    if var.value is None and var.expression == "":
        return f'variable "{var.name}" expression and value can\'t be empty at the same time'
    if var.value is not None and var.expression_timeout != "":
        return f'variable "{var.name}" expression timeout cannot be defined when value is defined'
    if var.expression_timeout != "":
        try:
            parse_duration(var.expression_timeout)
        except ValueError as exc:
            return f'variable "{var.name}" {exc}'
    return None


def find_problems(
    tpl: TaskTemplate,
    *,
    actions: ActionCatalog,
    functions: FunctionRegistry | None = None,
    known_templates: Iterable[str] | None = None,
) -> list[Problem]:
    """Every problem µTask's `Valid` would stop at, in its order (the first one is Go's error).

    Independent checks keep going after a failure so `utask templates check` can list them all:
    each template-level check, each input, each variable, each step (its first error), every
    linting handle. Normalises the template in place like µTask (name, foreach_strategy, condition
    foreach, json_schema `$schema`).
    """
    functions = functions if functions is not None else FunctionRegistry()
    tpl.normalize()
    token = KNOWN_TEMPLATES.set(frozenset(known_templates or ()) | {tpl.name})
    try:
        return _find_problems(tpl, actions, functions)
    finally:
        KNOWN_TEMPLATES.reset(token)


def _find_problems(tpl: TaskTemplate, actions: ActionCatalog, functions: FunctionRegistry) -> list[Problem]:
    raw: list[Problem] = []
    for p in (
        _length_problem("name", "template name", tpl.name, MAX_TEXT_SIZE),
        _length_problem("description", "template description", tpl.description, MAX_TEXT_SIZE),
        _length_problem("title_format", "template title format", tpl.title_format, MAX_TEXT_SIZE),
        _length_problem("doc_link", "template doc link", tpl.doc_link, MAX_TEXT_SIZE) if tpl.doc_link is not None else None,
    ):
        if p:
            raw.append(p)
    if tpl.tags is not None and PARENT_TASK_TAG in tpl.tags:
        raw.append(Problem(f'tag name "{PARENT_TASK_TAG}" not allowed', field="tags"))
    if tpl.long_description is not None:
        p = _length_problem("long_description", "template long description", tpl.long_description, MAX_TEXT_SIZE_LONG)
        if p:
            raw.append(p)
    if tpl.auto_runnable and tpl.resolver_inputs:
        raw.append(Problem("A template can't be auto runnable if it has resolver inputs", field="auto_runnable"))
    if tpl.allow_all_resolver_usernames and not tpl.auto_runnable:
        raw.append(Problem(
            "A template that can be resolved by everybody have to be auto-runnable",
            field="allow_all_resolver_usernames",
        ))
    for kind, inputs in (("inputs", tpl.inputs), ("resolver_inputs", tpl.resolver_inputs)):
        for i, definition in enumerate(inputs):
            try:
                validate_definition(definition)
            except InputError as exc:
                raw.append(Problem(str(exc), field=f"{kind}[{i}]"))
    for i, var in enumerate(tpl.variables):
        msg = _variable_problem(var)
        if msg:
            raw.append(Problem(msg, field=f"variables[{i}]"))

    ctx = _Ctx(tpl, actions, functions)
    step_failed = False
    for name in sorted(tpl.steps):
        st = tpl.steps[name]
        try:
            _valid_and_normalize(ctx, name, st)
            _valid_new_step(st)
        except _StepError as exc:
            step_failed = True
            raw.append(Problem(f"Invalid step {name}: {exc}", step=name, field=exc.field))

    if not step_failed:
        metadata_for = getattr(actions, "metadata_schema", None)
        for lp in lint_template(tpl, (lambda st: metadata_for(st.action.type)) if metadata_for else None):
            step, field = _locate(lp.path)
            raw.append(Problem(
                f"Invalid text-template handles within task template: {lp.message}", step=step, field=field
            ))

    return [Problem(f"Invalid task template: {p.message}", p.step, p.field) for p in raw]


def function_problems(
    fn: Any, *, actions: ActionCatalog, functions: FunctionRegistry
) -> list[tuple[str, str]]:
    """(field, message) problems of one function on its own (µTask only checks functions through
    the steps using them): its chain must reach an existing plugin accepting the configuration, with
    the same pre-hook rules as a step. Function definitions cannot use base configurations."""
    ctx = _Ctx(TaskTemplate(), actions, functions)
    out: list[tuple[str, str]] = []
    _, err = _valid_executor(ctx, fn.action, None)
    if err:
        out.append(("action", f"Invalid function action: {err}"))
    if fn.pre_hook is not None:
        ph, err = _valid_executor(ctx, fn.pre_hook, None)
        if ph is not None:
            out.append(("pre_hook", "Invalid prehook on a prehook"))
        elif err:
            out.append(("pre_hook", f"Invalid prehook action: {err}"))
    return out


def _locate(path: str) -> tuple[str | None, str]:
    """`steps.stepOne.action.configuration.x` → ("stepOne", "action.configuration.x")."""
    if path.startswith("steps."):
        rest = path[len("steps."):]
        name, _, field = rest.partition(".")
        return name, field or "(step)"
    return None, path or "(template)"


def validate_template(
    tpl: TaskTemplate,
    *,
    actions: ActionCatalog,
    functions: FunctionRegistry | None = None,
    known_templates: Iterable[str] | None = None,
) -> None:
    """µTask's `TaskTemplate.Valid` (after `Normalize`): raise TemplateValidationError with its text."""
    problems = find_problems(tpl, actions=actions, functions=functions, known_templates=known_templates)
    if problems:
        raise TemplateValidationError(problems)
