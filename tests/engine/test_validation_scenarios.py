"""TestLintingAndValidation and TestComputeversion of reference §15.1, through template validation as task
creation runs it (the checks themselves belong to `utask.core.templates`)."""

from __future__ import annotations

import pytest
from utask.core.engine import steps_from_template

from tests.engine.support import load_template, validate


def _validate(name: str) -> None:
    validate(load_template(f"validation/{name}"))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("lintingError.yaml", "Variable notfound does not exist"),
        ("lintingRootKey.yaml", "Variable grault does not exist"),
        ("lintingReservedStep.yaml", "'this' step name is reserved"),
        ("customStates.yaml", 'Custom state "SERVER_ERROR" is not allowed as it\'s a reserved state'),
        ("forbiddenStateImpact.yaml", "Step condition cannot impact the state of step stepTwo, only those who "
                                      "belong to the dependency chain are allowed"),
        ("stepDetailsLintingError.yaml", "Wrong step key: stepNotFound"),
        ("circularDependencies.yaml", "Invalid: circular dependency [stepOne stepThree stepTwo] <-> step"),
        ("selfDependency.yaml", "Invalid: circular dependency [stepOne] <-> stepOne"),
        ("orphanDependencies.yaml", 'Invalid dependency, no step with that name: "stepTwo"'),
        ("functionEchoHelloWorldError.yaml", 'Invalid executor action: missing function_args "name"'),
        ("conditionForeachSkipOnly.yaml", "Step condition can set foreach on a skip condition"),
        ("conditionForeachInvalid.yaml", "Unknown condition foreach: invalid"),
        ("conditionForeachStepNotForeach.yaml", "Step condition cannot set foreach on a non-foreach step"),
    ],
)
def test_linting_and_validation_refuse(name, message):
    with pytest.raises(ValueError) as exc:
        _validate(name)
    assert message in str(exc.value)


@pytest.mark.parametrize(
    "name", ["lintingInfiniteOk.yaml", "lintingObject.yaml", "allowedStateImpact.yaml"],
)
def test_linting_and_validation_accept(name):
    _validate(name)


@pytest.mark.parametrize(
    "name", ["functionEchoHelloWorld.yaml", "functionCustomState.yaml", "functionPreHook.yaml",
             "functionEchoTemplatedOutput.yaml"],
)
def test_function_templates_are_valid(name):
    validate(load_template(name))


def test_compute_version():
    tpl = load_template("validation/computeVersion.yaml")
    validate(tpl)
    steps = steps_from_template(tpl.steps)
    got = {name: st.json_schema["$schema"] for name, st in steps.items()}
    d7, d6, d4 = ("http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-06/schema#",
                  "http://json-schema.org/draft-04/schema#")
    assert got == {"stepOne": d7, "stepTwo": d6, "stepThree": d4, "stepFour": d4, "stepFive": d7, "stepSix": d7}
    assert "version" not in steps["stepFour"].json_schema
