"""Dependencies, eligibility, pruning (§5.3), step JSON shape (§5.1), retry delays (§5.11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from utask.core.engine import Resolution, Step, dependency_parts, next_retry, retry_delay
from utask.core.engine.steps import steps_from_template


def make(spec: dict[str, tuple[str, list[str]]]) -> Resolution:
    steps = {}
    for name, (state, deps) in spec.items():
        st = Step(name, state=state)
        st.dependencies = deps
        steps[name] = st
    return Resolution(steps)


def names(res: Resolution, executed=()) -> set[str]:
    return {s.name for s in res.eligible(list(res.steps), set(executed))}


def test_dependency_parts():
    assert dependency_parts("a") == ("a", ["DONE"])
    assert dependency_parts("a:ANY") == ("a", ["ANY"])
    assert dependency_parts("a:S1,S2") == ("a", ["S1", "S2"])
    assert dependency_parts("a:b:c") == ("a", ["b:c"])


def test_eligibility_by_state():
    res = make({"a": ("DONE", []), "b": ("TODO", ["a"]), "c": ("TODO", ["a:CUSTOM"]), "d": ("TODO", ["b"]),
                "e": ("CLIENT_ERROR", []), "f": ("RUNNING", []), "g": ("FOO", [])})
    assert names(res) == {"b", "e"}
    assert names(res, executed={"b"}) == {"e"}


def test_any_needs_final_dependency_and_final_ancestors():
    # a FATAL_ERROR → b pruned by a condition; c depends on b:ANY: b is final but its ancestor is not
    res = make({"a": ("FATAL_ERROR", []), "b": ("PRUNE", ["a"]), "c": ("TODO", ["b:ANY"])})
    assert "c" not in names(res)
    res.steps["a"].state = "DONE"
    assert "c" in names(res)
    res2 = make({"a": ("RUNNING", []), "c": ("TODO", ["a:ANY"])})
    assert "c" not in names(res2)


def test_ancestor_check_handles_long_chains():
    spec = {f"s{i}": ("DONE", [f"s{i - 1}"] if i else []) for i in range(5000)}
    spec["end"] = ("TODO", ["s4999:ANY"])
    assert names(make(spec)) == {"end"}


def test_foreach_parent_ignores_old_children_unless_running():
    res = make({"p": ("TO_RETRY", ["p-0:ANY", "p-1:ANY"]), "p-0": ("SERVER_ERROR", []), "p-1": ("TODO", [])})
    p = res.steps["p"]
    p.foreach = "[1,2]"
    res.set_children(p, ["p-0", "p-1"])
    assert names(res) == {"p"}  # and its children are discarded from the eligible set
    res.steps["p-1"].state = "RUNNING"
    assert names(res) == {"p-0"}


def test_expanded_parent_waits_for_all_children():
    res = make({"p": ("EXPANDED", ["p-0:ANY", "p-1:ANY"]), "p-0": ("DONE", []), "p-1": ("TODO", [])})
    p = res.steps["p"]
    p.foreach = "[1,2]"
    res.set_children(p, ["p-0", "p-1"])
    assert res.pending_children["p"] == 1
    assert names(res) == {"p-1"}
    res.set_state("p-1", "DONE")
    assert res.pending_children["p"] == 0
    assert names(res) == {"p"}


def test_pruning_is_recursive_and_spares_any():
    res = make({"a": ("DONE", []), "b": ("TODO", ["a:CUSTOM"]), "c": ("TODO", ["b"]), "d": ("TODO", ["c:ANY"]),
                "e": ("TODO", ["a:DONE,CUSTOM"])})
    modified = {"a": None}
    res.prune(modified)
    assert {n: s.state for n, s in res.steps.items()} == {"a": "DONE", "b": "PRUNE", "c": "PRUNE", "d": "TODO",
                                                         "e": "TODO"}
    assert set(modified) == {"a", "b", "c"}


def test_errors_never_prune():
    res = make({"a": ("SERVER_ERROR", []), "b": ("TODO", ["a"])})
    res.prune({"a": None})
    assert res.steps["b"].state == "TODO"


def test_state_listener_and_dirty_tracking():
    res = make({"a": ("TODO", []), "b": ("TODO", ["a"])})
    seen = []
    res.listener = lambda n, s: seen.append((n, s))
    res.take_changes()
    res.set_state("a", "DONE")
    res.set_state("a", "DONE")
    assert seen == [("a", "DONE")]
    assert list(res.take_changes()) == ["a"]
    res.remove_step("b")
    assert res.take_changes() == {"b": None}


def test_step_json_shape_and_key_order():
    steps = steps_from_template({"s": {"description": "d", "action": {"type": "echo", "configuration": {"a": 1}},
                                       "dependencies": ["x"], "foreach": "[1]"}})
    st = steps["s"]
    data = st.to_json()
    assert list(data) == ["name", "description", "idempotent", "action", "state", "last_run", "dependencies",
                          "foreach", "foreach_strategy", "resources", "tags"]
    assert data["action"] == {"type": "echo", "configuration": {"a": 1}, "output": None}
    assert data["last_run"] == "0001-01-01T00:00:00Z"
    assert data["foreach_strategy"] == "parallel"
    st.output, st.metadata, st.error, st.try_count, st.max_retries = {"o": 1}, {}, "e", 2, 10000
    st.children, st.item, st.children_steps, st.children_steps_map = [{"state": "DONE"}], "i", ["s-0"], {"s-0": True}
    st.last_run = datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)
    st.retry_pattern, st.execution_delay, st.custom_states = "minutes", 5, ["X"]
    st.pre_hook = {"type": "echo", "configuration": None, "output": None}
    st.json_schema = {"type": "object"}
    st.conditions = [{"type": "check", "if": [{"value": "a", "operator": "EQ", "expected": "b"}], "then": {"this": "X"}}]
    data = st.to_json()
    assert list(data) == [
        "name", "description", "idempotent", "action", "pre_hook", "json_schema", "output", "metadata", "children",
        "error", "state", "retry_pattern", "try_count", "max_retries", "last_run", "execution_delay", "dependencies",
        "custom_states", "conditions", "foreach", "foreach_strategy", "children_steps", "children_steps_map", "item",
        "resources", "tags"]
    assert data["last_run"] == "2024-01-02T03:04:05.12Z"
    assert data["conditions"][0] == {"type": "check", "if": [{"value": "a", "operator": "EQ", "expected": "b",
                                                              "list_separator": "", "message": ""}],
                                     "then": {"this": "X"}, "final": False, "foreach": "", "message": ""}
    back = Step.from_json(data)
    assert back.to_json() == data


def test_base_output_becomes_a_merge_output():
    st = Step.from_json({"action": {"type": "echo", "base_output": {"a": "b"}, "configuration": {}}}, name="s")
    assert st.action["output"] == {"format": {"a": "b"}, "strategy": "merge"}


@pytest.mark.parametrize(
    ("pattern", "tries", "expected"),
    [("", 0, 8), ("seconds", 1, 10), ("seconds", 2, 12.5), ("seconds", 40, 600), ("minutes", 1, 96),
     ("minutes", 19, 1800), ("minutes", 0, 0), ("hours", 1, 3600), ("hours", 2, 4200), ("hours", 30, 10800)],
)
def test_retry_delays(pattern, tries, expected):
    assert retry_delay(pattern, tries).total_seconds() == pytest.approx(expected)


def test_next_retry_takes_the_shortest_delay_capped_at_one_hour():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    a, b, c = Step("a", state="SERVER_ERROR"), Step("b", state="TO_RETRY"), Step("c", state="DONE")
    a.retry_pattern, a.try_count = "hours", 5
    b.retry_pattern, b.try_count = "minutes", 2
    assert next_retry([a, b, c], now) == now + timedelta(minutes=3.2)
    assert next_retry([c], now) == now + timedelta(hours=1)
