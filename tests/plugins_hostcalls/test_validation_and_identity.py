"""Template-load checks of the host-call plugins (through the sandboxed plugin host, with the known
templates), and the identity checks of the host-call handler."""

from __future__ import annotations

import textwrap

import pytest
from utask.core.plugins.model import ExecutionIdentity, HostCallError

from .conftest import validated


def _template(action_type: str, configuration: str) -> str:
    return textwrap.dedent("""\
        name: checked
        description: a template checked at load
        title_format: checked
        steps:
          one:
            action:
              type: {type}
              configuration:
        {configuration}
        """).format(type=action_type, configuration=textwrap.indent(textwrap.dedent(configuration), " " * 8))


def _load_error(server, action_type: str, configuration: str) -> str | None:
    from utask.core.templates import parse_template

    tpl = parse_template(_template(action_type, configuration))
    known = [t.name for t in server.templates]  # published, plus the one being imported
    try:
        server.call(validated, server.host, [tpl], known)
    except ValueError as e:
        return str(e)
    return None


CASES = [
    ("subtask", "template: nope", 'sub-task template "nope" not found'),
    ("subtask", "template: no-output", None),
    ("subtask", "template: checked", None),  # the templates being imported together count
    ("subtask", "template: no-output\ntags: {_utask_parent_task_id: x}", 'tag name "_utask_parent_task_id" not allowed'),
    ("batch", "template_name: nope", 'batch template "nope" not found'),
    ("batch", "template_name: batchedtasktemplate", None),
    ("callback", "action: Create", None),
    ("callback", "action: wait", 'missing "id" parameter'),
    ("callback", "action: other", 'invalid action "other"'),
    ("cache", "action: get", 'missing required parameter "key"'),
    ("cache", "action: put\nkey: k", 'invalid action "put": expected "set", "get", or "delete"'),
    ("tag", "tags: {_utask_parent_task_id: x}", 'tag name "_utask_parent_task_id" not allowed'),
    ("input", "inputs: [{name: a, regex: 'x', legal_values: [x]}]",
     "Invalid input 'a': both regex and legal value list configured"),
    ("input", "inputs: [{name: a, regex: '('}]", "Invalid regex for input 'a'"),
    ("input", "inputs: [{name: a, type: int}]", "Invalid input type 'int': must be either [string password bool number]"),
    ("input", "inputs: [{name: a, type: number, default: x}]", "Invalid value 'a': expected a number"),
    ("input", "inputs: [{name: a, legal_values: [x, w], default: z}]",
     "Invalid input 'a': 'z' is not a legal value ([x w])"),
    ("input", "inputs: [{name: a, type: bool}]\nallowed_usernames: [bob]", None),
]


@pytest.mark.parametrize(("action_type", "configuration", "message"), CASES)
def test_template_load_checks(server, action_type, configuration, message):
    error = _load_error(server, action_type, configuration)
    if message is None:
        assert error is None
    else:
        assert error is not None and message in error, error


def test_host_calls_only_for_a_running_resolution(server):
    task = server.create_task("no-output")
    server.wait_resolution(task["resolution"], {"DONE"})
    identity = ExecutionIdentity(task_id=task["id"], resolution_id=task["resolution"], step_name="stepOne")
    with pytest.raises(HostCallError) as info:
        server.call(server.handler, identity, "cache.get", {"key": "k"})
    assert info.value.kind == "fatal" and "not running here" in info.value.message
    with pytest.raises(HostCallError) as info:
        server.call(server.handler, identity, "tags.set", {"tags": {"a": "b"}})
    assert info.value.kind == "fatal"


def test_in_process_check_sees_the_known_templates():
    """`utask templates check` validates in its own process: the plugins read KNOWN_TEMPLATES there."""
    from utask.core.templates import find_problems, parse_template
    from utask.core.templates.catalogs import InstalledPluginsCatalog

    catalog = InstalledPluginsCatalog()
    for action_type, configuration, message in [("subtask", "template: nope", 'sub-task template "nope" not found'),
                                                ("batch", "template_name: nope", 'batch template "nope" not found')]:
        tpl = parse_template(_template(action_type, configuration))
        problems = find_problems(tpl, actions=catalog, known_templates={"other"})
        assert any(message in p.message for p in problems), problems
        tpl = parse_template(_template(action_type, configuration))
        assert find_problems(tpl, actions=catalog, known_templates={"nope"}) == []
