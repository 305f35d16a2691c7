"""The engine scenarios of reference §15.1, on our own templates (tests/engine/templates).

Each scenario runs twice: with the in-process echo fixture (§10.1 semantics) and with the real echo
plugin through the sandboxed plugin host; templating is the real `Values` container.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from utask.core.engine import ResolutionState as R
from utask.core.engine import RunRefused
from utask.core.gojson import JSONNumber

from tests.engine.support import Harness, MiniValues, executor_for


def values_factory(mini_ok: bool):
    """Scenarios run on the real templating `Values` (None = the runner builds one)."""
    return None


def run(coro):
    return asyncio.run(coro)


async def _harness(kind: str, template: str, inputs=None, mini_ok=False, **kw) -> Harness:
    return Harness.create(template, inputs or {}, values_factory=values_factory(mini_ok), **kw)


def scenario(template: str, inputs=None, mini_ok=False, runs=1, prepare=None):
    """Run a template `runs` times with a fresh executor; returns the harness."""

    async def go(kind: str) -> Harness:
        async with executor_for(kind) as ex:
            h = await _harness(kind, template, inputs, mini_ok, executor=ex)
            if prepare is not None:
                prepare(h)
            for _ in range(runs):
                await h.run()
            return h

    return go


def test_simple_template(echo_kind):
    h = run(scenario("simple.yaml", {"foo": "bar"}, mini_ok=True)(echo_kind))
    assert h.state == R.ERROR
    assert h.state_of("stepOne") == "DONE"
    assert h.state_of("stepTwo") == "DONE"
    assert h.state_of("stepThree") == "SERVER_ERROR"
    assert h.steps["stepThree"].error == "FAIL!"
    assert h.task_state == "TODO"  # ERROR leaves the task state unchanged (RUNNING in the service)
    assert h.last.steps_done == 2


def test_function(echo_kind):
    h = run(scenario("functionEchoHelloWorld.yaml")(echo_kind))
    assert h.steps["stepOne"].output == {"value": "Hello toto !"}


def test_function_base_output(echo_kind):
    h = run(scenario("functionNested.yaml")(echo_kind))
    assert h.steps["stepOne"].output == {
        "value": "Hello foobar !", "nested1": "foo", "nested2": "foo", "base_nested": "nested2",
        "base_output_template": "foo",
    }
    assert h.state_of("stepOne") == "CUSTOM_STATE1"


def test_function_custom_state(echo_kind):
    from utask.core.engine.functions import custom_states_of

    h = run(scenario("functionCustomState.yaml")(echo_kind))
    st = h.steps["stepOne"]
    assert st.output == {"value": "Hello world!"}
    chain = h.functions_chain("stepOne") if hasattr(h, "functions_chain") else None
    from utask.core.engine import FunctionRegistry

    reg = FunctionRegistry(h.functions)
    chain = reg.chain(st.action["type"], lambda t: t == "echo")
    assert custom_states_of(st.custom_states, chain) == ["STATE_HELLO"]


def test_function_pre_hook(echo_kind):
    h = run(scenario("functionPreHook.yaml")(echo_kind))
    assert h.steps["stepOne"].output == {"value": "Hello 42 !", "coalesce": "Coalesce 42!"}


def test_function_templated_output(echo_kind):
    h = run(scenario("functionEchoTemplatedOutput.yaml")(echo_kind))
    assert h.steps["stepOne"].output == {"full_name": "John Doe"}


def test_client_error(echo_kind):
    h = run(scenario("clientError.yaml", mini_ok=True)(echo_kind))
    assert h.state == R.BLOCKED_BADREQUEST
    assert h.state_of("stepOne") == "CLIENT_ERROR"
    assert h.task_state == "BLOCKED"


def test_max_retry(echo_kind):
    async def go():
        async with executor_for(echo_kind) as ex:
            h = await _harness(echo_kind, "maxRetry.yaml", mini_ok=True, executor=ex)
            assert h.steps["stepOne"].try_count == 0
            await h.run()
            return h

    h = run(go())
    assert h.state == R.BLOCKED_MAXRETRIES
    assert h.task_state == "BLOCKED"
    assert h.state_of("stepOne") == "SERVER_ERROR"
    assert h.steps["stepOne"].try_count == 1


def test_next_retry(echo_kind):
    async def go():
        async with executor_for(echo_kind) as ex:
            h = await _harness(echo_kind, "nextRetry.yaml", mini_ok=True, executor=ex)
            assert h.next_retry is None and h.steps["stepOne"].try_count == 0
            await h.run()
            return h

    h = run(go())
    assert h.state == R.ERROR
    assert h.state_of("stepOne") == "SERVER_ERROR"
    assert h.steps["stepOne"].try_count == 1
    assert h.next_retry is not None
    delay = (h.next_retry - h.last.last_stop).total_seconds()
    assert 9.0 < delay < 10.5  # seconds pattern, try 1 → 10 s


def test_step_max_retries(echo_kind):
    async def go():
        async with executor_for(echo_kind) as ex:
            h = await _harness(echo_kind, "stepMaxRetries.yaml", mini_ok=True, executor=ex)
            assert h.state == R.TODO and h.steps["stepOne"].try_count == 0
            assert h.steps["stepOne"].max_retries == 1
            for _ in range(3):
                await h.run()
            return h

    h = run(go())
    assert h.state == R.BLOCKED_FATAL
    assert h.steps["stepOne"].try_count == 2
    assert h.state_of("stepOne") == "FATAL_ERROR"
    assert h.steps["stepOne"].error == "Step reached max retries 1: upstream unavailable"


@pytest.mark.parametrize("skip", ["skip", "not_skip"])
def test_prune(echo_kind, skip):
    h = run(scenario("prune.yaml", {"skipStepOne": skip}, mini_ok=True)(echo_kind))
    got = {name: st.state for name, st in h.steps.items()}
    if skip == "skip":
        assert got == {"stepOne": "PRUNE", "stepTwo": "DONE", "stepThree": "PRUNE", "stepFour": "PRUNE",
                       "stepFive": "PRUNE"}
    else:
        assert got == {"stepOne": "DONE", "stepTwo": "DONE", "stepThree": "PRUNE", "stepFour": "PRUNE",
                       "stepFive": "DONE"}
    assert h.state == R.DONE


def test_step_condition_states(echo_kind):
    async def go():
        async with executor_for(echo_kind) as ex:
            h = await _harness(echo_kind, "stepCondition.yaml", executor=ex)
            assert h.state == R.TODO
            assert h.state_of("stepOne") == "TODO" and h.state_of("stepOneFinal") == "TODO"
            await h.run()
            first = {n: (s.state, s.try_count) for n, s in h.steps.items()}
            first_state = h.state
            await h.run()
            return h, first, first_state

    h, first, first_state = run(go())
    assert first["stepOne"] == ("TO_RETRY", 1)
    assert first["stepOneFinal"] == ("PRUNE", 1)
    assert first["stepSkip"][0] == "CLIENT_ERROR"
    assert first["stepSkipFinal"][0] == "PRUNE"
    assert first_state == R.BLOCKED_BADREQUEST
    assert (h.state_of("stepOne"), h.steps["stepOne"].try_count) == ("TO_RETRY", 2)
    assert (h.state_of("stepOneFinal"), h.steps["stepOneFinal"].try_count) == ("PRUNE", 1)
    assert h.state == R.BLOCKED_BADREQUEST
    assert h.state_of("stepTwo") == "REGEXP_MATCH"
    assert h.state_of("stepTwoBis") == "NOTREGEXP_MATCH"
    assert h.state_of("stepThree") == "FOO"
    assert h.steps["stepThree"].error == "changed state matched correctly"
    assert h.state_of("stepFour") == "OK" and h.steps["stepFour"].error == "OK"
    assert h.state_of("stepFive") == "PRUNE"
    assert h.state_of("stepSix") == "LIST_NOMATCH"
    assert h.state_of("stepForeach") == "DONE"
    assert len(h.steps["stepForeach"].children) == 3
    assert h.state_of("stepForeachValidation") == "VALID"


@pytest.mark.parametrize(
    ("forced", "message"),
    [(R.CANCELLED, "Can't run resolution: cancelled"), (R.DONE, "Can't run resolution: already done"),
     (R.RUNNING, "Can't run resolution: already running")],
)
def test_resolution_state_refused(forced, message):
    h = Harness.create("stepCondition.yaml", values_factory=MiniValues)
    h.state = forced
    with pytest.raises(RunRefused) as exc:
        run(h.run())
    assert str(exc.value) == message


def test_resolution_state_crashed():
    h = Harness.create("stepCondition.yaml", values_factory=MiniValues)
    h.state = R.CRASHED
    h.steps["stepOne"].state = "RUNNING"
    assert run(h.run()) is None
    assert h.state == R.BLOCKED_TOCHECK
    assert h.task_state == "BLOCKED"
    assert h.state_of("stepOne") == "CRASHED"
    assert h.run_count == 0  # aborted before the run count increment


def test_resolution_state_crashed_idempotent_rerun():
    h = Harness.create("input.yaml", {"quantity": JSONNumber("1")}, values_factory=values_factory(True))
    h.state = R.CRASHED
    h.steps["stepOne"].state = "RUNNING"
    out = run(h.run())
    assert out is not None and h.state == R.DONE


def test_async_resolve():
    async def go():
        h = Harness.create("stepCondition.yaml", values_factory=values_factory(False))
        task = asyncio.ensure_future(h.run())
        await task
        return h

    assert run(go()).state == R.BLOCKED_BADREQUEST


def test_input_number(echo_kind):

    h = run(scenario("input.yaml", {"quantity": -2.3}, mini_ok=True)(echo_kind))
    assert h.steps["stepOne"].output["value"] == "-2.3"


def test_any_dependency(echo_kind):
    h = run(scenario("anyDependency.yaml", mini_ok=True)(echo_kind))
    assert h.steps["secondStepRunsIfAny"].output["i_ran_anyway"] == "yes"
    assert h.state_of("thirdStepRunsIfSecondOK") == "DONE"
    assert h.state_of("thirdStepRunsIfSecondKO") == "PRUNE"
    assert h.state_of("fourthStepWillNotBePruned") == "DONE"


def test_indirect_dependencies(echo_kind):
    h = run(scenario("indirectDependencies.yaml", mini_ok=True)(echo_kind))
    assert h.state_of("stepOne") == "DONE"
    assert h.state_of("stepTwo") == "FATAL_ERROR"
    assert h.state_of("stepThree") == "PRUNE"
    assert h.state_of("stepFour") == "TODO"
    assert h.state == R.BLOCKED_FATAL


def test_metadata(echo_kind):
    h = run(scenario("metadata.yaml", mini_ok=True)(echo_kind))
    assert h.state_of("notfound") == "NOTFOUND"


def test_retry_now(echo_kind):

    h = run(scenario("retryNowState.yaml", {"N": 12.0, "separator": " sep "})(echo_kind))
    assert h.state == R.DONE
    assert h.state_of("fibonacci") == "DONE" and h.state_of("join") == "DONE"
    assert h.steps["join"].output["str"] == "0 sep 1 sep 1 sep 2 sep 3 sep 5 sep 8 sep 13 sep 21 sep 34 sep 55 sep 89 sep 144"


def test_retry_now_max_retry(echo_kind):
    h = run(scenario("retryNowMaxRetry.yaml")(echo_kind))
    st = h.steps["infinite"]
    assert h.state == R.BLOCKED_FATAL
    assert st.state == "FATAL_ERROR"
    assert st.try_count == st.max_retries + 1 == 42
    assert st.output == "42"


def test_foreach(echo_kind):
    h = run(scenario("foreach.yaml", {"list": ["a", "b", "c"]})(echo_kind))
    assert h.state == R.DONE
    assert h.state_of("emptyLoop") == "DONE"
    assert h.state_of("concatItems") == "DONE"
    assert h.state_of("finalStep") == "DONE"
    assert h.state_of("bStep") == "B"
    assert len(h.steps["generateItems"].children) == 2
    concat = h.steps["concatItems"].children
    assert len(concat) == 1
    assert concat[0]["output"]["concat"] == "foo-b-bar-b"
    assert {k: str(v) for k, v in concat[0]["metadata"]["iterator"]["output"].items()} == {"foo": "foo-b", "bar": "bar-b"}
    assert set(h.steps) == {"emptyLoop", "generateItems", "concatItems", "bStep", "finalStep"}


def _chained(with_dep_on_parent: bool):
    def prepare(h: Harness) -> None:
        gi = h.steps["generateItems"]
        if with_dep_on_parent:
            gi.set_dependencies(["emptyLoop"])
        gi.conditions[0]["then"] = {"this": "DONE"}
        gi.conditions.append({"type": "check", "if": [{"value": "{{.iterator}}", "operator": "EQ", "expected": "d"}],
                              "then": {"this": "SERVER_ERROR"}, "foreach": "children"})
        gi.foreach_strategy = "sequence"

    return prepare


@pytest.mark.parametrize("dep_on_parent", [False, True])
def test_foreach_with_chained_iterations(echo_kind, dep_on_parent):
    h = run(scenario("foreach.yaml", {"list": list("abcde")}, prepare=_chained(dep_on_parent))(echo_kind))
    assert h.state == R.ERROR
    assert h.state_of("emptyLoop") == "DONE"
    assert h.state_of("concatItems") == "TODO"
    assert h.state_of("finalStep") == "TODO"
    assert h.state_of("bStep") == "B"
    assert [h.state_of(f"generateItems-{i}") for i in range(5)] == ["DONE", "DONE", "DONE", "SERVER_ERROR", "TODO"]
    base = ["emptyLoop"] if dep_on_parent else []
    assert h.steps["generateItems-0"].dependencies == base
    for i in range(1, 5):
        assert h.steps[f"generateItems-{i}"].dependencies == base + [f"generateItems-{i - 1}"]
    if dep_on_parent:
        assert h.steps["generateItems"].dependencies == ["emptyLoop"] + [f"generateItems-{i}:ANY" for i in range(5)]


@pytest.mark.parametrize("pre_set_to_retry", [False, True])
def test_foreach_with_pre_run(echo_kind, pre_set_to_retry):
    def prepare(h: Harness) -> None:
        if pre_set_to_retry:
            for name in ("stepForeachPrune", "stepDepOnForeachPrune", "stepForeachPruneParentTask",
                         "stepDepOnForeachPruneParentTask"):
                h.steps[name].state = "TO_RETRY"

    h = run(scenario("foreachAndPreRun.yaml", mini_ok=True, prepare=prepare)(echo_kind))
    assert h.state == R.DONE
    for name in ("stepForeachNoDep", "stepSkippedNoDep", "stepNoDep", "stepForeachWithDep", "stepSkippedWithDep"):
        assert h.state_of(name) == "DONE", name
    assert h.state_of("stepDep") == "PRUNE" and h.state_of("stepDep2") == "PRUNE"
    assert h.state_of("stepForeachPrune") == "DONE"
    assert h.state_of("stepDepOnForeachPrune") == "DONE"
    assert h.state_of("stepForeachPruneParentTask") == "PRUNE"
    assert h.state_of("stepDepOnForeachPruneParentTask") == "PRUNE"


def test_foreach_with_errors(echo_kind):
    def prepare(h: Harness) -> None:
        h.steps["generateItems"].state = "FATAL_ERROR"

    h = run(scenario("foreach.yaml", {"list": ["a", "b", "c"]}, prepare=prepare)(echo_kind))
    assert h.state == R.BLOCKED_FATAL


def test_variables(echo_kind):
    h = run(scenario("variables.yaml")(echo_kind))
    out = h.steps["renderVariables"].output
    assert (out["truc"], out["bidule"], out["templated"], out["cached"]) == ("4", "5", "Hello World!", "6")
    assert h.steps["renderVariablesWithCache"].output["cached"] == "6"


MULTILINE = "Un,\n\tDeux,\n\tTrois,\n\tSoleil!"


def test_json_templating(echo_kind):
    h = run(scenario("jsonTemplating.yaml", {"singleString": "hello", "multilineString": MULTILINE})(echo_kind))
    assert h.state == R.DONE
    out = h.steps["stepOne"].output
    assert out["raw-multiline"] == MULTILINE
    assert out["raw-single"] == "hello"
    assert isinstance(json.loads(out["my-json-body"]), dict)


def test_json_number_templating(echo_kind):
    h = run(scenario("jsonnumber.yaml")(echo_kind))
    assert h.state == R.DONE
    assert h.steps["loopStep"].children[0]["output"] == "/id/1619464078"
    assert h.steps["simpleStep"].output["path"] == "/api/12345678912345"


def test_json_parsing(echo_kind):
    h = run(scenario("jsonParsing.yaml")(echo_kind))
    assert h.state == R.DONE
    out = h.steps["stepOne"].output
    assert (out["a"], out["b"], out["c"], out["d"]) == ("utask", "666", "map[k:v]", "[1 2 3]")


def test_retry_loop(echo_kind):
    async def go():
        async with executor_for(echo_kind) as ex:
            h = await _harness(echo_kind, "retryloop.yaml", mini_ok=True, executor=ex)
            await h.run()
            first = (h.state, h.state_of("generateItems"), h.steps["generateItems"].children_steps)
            h.steps["generateItems"].conditions = []
            await h.run()
            return h, first

    h, first = run(go())
    assert first == (R.ERROR, "TO_RETRY", None)
    assert h.state == R.DONE
    gi = h.steps["generateItems"]
    assert gi.children_steps is None
    assert len(gi.children) == 3
    assert gi.children[0]["output"]["foo"] == "foo-a"


def test_base_output(echo_kind):
    h = run(scenario("base_output.yaml", {"id": "1234"}, mini_ok=True)(echo_kind))
    assert h.steps["stepOne"].output == {"id": "1234", "foo": "bar"}


def test_empty_string_input(echo_kind):
    h = run(scenario("input.yaml", {"quantity": JSONNumber("-2.3"), "foo": ""}, mini_ok=True)(echo_kind))
    assert h.state == R.DONE and h.state_of("stepOne") == "DONE"
    assert h.steps["stepOne"].output["foo"] == ""


def test_base_output_no_output(echo_kind):
    h = run(scenario("no-output.yaml", mini_ok=True)(echo_kind))
    assert h.state == R.DONE and h.state_of("stepOne") == "DONE"
    assert h.steps["stepOne"].output["foobar"] == "buzz"


@pytest.mark.parametrize(
    ("strategy", "fmt", "expected"),
    [
        ("template", "{{ index .foo.unknown 3 }}", "unable to format output: Templating error: template:"),
        ("merge", "{{ index .foo.unknown 3 }}", "failed to template base output: Templating error: template:"),
        ("template", "{{ index .step.stepOne.output.foo.unknown 3 }}",
         "unable to format output: Templating error: template:"),
        ("merge", "{{ index .step.stepOne.output.foo.unknown 3 }}",
         "failed to template base output: Templating error: template:"),
    ],
)
def test_output_templating_error(echo_kind, strategy, fmt, expected):
    def prepare(h: Harness) -> None:
        h.steps["stepOne"].action["output"] = {"strategy": strategy, "format": {"foo2": fmt}}

    h = run(scenario("no-output.yaml", prepare=prepare)(echo_kind))
    assert h.state == R.BLOCKED_FATAL
    assert h.state_of("stepOne") == "FATAL_ERROR"
    assert expected in h.steps["stepOne"].error


def test_base_output_no_output_backward_compatibility(echo_kind):
    h = run(scenario("no-output-backward.yaml", mini_ok=True)(echo_kind))
    assert h.state == R.DONE and h.state_of("stepOne") == "DONE"
    assert h.steps["stepOne"].output["foobar"] == "buzz"


def test_base_configuration(echo_kind):
    h = run(scenario("base_configuration.yaml", mini_ok=True)(echo_kind))
    one, two = h.steps["stepOne"], h.steps["stepTwo"]
    assert one.action["base_configuration"] == two.action["base_configuration"] == "testingcfg"
    assert one.output == two.output == "testingoutput"
    assert (one.error, two.error) == ("error1", "error2")


def test_b64_raw_encode_decode(echo_kind):
    h = run(scenario("rawb64EncodingDecoding.yaml")(echo_kind))
    assert h.state == R.DONE
    assert h.steps["stepOne"].output == {"a": "cmF3IG1lc3NhZ2U", "b": "raw message"}
