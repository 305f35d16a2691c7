"""The µTask values container: root handles (§4.2), `.step.this`, iterator, JSON templating (§4.5)."""

from __future__ import annotations

import pytest
from utask.core.gojson import JSONNumber, loads
from utask.core.templating import MISSING, TemplateError, TemplatingError, Values, render_template


def make() -> Values:
    v = Values()
    v.set_input({"name": "bob", "count": JSONNumber("1619464078"), "multilineString": "a\nb \"q\""})
    v.set_resolver_input({"approve": True})
    v.set_config({"my-key": {"url": "https://x"}, "plain": "raw"})
    v.set_task_infos({"task_id": "abc", "requester_username": "alice"})
    v.set_step("create", output={"id": JSONNumber("42")}, metadata={"code": JSONNumber("201")}, state="DONE",
               try_count=1, max_retries=10000)
    v.set_step("old", output={"x": 1}, state="DONE")
    v.set_step("empty")
    return v


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ .input.name }}", "bob"),
        ("{{ .input.count }}", "1619464078"),
        ("{{ .input.missing }}", "<no value>"),
        ("{{ .input.missing.sub }}", "<no value>"),
        ("{{ .resolver_input.approve }}", "true"),
        ("{{ .step.create.output.id }}", "42"),
        ("{{ .step.create.metadata.code }}", "201"),
        ("{{ .step.create.state }}", "DONE"),
        ("{{ .step.create.try_count }}/{{ .step.create.max_retries }}", "1/10000"),
        ("{{ .step.old.try_count }}", "<no value>"),
        ("{{ .step.empty.output }} {{ .step.empty.metadata }} {{ .step.empty.children }} [{{ .step.empty.error }}]",
         "map[] map[] map[] []"),
        ("{{ index .config \"my-key\" \"url\" }}", "https://x"),
        ("{{ field \"config\" \"my-key\" \"url\" }}", "https://x"),
        ("{{ field `step` `create` `output` `id` }}", "42"),
        ("{{ .task.requester_username }}", "alice"),
        ("{{ .iterator }}", "<no value>"),
        ("{{ .step.this }}", "<no value>"),
        ("no action", "no action"),
    ],
)
def test_root_handles(template: str, expected: str) -> None:
    assert make().render(template) == expected


def test_step_this_and_iterator() -> None:
    v = make()
    assert v.render("{{ .step.this.output.id }} {{ .step.this.state }}", step="create") == "42 DONE"
    assert v.render("{{ .step.this.try_count }}", step="create") == "1"
    assert v.render("{{ .step.this.try_count }}", step="old") == "<no value>"
    assert v.render("{{ .iterator.id }}", item={"id": JSONNumber("1619464078")}) == "1619464078"
    assert v.render("/id/{{ .iterator }}", item="x") == "/id/x"
    # the pseudo step and the iterator do not outlive the rendering
    assert v.render("{{ .step.this }}{{ .iterator }}") == "<no value><no value>"
    assert "this" not in v.data["step"]


def test_null_value_errors_but_missing_does_not() -> None:
    v = make()
    v.set_input({"n": None, "num": JSONNumber("5")})
    with pytest.raises(TemplatingError) as e:
        v.render("{{ .input.n.sub }}")
    assert str(e.value) == ('Templating error: template: tmpl:1:9: executing "tmpl" at <.input.n.sub>: '
                            "nil pointer evaluating interface {}.sub")
    with pytest.raises(TemplatingError) as e:
        v.render("{{ .input.num.x }}")
    assert str(e.value).endswith("can't evaluate field x in type interface {}")
    with pytest.raises(TemplatingError) as e:
        v.render("{{ index .input.missing 1 }}")
    assert str(e.value).endswith("error calling index: index of untyped nil")


def test_parse_error_text() -> None:
    with pytest.raises(TemplatingError) as e:
        make().render("{{ if }}")
    assert str(e.value) == "Templating error: template: tmpl:1: missing value for if"
    assert e.value.go_error == "template: tmpl:1: missing value for if"


def test_pre_hook_and_function_args() -> None:
    v = make()
    v.set_pre_hook({"token": "t"}, {"code": 200})
    v.set_function_args({"host": "h"})
    assert v.render("{{ .pre_hook.output.token }} {{ .pre_hook.metadata.code }} {{ .function_args.host }}") == "t 200 h"
    v.unset_pre_hook()
    assert v.render("{{ .pre_hook.output }}") == "<no value>"


def test_render_json_renders_string_leaves_only() -> None:
    v = make()
    config = {
        "url": "/id/{{ .step.create.output.id }}",
        "{{ .input.name }}": "keys are not rendered",
        "nested": [{"a": "{{ .input.name }}"}, 5, True, None, ["{{ .input.count }}"]],
        "num": JSONNumber("1.50"),
        "body": '{"multiline": {{ .input.multilineString | toJson }}}',
    }
    out = v.render_json(config)
    assert out == {
        "url": "/id/42",
        "{{ .input.name }}": "keys are not rendered",
        "nested": [{"a": "bob"}, 5, True, None, ["1619464078"]],
        "num": JSONNumber("1.50"),
        "body": '{"multiline": "a\\nb \\"q\\""}',
    }
    assert loads(out["body"]) == {"multiline": 'a\nb "q"'}
    assert config["url"] == "/id/{{ .step.create.output.id }}"  # the input is left untouched
    assert v.render_json("{{ .input.name }}") == "{{ .input.name }}"  # a top-level string is not rendered
    assert v.render_json(["{{ .step.this.state }}"], step="create") == ["DONE"]


def test_render_json_error_names_the_template() -> None:
    with pytest.raises(TemplatingError) as e:
        make().render_json({"a": ["{{ .input.name.x }}"]})
    assert "can't evaluate field x in type interface {}" in str(e.value)


def test_clone_is_independent() -> None:
    v = make()
    c = v.clone()
    c.set_step("create", output={"id": "other"})
    c.data["input"]["name"] = "eve"
    assert v.render("{{ .step.create.output.id }} {{ .input.name }}") == "42 bob"
    assert c.render("{{ .step.create.output.id }} {{ .input.name }}") == "other eve"


def test_render_template_module_function() -> None:
    assert render_template("{{ .a }}-{{ field `a` }}", {"a": 1}) == "1-1"
    assert render_template("{{ . }}", None) == "<no value>"
    with pytest.raises(TemplateError) as e:
        render_template("{{ .a.b }}", {"a": 1})
    assert str(e.value) == 'template: tmpl:1:5: executing "tmpl" at <.a.b>: can\'t evaluate field b in type interface {}'
    assert MISSING is not None and not MISSING


def test_template_recursion_is_bounded() -> None:
    with pytest.raises(TemplateError) as e:
        render_template('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" }}', {})
    assert "exceeded maximum template depth" in str(e.value)


def test_output_size_is_bounded() -> None:
    from utask.core.templating.functions import FUNCS
    from utask.core.templating.template import names_of, run

    with pytest.raises(TemplateError) as e:
        run("{{ range .l }}xxxxxxxxxx{{ end }}", {"l": list(range(100))}, FUNCS, names_of(FUNCS), max_output=500)
    assert "output exceeds the maximum of 500 bytes" in str(e.value)


def test_parse_cache_reuses_compiled_templates() -> None:
    from utask.core.templating.template import compile_template, names_of

    names = names_of({})
    assert compile_template("{{ .x }} cached", names) is compile_template("{{ .x }} cached", names)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(TemplateError):
        render_template("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", {})


def test_template_call_count_is_bounded() -> None:
    # each level calls the next twice: 2**40 calls without a budget
    defs = "".join(
        f'{{{{ define "t{i}" }}}}{{{{ template "t{i + 1}" }}}}{{{{ template "t{i + 1}" }}}}{{{{ end }}}}' for i in range(40)
    )
    with pytest.raises(TemplateError) as e:
        render_template(defs + '{{ define "t40" }}x{{ end }}{{ template "t0" }}', {})
    assert "exceeded maximum number of template calls (100000)" in str(e.value)


# --- JSON templating invariants ----------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(st.characters(blacklist_characters="{"), max_size=6),
    st.sampled_from(["{{ .input.name }}", "a{{ .input.count }}b", "{{ .missing }}", "plain"]),
    st.builds(JSONNumber, st.integers().map(str)),
)
_doc = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                    max_leaves=10)


def _expected(o: object) -> object:
    if isinstance(o, dict):
        return {k: _expected(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_expected(v) for v in o]
    if isinstance(o, str) and not isinstance(o, JSONNumber):
        return o.replace("{{ .input.name }}", "bob").replace("{{ .input.count }}", "1619464078").replace(
            "{{ .missing }}", "<no value>")
    return o


@settings(max_examples=200, deadline=None, derandomize=True)
@given(doc=st.dictionaries(st.text(max_size=4), _doc, max_size=4))
def test_render_json_touches_only_string_leaves(doc: dict) -> None:
    out = make().render_json(doc)
    assert out == _expected(doc)
    assert list(out) == list(doc)  # keys untouched, order kept
