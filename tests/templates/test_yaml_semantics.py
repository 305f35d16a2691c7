"""sigs.k8s.io/yaml + go-yaml v2 semantics of template loading (reference §1.1)."""

from __future__ import annotations

import pytest
from utask.core.gojson import JSONNumber
from utask.core.templates import dumps, load_yaml, parse_function, parse_template
from utask.core.templates.goformat import yaml_float_to_string
from utask.core.templates.yamlload import resolve_plain
from utask_sdk.goconv import json_float

BASE = "name: yaml-test\ndescription: yaml semantics\ntitle_format: a title\n"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", True), ("Yes", True), ("YES", True), ("y", True), ("on", True), ("On", True), ("true", True),
        ("no", False), ("n", False), ("off", False), ("OFF", False), ("False", False),
        ("~", None), ("null", None), ("", None),
        ("0", 0), ("-12", -12), ("+7", 7), ("0x1F", 31), ("017", 15), ("0o17", 15), ("0b101", 5), ("1_000", 1000),
        ("12345678901234567890", 12345678901234567890),  # fits uint64: exact
        ("1.5", 1.5), ("1e3", 1000.0), (".5", 0.5), ("1.", 1.0),
        ("2001-12-14", "2001-12-14"),  # timestamps stay text
        ("190:20:30", "190:20:30"),  # no sexagesimal numbers
        ("1e400", "1e400"),  # out of range: a string
        ("yesterday", "yesterday"), ("0x", "0x"), ("09", 9.0),
    ],
)
def test_plain_scalars(text, value):
    got = resolve_plain(text)
    assert got == value and type(got) is type(value)


def test_quoted_scalars_stay_strings_and_keys_become_strings():
    data = load_yaml("a: 'yes'\nb: \"1\"\nc: |\n  on\n1: x\ntrue: y\n1.5: z\nn: k\n")
    # go-yaml v2: `y` and `n` are booleans too, as keys and as values
    assert data == {"a": "yes", "b": "1", "c": "on\n", "1": "x", "true": True, "1.5": "z", "false": "k"}


def test_merge_keys():
    data = load_yaml("base: &b {x: 1, z: 2}\nother:\n  <<: *b\n  z: 3\n")
    assert data["other"] == {"x": 1, "z": 3}


def test_string_fields_receive_scalars_as_text():
    tpl = parse_template(BASE + """
inputs:
  - {name: 12, description: 1.5}
steps:
  a:
    description: true
    dependencies: [1]
    action: {type: echo, configuration: {output: {}}}
    conditions:
      - type: check
        if: [{value: 0, operator: EQ, expected: 404}, {value: 1234567.0, operator: EQ, expected: 0.1}]
        then: {this: yes}
""")
    assert tpl.inputs[0].name == "12" and tpl.inputs[0].description == "1.5"
    st = tpl.steps["a"]
    assert st.description == "true" and st.dependencies == ["1"]
    asserts = st.conditions[0].if_
    assert (asserts[0].value, asserts[0].expected) == ("0", "404")
    assert (asserts[1].value, asserts[1].expected) == ("1.234567e+06", "0.1")
    assert st.conditions[0].then == {"this": "true"}


def test_free_json_fields_keep_types_with_exact_numbers():
    tpl = parse_template(BASE + """
inputs:
  - {name: n, type: number, default: 12345678901234567890, legal_values: [1, 2.50, 1e3, 12345678901234567890]}
variables:
  - {name: v, value: 9007199254740993}
base_configurations:
  b: {z: 1, a: [yes, 0.1]}
result_format: {count: 3}
steps:
  a:
    json_schema: {version: 4}
    action:
      type: echo
      configuration: {output: {num: 3, f: 2.50, big: 1e21, small: 0.0000001, yes: no}}
""")
    n = tpl.inputs[0]
    assert n.default == JSONNumber("12345678901234567890") and isinstance(n.default, JSONNumber)
    assert n.legal_values == ["1", "2.5", "1000", "12345678901234567890"]
    assert all(isinstance(v, JSONNumber) for v in n.legal_values)
    assert tpl.variables[0].value == JSONNumber("9007199254740993")
    conf = tpl.steps["a"].action.configuration
    assert dumps(conf) == '{"output":{"big":1e+21,"f":2.5,"num":3,"small":1e-7,"true":false}}'
    assert dumps(tpl.base_configurations) == '{"b":{"a":[true,0.1],"z":1}}'
    assert tpl.result_format == {"count": JSONNumber("3")}


def test_field_names_case_insensitive_unknown_ignored_name_normalised():
    tpl = parse_template("NAME: '  Hello-World  '\nDescription: x y z\nTitle_Format: a title\nunknown: 1\n"
                         "Steps: {a: {ACTION: {TYPE: echo}}}\n")
    assert tpl.name == "hello-world"
    assert tpl.description == "x y z" and tpl.title_format == "a title"
    assert tpl.steps["a"].action.type == "echo"


def test_exact_key_wins_over_folded_in_go_order():
    # Go decodes the sorted JSON keys: "Name" then "name"; the last assignment wins.
    tpl = parse_template("name: lower\nName: upper\ndescription: x y z\ntitle_format: a title\n")
    assert tpl.name == "lower"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("retry_max: five\n", "json: cannot unmarshal string into Go struct field TaskTemplate.retry_max of type int"),
        ("auto_runnable: 1\n", "json: cannot unmarshal number into Go struct field TaskTemplate.auto_runnable of type bool"),
        ("steps: [a]\n", "json: cannot unmarshal array into Go struct field TaskTemplate.steps of type map[string]*step.Step"),
        ("steps: {a: {execution_delay: 5s}}\n",
         "json: cannot unmarshal string into Go struct field Step.steps.execution_delay of type time.Duration"),
        ("steps: {a: {max_retries: 1.5}}\n",
         "json: cannot unmarshal number 1.5 into Go struct field Step.steps.max_retries of type int"),
        ("inputs: {a: 1}\n", "json: cannot unmarshal object into Go struct field TaskTemplate.inputs of type []input.Input"),
        ("tags: {a: [1]}\n", "json: cannot unmarshal array into Go struct field TaskTemplate.tags of type string"),
        ("hidden: [1]\n", "json: cannot unmarshal array into Go struct field TaskTemplate.hidden of type bool"),
        ("retry_max: true\n", "json: cannot unmarshal bool into Go struct field TaskTemplate.retry_max of type int"),
        ("retry_max: 1e30\n",
         "json: cannot unmarshal number 1e+30 into Go struct field TaskTemplate.retry_max of type int"),
    ],
)
def test_type_mismatch_messages(body, message):
    with pytest.raises(ValueError) as info:
        parse_template(BASE + body)
    assert str(info.value) == "error unmarshaling JSON: while decoding JSON: " + message


def test_integral_floats_fit_int_fields():
    tpl = parse_template(BASE + "retry_max: 1e1\nsteps: {a: {max_retries: 2.0}}\n")
    assert tpl.retry_max == 10 and tpl.steps["a"].max_retries == 2


def test_executor_errors_and_output_strategy():
    with pytest.raises(ValueError) as info:
        parse_template(BASE + "steps: {a: {action: {type: [x]}}}\n")
    assert "Go struct field InnerExecutor.type of type string" in str(info.value)
    with pytest.raises(ValueError) as info:
        parse_template(BASE + "steps: {a: {action: {type: echo, output: {strategy: replace}}}}\n")
    assert str(info.value).endswith('invalid OutputStrategy "replace"')
    tpl = parse_template(BASE + "steps: {a: {action: {type: echo, output: {strategy: template, format: 1}}}}\n")
    assert tpl.steps["a"].action.output.strategy == "template"


def test_base_output_replaces_output_with_merge():
    tpl = parse_template(BASE + "steps: {a: {action: {type: echo, output: {strategy: template, format: x},"
                                " base_output: {k: v}}}}\n")
    out = tpl.steps["a"].action.output
    assert (out.strategy, out.format) == ("merge", {"k": "v"})
    tpl = parse_template(BASE + "steps: {a: {action: {type: echo, base_output: null}}}\n")
    assert tpl.steps["a"].action.output is None


def test_syntax_error_message():
    with pytest.raises(ValueError) as info:
        parse_template("name: [unclosed\n")
    assert str(info.value).startswith("error converting YAML to JSON: yaml: line ")


def test_float_formatting_helpers():
    assert yaml_float_to_string(3.14159265358979) == "3.1415927"
    assert yaml_float_to_string(1e20) == "1e+20"
    assert yaml_float_to_string(float("inf")) == "+Inf"  # string fields; map keys say .inf
    assert json_float(1e20) == "100000000000000000000"
    assert json_float(1e21) == "1e+21"
    assert json_float(0.000001) == "0.000001"
    assert json_float(1e-7) == "1e-7"


def test_function_file_decoding():
    fn = parse_function("name: f::g\ndescription: ignored\naction: {type: echo, configuration: "
                        "{a: '{{ .function_args.x }}', b: ['{{.function_args.y.z}} {{ .function_args.w }}']}}\n")
    assert fn.name == "f::g" and sorted(fn.args) == ["w", "x", "y.z"]


def test_only_the_first_document_counts():
    assert load_yaml("a: 1\n---\nb: [\n") == {"a": 1}
    assert load_yaml("") is None
