"""Port of µTask's TestLintingAndValidation and TestComputeversion (reference §15.1) on our own fixtures."""

from __future__ import annotations

import os

import pytest
from utask.core.templates import TemplateValidationError, load_template_file, validate_template

from .conftest import SCENARIOS

MUST_FAIL = [
    ("lintingError.yaml", "Variable notfound does not exist"),
    ("lintingRootKey.yaml", "Variable grault does not exist"),
    ("lintingReservedStep.yaml", "'this' step name is reserved"),
    ("customStates.yaml", 'Custom state "SERVER_ERROR" is not allowed as it\'s a reserved state'),
    (
        "forbiddenStateImpact.yaml",
        "Step condition cannot impact the state of step stepTwo, only those who belong to the dependency chain are allowed",
    ),
    ("stepDetailsLintingError.yaml", "Wrong step key: stepNotFound"),
    ("circularDependencies.yaml", "Invalid: circular dependency [stepOne stepThree stepTwo] <-> step"),
    ("selfDependency.yaml", "Invalid: circular dependency [stepOne] <-> stepOne"),
    ("orphanDependencies.yaml", 'Invalid dependency, no step with that name: "stepTwo"'),
    ("functionEchoHelloWorldError.yaml", 'Invalid executor action: missing function_args "name"'),
    ("conditionForeachSkipOnly.yaml", "Step condition can set foreach on a skip condition"),
    ("conditionForeachInvalid.yaml", "Unknown condition foreach: invalid"),
    ("conditionForeachStepNotForeach.yaml", "Step condition cannot set foreach on a non-foreach step"),
]

MUST_SUCCEED = [
    "lintingInfiniteOk.yaml",
    "lintingObject.yaml",
    "allowedStateImpact.yaml",
    "functionEchoHelloWorld.yaml",
    "functionCustomState.yaml",
    "functionPreHook.yaml",
    "functionEchoTemplatedOutput.yaml",
]


@pytest.mark.parametrize(("fixture", "expected"), MUST_FAIL)
def test_linting_and_validation_errors(fixture, expected, actions, functions):
    tpl = load_template_file(os.path.join(SCENARIOS, fixture))
    with pytest.raises(TemplateValidationError) as info:
        validate_template(tpl, actions=actions, functions=functions)
    assert expected in str(info.value)
    assert str(info.value).startswith("Invalid task template: ")


@pytest.mark.parametrize("fixture", MUST_SUCCEED)
def test_linting_and_validation_ok(fixture, actions, functions):
    tpl = load_template_file(os.path.join(SCENARIOS, fixture))
    validate_template(tpl, actions=actions, functions=functions)


def test_full_texts_of_wrapped_errors(actions, functions):
    tpl = load_template_file(os.path.join(SCENARIOS, "lintingError.yaml"))
    with pytest.raises(TemplateValidationError) as info:
        validate_template(tpl, actions=actions, functions=functions)
    assert str(info.value) == (
        "Invalid task template: Invalid text-template handles within task template: "
        "Linting error: step stepOne: Variable notfound does not exist"
    )
    assert info.value.step == "stepTwo"
    assert info.value.field == "action.configuration.output.copy"

    tpl = load_template_file(os.path.join(SCENARIOS, "selfDependency.yaml"))
    with pytest.raises(TemplateValidationError) as info:
        validate_template(tpl, actions=actions, functions=functions)
    assert str(info.value) == (
        "Invalid task template: Invalid step stepOne: Invalid: circular dependency [stepOne] <-> stepOne"
    )
    assert (info.value.step, info.value.field) == ("stepOne", "dependencies")


def test_compute_version(actions, functions):
    tpl = load_template_file(os.path.join(SCENARIOS, "computeVersion.yaml"))
    validate_template(tpl, actions=actions, functions=functions)
    expected = {
        "stepOne": "http://json-schema.org/draft-07/schema#",
        "stepTwo": "http://json-schema.org/draft-06/schema#",
        "stepThree": "http://json-schema.org/draft-04/schema#",
        "stepFour": "http://json-schema.org/draft-04/schema#",
        "stepFive": "http://json-schema.org/draft-07/schema#",
        "stepSix": "http://json-schema.org/draft-07/schema#",
        "stepSeven": "http://json-schema.org/draft-06/schema#",
    }
    for name, schema in expected.items():
        assert tpl.steps[name].json_schema["$schema"] == schema, name
        assert "version" not in tpl.steps[name].json_schema
    # the normalised schema is stored with Go's sorted keys
    assert list(tpl.steps["stepFour"].json_schema) == ["$schema", "properties", "type"]


def test_validation_normalises(actions, functions):
    tpl = load_template_file(os.path.join(SCENARIOS, "allowedStateImpact.yaml"))
    validate_template(tpl, actions=actions, functions=functions)
    assert tpl.name == "allowed-state-impact"
