"""Function loading (reference §1.5)."""

from __future__ import annotations

import os

import pytest
from utask.core.templates import FunctionLoadError, load_functions, parse_function

from .conftest import FIXTURES, FUNCTIONS


def test_load_recursive_skips_hidden_and_yml():
    reg = load_functions(FUNCTIONS)
    assert list(reg) == sorted([
        "echo::custom::state", "echo::hello::world", "echo::nested::inner", "echo::nested::outer",
        "echo::preHook", "echo::templated::output",
    ])
    assert reg.get("echo::hello::world").args == ["name"]
    assert reg.get("echo::nested::outer").file_name.endswith(os.path.join("nested", "outer.yaml"))


def test_missing_directory_is_ignored():
    assert len(load_functions(os.path.join(FIXTURES, "does-not-exist"))) == 0


def test_duplicate_names(tmp_path):
    (tmp_path / "a.yaml").write_text("name: dup\naction: {type: echo, configuration: {}}\n")
    (tmp_path / "b.yaml").write_text("name: dup\naction: {type: echo, configuration: {}}\n")
    with pytest.raises(FunctionLoadError) as info:
        load_functions(str(tmp_path))
    a, b = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    assert str(info.value) == f'"{b}": function already exists and was declared in "{a}"'


def test_configuration_must_be_an_object():
    with pytest.raises(FunctionLoadError) as info:
        parse_function("name: f\naction: {type: echo}\n")
    assert str(info.value) == "unexpected end of JSON input"
    with pytest.raises(FunctionLoadError) as info:
        parse_function("name: f\naction: {type: echo, configuration: [1]}\n")
    assert str(info.value) == "json: cannot unmarshal array into Go value of type map[string]interface {}"
    assert parse_function("name: f\naction: {type: echo, configuration: null}\n").args == []


def test_function_json():
    fn = load_functions(FUNCTIONS).get("echo::custom::state")
    assert list(fn.to_json()) == ["name", "action", "conditions", "custom_states"]


def test_runtime_resolution_helpers():
    from utask.core.templates import (
        function_chain,
        parse_template,
        resolved_conditions,
        resolved_custom_states,
        resolved_pre_hook,
    )

    reg = load_functions(FUNCTIONS)
    tpl = parse_template(
        "name: r\ndescription: r r\ntitle_format: r r\nsteps:\n"
        "  a:\n    custom_states: [MINE]\n    action: {type: echo::nested::outer, configuration: {name: x}}\n"
        "    conditions: [{type: check, message: own}]\n"
        "  b:\n    action: {type: echo::preHook, configuration: {}}\n"
    )
    a, b = tpl.steps["a"], tpl.steps["b"]
    assert [f.name for f in function_chain(a.action.type, reg)] == [
        "echo::nested::outer", "echo::nested::inner", "echo::hello::world"]
    assert resolved_custom_states(a, reg) == ["MINE", "OUTER_STATE", "INNER_STATE"]
    assert [c.message for c in resolved_conditions(a, reg)] == ["own"]
    cs = load_functions(FUNCTIONS).get("echo::custom::state")
    b.action.type = "echo::custom::state"
    assert resolved_conditions(b, reg) == list(cs.conditions)
    b.action.type = "echo::preHook"
    assert resolved_pre_hook(b, reg).configuration == {"output": {"value": "42"}}
    assert resolved_pre_hook(a, reg) is None


def test_template_directory_errors(tmp_path):
    from utask.core.templates import TemplateLoadError, load_templates

    missing = str(tmp_path / "nope")
    with pytest.raises(TemplateLoadError) as info:
        load_templates(missing)
    assert str(info.value) == f"failed to open template directory {missing}: open {missing}: no such file or directory"
    (tmp_path / "a.yaml").write_text("name: [\n")
    (tmp_path / "b.yml").write_text("ignored")
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(TemplateLoadError) as info:
        load_templates(str(tmp_path))
    assert str(info.value).startswith("failed to unmarshal template 'a.yaml': 'error converting YAML to JSON: yaml: line ")


def test_cyclic_functions_folder_is_refused_where_used():
    from utask.core.templates import parse_template, validate_template

    from .conftest import catalog

    reg = load_functions(os.path.join(FIXTURES, "cyclic_functions"))
    tpl = parse_template("name: cyc\ndescription: cyclic\ntitle_format: cyclic\n"
                         "steps: {a: {action: {type: loop::a, configuration: {}}}}\n")
    with pytest.raises(ValueError) as info:
        validate_template(tpl, actions=catalog(), functions=reg)
    assert str(info.value) == (
        'Invalid task template: Invalid step a: Invalid executor action: function "loop::b": function "loop::a": '
        'invalid cyclic import in function for "loop::a"'
    )
