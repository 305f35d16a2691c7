"""The run loop (§6.3): commits, durability, execution errors (§5.14), resources (§5.13), shutdown (§6.5),
end-of-run evaluation, WAITING re-check, tags, result_format.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from utask.core.engine import ResolutionState as R
from utask.core.engine import ResourceLimiter, RunContext, run_resolution, steps_from_template

from tests.engine.support import EchoExecutor, Failure, MiniValues, Result


def echo(output: Any = None, **cfg: Any) -> dict:
    return {"type": "echo", "configuration": {"output": output, **cfg}}


class Recorder:
    def __init__(self) -> None:
        self.commits: list[tuple[dict, dict, dict]] = []
        self.durable: list[dict] = []
        self.updates: list[tuple[str, str]] = []

    async def commit(self, changes, res_fields, task_fields):
        self.commits.append(({k: (v.state if v else None) for k, v in changes.items()}, res_fields, task_fields))

    async def mark_running(self, changes, res_fields, task_fields):
        self.durable.append({k: (v.state if v else None) for k, v in changes.items()})
        await self.commit(changes, res_fields, task_fields)


def run_steps(spec: dict, executor=None, rec: Recorder | None = None, **kw: Any):
    rec = rec or Recorder()
    steps = steps_from_template(spec)

    async def go():
        ctx = RunContext(steps=steps, executor=executor or EchoExecutor(), values=MiniValues(), commit=rec.commit,
                         mark_running=rec.mark_running, emit_step_update=lambda n, s: rec.updates.append((n, s)),
                         **kw)
        return await run_resolution(ctx)

    return asyncio.run(go()), rec


def test_commits_are_incremental_and_durable_before_non_idempotent_execution():
    spec = {"a": {"action": echo("x")}, "b": {"idempotent": True, "action": echo("y"), "dependencies": ["a"]}}
    out, rec = run_steps(spec)
    assert out.state == R.DONE
    # a (non-idempotent) is made durable in RUNNING before it executes; b (idempotent) is only committed
    assert rec.durable == [{"a": "RUNNING", "b": "TODO"}] or rec.durable == [{"a": "RUNNING"}]
    assert any(c[0] == {"a": "DONE", "b": "RUNNING"} for c in rec.commits)
    final = rec.commits[-1]
    assert final[1]["state"] == R.DONE and final[2]["state"] == "DONE" and final[2]["steps_done"] == 2
    assert ("a", "RUNNING") in rec.updates and ("a", "DONE") in rec.updates


class FlakyDatabase(Recorder):
    """Durable commits fail `failures` times (a dropped connection), then succeed."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.executed_after: list[int] = []  # durable commits that had succeeded when an action ran

    async def mark_running(self, changes, res_fields, task_fields):
        if self.failures:
            self.failures -= 1
            raise OSError("server closed the connection unexpectedly")
        await super().mark_running(changes, res_fields, task_fields)


def test_a_non_idempotent_step_waits_until_its_running_state_is_durable(monkeypatch):
    monkeypatch.setattr(asyncio, "wait_for", _instant_wait_for)  # no real back-off sleeps in the test
    rec = FlakyDatabase(failures=2)
    executor = EchoExecutor()
    original = executor.execute

    async def execute(*args, **kw):
        rec.executed_after.append(len(rec.durable))
        return await original(*args, **kw)

    executor.execute = execute
    out, _ = run_steps({"a": {"action": echo("x")}}, executor=executor, rec=rec)
    assert out.state == R.DONE
    assert rec.executed_after == [1]  # ran once, after the third attempt made RUNNING durable


def test_at_shutdown_a_non_idempotent_step_whose_running_state_is_not_durable_never_starts():
    shutdown = asyncio.Event()

    class Down(FlakyDatabase):
        async def mark_running(self, changes, res_fields, task_fields):
            shutdown.set()  # the instance stops while the database is away
            await super().mark_running(changes, res_fields, task_fields)

    rec = Down(failures=10**6)
    executor = EchoExecutor()
    run_steps({"a": {"action": echo("x")}}, executor=executor, rec=rec, shutdown=shutdown)
    assert executor.calls == [] and rec.durable == []


async def _instant_wait_for(aw, timeout):
    task = asyncio.ensure_future(aw)
    await asyncio.sleep(0)
    if not task.done():
        task.cancel()
        raise TimeoutError
    return task.result()


def test_results_arriving_together_are_committed_together():
    spec = {f"s{i}": {"idempotent": True, "action": echo(str(i))} for i in range(20)}
    out, rec = run_steps(spec)
    assert out.state == R.DONE
    assert len(rec.commits) < 10  # not one commit per step


def test_foreach_commit_deletes_children_and_stores_children_list():
    spec = {"loop": {"foreach": '["a","b"]', "action": echo({"v": "{{.iterator}}"}, metadata={"m": "1"})}}
    out, rec = run_steps(spec)
    assert out.state == R.DONE
    assert set(out.steps) == {"loop"}
    assert out.steps["loop"].children == [
        {"output": {"v": "a"}, "metadata": {"m": "1", "iterator": "a"}, "state": "DONE"},
        {"output": {"v": "b"}, "metadata": {"m": "1", "iterator": "b"}, "state": "DONE"},
    ]
    deleted = {name for changes, _, _ in rec.commits for name, state in changes.items() if state is None}
    assert deleted == {"loop-0", "loop-1"}
    assert out.steps_done == 1  # children are not counted


def test_foreach_children_inherit_and_are_named():
    seen: dict = {}

    async def grab(base, config):
        return Result(output=config)

    spec = {"dep": {"action": echo("d")},
            "loop": {"foreach": "[10, 20]", "description": "desc", "idempotent": True, "dependencies": ["dep"],
                     "retry_pattern": "minutes", "max_retries": 3, "custom_states": ["X"], "resources": ["r"],
                     "execution_delay": 1, "pre_hook": {"type": "echo", "configuration": {}},
                     "conditions": [{"type": "skip", "foreach": "parent", "if": [{"value": "a", "operator": "EQ",
                                                                                 "expected": "b"}],
                                     "then": {"this": "PRUNE"}},
                                    {"type": "check", "if": [], "then": {"this": "X"}}],
                     "action": {"type": "grab", "configuration": {}}}}
    steps = steps_from_template(spec)
    from utask.core.engine import Resolution
    from utask.core.engine.foreach import expand

    res = Resolution(steps)
    res.values = MiniValues()
    names = expand(res, steps["loop"], set())
    assert names == ["loop-0", "loop-1"]
    child = res.steps["loop-1"]
    assert (child.description, child.idempotent, child.retry_pattern, child.max_retries) == ("1 - desc", True,
                                                                                              "minutes", 3)
    assert child.dependencies == ["dep"] and child.custom_states == ["X"] and child.resources == ["r"]
    assert child.pre_hook is None and child.execution_delay == 0  # QUIRK #12 kept
    assert [c["type"] for c in child.conditions] == ["check"]
    assert str(child.item) == "20"
    assert steps["loop"].dependencies == ["dep", "loop-0:ANY", "loop-1:ANY"]
    assert steps["loop"].state == "EXPANDED" and steps["loop"].children_steps_map == {"loop-0": True, "loop-1": True}
    del seen


def test_foreach_expression_errors_are_fatal():
    out, _ = run_steps({"loop": {"foreach": '{"a": 1}', "action": echo("x")},
                        "bad": {"foreach": "[1,", "action": echo("x")}})
    assert out.state == R.BLOCKED_FATAL
    assert out.steps["loop"].error == "json: cannot unmarshal object into Go value of type []interface {}"
    assert out.steps["bad"].state == "FATAL_ERROR"


def test_empty_foreach_is_done():
    out, _ = run_steps({"loop": {"foreach": "[]", "action": echo("x")}, "after": {"dependencies": ["loop"],
                                                                                  "action": echo("y")}})
    assert out.state == R.DONE and out.steps["after"].state == "DONE"


def test_unknown_action_type():
    out, _ = run_steps({"s": {"action": {"type": "nope", "configuration": {}}}})
    assert out.steps["s"].state == "FATAL_ERROR"
    assert out.steps["s"].error == "No runner for type 'nope'"
    assert out.steps["s"].try_count == 0


def test_configuration_templating_error():
    class Failing(MiniValues):
        def render(self, source, step=None, item=None):
            if "boom" in source:
                raise ValueError("Templating error: template: tmpl:1: boom")
            return super().render(source, step, item)

    rec = Recorder()
    steps = steps_from_template({"s": {"action": echo("{{ boom }}")}})

    async def go():
        return await run_resolution(RunContext(steps=steps, executor=EchoExecutor(), values=Failing(),
                                               commit=rec.commit))

    out = asyncio.run(go())
    assert out.steps["s"].state == "FATAL_ERROR"
    assert out.steps["s"].error == "failed to template configuration: Templating error: template: tmpl:1: boom"


@pytest.mark.parametrize(
    ("kind", "state"),
    [("client", "CLIENT_ERROR"), ("server", "SERVER_ERROR"), ("fatal", "FATAL_ERROR"), ("waiting", "WAITING"),
     ("retry", "TO_RETRY")],
)
def test_error_kinds_map_to_states(kind, state):
    async def fail(base, config):
        return Result(output={"partial": "1"}, error=Failure(kind, f"{kind} happened"))

    out, _ = run_steps({"s": {"action": {"type": "fail", "configuration": {}}}}, EchoExecutor({"fail": fail}))
    st = out.steps["s"]
    tries = 2 if state == "WAITING" else 1  # a WAITING step is re-checked once in the run
    assert (st.state, st.error, st.try_count, st.output) == (state, f"{kind} happened", tries, {"partial": "1"})


def test_exception_from_executor_is_a_server_error():
    async def crash(base, config):
        raise RuntimeError("worker died")

    out, _ = run_steps({"s": {"action": {"type": "crash", "configuration": {}}}}, EchoExecutor({"crash": crash}))
    assert (out.steps["s"].state, out.steps["s"].error) == ("SERVER_ERROR", "worker died")


def test_unmarshalable_output_is_fatal():
    async def nan(base, config):
        return Result(output={"x": math.nan})

    out, _ = run_steps({"s": {"action": {"type": "nan", "configuration": {}}}}, EchoExecutor({"nan": nan}))
    st = out.steps["s"]
    assert st.state == "FATAL_ERROR" and st.error.startswith("plugin output can't be json.Marshal: ")
    assert isinstance(st.output, str)


def test_json_schema_validation():
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["id"]}
    out, _ = run_steps({"bad": {"json_schema": schema, "action": echo({"x": "1"})},
                        "good": {"json_schema": schema, "action": echo({"id": "1"})}})
    assert out.steps["good"].state == "DONE"
    assert out.steps["bad"].state == "FATAL_ERROR" and out.steps["bad"].error == 'I[#] S[#] doesn\'t validate with "bad#"\n  I[#] S[#/required] missing properties: "id"'


def test_merge_output_not_a_map():
    out, _ = run_steps({"s": {"action": {"type": "echo", "configuration": {}, "output": {"strategy": "merge",
                                                                                        "format": ["a"]}}}})
    assert out.steps["s"].error == "failed to template merge output: merge output not a map"


def test_merge_output_discards_a_non_map_plugin_output():
    out, _ = run_steps({"s": {"action": {"type": "echo", "configuration": {"output": "str"},
                                         "output": {"strategy": "merge", "format": {"a": "b"}}}}})
    assert out.steps["s"].output == {"a": "b"}


def test_skip_condition_not_setting_the_step_leaves_it_running_quirk_11():
    spec = {"a": {"action": echo("x")},
            "b": {"action": echo("y"), "dependencies": ["a"],
                  "conditions": [{"type": "skip", "if": [], "then": {"a": "PRUNE"}}]}}
    out, _ = run_steps(spec)
    assert out.steps["b"].state == "RUNNING"
    assert out.state == R.CRASHED
    assert out.next_retry is not None


def test_afterrun_error_is_reevaluated_without_execution():
    ex = EchoExecutor()
    spec = {"s": {"action": echo({"n": "x"}), "custom_states": ["OK"],
                  "conditions": [{"type": "check", "if": [{"value": "{{.step.this.output.n}}", "operator": "GT",
                                                           "expected": "1"}], "then": {"this": "OK"}}]}}
    out, _ = run_steps(spec, ex)
    assert out.steps["s"].state == "AFTERRUN_ERROR" and out.state == R.ERROR
    assert len(ex.calls) == 1
    steps = out.steps
    steps["s"].output = {"n": "5"}

    async def again():
        return await run_resolution(RunContext(steps=steps, executor=ex, values=MiniValues()))

    out2 = asyncio.run(again())
    assert out2.steps["s"].state == "OK"
    assert len(ex.calls) == 1  # not executed again


def test_waiting_steps_are_rechecked_once_per_run():
    calls = []

    async def wait(base, config):
        calls.append(1)
        return Result(error=Failure("waiting", "not yet"))

    out, _ = run_steps({"s": {"action": {"type": "wait", "configuration": {}}},
                        "b": {"action": {"type": "batch", "configuration": {}}}},
                       EchoExecutor({"wait": wait, "batch": wait}))
    assert out.state == R.WAITING and out.task_state == "WAITING"
    assert len(calls) == 3  # s twice (re-check), the batch step once


def test_deadlock_and_priorities():
    out, _ = run_steps({"a": {"action": echo("x", error_message="bad", error_type="client")},
                        "b": {"action": echo("x", error_message="down")},
                        "c": {"dependencies": ["b"], "action": echo("x")}})
    assert out.state == R.BLOCKED_BADREQUEST and out.task_state == "BLOCKED"
    out, _ = run_steps({"a": {"action": echo("x"), "custom_states": ["X"]},
                        "c": {"dependencies": ["a:X"], "action": echo("x")}})
    assert out.steps["c"].state == "PRUNE" and out.state == R.DONE


def test_run_max_blocks():
    out, _ = run_steps({"a": {"action": echo("x", error_message="down")}}, run_count=3, run_max=3)
    assert out.state == R.BLOCKED_MAXRETRIES and out.task_state == "BLOCKED" and out.next_retry is None


def test_tags_returned_by_a_step_update_the_task():
    async def tag(base, config):
        return Result(output={}, tags={"new": "v", "old": ""})

    got = []
    out, rec = run_steps({"s": {"action": {"type": "tag", "configuration": {}}}}, EchoExecutor({"tag": tag}),
                         task_tags={"old": "x", "keep": "y"}, set_task_tags=got.append)
    assert out.tags == {"keep": "y", "new": "v"}
    assert got[-1] == {"keep": "y", "new": "v"}
    assert rec.commits[-1][2]["tags"] == {"keep": "y", "new": "v"}


def test_result_format_renders_keys_and_nested_maps_not_lists():
    spec = {"s": {"action": echo({"v": "val"})}}
    tpl = {"result_format": {"{{.step.s.output.v}}": "{{.step.s.output.v}}", "n": {"k": "{{.step.s.state}}"},
                             "l": ["{{.step.s.state}}"]}}
    out, _ = run_steps(spec, template=tpl)
    assert out.result == {"val": "val", "n": {"k": "DONE"}, "l": ["{{.step.s.state}}"]}


def test_max_retries_check_and_default():
    spec = {"s": {"action": echo("x", error_message="down"), "max_retries": 2}}
    steps = steps_from_template(spec)
    steps["s"].try_count = 3
    steps["s"].error = "down"
    out, _ = asyncio.run(_run(steps)), None
    assert out.steps["s"].state == "FATAL_ERROR"
    assert out.steps["s"].error == "Step reached max retries 2: down"
    steps = steps_from_template({"s": {"action": echo("x")}})
    out = asyncio.run(_run(steps))
    assert out.steps["s"].max_retries == 10000


async def _run(steps, **kw):
    return await run_resolution(RunContext(steps=steps, executor=EchoExecutor(), values=MiniValues(), **kw))


def test_execution_delay_and_pre_hook_failure():
    async def fail(base, config):
        return Result(error=Failure("server", "hook down"))

    spec = {"s": {"execution_delay": 10_000_000, "pre_hook": {"type": "fail", "configuration": {}},
                  "action": echo("x")}}
    out, _ = run_steps(spec, EchoExecutor({"fail": fail}))
    st = out.steps["s"]
    assert (st.state, st.error, st.try_count) == ("FATAL_ERROR", "prehook: hook down", 0)


def test_resources_dead_and_limited():
    seen = []

    async def slow(base, config):
        seen.append(("start", config["i"]))
        await asyncio.sleep(0.02)
        seen.append(("end", config["i"]))
        return Result(output={})

    limiter = ResourceLimiter({"one": 1, "dead": 0}, acquire_timeout=5)
    spec = {f"s{i}": {"resources": ["one"], "action": {"type": "slow", "configuration": {"i": str(i)}}}
            for i in range(3)}
    spec["d"] = {"resources": ["dead"], "action": echo("x")}
    out, _ = run_steps(spec, EchoExecutor({"slow": slow}), resources=limiter)
    d = out.steps["d"]
    assert (d.state, d.error, d.output, d.metadata, d.try_count) == ("TO_RETRY", "failed to acquire resources", "{}",
                                                                     "", 1)
    assert all(out.steps[f"s{i}"].state == "DONE" for i in range(3))
    # never two executions holding "one" at once
    running = 0
    for kind, _ in seen:
        running += 1 if kind == "start" else -1
        assert running <= 1


def test_resource_acquire_timeout():
    async def go():
        limiter = ResourceLimiter({"r": 1}, acquire_timeout=0.05)
        assert await limiter.acquire_all(["r"])
        assert not await limiter.acquire_all(["r"])
        limiter.release_all(["r"])
        assert await limiter.acquire_all(["r"])

    asyncio.run(go())


def test_shutdown_not_started_steps_and_grace_period():
    async def go():
        shutdown = asyncio.Event()
        grace = asyncio.Event()
        release = asyncio.Event()

        async def block(base, config):
            shutdown.set()
            grace.set()  # the grace period is over at once
            await release.wait()
            return Result(output={})

        steps = steps_from_template({"a": {"action": {"type": "block", "configuration": {}}},
                                     "b": {"dependencies": ["a"], "action": echo("x")}})
        ctx = RunContext(steps=steps, executor=EchoExecutor({"block": block}), values=MiniValues(),
                         shutdown=shutdown, grace_period_end=grace)
        out = await run_resolution(ctx)
        release.set()
        return out

    out = asyncio.run(go())
    assert out.steps["a"].state == "RUNNING" and out.steps["b"].state == "TODO"
    assert out.state == R.CRASHED


def test_shutdown_before_execution_gives_to_retry():
    async def go():
        shutdown = asyncio.Event()

        async def stop(base, config):
            shutdown.set()
            return Result(output={})

        steps = steps_from_template({"a": {"action": {"type": "stop", "configuration": {}}},
                                     "b": {"execution_delay": 1_000_000, "action": echo("x")}})
        ctx = RunContext(steps=steps, executor=EchoExecutor({"stop": stop}), values=MiniValues(), shutdown=shutdown)
        return await run_resolution(ctx)

    out = asyncio.run(go())
    assert out.steps["b"].state == "TO_RETRY" and out.steps["b"].try_count == 0
    assert out.state == R.ERROR


def test_retry_now_reruns_within_the_run():
    spec = {"s": {"max_retries": -1, "action": echo({"n": "x"}),
                  "conditions": [{"type": "check", "if": [{"value": "{{.step.this.state}}", "operator": "EQ",
                                                           "expected": "DONE"}], "then": {"this": "RETRY_NOW"}}]}}
    steps = steps_from_template(spec)
    steps["s"].max_retries = 4
    out = asyncio.run(_run(steps))
    assert out.steps["s"].state == "FATAL_ERROR" and out.steps["s"].try_count == 5


def test_large_foreach_is_linear():
    import time

    def timed(n):
        spec = {"loop": {"idempotent": True, "foreach": "[" + ",".join(str(i) for i in range(n)) + "]",
                         "action": echo({"x": "{{.iterator}}"})}}
        # CPU time of this process, not wall time: other work on the machine must not decide the outcome.
        t = time.process_time()
        out, _ = run_steps(spec)
        assert out.state == R.DONE and len(out.steps["loop"].children) == n
        return (time.process_time() - t) / n

    small = min(timed(500) for _ in range(2))
    large = min(timed(5000) for _ in range(2))
    # Quadratic work would cost ~10x per step at 10x the items; linear stays near 1x (the timing is in
    # benchmarks/engine.py). The bound only has to tell the two apart.
    assert large < small * 4


def test_try_count_is_only_visible_for_steps_completed_in_this_run():
    spec = {"one": {"action": echo("x")},
            "two": {"dependencies": ["one"], "action": echo({"tc": "{{.step.one.try_count}}"})}}
    out, _ = run_steps(spec)
    assert out.steps["two"].output == {"tc": "1"}
    steps = out.steps
    steps["two"].state = "TODO"
    out2 = asyncio.run(_run(steps))
    assert out2.steps["two"].output == {"tc": "<no value>"}  # QUIRK #15: one did not run in this run


def test_steps_given_as_json_and_last_run():
    spec = {"loop": {"foreach": "[1, 2]", "action": echo({"v": "{{.iterator}}"})}}
    as_json = {name: st.to_json() for name, st in steps_from_template(spec).items()}
    out, _ = run_steps({})  # warm-up of the helper path
    out = asyncio.run(_run(as_json))
    assert out.state == R.DONE
    data = out.steps["loop"].to_json()
    assert data["last_run"] != "0001-01-01T00:00:00Z"
    assert [c["output"] for c in data["children"]] == [{"v": "1"}, {"v": "2"}]


def test_plugin_host_executor_skips_resources_round_trip_for_plugins_without_resources():
    from utask.core.engine import PluginHostExecutor

    class Plugin:
        pass

    from utask_sdk import ActionPlugin

    class WithResources(ActionPlugin):
        name = "r"
        version = "1"

        def resources(self, config):
            return ["socket"]

    class Entry:
        def __init__(self, plugin):
            self.plugin = plugin

    class Host:
        entries = {"echo": Entry(ActionPlugin()), "r": Entry(WithResources())}
        calls = 0

        def action_types(self):
            return ["echo", "r"]

        async def resources(self, action_type, base, config):
            Host.calls += 1
            return ["socket"]

    ex = PluginHostExecutor(Host())
    assert asyncio.run(ex.resources("echo", None, {})) == []
    assert asyncio.run(ex.resources("r", None, {})) == ["socket"]
    assert Host.calls == 1
    del Plugin


def test_step_pre_hook_output_reaches_configuration_and_output_format():
    spec = {"s": {"pre_hook": {"type": "echo", "configuration": {"output": {"token": "t0k"}}},
                  "action": {"type": "echo", "configuration": {"output": {"got": "{{.pre_hook.output.token}}"}},
                             "output": {"strategy": "template",
                                        "format": {"fmt": "{{.pre_hook.output.token}}-{{.step.this.output.got}}"}}}}}
    out, _ = run_steps(spec)
    assert out.steps["s"].output == {"fmt": "t0k-t0k"}
    assert out.steps["s"].try_count == 1


def test_missing_base_configuration_is_fatal():
    out, _ = run_steps({"s": {"action": {"type": "echo", "base_configuration": "nope", "configuration": {}}}})
    assert (out.steps["s"].state, out.steps["s"].error) == ("FATAL_ERROR", "could not find base configuration 'nope'")


def test_plugin_context_is_rendered_and_identity_passed():
    seen = {}

    class WithContext(EchoExecutor):
        def context_template(self, action_type, step_name):
            return {"step": step_name, "task": "{{.task.task_id}}"}

        async def execute(self, action_type, base_config, config, context, identity):
            seen["context"], seen["identity"] = context, identity
            return Result(output={})

    steps = steps_from_template({"s": {"action": echo("x")}})
    values = MiniValues()
    values.set_task_infos({"task_id": "T1"})

    async def go():
        return await run_resolution(RunContext(steps=steps, executor=WithContext(), values=values,
                                               task_infos={"task_id": "T1", "resolution_id": "R1"},
                                               template={"name": "tpl"}))

    asyncio.run(go())
    assert seen["context"] == {"step": "s", "task": "T1"}
    assert seen["identity"] == {"task_id": "T1", "resolution_id": "R1", "template_name": "tpl", "requester": "",
                                "resolver": "", "step_name": "s"}


def test_condition_on_another_step_sets_retry_now():
    calls = []

    async def count(base, config):
        calls.append(config["who"])
        return Result(output={"n": str(len(calls))})

    spec = {"a": {"max_retries": -1, "action": {"type": "count", "configuration": {"who": "a"}}},
            "b": {"dependencies": ["a"], "action": {"type": "count", "configuration": {"who": "b"}},
                  "conditions": [{"type": "check", "if": [{"value": "{{.step.a.output.n}}", "operator": "EQ",
                                                           "expected": "1"}], "then": {"a": "RETRY_NOW"}}]}}
    out, _ = run_steps(spec, EchoExecutor({"count": count}))
    assert calls == ["a", "b", "a"]
    assert out.steps["a"].state == "DONE" and out.steps["a"].try_count == 2
