"""JSON representation of templates in Go's key order (reference §1.2, §5.1)."""

from __future__ import annotations

import json

from utask.core.templates import dumps, parse_template, validate_template

from .conftest import catalog

TEXT = """
name: JSON-Order
description: json order
title_format: "T {{.input.a}}"
long_description: a long description
doc_link: https://example.com/doc
result_format: {z: "1", a: "2"}
allowed_resolver_usernames: [bob]
retry_max: 5
inputs: [{name: a, regex: '^a', default: a}]
resolver_inputs: [{name: r, legal_values: [x, z]}]
variables: [{name: v, expression: "1+1", expression_timeout: 1s}]
tags: {team: "x", app: "{{.input.a}}"}
base_configurations: {base: {output: o}}
steps:
  two:
    description: second
    dependencies: [one]
    max_retries: 3
    execution_delay: 1000
    foreach: '[1]'
    resources: [r1]
    conditions:
      - {type: skip, if: [{value: a, operator: EQ, expected: a}], then: {this: PRUNE}, message: m}
    json_schema: {type: object}
    action: {type: echo, base_configuration: base, configuration: {b: 1, a: 2}, output: {strategy: merge, format: {k: v}}}
    pre_hook: {type: echo, configuration: {}}
  one:
    action: {type: echo, configuration: {output: {}}}
"""


def test_template_json_key_order():
    tpl = parse_template(TEXT)
    validate_template(tpl, actions=catalog())
    out = json.loads(dumps(tpl.to_json()))
    assert list(out) == [
        "name", "description", "long_description", "doc_link", "title_format", "result_format",
        "allowed_resolver_groups", "allowed_resolver_usernames", "allow_all_resolver_usernames", "auto_runnable",
        "blocked", "hidden", "retry_max", "allow_task_start_over", "inputs", "resolver_inputs", "variables",
        "tags", "steps", "base_configurations",
    ]
    assert out["name"] == "json-order"
    assert out["allowed_resolver_groups"] is None
    assert list(out["steps"]) == ["one", "two"]
    assert list(out["tags"]) == ["app", "team"]
    assert list(out["result_format"]) == ["a", "z"]
    two = out["steps"]["two"]
    assert list(two) == [
        "name", "description", "idempotent", "action", "pre_hook", "json_schema", "max_retries", "last_run",
        "execution_delay", "dependencies", "conditions", "foreach", "foreach_strategy", "resources", "tags",
    ]
    assert two["foreach_strategy"] == "parallel" and two["last_run"] == "0001-01-01T00:00:00Z"
    assert list(two["action"]) == ["type", "base_configuration", "configuration", "output"]
    assert list(two["action"]["configuration"]) == ["a", "b"]
    assert two["action"]["output"] == {"format": {"k": "v"}, "strategy": "merge"}
    assert list(two["conditions"][0]) == ["type", "if", "then", "final", "foreach", "message"]
    assert list(two["conditions"][0]["if"][0]) == ["value", "operator", "expected", "list_separator", "message"]
    assert two["conditions"][0]["foreach"] == "children"
    assert two["json_schema"] == {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}
    one = out["steps"]["one"]
    assert list(one) == ["name", "description", "idempotent", "action", "last_run", "foreach_strategy",
                         "resources", "tags"]
    assert one["action"] == {"type": "echo", "configuration": {"output": {}}, "output": None}
    assert list(out["inputs"][0]) == ["name", "description", "regex", "collection", "optional", "default", "hidden"]
    assert list(out["resolver_inputs"][0]) == ["name", "description", "legal_values", "collection", "optional",
                                               "default", "hidden"]
    assert out["variables"][0] == {"name": "v", "expression": "1+1", "expression_timeout": "1s", "value": None}


def test_minimal_template_omits_empty_fields():
    tpl = parse_template("name: min\ndescription: min\ntitle_format: min\n")
    assert dumps(tpl.to_json()) == (
        '{"name":"min","description":"min","title_format":"min","allowed_resolver_groups":null,'
        '"allowed_resolver_usernames":null,"allow_all_resolver_usernames":false,"auto_runnable":false,'
        '"blocked":false,"hidden":false,"allow_task_start_over":false,"base_configurations":null}'
    )


def test_escaping_and_exact_numbers():
    tpl = parse_template("name: esc\ndescription: '<b>&</b>'\ntitle_format: t t\n"
                         "steps: {a: {action: {type: echo, configuration: {num: 12345678901234567890}}}}\n")
    text = dumps(tpl.to_json())
    assert '"description":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"' in text
    assert "\"num\":12345678901234567890" in text
    assert '"description":"<b>&</b>"' in dumps(tpl.to_json(), escape_html=False)


def test_helpers():
    tpl = parse_template("name: h\ndescription: h\ntitle_format: h\nauto_runnable: true\n")
    assert tpl.is_auto_runnable() and tpl.effective_retry_max() == 100
    tpl = parse_template("name: h\ndescription: h\ntitle_format: h\nauto_runnable: true\nresolver_inputs: [{name: r}]\n")
    assert not tpl.is_auto_runnable()
