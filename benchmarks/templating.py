"""Templating benchmarks: one JSON line a figure (`python -m benchmarks.templating`)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from utask.core.gojson import JSONNumber
from utask.core.templating import Values


def _measure(fn: Callable[[], Any], rounds: int, inner: int) -> tuple[float, float]:
    """Median microseconds of one call over `rounds` batches of `inner` calls: (CPU time, wall time).

    CPU time (time.process_time) is the figure compared with the goal: the development machines
    are shared, and wall time there mostly measures the other processes.
    """
    fn()  # warm the parse cache
    cpu, wall = [], []
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(inner):
            fn()
        cpu.append((time.process_time() - c0) / inner * 1e6)
        wall.append((time.perf_counter() - w0) / inner * 1e6)
    return statistics.median(cpu), statistics.median(wall)


def _values() -> Values:
    v = Values()
    v.set_input({"host": "db1.example.org", "port": JSONNumber("5432"), "user": "admin", "tags": ["a", "b"]})
    v.set_config({"region": "eu-west", "api": {"url": "https://api.example.org"}})
    v.set_task_infos({"task_id": "5f1c", "requester_username": "alice"})
    v.set_step("create", output={"id": JSONNumber("1619464078"), "name": "vm-1"}, state="DONE")
    v.set_step("check", output={"status": "ok"}, metadata={"http_code": JSONNumber("200")}, state="DONE")
    return v


STEP_CONFIG = {
    "url": "{{.config.api.url}}/vm/{{.step.create.output.id}}",
    "method": "POST",
    "body": '{"host": "{{.input.host}}", "port": {{.input.port}}}',
    "headers": [{"name": "X-Requester", "value": "{{.task.requester_username}}"}],
    "timeout": "30s",
    "user": "{{.input.user}}",
    "region": "{{ .config.region | upper }}",
    "name": "{{ .step.create.output.name }}-{{ .step.this.state }}",
    "check": "{{ if eq .step.check.output.status \"ok\" }}yes{{ else }}no{{ end }}",
    "tag": "{{ index .input.tags 0 }}",
}


def main() -> None:
    v = _values()
    config = dict(STEP_CONFIG)
    from utask.core.templating.functions import FUNCS

    if "upper" not in FUNCS:
        config["region"] = "{{ .config.region | printf \"%s\" }}"
    cpu, wall = _measure(lambda: v.render_json(config, step="create"), rounds=31, inner=200)
    print(json.dumps({"figure": "render_step_config_10_fields", "median_us": round(cpu, 2), "goal_us": 50,
                      "clock": "process_time", "wall_median_us": round(wall, 2)}))

    if "toJson" in FUNCS:
        big = {"items": [{"id": JSONNumber(str(i)), "name": f"item-{i}", "ok": i % 2 == 0} for i in range(10_000)]}
        v2 = Values()
        v2.set_input(big)
        cpu, wall = _measure(lambda: v2.render("{{ .input.items | toJson }}"), rounds=7, inner=3)
        print(json.dumps({"figure": "toJson_10000_items", "median_us": round(cpu, 2), "clock": "process_time",
                          "wall_median_us": round(wall, 2)}))


if __name__ == "__main__":
    main()
