"""Skip and check conditions (reference §5.4).

Operators are case-insensitive; DESIGN §6 fixes µTask's QUIRK where lower-case `gt/lt/ge/le` always
passed: here they compare like their upper-case forms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from . import states
from .values_access import render_text

SKIP = "skip"
CHECK = "check"
FOREACH_CHILDREN = "children"
FOREACH_PARENT = "parent"
THIS = "this"

NO_VALUE = "<no value>"
DEFAULT_LIST_SEPARATOR = ","

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1
_INT_SYNTAX = re.compile(r"[+-]?[0-9]+")


class ConditionNotMet(Exception):
    """An assert did not hold: the condition is not met (not an error)."""


class ConditionError(Exception):
    """Evaluating a condition failed (templating, integer parsing, regular expression)."""


# (step name, state, message): applies a met condition's `then` entry to the resolution.
StateSetter = Callable[[str, str, str], None]


def go_string(value: Any) -> str:
    """Assert fields are Go strings; a YAML scalar that reached us unconverted prints like Go would."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def parse_int32(text: str) -> int:
    """Go's strconv.ParseInt(s, 10, 32) with its error texts."""
    if not _INT_SYNTAX.fullmatch(text):
        raise ConditionError(f"strconv.ParseInt: parsing {_go_quote(text)}: invalid syntax")
    value = int(text)
    if value < _INT32_MIN or value > _INT32_MAX:
        raise ConditionError(f"strconv.ParseInt: parsing {_go_quote(text)}: value out of range")
    return value


_regex_cache: dict[str, re.Pattern[str]] = {}


def compile_re2(expr: str) -> re.Pattern[str]:
    """Compile an RE2 expression with Python's `re` (RE2's syntax is, for practical purposes, a subset)."""
    pattern = _regex_cache.get(expr)
    if pattern is None:
        translated = expr.replace(r"\z", r"\Z")
        try:
            pattern = re.compile(translated)
        except re.error as exc:
            raise ConditionError(f"error parsing regexp: {exc}: `{expr}`") from exc
        if len(_regex_cache) < 4096:
            _regex_cache[expr] = pattern
    return pattern


def _match_list(value: str, expected: str, separator: str) -> bool:
    sep = separator or DEFAULT_LIST_SEPARATOR
    return any(expected == part.strip() for part in value.split(sep))


def eval_assert(assertion: dict, values: Any, step_name: str | None, item: Any) -> None:
    """Raise ConditionNotMet when the assert does not hold, ConditionError when it cannot be evaluated."""
    try:
        value = render_text(values, go_string(assertion.get("value")), step_name, item)
        expected = render_text(values, go_string(assertion.get("expected")), step_name, item)
    except Exception as exc:  # templating errors are evaluation errors, whatever their class
        raise ConditionError(str(exc)) from exc
    value = value.replace(NO_VALUE, "")
    expected = expected.replace(NO_VALUE, "")
    message = go_string(assertion.get("message"))
    op = go_string(assertion.get("operator")).upper()
    if op == "EQ":
        if value != expected:
            raise ConditionNotMet(f"Condition not met: expected '{expected}', got '{value}': {message}")
    elif op == "NE":
        if value == expected:
            raise ConditionNotMet(f"Condition not met: expected a value different from '{expected}': {message}")
    elif op in ("GT", "LT", "GE", "LE"):
        v = parse_int32(value)
        e = parse_int32(expected)
        if op == "GT" and not v > e:
            raise ConditionNotMet(f"Condition not met: expected {v} > {e}: {message}")
        if op == "LT" and not v < e:
            raise ConditionNotMet(f"Condition not met: expected {v} < {e}: {message}")
        if op == "GE" and not v >= e:
            raise ConditionNotMet(f"Condition not met: expected {v} >= {e}: {message}")
        if op == "LE" and not v <= e:
            raise ConditionNotMet(f"Condition not met: expected {v} <= {e}: {message}")
    elif op == "REGEXP":
        if not compile_re2(expected).search(value):
            raise ConditionNotMet(f"Condition not met: {value} does not match regular expression {expected}")
    elif op == "NOTREGEXP":
        if compile_re2(expected).search(value):
            raise ConditionNotMet(
                f"Condition not met: {value} match regular expression {expected} and expected that it shouldn't"
            )
    elif op == "IN":
        if not _match_list(value, expected, go_string(assertion.get("list_separator"))):
            raise ConditionNotMet(f"Condition not met: expected {value} to be found in list of acceptable values")
    elif op == "NOTIN" and _match_list(value, expected, go_string(assertion.get("list_separator"))):
        raise ConditionNotMet(f"Condition not met: expected {value} not to be found in list of unacceptable values")
    # An unknown operator cannot pass template validation; at runtime it holds, as in µTask.


def eval_condition(condition: dict, values: Any, step_name: str | None, item: Any) -> str:
    """Evaluate every assert (AND); return the rendered message of a met condition."""
    for assertion in condition.get("if") or ():
        eval_assert(assertion, values, step_name, item)
    raw = go_string(condition.get("message"))
    if not raw:
        return ""
    try:
        return render_text(values, raw, step_name, item)
    except Exception as exc:
        return f"{raw} (TEMPLATING ERROR: {exc})"


def _apply_then(condition: dict, step_name: str, message: str, setter: StateSetter) -> None:
    for target, state in (condition.get("then") or {}).items():
        setter(step_name if target == THIS else target, state, message)


def run_skip_conditions(
    conditions: list[dict], step: Any, values: Any, setter: StateSetter,
) -> bool:
    """µTask's PreRun: return True when the step is skipped (its action must not execute)."""
    skipped = False
    is_foreach = bool(step.foreach)
    for cond in conditions:
        if cond.get("type") != SKIP:
            continue
        if is_foreach and cond.get("foreach") != FOREACH_PARENT:
            continue
        try:
            message = eval_condition(cond, values, step.name, step.item)
        except ConditionNotMet:
            continue
        except ConditionError as exc:
            # SERVER_ERROR makes the resolution collectable by the retry collector.
            setter(step.name, states.SERVER_ERROR, str(exc))
            return True
        skipped = True
        _apply_then(cond, step.name, message, setter)
        if cond.get("final"):
            break
    return skipped


def run_check_conditions(conditions: list[dict], step: Any, values: Any, setter: StateSetter) -> None:
    """µTask's AfterRun, for a result that was not skipped, is not a foreach parent, in DONE/CLIENT_ERROR/AFTERRUN_ERROR."""
    for cond in conditions:
        if cond.get("type") != CHECK:
            continue
        try:
            message = eval_condition(cond, values, step.name, step.item)
        except ConditionNotMet:
            continue
        except ConditionError as exc:
            # Next run skips execution and re-evaluates only the check conditions.
            setter(step.name, states.AFTERRUN_ERROR, str(exc))
            return
        _apply_then(cond, step.name, message, setter)
        if cond.get("final"):
            break
