"""A plugin that makes every host call the SDK documents and returns what each answered, as it answered.

Run once through the server (real engine, real handler) and once through `utask_sdk.testing` with a fake,
its output shows whether the fake answers like the server (test_documented_fakes.py).
"""

from __future__ import annotations

from typing import Any

from utask_sdk import ActionPlugin, PluginError, hookimpl

MISSING_ID = "00000000-0000-4000-8000-000000000000"


class HostCallProbe(ActionPlugin):
    name = "hostcall_probe"
    version = "1.0.0"

    def execute(self, ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
        host = ctx.host
        key, value, child = config["key"], config["value"], config["child_template"]
        only = set(config.get("only") or ())
        out: dict[str, Any] = {}

        def probe(label: str, call: Any) -> None:
            if only and label not in only:
                return
            try:
                out[label] = {"ok": call()}
            except PluginError as e:
                out[label] = {"error": [type(e).__name__, str(e)]}

        def created(label: str, field: str = "id") -> str:
            return ((out.get(label) or {}).get("ok") or {}).get(field) or MISSING_ID

        # The cache, through the typed helpers where they return the server's answer.
        probe("cache_set", lambda: host.call("cache.set", key=key, value=value, ttl=60))
        probe("cache_get_hit", lambda: host.cache_get(key))
        probe("cache_delete", lambda: host.call("cache.delete", key=key))
        probe("cache_get_miss", lambda: host.cache_get(key))
        probe("cache_get_empty_key", lambda: host.cache_get(""))
        probe("cache_get_bad_argument", lambda: host.call("cache.get", id=key))
        probe("cache_set_bad_ttl", lambda: host.call("cache.set", key=key, value=1, ttl="1 day"))
        # Tasks and batches.
        probe("task_create", lambda: host.create_task(child, {"count": "1"}, tags={"probe": "yes"}))
        probe("task_get", lambda: host.get_task(created("task_create")))
        probe("task_get_missing", lambda: host.get_task(MISSING_ID))
        probe("task_create_parent_tag", lambda: host.create_task(child, {}, tags={"_utask_parent_task_id": "x"}))
        probe("batch_create", lambda: host.create_batch(child, [{"count": "1"}, {"count": "2"}]))
        probe("batch_get", lambda: host.get_batch(created("batch_create")))
        probe("batch_get_missing", lambda: host.get_batch(MISSING_ID))
        probe("batch_get_invalid", lambda: host.get_batch("not-a-uuid"))
        probe("run_max_increase", lambda: host.call("run_max.increase"))
        # Callbacks.
        probe("callback_create", lambda: host.create_callback(
            schema='{"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}',
            step=ctx.step_name))
        probe("callback_create_no_schema", lambda: host.create_callback(step=ctx.step_name))
        probe("callback_create_bad_schema", lambda: host.create_callback(schema="{nope"))
        probe("callback_get", lambda: host.get_callback(created("callback_create")))
        probe("callback_get_missing", lambda: host.get_callback(MISSING_ID))
        # Notifications, tags, unknown calls.
        probe("notify_send", lambda: host.call("notify.send", message="hello", fields={"a": "b"}))
        probe("notify_send_unknown_backend", lambda: host.call("notify.send", message="m", backends=["nope"]))
        probe("tags_set", lambda: host.set_tags({"a": "b"}))
        probe("unknown_call", lambda: host.call("nope.nope"))
        return out


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [HostCallProbe()]
