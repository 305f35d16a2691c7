"""The product's example templates (templates/) and the published JSON schemas."""

from __future__ import annotations

import os

import jsonschema
import pytest
from utask.core.templates import load_templates, load_yaml, validate_template
from utask.core.templates.jsonschemas import function_schema, template_schema

from .conftest import FUNCTIONS, SCENARIOS, catalog
from .test_scenarios import MUST_SUCCEED

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "templates")
# action types of builtin plugins still being written (issue 7); their configuration checks run once installed
PENDING_TYPES = ("http", "subtask", "email", "input")


def test_examples_are_valid():
    loaded = load_templates(EXAMPLES)
    names = {t.template.name for t in loaded}
    assert {"hello-world", "kubernetes-tls-certificate", "team-member-bootstrap", "team-member-account",
            "payments-antifraud"} <= names
    for item in loaded:
        validate_template(item.template, actions=catalog(*PENDING_TYPES), known_templates=names)


def test_hello_world_needs_only_echo():
    hello = next(t.template for t in load_templates(EXAMPLES) if t.template.name == "hello-world")
    validate_template(hello, actions=catalog())
    assert hello.auto_runnable and hello.allow_all_resolver_usernames and hello.is_auto_runnable()
    assert hello.inputs and len(hello.steps) == 2 and hello.result_format
    assert any(st.conditions for st in hello.steps.values())
    assert {st.action.type for st in hello.steps.values()} == {"echo"}


@pytest.mark.parametrize(
    "full",
    [os.path.join(EXAMPLES, n) for n in sorted(os.listdir(EXAMPLES)) if n.endswith(".yaml")]
    + [os.path.join(SCENARIOS, n) for n in [*MUST_SUCCEED, "computeVersion.yaml"]],
    ids=os.path.basename,
)
def test_valid_files_match_the_editor_schema(full):
    with open(full, encoding="utf-8") as fh:
        jsonschema.validate(load_yaml(fh.read()), template_schema())


def test_functions_match_the_editor_schema():
    for root, _, files in os.walk(FUNCTIONS):
        for name in files:
            if name.endswith(".yaml") and not name.startswith("."):
                with open(os.path.join(root, name), encoding="utf-8") as fh:
                    jsonschema.validate(load_yaml(fh.read()), function_schema())


def test_schema_rejects_wrong_enums():
    bad = {"name": "x", "description": "x", "title_format": "x",
           "steps": {"a": {"retry_pattern": "days", "action": {"type": "echo"}}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, template_schema())



def test_published_schema_files_are_up_to_date():
    import json

    import utask.core.templates as pkg

    folder = os.path.join(os.path.dirname(pkg.__file__), "schemas")
    for name, schema in (("template.schema.json", template_schema()), ("function.schema.json", function_schema())):
        with open(os.path.join(folder, name), encoding="utf-8") as fh:
            assert json.load(fh) == schema, f"regenerate with: utask templates schema -o core/templates/schemas/{name}"


def test_example_template_strings_parse_as_go_templates():
    template_mod = pytest.importorskip("utask.core.templating.template")
    values_mod = pytest.importorskip("utask.core.templating.values")
    names = getattr(values_mod, "_NAMES", None)
    if names is None:
        pytest.skip("templating function names not available")

    def leaves(v):
        if isinstance(v, dict):
            for x in v.values():
                yield from leaves(x)
        elif isinstance(v, list):
            for x in v:
                yield from leaves(x)
        elif isinstance(v, str) and "{{" in v:
            yield v

    count = 0
    for item in load_templates(EXAMPLES):
        for source in leaves(item.template.to_json()):
            template_mod.compile_template(source, names)
            count += 1
    assert count > 50
