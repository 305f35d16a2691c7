"""Random templates mixing every validated feature, for the differential test against Go.

Condition `then` maps have one entry: Go walks maps in random order, so with two failing entries the
reported error would not be deterministic.
"""

from __future__ import annotations

import random

STEPS = ["sa", "sb", "sc", "sd"]
STATES = ["DONE", "PRUNE", "TO_RETRY", "ANY", "X1", "X2", "RUNNING", "SERVER_ERROR", "TODO", "STATE_HELLO"]
TYPES = ["echo", "echo", "echo", "http", "echo::hello::world", "echo::preHook", "echo::custom::state", "nope"]
SCHEMAS = [
    "{properties: {p: {properties: {q: {}}}}}",
    "{$ref: '#/definitions/d', definitions: {d: {properties: {p: {}}}}}",
    "{version: 4, properties: {p: {}}}",
]


def generate(rnd: random.Random) -> str:
    def handle() -> str:
        c = rnd.random()
        if c < 0.4:
            return "{{{{ .step.{}.output.{} }}}}".format(rnd.choice([*STEPS, "this", "zz"]), rnd.choice(["p", "p.q", "p.z", "q"]))
        if c < 0.6:
            return "{{{{ .input.{} }}}}".format(rnd.choice(["in1", "in2", "zz"]))
        if c < 0.7:
            return "{{{{ .task.{} }}}}".format(rnd.choice(["task_id", "region", "nope"]))
        if c < 0.8:
            return f"{{{{ .step.{rnd.choice(STEPS)}.metadata.HTTPStatus }}}}"
        return "static"

    lines = [f"name: fuzz-{rnd.randrange(1000)}", "description: fuzz case", f"title_format: 'fuzz {handle()}'"]
    if rnd.random() < 0.5:
        lines.append("inputs: [{name: in1}, {name: in2, optional: true}]")
    lines.append("steps:")
    for name in rnd.sample(STEPS, rnd.randint(1, 4)):
        lines.append(f"  {name}:")
        deps = rnd.sample(STEPS, rnd.randint(0, 2))
        if deps:
            suffixes = ["", "", ":ANY", ":X1", ":DONE,X1", ":DONE,DONE", ":ANY,DONE"]
            lines.append("    dependencies: [{}]".format(", ".join(f"'{d}{rnd.choice(suffixes)}'" for d in deps)))
        if rnd.random() < 0.4:
            lines.append("    custom_states: [{}]".format(", ".join(rnd.sample(["X1", "X2", "DONE"], rnd.randint(1, 2)))))
        if rnd.random() < 0.3:
            lines.append("    foreach: '[1,2]'")
        if rnd.random() < 0.1:
            lines.append("    foreach_strategy: " + rnd.choice(["sequence", "parallel", "bogus"]))
        if rnd.random() < 0.1:
            lines.append("    retry_pattern: " + rnd.choice(["minutes", "days"]))
        if rnd.random() < 0.3:
            lines.append("    json_schema: " + rnd.choice(SCHEMAS))
        kind = rnd.choice(TYPES)
        config = "{name: x}" if kind == "echo::hello::world" and rnd.random() < 0.8 else f"{{output: '{handle()}'}}"
        lines.append(f"    action: {{type: {kind}, configuration: {config}}}")
        if rnd.random() < 0.15:
            lines.append("    pre_hook: {{type: {}, configuration: {{}}}}".format(rnd.choice(["echo", "echo::preHook", "nope"])))
        if rnd.random() < 0.5:
            conditions = []
            for _ in range(rnd.randint(1, 2)):
                foreach = rnd.choice(["", "", "children", "parent", "x"])
                conditions.append("{{type: {}, {}then: {{{}: {}}}, if: [{{value: '{}', operator: {}, expected: a}}]}}".format(
                    rnd.choice(["skip", "check", "check", "bad"]), f"foreach: {foreach}, " if foreach else "",
                    rnd.choice([*STEPS, "this"]), rnd.choice(STATES), handle(),
                    rnd.choice(["EQ", "regexp", "in", "XX"])))
            lines.append("    conditions: [{}]".format(", ".join(conditions)))
    return "\n".join(lines) + "\n"
