"""Template variables (§3.2): value / expression, eval and evalCache, the JavaScript sandbox."""

from __future__ import annotations

import time

import pytest
from utask.core.gojson import JSONNumber
from utask.core.templating import TemplatingError, Values


def make(*variables: dict) -> Values:
    v = Values()
    v.set_input({"name": "bob", "n": JSONNumber("3")})
    v.set_step("s1", output={"id": JSONNumber("7")}, state="DONE")
    v.set_variables(list(variables))
    return v


def test_value_string_is_rendered() -> None:
    v = make({"name": "greet", "value": "hello {{ .input.name }}"})
    assert v.render("{{ eval `greet` }}!") == "hello bob!"


@pytest.mark.parametrize(
    ("value", "printed"),
    [(5, "5"), (JSONNumber("123456789012345678901"), "123456789012345678901"), (True, "true"),
     ([1, "a"], "[1 a]"), ({"b": 1, "a": 2}, "map[a:2 b:1]"), (2.5, "2.5")],
)
def test_non_string_value_is_returned_as_is(value: object, printed: str) -> None:
    assert make({"name": "x", "value": value}).render("{{ eval `x` }}") == printed


def test_non_string_value_keeps_its_type() -> None:
    v = make({"name": "l", "value": [1, 2, 3]})
    assert v.render("{{ len (eval `l`) }} {{ index (eval `l`) 1 }}") == "3 2"


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("2 + 2", "4"),
        ("1 == 1", "true"),
        ("({a: 1})", "[object Object]"),
        ("[1, 2, 'x']", "1,2,x"),
        ("var a = [1]; a.push({{ .input.n }}); a", "1,3"),
        ("JSON.stringify({k: '{{ .input.name }}'})", '{"k":"bob"}'),
        ("undefined", "undefined"),
        ("null", "null"),
        ("0.1 + 0.2", "0.30000000000000004"),
        ("'{{ .step.this.state }}'", "DONE"),
    ],
)
def test_expression_result_is_javascript_string(expression: str, result: str) -> None:
    v = make({"name": "x", "expression": expression})
    assert v.render("{{ eval `x` }}", step="s1") == result


def test_expression_result_round_trips_through_from_json() -> None:
    v = make({"name": "x", "expression": "JSON.stringify({list: [1, 2]})"})
    assert v.render("{{ range (eval `x` | fromJson).list }}{{ . }};{{ end }}") == "1;2;"


def test_unknown_variable() -> None:
    with pytest.raises(TemplatingError) as e:
        make().render("{{ eval `nope` }}")
    assert str(e.value) == (
        "Templating error: template: tmpl:1:3: executing \"tmpl\" at <eval `nope`>: "
        "error calling eval: Var name not found in template: 'nope'"
    )


def test_timeout() -> None:
    v = make({"name": "loop", "expression": "while (true) {}", "expression_timeout": "200ms"})
    t0 = time.monotonic()
    with pytest.raises(TemplatingError) as e:
        v.render("{{ eval `loop` }}")
    assert time.monotonic() - t0 < 5
    assert str(e.value).endswith("error calling eval: Recovered from unsafe JS eval: Timed out variable evaluation")


def test_javascript_errors_are_template_errors() -> None:
    v = make({"name": "bad", "expression": "undefinedThing.x"})
    with pytest.raises(TemplatingError) as e:
        v.render("{{ eval `bad` }}")
    assert "error calling eval: ReferenceError" in str(e.value)


def test_sandbox_has_no_host_access() -> None:
    v = make({"name": "x", "expression": "[typeof require, typeof std, typeof os, typeof process, typeof fetch].join()"})
    assert v.render("{{ eval `x` }}") == "undefined,undefined,undefined,undefined,undefined"


def test_template_error_inside_a_variable() -> None:
    v = make({"name": "x", "value": "{{ .input.name.x }}"})
    with pytest.raises(TemplatingError) as e:
        v.render("{{ eval `x` }}")
    assert "error calling eval: Templating error: template: tmpl:1:9:" in str(e.value)


def test_eval_cache_is_per_container_and_not_cloned() -> None:
    v = make({"name": "r", "expression": "Math.random()"})
    first = v.render("{{ evalCache `r` }}")
    assert v.render("{{ evalCache `r` }}") == first
    assert v.render("{{ eval `r` }}") != first
    clone = v.clone()
    assert clone.render("{{ evalCache `r` }}") != first


def test_variables_referencing_each_other_are_bounded() -> None:
    v = make({"name": "a", "value": "{{ eval `a` }}"})
    with pytest.raises(TemplatingError) as e:
        v.render("{{ eval `a` }}")
    assert "variables nested deeper than" in str(e.value)


def test_var_root_key_lists_definitions() -> None:
    v = make({"name": "a", "value": 1})
    assert v.render("{{ .var.a.Name }} {{ .var.a.Value }}") == "a 1"


def test_bad_timeout_is_rejected() -> None:
    with pytest.raises(ValueError) as e:
        make({"name": "x", "expression": "1", "expression_timeout": "foo"})
    assert str(e.value) == 'time: invalid duration "foo"'
