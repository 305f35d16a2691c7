"""The warm worker's pre-forked children ("spares"): each serves exactly one execution in a fresh process,
nothing an execution leaves reaches the next one, and the pool follows the load within the process limit."""

from __future__ import annotations

import asyncio
import time

from utask.core.plugins import ExecutionIdentity
from utask_sdk.testing import plain

from .conftest import alive, make_box, require


def _run(box, **config):
    result = box.run("attack", config)
    assert result.error is None, result.error
    return plain(result.output)


def _children(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(p) for p in f.read().split()}


def _parallel(box, count: int, **config) -> list:
    async def go():
        ident = ExecutionIdentity("t", "r", "s")
        return await asyncio.gather(*(box.host.execute("attack", config=config, identity=ident)
                                      for _ in range(count)))

    results = box._runner.run(go())
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    return [plain(r.output) for r in results]


def _settle(zygote: int, until, timeout: float = 6.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        children = _children(zygote)
        if until(children) or time.monotonic() > deadline:
            return children
        time.sleep(0.05)


def test_a_spare_serves_one_execution_then_is_gone(full):
    first, second = _run(full, do="inspect"), _run(full, do="inspect")
    assert first["pid"] != second["pid"] and first["ppid"] == second["ppid"]  # both forked by the zygote
    deadline = time.monotonic() + 2
    while alive(first["pid"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(first["pid"])
    assert first["scratch"] != second["scratch"]


def test_nothing_one_execution_leaves_reaches_the_next(full):
    tainted = _run(full, do="taint")
    after = _run(full, do="inspect")
    assert after["pid"] != tainted["pid"]
    assert after["tainted"] is False  # module state: a fresh fork of the zygote, not a reused process
    assert "TAINTED" not in after["environ"]
    assert after["scratch_before"] == []  # a fresh, empty scratch directory


def test_a_daemon_left_behind_is_killed_before_the_reply(full):
    require(full, "cgroup-kill")
    left = _run(full, do="leave_children")
    # The execution sweeps its own tree before answering: by the time the next one runs, both are gone.
    after = _run(full, do="inspect")
    assert not alive(int(left["child"])) and not alive(int(left["daemon"]))
    assert not {int(left["child"]), int(left["daemon"])} & _children(after["ppid"])


def test_parallel_executions_get_fresh_processes_and_their_own_random_sequences():
    with make_box(max_processes=64) as box:
        inspected = _parallel(box, 24, do="inspect")
        randoms = _parallel(box, 24, do="random")
    assert len({o["pid"] for o in inspected}) == 24 and len({o["scratch"] for o in inspected}) == 24
    assert all(o["scratch_before"] == [] and not o["tainted"] for o in inspected)
    assert len({o["random"] for o in randoms}) == 24  # spares forked back to back reseed each on their own


def test_the_pool_grows_under_load_and_shrinks_back_to_one_spare_when_idle():
    with make_box(max_processes=64) as box:
        zygote = _run(box, do="inspect")["ppid"]
        assert len(_settle(zygote, lambda c: len(c) == 1)) == 1  # used once: one spare waits
        _parallel(box, 24, do="sleep", seconds=0.2)
        grown = _settle(zygote, lambda c: 4 <= len(c) <= 8, timeout=2)  # the last executions reaped
        assert 4 <= len(grown) <= 8  # refilled in a batch, at most max_spares (64 processes // 8)
        shrunk = _settle(zygote, lambda c: len(c) == 1)  # SPARE_IDLE (2 s) without an execution
        assert len(shrunk) == 1 and shrunk <= grown
        assert _run(box, do="inspect")["pid"] in shrunk  # the survivor serves the next execution


def test_the_pool_stays_within_the_process_limit():
    with make_box() as box:  # max_processes 16: two spares at most, the rest of the pids for executions
        zygote = _run(box, do="inspect")["ppid"]
        _parallel(box, 12, do="sleep", seconds=0.2)
        children = _settle(zygote, lambda c: len(c) <= 2, timeout=2)
        assert 1 <= len(children) <= 2
        out = _run(box, do="fork", count=200)
    assert int(out["forked"]) < 16  # spares count against pids.max like everything else of the worker


def test_limits_still_name_the_limit_they_hit_when_executions_run_in_spares():
    with make_box(max_processes=64) as box:
        require(box, "cgroup-memory")
        _parallel(box, 8, do="sleep", seconds=0.1)  # a grown pool of spares waiting
        result = box.run("attack", {"do": "memory"})
        assert result.error is not None and result.error.message == "memory limit 96 MB exceeded"

        async def timeouts():
            ident = ExecutionIdentity("t", "r", "s")
            return await asyncio.gather(*(box.host.execute("attack", config={"do": "sleep", "seconds": 30},
                                                           identity=ident, timeout=1.0) for _ in range(3)))

        results = box._runner.run(timeouts())
        assert [r.error.message for r in results] == ["timed out after 1s"] * 3


def test_request_fields_named_like_the_frame_header_are_plain_data(full):
    # The zygote reads "t", "id" and "timeout" off the front of the server's frame; the same names inside
    # the request are the plugin's data.
    result = full.run("attack", {"do": "log", "t": "stop", "id": 1, "timeout": 0.001}, step_name="hdr")
    assert result.error is None and plain(result.output) == {"step": "hdr", "task": "task-id"}
    assert _run(full, do="inspect")["pid"] > 0  # the worker carried on
