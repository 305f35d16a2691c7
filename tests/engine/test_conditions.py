"""Condition operators and evaluation (reference §5.4) on a values stand-in."""

from __future__ import annotations

import pytest
from utask.core.engine.conditions import (
    ConditionError,
    ConditionNotMet,
    eval_assert,
    eval_condition,
    parse_int32,
    run_check_conditions,
    run_skip_conditions,
)
from utask.core.engine.steps import Step

from tests.engine.support import MiniValues


def holds(value, op, expected, sep="") -> bool:
    try:
        eval_assert({"value": value, "operator": op, "expected": expected, "list_separator": sep}, MiniValues(),
                    None, None)
    except ConditionNotMet:
        return False
    return True


@pytest.mark.parametrize("op", ["EQ", "eq", "Eq"])
def test_eq_is_case_insensitive(op):
    assert holds("a", op, "a")
    assert not holds("a", op, "b")


def test_no_value_compares_as_empty_string():
    assert holds("{{.input.missing}}", "EQ", "")
    assert holds("", "EQ", "{{.input.missing}}")
    assert holds("x<no value>y", "EQ", "xy")
    assert not holds("{{.input.missing}}", "NE", "")


@pytest.mark.parametrize(
    ("value", "op", "expected", "result"),
    [("3", "GT", "2", True), ("2", "GT", "2", False), ("2", "GE", "2", True), ("1", "LT", "2", True),
     ("2", "LE", "1", False), ("-5", "lt", "0", True), ("+7", "gt", "6", True),
     # DESIGN §6: lower-case comparison operators work (µTask's QUIRK #10 made them always pass)
     ("1", "gt", "2", False), ("3", "le", "2", False), ("1", "ge", "2", False), ("5", "lt", "2", False)],
)
def test_integer_comparisons(value, op, expected, result):
    assert holds(value, op, expected) is result


@pytest.mark.parametrize(
    ("text", "message"),
    [("12.0", 'strconv.ParseInt: parsing "12.0": invalid syntax'),
     ("", 'strconv.ParseInt: parsing "": invalid syntax'),
     ("2147483648", 'strconv.ParseInt: parsing "2147483648": value out of range'),
     ("abc", 'strconv.ParseInt: parsing "abc": invalid syntax')],
)
def test_integer_parse_errors_are_evaluation_errors(text, message):
    with pytest.raises(ConditionError) as exc:
        eval_assert({"value": text, "operator": "GT", "expected": "1"}, MiniValues(), None, None)
    assert str(exc.value) == message
    assert parse_int32("-2147483648") == -(2**31)


def test_regexp_is_an_unanchored_search():
    assert holds("john.doe@example.com", "REGEXP", r"[a-z\.]+@example\.com$")
    assert holds("xx-abc-yy", "regexp", "abc")
    assert not holds("foobar", "REGEXP", r"^bar")
    assert holds("foobar", "NOTREGEXP", r"^bar")
    assert not holds("foobar", "notregexp", "oba")


def test_in_and_notin_split_the_value_and_trim_elements():
    assert holds("foo, bar ,baz", "IN", "bar")
    assert not holds("foo,bar", "IN", "ba")
    assert holds("foo|bar", "IN", "bar", "|")
    assert not holds("foo|bar", "IN", "bar")  # default separator is ","
    assert holds("foo,bar", "NOTIN", "baz")
    assert not holds("foo,bar", "notin", "foo")


def test_message_is_rendered_with_templating_error_fallback():
    class Failing(MiniValues):
        def render(self, source, step=None, item=None):
            if "bad" in source:
                raise ValueError("Templating error: template: tmpl:1: boom")
            return super().render(source, step, item)

    cond = {"type": "check", "if": [{"value": "1", "operator": "EQ", "expected": "1"}], "message": "a {{bad}}"}
    assert eval_condition(cond, Failing(), None, None) == "a {{bad}} (TEMPLATING ERROR: Templating error: template: tmpl:1: boom)"
    cond["message"] = "ok {{.input.x}}"
    v = MiniValues()
    v.set_input({"x": "42"})
    assert eval_condition(cond, v, None, None) == "ok 42"


def _setter(log):
    return lambda name, state, message: log.append((name, state, message))


def test_skip_conditions_apply_in_order_until_final():
    st = Step("s")
    conds = [
        {"type": "skip", "if": [{"value": "1", "operator": "EQ", "expected": "1"}], "then": {"this": "PRUNE"},
         "message": "one"},
        {"type": "check", "if": [], "then": {"this": "DONE"}},
        {"type": "skip", "if": [{"value": "1", "operator": "EQ", "expected": "1"}], "then": {"this": "DONE", "x": "PRUNE"},
         "final": True, "message": "two"},
        {"type": "skip", "if": [], "then": {"this": "CLIENT_ERROR"}},
    ]
    log: list = []
    assert run_skip_conditions(conds, st, MiniValues(), _setter(log)) is True
    assert log == [("s", "PRUNE", "one"), ("s", "DONE", "two"), ("x", "PRUNE", "two")]


def test_skip_condition_error_sets_server_error_and_skips():
    st = Step("s")
    conds = [{"type": "skip", "if": [{"value": "x", "operator": "GT", "expected": "1"}], "then": {"this": "PRUNE"}}]
    log: list = []
    assert run_skip_conditions(conds, st, MiniValues(), _setter(log)) is True
    assert log == [("s", "SERVER_ERROR", 'strconv.ParseInt: parsing "x": invalid syntax')]


def test_foreach_parent_only_evaluates_parent_skip_conditions():
    st = Step("loop")
    st.foreach = "[1]"
    conds = [{"type": "skip", "foreach": "children", "if": [], "then": {"this": "PRUNE"}},
             {"type": "skip", "foreach": "parent", "if": [], "then": {"this": "DONE"}}]
    log: list = []
    assert run_skip_conditions(conds, st, MiniValues(), _setter(log)) is True
    assert log == [("loop", "DONE", "")]


def test_check_condition_error_sets_afterrun_error_and_stops():
    st = Step("s")
    conds = [
        {"type": "check", "if": [{"value": "y", "operator": "LE", "expected": "1"}], "then": {"this": "DONE"}},
        {"type": "check", "if": [], "then": {"this": "PRUNE"}},
    ]
    log: list = []
    run_check_conditions(conds, st, MiniValues(), _setter(log))
    assert log == [("s", "AFTERRUN_ERROR", 'strconv.ParseInt: parsing "y": invalid syntax')]
