"""One test per validation error text (reference §1.3, §1.4, §1.5, §2.2, §3.1, §5.3, §5.4, §5.15).

Each case is a small template written for the case; the expected value is the complete message.
"""

from __future__ import annotations

import textwrap

import pytest
from utask.core.templates import FunctionRegistry, parse_function

from .conftest import catalog, first_error, problems_of

P = "Invalid task template: "


def tpl(steps: str = "", top: str = "", name: str = "error-texts") -> str:
    steps = steps or """
      a:
        action: {type: echo, configuration: {output: {}}}
    """
    return (
        f"name: {name}\ndescription: error texts\ntitle_format: a title\n"
        + textwrap.dedent(top)
        + "steps:\n"
        + textwrap.indent(textwrap.dedent(steps).strip("\n"), "  ")
        + "\n"
    )


def step(body: str, name: str = "a", others: str = "") -> str:
    return f"{name}:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n" + textwrap.dedent(others)


ECHO = "action: {type: echo, configuration: {output: {}}}\n"

CASES = [
    # §1.3 template fields
    ("name-short", tpl(name="ab"), "template name can't be shorter than 3 characters"),
    ("name-long", tpl(name="x" * 1001), "template name can't be longer than 1000 characters"),
    ("description-short", tpl().replace("description: error texts", "description: ab"),
     "template description can't be shorter than 3 characters"),
    ("description-long", tpl().replace("description: error texts", "description: " + "d" * 1001),
     "template description can't be longer than 1000 characters"),
    ("title-short", tpl().replace("title_format: a title", "title_format: ab"),
     "template title format can't be shorter than 3 characters"),
    ("title-missing", tpl().replace("title_format: a title\n", ""),
     "template title format can't be shorter than 3 characters"),
    ("doc-link-short", tpl(top="doc_link: ab\n"), "template doc link can't be shorter than 3 characters"),
    ("doc-link-long", tpl(top=f"doc_link: {'l' * 1001}\n"), "template doc link can't be longer than 1000 characters"),
    ("tags", tpl(top="tags: {_utask_parent_task_id: '1'}\n"), 'tag name "_utask_parent_task_id" not allowed'),
    ("long-description-short", tpl(top="long_description: ab\n"),
     "template long description can't be shorter than 3 characters"),
    ("long-description-long", tpl(top=f"long_description: {'l' * 100001}\n"),
     "template long description can't be longer than 100000 characters"),
    ("auto-runnable-resolver-inputs", tpl(top="auto_runnable: true\nresolver_inputs: [{name: r}]\n"),
     "A template can't be auto runnable if it has resolver inputs"),
    ("all-resolvers-not-auto", tpl(top="allow_all_resolver_usernames: true\n"),
     "A template that can be resolved by everybody have to be auto-runnable"),
    # §2.2 inputs
    ("input-regex-and-legal", tpl(top="inputs: [{name: i, regex: '^a$', legal_values: [a]}]\n"),
     "Invalid input 'i': both regex and legal value list configured"),
    ("input-bad-regex", tpl(top="inputs: [{name: i, regex: '(a'}]\n"), "Invalid regex for input 'i'"),
    ("input-re2-only", tpl(top="inputs: [{name: i, regex: '(?=a)'}]\n"), "Invalid regex for input 'i'"),
    ("input-type", tpl(top="inputs: [{name: i, type: integer}]\n"),
     "Invalid input type 'integer': must be either [string password bool number]"),
    ("legal-value-type", tpl(top="inputs: [{name: i, type: number, legal_values: [1, two]}]\n"),
     "Invalid value 'i': expected a number"),
    ("default-type-bool", tpl(top="inputs: [{name: i, type: bool, default: 'yes'}]\n"),
     "Invalid value 'i': expected a boolean"),
    ("default-type-string", tpl(top="inputs: [{name: i, default: 12}]\n"), "Invalid value 'i': expected a string"),
    ("default-regex", tpl(top="inputs: [{name: i, regex: '^[0-9]+$', default: abc}]\n"),
     "Invalid input 'i': 'abc' doesnt comply with regex '^[0-9]+$'"),
    ("default-legal", tpl(top="inputs: [{name: i, legal_values: [a, b], default: c}]\n"),
     "Invalid input 'i': 'c' is not a legal value ([a b])"),
    ("default-quote", tpl(top="inputs: [{name: i, default: 'say \"hi\"'}]\n"),
     "Invalid input 'i': cannot contain double quotes"),
    ("collection-default-quirk", tpl(top="inputs: [{name: i, collection: true, default: [a]}]\n"),
     "Invalid value 'i': expected a string"),
    ("resolver-input", tpl(top="resolver_inputs: [{name: r, type: nope}]\n"),
     "Invalid input type 'nope': must be either [string password bool number]"),
    # §3.1 variables
    ("variable-name", tpl(top="variables: [{value: 1}]\n"), "variable name can't be empty"),
    ("variable-both", tpl(top="variables: [{name: v, value: 1, expression: '1'}]\n"),
     'variable "v" can\'t have both value and expression defined'),
    ("variable-none", tpl(top="variables: [{name: v}]\n"),
     'variable "v" expression and value can\'t be empty at the same time'),
    ("variable-timeout-with-value", tpl(top="variables: [{name: v, value: 1, expression_timeout: 1s}]\n"),
     'variable "v" expression timeout cannot be defined when value is defined'),
    ("variable-timeout", tpl(top="variables: [{name: v, expression: '1', expression_timeout: foo}]\n"),
     'variable "v" time: invalid duration "foo"'),
    ("variable-timeout-unit", tpl(top="variables: [{name: v, expression: '1', expression_timeout: '10'}]\n"),
     'variable "v" time: missing unit in duration "10"'),
    # §5.15 step summary
    ("this-reserved", tpl(step(ECHO, name="this")), "Invalid step this: 'this' step name is reserved"),
    ("base-configuration", tpl(step("action: {type: echo, base_configuration: nope, configuration: {}}")),
     "Invalid step a: Invalid executor action: BaseConfiguration key not found"),
    ("no-runner", tpl(step("action: {type: nope, configuration: {}}")),
     "Invalid step a: Invalid executor action: No runner for type 'nope'"),
    ("plugin-config", tpl(step("action: {type: echo, configuration: {error_type: fatal}}")),
     "Invalid step a: Invalid executor action: Wrong error type: expecting 'client' or 'server'"),
    ("plugin-base-config", tpl(step("action: {type: echo, base_configuration: b, configuration: {}}"),
                               top="base_configurations: {b: {error_type: nope}}\n"),
     "Invalid step a: Invalid executor action: Wrong error type: expecting 'client' or 'server'"),
    ("prehook-runner", tpl(step("pre_hook: {type: nope, configuration: {}}\n" + ECHO)),
     "Invalid step a: Invalid prehook action: No runner for type 'nope'"),
    ("prehook-base", tpl(step("pre_hook: {type: echo, base_configuration: x, configuration: {}}\n" + ECHO)),
     "Invalid step a: Invalid prehook action: BaseConfiguration key not found"),
    ("foreach-strategy-alone", tpl(step("foreach_strategy: sequence\n" + ECHO)),
     "Invalid step a: step foreach_strategy can't be set without foreach"),
    ("foreach-strategy-value", tpl(step("foreach: '[1]'\nforeach_strategy: random\n" + ECHO)),
     'Invalid step a: step foreach_strategy "random" is not a valid value'),
    ("execution-delay-high", tpl(step("execution_delay: 21000000000\n" + ECHO)),
     "Invalid step a: execution_delay: expected 21s to be a duration between 0s and 20s"),
    ("execution-delay-negative", tpl(step("execution_delay: -1\n" + ECHO)),
     "Invalid step a: execution_delay: expected -1ns to be a duration between 0s and 20s"),
    ("retry-pattern", tpl(step("retry_pattern: days\n" + ECHO)),
     "Invalid step a: Invalid retry pattern: days Expecting(seconds|minutes|hours)"),
    ("custom-state", tpl(step("custom_states: [DONE]\n" + ECHO)),
     'Invalid step a: Custom state "DONE" is not allowed as it\'s a reserved state. Reserved state are: "TODO", '
     '"WAITING", "RUNNING", "DONE", "CLIENT_ERROR", "SERVER_ERROR", "FATAL_ERROR", "CRASHED", "PRUNE", "TO_RETRY", '
     '"RETRY_NOW", "AFTERRUN_ERROR", "ANY", "EXPANDED"'),
    ("state-set", tpl(step("state: DONE\n" + ECHO)), "Invalid step a: step state must not be set"),
    ("children-steps-set", tpl(step("children_steps: []\n" + ECHO)), "Invalid step a: step children_steps must not be set"),
    ("children-steps-map-set", tpl(step("children_steps_map: {}\n" + ECHO)),
     "Invalid step a: step children_steps_map must not be set"),
    ("output-set", tpl(step("output: {a: 1}\n" + ECHO)), "Invalid step a: step output must not be set"),
    ("metadata-set", tpl(step("metadata: 1\n" + ECHO)), "Invalid step a: step metadatas must not be set"),
    ("tags-set", tpl(step("tags: {}\n" + ECHO)), "Invalid step a: step tags must not be set"),
    ("children-set", tpl(step("children: []\n" + ECHO)), "Invalid step a: step children must not be set"),
    ("error-set", tpl(step("error: boom\n" + ECHO)), "Invalid step a: step error must not be set"),
    ("try-count-set", tpl(step("try_count: 2\n" + ECHO)), "Invalid step a: step try_count must not be set"),
    ("last-run-set", tpl(step("last_run: '2024-01-02T03:04:05Z'\n" + ECHO)),
     "Invalid step a: step last_time must not be set"),
    ("item-set", tpl(step("item: x\n" + ECHO)), "Invalid step a: step item must not be set"),
    # §5.3 dependencies
    ("dep-unknown", tpl(step("dependencies: [zz]\n" + ECHO)), 'Invalid step a: Invalid dependency, no step with that name: "zz"'),
    ("dep-twice", tpl(step("dependencies: [b, 'b:ANY']\n" + ECHO, others="b:\n  " + ECHO)),
     'Invalid step a: Invalid dependency, already defined dependency to: "b"'),
    ("dep-dup-state", tpl(step("dependencies: ['b:DONE,DONE']\n" + ECHO, others="b:\n  " + ECHO)),
     "Invalid step a: Invalid dependency, duplicated state detected"),
    ("dep-any-plus", tpl(step("dependencies: ['b:ANY,DONE']\n" + ECHO, others="b:\n  " + ECHO)),
     "Invalid step a: Invalid dependency, no other state allowed if ANY is declared"),
    ("dep-state", tpl(step("dependencies: ['b:PRUNE']\n" + ECHO, others="b:\n  " + ECHO)),
     'Invalid step a: Invalid dependency on step b, step state not allowed: "PRUNE"'),
    ("dep-circular", tpl(step("dependencies: [b]\n" + ECHO, others="b:\n  dependencies: [a]\n  " + ECHO)),
     "Invalid step a: Invalid: circular dependency [a b] <-> a"),
    # §5.4 conditions
    ("cond-type", tpl(step(ECHO + "conditions: [{type: after, if: [], then: {}}]")),
     "Invalid step a: Unknown condition type: after"),
    ("cond-foreach", tpl(step(ECHO + "conditions: [{type: skip, foreach: both}]")),
     "Invalid step a: Unknown condition foreach: both"),
    ("cond-operator", tpl(step(ECHO + "conditions: [{type: check, if: [{value: a, operator: EQUALS, expected: a}]}]")),
     "Invalid step a: Unknown condition operator: EQUALS"),
    ("cond-regexp", tpl(step(ECHO + "conditions: [{type: check, if: [{value: a, operator: regexp, expected: '(a'}]}]")),
     "Invalid step a: error parsing regexp: missing closing ): `(a`"),
    ("cond-itself", tpl(step(ECHO + "conditions: [{type: check, then: {a: DONE}}]")),
     "Invalid step a: Step condition should not reference itself, use 'this'"),
    ("cond-missing-step", tpl(step(ECHO + "conditions: [{type: check, then: {zz: DONE}}]")),
     "Invalid step a: Step condition points to non-existing step: zz"),
    ("cond-impact", tpl(step(ECHO + "conditions: [{type: check, then: {b: DONE}}]", others="b:\n  " + ECHO)),
     "Invalid step a: Step condition cannot impact the state of step b, only those who belong to the dependency "
     "chain are allowed"),
    ("cond-state", tpl(step(ECHO + "conditions: [{type: check, then: {this: RUNNING}}]")),
     "Invalid step a: Step condition implies invalid state for step a: RUNNING"),
    ("cond-foreach-normal-step", tpl(step(ECHO + "conditions: [{type: skip, foreach: children}]")),
     "Invalid step a: Step condition cannot set foreach on a non-foreach step"),
    ("cond-foreach-check", tpl(step("foreach: '[1]'\n" + ECHO + "conditions: [{type: check, foreach: parent}]")),
     "Invalid step a: Step condition can set foreach on a skip condition"),
    # §5.10 json_schema
    ("json-schema", tpl(step("json_schema: {type: 12}\n" + ECHO)), None),
    ("json-schema-draft", tpl(step('json_schema: {$schema: "http://json-schema.org/draft-07/schema"}\n' + ECHO)),
     'Invalid step a: Jsonschema: step a: unknown $schema "http://json-schema.org/draft-07/schema"'),
    # §1.4 linting
    ("lint-step", tpl(step("action: {type: echo, configuration: {output: '{{.step.zz.output}}'}}")),
     "Invalid text-template handles within task template: step: Wrong step key: zz"),
    ("lint-input", tpl(step("action: {type: echo, configuration: {output: '{{.input.zz}}'}}")),
     "Invalid text-template handles within task template: Wrong input key: zz"),
    ("lint-resolver-input", tpl(step("action: {type: echo, configuration: {output: '{{.resolver_input.i}}'}}"),
                                top="inputs: [{name: i}]\n"),
     "Invalid text-template handles within task template: Wrong input key: i"),
    ("lint-task", tpl(step("action: {type: echo, configuration: {output: '{{.task.last_activity}}'}}")),
     "Invalid text-template handles within task template: Wrong task key: last_activity"),
    ("lint-title", tpl().replace("title_format: a title", "title_format: 'for {{.input.who}}'"),
     "Invalid text-template handles within task template: Wrong input key: who"),
    ("lint-schema", tpl(step("json_schema: {properties: {x: {type: string}}}\n" + ECHO, others=(
        "b:\n  dependencies: [a]\n  action: {type: echo, configuration: {output: '{{ .step.a.output.y }}'}}\n"))),
     "Invalid text-template handles within task template: Linting error: step a: Variable y does not exist"),
    ("lint-reserved-root-key", tpl(step("json_schema: {properties: {utaskRootKey: {type: string}}}\n" + ECHO, others=(
        "b:\n  dependencies: [a]\n  action: {type: echo, configuration: {output: '{{ .step.a.output.x }}'}}\n"))),
     "Invalid text-template handles within task template: Linting error: step a: Cannot use property "
     '"utaskRootKey" as it\'s a reserved keyword. Please rename your property'),
]


@pytest.mark.parametrize(("text", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_error_text(text, expected):
    got = first_error(text)
    if expected is None:  # message from the schema compiler: only the µTask prefix is ours
        assert got is not None and got.startswith(
            P + 'Invalid step a: Jsonschema: step a: json-schema "a" compilation failed. Reason:\n'
            'I[#] S[#] doesn\'t validate with "http://json-schema.org/draft-07/schema#"\n  I[#/type] '
        )
    else:
        assert got == P + expected


def test_valid_base_template():
    assert problems_of(tpl()) == []


@pytest.mark.parametrize(
    "handle",
    [
        "{{ .step.this.output.anything }}",  # `this` is not linted
        "{{ .config.whatever }}",
        "{{ .iterator.x }}",
        "{{ .function_args.x }}",
        '{{ index .step "zz" }}',  # only the first dotted path, here `.step`
        "{{ eval \"v\" }}",
        "{{ .step.a.output.x-y }}",  # `-` ends the path: .step.a.output.x, no schema → ok
        "{{ .task.task_id }} {{ .task.resolver_username }} {{ .task.watcher_groups }}",
    ],
)
def test_handles_not_linted_or_valid(handle):
    text = tpl(step("action: {type: echo, configuration: {output: '" + handle.replace("'", "''") + "'}}"))
    assert problems_of(text) == []


def _registry(*docs: str) -> FunctionRegistry:
    reg = FunctionRegistry()
    for i, d in enumerate(docs):
        reg.add(parse_function(textwrap.dedent(d), f"f{i}.yaml"))
    return reg


def test_function_errors_are_annotated_with_the_chain():
    reg = _registry(
        """
        name: outer
        action: {type: inner, configuration: {nothing: here}}
        """,
        """
        name: inner
        action: {type: echo, configuration: {output: '{{ .function_args.needed }}'}}
        """,
    )
    text = tpl(step("action: {type: outer, configuration: {}}"))
    assert first_error(text, reg) == P + 'Invalid step a: Invalid executor action: function "outer": missing function_args "needed"'


def test_function_cycle():
    reg = _registry(
        "name: loop::a\naction: {type: loop::b, configuration: {}}\n",
        "name: loop::b\naction: {type: loop::a, configuration: {}}\n",
    )
    text = tpl(step("action: {type: loop::a, configuration: {}}"))
    assert first_error(text, reg) == (
        P + 'Invalid step a: Invalid executor action: function "loop::b": function "loop::a": '
        'invalid cyclic import in function for "loop::a"'
    )


def test_function_plugin_error_annotated():
    reg = _registry("name: bad::echo\naction: {type: echo, configuration: {error_type: x}}\n")
    text = tpl(step("action: {type: bad::echo, configuration: {}}"))
    assert first_error(text, reg) == (
        P + "Invalid step a: Invalid executor action: function \"bad::echo\": Wrong error type: expecting 'client' or 'server'"
    )


def test_function_missing_runner_not_annotated():
    reg = _registry("name: gone\naction: {type: nope, configuration: {}}\n")
    text = tpl(step("action: {type: gone, configuration: {}}"))
    assert first_error(text, reg) == P + "Invalid step a: Invalid executor action: No runner for type 'nope'"


def test_pre_hook_rules(functions):
    override = tpl(step("pre_hook: {type: echo, configuration: {}}\naction: {type: echo::preHook, configuration: {}}"))
    assert first_error(override, functions) == (
        P + 'Invalid step a: Invalid executor action: function "echo::preHook": pre_hook override'
    )
    nested = tpl(step("pre_hook: {type: echo::preHook, configuration: {}}\n" + ECHO))
    assert first_error(nested, functions) == P + "Invalid step a: Invalid prehook on a prehook"
    only_function = tpl(step("action: {type: echo::preHook, configuration: {}}"))
    assert first_error(only_function, functions) is None


def test_condition_states_include_function_custom_states(functions):
    text = tpl(step("action: {type: echo::nested::outer, configuration: {name: x}}\n"
                    "conditions: [{type: check, then: {this: INNER_STATE}}]"))
    assert first_error(text, functions) is None
    # dependencies only accept the target's own custom states (not its functions')
    text = tpl(step("action: {type: echo::nested::outer, configuration: {name: x}}", others=(
        "b:\n  dependencies: ['a:INNER_STATE']\n  " + ECHO)))
    assert first_error(text, functions) == (
        P + 'Invalid step b: Invalid dependency on step a, step state not allowed: "INNER_STATE"'
    )


def test_foreach_skip_conditions_default_to_children():
    from .conftest import tpl_from
    t = tpl_from(tpl(step("foreach: '[1,2]'\n" + ECHO + "conditions: [{type: skip, then: {this: PRUNE}}, "
                          "{type: check, then: {this: PRUNE}}]")))
    assert problems_of(t) == []
    assert [c.foreach for c in t.steps["a"].conditions] == ["children", ""]
    assert t.steps["a"].foreach_strategy == "parallel"


def test_metadata_linting_uses_the_plugin_schema():
    from utask.core.templates import StaticCatalog

    class WithMetadata(StaticCatalog):
        def metadata_schema(self, action_type):
            return {"type": "object", "properties": {"HTTPStatus": {"type": "integer"}}} if action_type == "api" else None

    text = tpl(step("action: {type: api, configuration: {}}", others=(
        "b:\n  dependencies: [a]\n  action: {type: echo, configuration: {output: "
        "'{{ .step.a.metadata.HTTPStatus }} {{ .step.a.metadata.Nope }}'}}\n")))
    got = first_error(text, actions=WithMetadata(["api", "echo"]))
    assert got == (P + "Invalid text-template handles within task template: "
                   'Linting error: step details for step "a": Variable Nope does not exist')


def test_every_problem_is_listed_for_the_check_command():
    text = tpl(
        step("retry_pattern: days\n" + ECHO, others="b:\n  dependencies: [zz]\n  " + ECHO),
        top="inputs: [{name: i, type: nope}]\n",
    ).replace("title_format: a title", "title_format: ab")
    assert problems_of(text) == [
        P + "template title format can't be shorter than 3 characters",
        P + "Invalid input type 'nope': must be either [string password bool number]",
        P + "Invalid step a: Invalid retry pattern: days Expecting(seconds|minutes|hours)",
        P + 'Invalid step b: Invalid dependency, no step with that name: "zz"',
    ]


def test_known_templates_are_visible_to_catalogs():
    from utask.core.templates import KNOWN_TEMPLATES, StaticCatalog

    seen = {}

    def check(base, config):
        seen["known"] = KNOWN_TEMPLATES.get()
        if config.get("template") not in KNOWN_TEMPLATES.get():
            raise ValueError(f'sub-task template "{config.get("template")}" not found')

    cat = StaticCatalog(["echo"], validators={"subtask": check})
    text = tpl(step("action: {type: subtask, configuration: {template: other}}"))
    assert first_error(text, actions=cat) == (
        P + 'Invalid step a: Invalid executor action: sub-task template "other" not found'
    )
    assert first_error(text, actions=cat, known_templates={"other"}) is None
    assert seen["known"] == {"other", "error-texts"}


def test_catalog_helper_accepts_extra_types():
    assert catalog("http").has("http")
