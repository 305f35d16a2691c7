"""The step's `logs` (the last execution's log lines): capped, in the step's JSON only when there are some
(last key), set by each execution — here through the real engine run loop and the real sandbox."""

from __future__ import annotations

import asyncio

import pytest
from utask.core.engine import PluginHostExecutor, Step
from utask.core.engine.actions import to_outcome
from utask.core.engine.steps import LOGS_MAX_BYTES, LOGS_MAX_LINES, cap_logs
from utask.core.plugins import ExecutionResult, PluginHost

from tests.engine.support import Harness, load_functions

TEMPLATE = """
name: devx-logs
description: steps that log, print, fail to encode their output, and never run
title_format: logs
steps:
  talk:
    action:
      type: devx
      configuration: {do: log}
  odd:
    dependencies: [talk]
    action:
      type: devx
      configuration: {do: unserialisable}
  slow:
    dependencies: [talk]
    action:
      type: devx
      configuration: {do: log_then_sleep}
  many:
    dependencies: [talk]
    action:
      type: devx
      configuration: {do: log_many, count: 1500}
  never:
    dependencies: [odd]
    action:
      type: devx
      configuration: {do: log}
"""


def test_cap_keeps_what_fits_and_says_how_many_were_dropped():
    assert cap_logs([]) == [] and cap_logs(None) == []
    assert cap_logs(["a", "b"]) == ["a", "b"]
    lines = [f"line {i}" for i in range(250)]
    assert cap_logs(lines) == ["[50 earlier log lines dropped]", *lines[50:]]
    assert len(cap_logs(lines)) == LOGS_MAX_LINES + 1
    # Lines the host already left out count too.
    assert cap_logs(["x"], dropped=7) == ["[7 earlier log lines dropped]", "x"]
    assert cap_logs([], dropped=3) == ["[3 earlier log lines dropped]"]
    # 64 KiB: the last lines that fit, whole.
    big = ["é" * 1000 for _ in range(100)]  # 2000 bytes each
    capped = cap_logs(big)
    assert capped[0] == f"[{100 - len(capped) + 1} earlier log lines dropped]"
    assert sum(len(line.encode()) + 1 for line in capped[1:]) <= LOGS_MAX_BYTES
    assert len(capped) - 1 == LOGS_MAX_BYTES // 2001
    # One line longer than that keeps its end.
    huge = cap_logs(["start" + "x" * (LOGS_MAX_BYTES * 2) + "end"])
    assert len(huge) == 1 and huge[0].startswith("…") and huge[0].endswith("xend")
    assert len(huge[0].encode()) <= LOGS_MAX_BYTES


def test_logs_are_in_the_step_json_only_when_there_are_some_and_last():
    st = Step("s")
    plain = st.to_json()
    assert "logs" not in plain
    st.logs = ["INFO hi", "OUTPUT there"]
    shaped = st.to_json()
    assert list(shaped)[:-1] == list(plain) and list(shaped)[-1] == "logs"
    assert shaped["logs"] == ["INFO hi", "OUTPUT there"]
    again = Step.from_json(shaped)
    assert again.logs == ["INFO hi", "OUTPUT there"] and again.extra == {}
    assert again.copy().logs == again.logs
    assert Step.from_json(plain).logs == []


def test_an_execution_result_becomes_capped_outcome_logs():
    result = ExecutionResult(output={"a": 1}, logs=[f"INFO {i}" for i in range(300)], logs_dropped=700)
    outcome = to_outcome(result)
    assert outcome.logs[0] == "[800 earlier log lines dropped]" and outcome.logs[-1] == "INFO 299"
    assert to_outcome(ExecutionResult()).logs == []


@pytest.fixture(scope="module")
def run_once():
    """The template's resolution run once by the real engine with the devx plugin in the real sandbox."""
    from utask.core.engine import steps_from_template
    from utask.core.templates.decode import decode_template
    from utask.core.templates.yamlload import load_yaml

    async def go():
        host = PluginHost.from_config({"defaults": {"timeout": "2s", "memory_mb": 128}},
                                      modules=["tests.plugins.devx_plugins"], entry_points=False)
        await host.start()
        try:
            tpl = decode_template(load_yaml(TEMPLATE.encode()))
            tpl.normalize()
            harness = Harness(template=tpl, executor=PluginHostExecutor(host), functions=load_functions())
            harness.steps = steps_from_template(tpl.steps or {})
            await harness.run()
            return harness
        finally:
            await host.stop()

    return asyncio.run(go())


def test_an_engine_run_keeps_each_steps_last_execution_logs(run_once):
    steps = run_once.steps
    assert steps["talk"].state == "DONE"
    assert steps["talk"].logs == ["INFO first talk", "WARNING two\nlines", "OUTPUT printed line",
                                  "OUTPUT error line"]
    assert steps["talk"].to_json()["logs"] == steps["talk"].logs
    # Killed by the timeout: what it logged and printed before is kept.
    assert steps["slow"].state == "SERVER_ERROR" and steps["slow"].error == "timed out after 2s"
    assert steps["slow"].logs == ["INFO before the timeout", "WARNING still before\nthe timeout",
                                  "OUTPUT printed before the timeout"]
    # 1500 lines: the SDK keeps 1000, the step the last 200, and says how many it dropped.
    assert steps["many"].logs[0] == "[1300 earlier log lines dropped]"
    assert steps["many"].logs[1:] == [f"INFO line {i} " for i in range(1300, 1500)]
    # Never ran: no logs, and µTask's JSON.
    assert steps["never"].logs == [] and "logs" not in steps["never"].to_json()


def test_an_output_json_cannot_encode_leaves_no_output_but_keeps_the_logs(run_once):
    odd = run_once.steps["odd"]
    assert odd.state == "FATAL_ERROR"
    assert odd.error == "plugin output can't be json.Marshal: json: unsupported type: object"
    assert odd.output is None and "output" not in odd.to_json()
    assert odd.logs == ["INFO returning an object"]


def test_commits_persist_the_logs_with_the_step(run_once):
    committed = {}
    for changes, _resolution, _task in run_once.commits:
        committed.update({k: v for k, v in changes.items() if v is not None})
    assert committed["talk"]["logs"] == run_once.steps["talk"].logs
    assert committed["slow"]["logs"] == run_once.steps["slow"].logs
    assert list(committed["odd"])[-1] == "logs" and "output" not in committed["odd"]
