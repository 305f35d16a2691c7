"""cache (§10.13) and tag (§10.11) through the real sandboxed plugins and the server's host calls."""

from __future__ import annotations

import time
import uuid


def test_cache_set_get_delete(server):
    key = f"k-{uuid.uuid4()}"
    res = server.run_task("cache-steps", {"key": key})
    steps = res["steps"]
    assert steps["set"]["output"] == {"key": key, "cached": True}
    # Values come back as Go decodes them into interface{}: plain float64s.
    assert steps["get"]["output"] == {"key": key, "hit": True,
                                      "value": {"f": 1.5, "l": [1, "two"], "num": 42, "s": "text"}}
    assert steps["delete"]["output"] == {"key": key, "deleted": True}
    assert steps["getAgain"]["output"] == {"key": key, "hit": False, "value": None}
    # Stored as JSON, unencrypted.
    assert server.sql('SELECT count(*) FROM "cache" WHERE key = %s', (key,))[0][0] == 0


def test_cache_is_shared_between_tasks_and_expires(server):
    key = f"shared-{uuid.uuid4()}"
    server.run_task("cache-set", {"key": key, "value": "hello"})
    raw, expires = server.sql('SELECT value, expires_at FROM "cache" WHERE key = %s', (key,))[0]
    assert bytes(raw) == b'"hello"' and expires is not None
    got = server.run_task("cache-get", {"key": key})
    assert got["steps"]["get"]["output"] == {"key": key, "hit": True, "value": "hello"}
    time.sleep(max(0.0, expires.timestamp() - time.time()) + 0.1)
    got = server.run_task("cache-get", {"key": key})
    assert got["steps"]["get"]["output"] == {"key": key, "hit": False, "value": None}
    # Expired entries are deleted when read.
    assert server.sql('SELECT count(*) FROM "cache" WHERE key = %s', (key,))[0][0] == 0


def test_tag_step_sets_and_deletes_task_tags(server):
    task = server.create_task("tag-steps")
    server.wait_resolution(task["resolution"], {"DONE"})
    tags = server.task(task["id"])["tags"]
    assert tags == {"keep": "yes", "env": "prod", "task": task["id"]}  # "" deleted `team`
