"""Run an action through the real sandbox from a plugin's own tests.

    from utask_sdk.testing import run_action

    def test_hello():
        result = run_action("hello", {"who": "world"})
        assert result.error is None
        assert result.output == {"greeting": "hi world"}

The plugin is found like the server finds it: through the `utask.plugins` entry points of the installed
distributions (install yours, e.g. `pip install -e .`), plus `modules=[...]` given by dotted name.
This needs the µTask server package (`utask`) installed beside the SDK: the sandbox is the server's.
Numbers in the result are exact JSON numbers (`JSONNumber`, a str subclass); compare with `==` on
`str()`, or use `plain()` to turn them into int/float.

Host calls (`ctx.host...`) are answered by what `host_calls=` gives: a `FakeHost()` (the server's calls in
memory, answering with the server's exact shapes), a dict `name -> function(**args)`, or a handler.

The server-side types a test meets are importable from here too (loaded on first use, so that importing
the SDK never imports the server): `ExecutionResult`, `StepFailure`, `PluginConfigError`, `HostCallError`,
`ExecutionIdentity`.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and linters; at run time, `__getattr__` below
    from utask.core.plugins import (
        ExecutionIdentity,
        ExecutionResult,
        HostCallError,
        PluginConfigError,
        StepFailure,
    )

__all__ = [
    "ExecutionIdentity",
    "ExecutionResult",
    "FakeHost",
    "HostCallError",
    "PluginConfigError",
    "Sandbox",
    "StepFailure",
    "plain",
    "run_action",
]

# Server types re-exported lazily (PEP 562): `from utask_sdk.testing import ExecutionResult` imports the
# server's plugin host then, not when the SDK (or this module) is imported.
_SERVER_TYPES = ("ExecutionIdentity", "ExecutionResult", "HostCallError", "PluginConfigError", "StepFailure")


def __getattr__(name: str) -> Any:
    if name in _SERVER_TYPES:
        return getattr(_host_module(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SERVER_TYPES))


def _host_module():
    try:
        from utask.core import plugins
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeError("utask_sdk.testing runs plugins in the real sandbox: install the `utask` server "
                           "package in this environment") from err
    return plugins


def _handler(host_calls: dict[str, Callable[..., Any]] | Callable[..., Any] | None):
    """Host calls for the test: a dict `name -> function(**args)` (sync or async), or a handler
    `(identity, name, args)` (async, like the server's; a `FakeHost` is one)."""
    if host_calls is None or not isinstance(host_calls, dict):
        return host_calls
    plugins = _host_module()

    async def handler(identity: Any, name: str, args: dict[str, Any]) -> Any:
        if name not in host_calls:
            raise plugins.HostCallError("client", f"host call {name!r} not provided by this test")
        value = host_calls[name](**args)
        if asyncio.iscoroutine(value):
            value = await value
        return value

    return handler


class Sandbox:
    """A plugin host kept up across several runs (one worker start, like the server).

        with Sandbox(sandbox={"defaults": {"timeout": "2s"}}) as sandbox:
            sandbox.run("hello", {"who": "a"})
    """

    def __init__(self, sandbox: dict[str, Any] | None = None, modules: tuple[str, ...] | list[str] = (),
                 entry_points: bool = True, strict: bool = True, **host_options: Any) -> None:
        plugins = _host_module()
        self.host = plugins.PluginHost.from_config(sandbox, modules=tuple(modules), entry_points=entry_points,
                                                   strict=strict, **host_options)
        self._runner = asyncio.Runner()

    def __enter__(self) -> Sandbox:
        self._runner.run(self.host.start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._runner.run(self.host.stop())
        finally:
            self._runner.close()

    def run(self, action_type: str, config: Any = None, *, base_config: Any = None,
            context: dict[str, Any] | None = None, step_name: str = "step", task_id: str = "task-id",
            resolution_id: str = "resolution-id", host_calls: Any = None, timeout: float | None = None):
        plugins = _host_module()
        identity = plugins.ExecutionIdentity(task_id=task_id, resolution_id=resolution_id, step_name=step_name)
        return self._runner.run(self.host.execute(
            action_type, base_config=base_config, config=config, context=context, identity=identity,
            host_calls=_handler(host_calls), timeout=timeout))

    def validate(self, action_type: str, config: Any = None, base_config: Any = None) -> None:
        """Raises `PluginConfigError` when the plugin refuses the configuration."""
        self._runner.run(self.host.validate(action_type, base_config, config))

    def resources(self, action_type: str, config: Any = None, base_config: Any = None) -> list[str]:
        return self._runner.run(self.host.resources(action_type, base_config, config))


def run_action(action_type: str, config: Any = None, *, sandbox: dict[str, Any] | None = None,
               modules: tuple[str, ...] | list[str] = (), **run_options: Any):
    """Start a sandbox, run one execution, stop; returns an `ExecutionResult`
    (`output`, `metadata`, `tags`, `error` = `StepFailure(kind, message)` or None, `logs`)."""
    with Sandbox(sandbox=sandbox, modules=modules) as box:
        return box.run(action_type, config, **run_options)


def plain(value: Any) -> Any:
    """Exact JSON numbers (text) turned into int/float, recursively, for easy comparisons."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if type(value).__name__ == "JSONNumber":
        text = str(value)
        return int(text) if text.lstrip("-").isdigit() else float(text)
    return value


# -- FakeHost ---------------------------------------------------------------------------------------------------

_TAGS_SET_REFUSED = ("host call 'tags.set' is not supported: return the tags in the step's Result(tags=...), "
                     "the engine applies them with the step")
PARENT_TAG = "_utask_parent_task_id"
TASK_NOT_FOUND = "Failed to load task from public id: sql: no rows in result set"
CALLBACK_NOT_FOUND = "failed to load callback from public id: callback not found"


class FakeHost:
    """The server's host calls, in memory, for a plugin's tests: `host_calls=FakeHost()`.

    Every call answers with the shape the server answers with (`utask.core.engine.host_calls`; the SDK's
    README lists them), and refuses what the server refuses with the same error kind and message (unknown
    call, wrong arguments, empty cache key, `tags.set`, unknown task or callback...). A test compares them
    with the server (tests/plugins_hostcalls/test_documented_fakes.py).

        host = FakeHost(cache={"k": 42})
        result = run_action("mine", {...}, host_calls=host)
        assert host.calls == [("cache.get", {"key": "k"})]
        assert plain(host.cache) == {"k": 42}

    What a memory cannot know is simplified: a created task is `TODO` (`DELAYED` with a `delay`), not
    resolved, titled with its template name, and no template nor input is checked; `batch.get` counts the
    tasks it created as running; `run_max.increase` adds `try_count` (default 1) to `run_max` (default 100,
    a template's default retry_max). `calls={"task.get": fn}` replaces single calls (`fn(**args)`, sync or async; raise `HostCallError` to
    refuse); `call_back(callback_id, body)` plays the caller of a callback URL.
    """

    def __init__(self, *, cache: dict[str, Any] | None = None, requester: str = "",
                 notify_backends: Iterable[str] = (), base_url: str = "", run_max: int = 100, try_count: int = 1,
                 calls: dict[str, Callable[..., Any]] | None = None) -> None:
        gojson = _gojson()
        # Stored as the server stores them (JSON text), read back as it reads them (numbers as float64).
        self._cache: dict[str, tuple[str, float | None]] = {
            key: (gojson.dumps(value), None) for key, value in (cache or {}).items()}
        self.requester = requester
        self.notify_backends = list(notify_backends)
        self.base_url = base_url
        self.run_max = run_max
        self.try_count = try_count
        self.overrides = dict(calls or {})
        self.tasks: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, list[str]] = {}
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._calls: dict[str, Callable[..., Any]] = {
            "task.create": self._task_create, "task.get": self._task_get,
            "batch.create": self._batch_create, "batch.get": self._batch_get,
            "run_max.increase": self._run_max_increase,
            "callback.create": self._callback_create, "callback.get": self._callback_get,
            "cache.set": self._cache_set, "cache.get": self._cache_get, "cache.delete": self._cache_delete,
            "notify.send": self._notify_send,
        }

    @property
    def cache(self) -> dict[str, Any]:
        """The live cache entries, as `cache.get` would return their values."""
        return {key: self._read(text) for key, (text, expires) in self._cache.items() if not _expired(expires)}

    def call_back(self, callback_id: str, body: Any = None) -> None:
        """What `POST /unsecured/callback/<id>?t=<token>` does: the next `callback.get` sees the call."""
        callback = self.callbacks[callback_id]
        callback["called"] = _rfc3339(datetime.now(UTC))
        callback["body"] = _gojson().loads(json.dumps(body)) if body is not None else None

    async def __call__(self, identity: Any, name: str, args: dict[str, Any]) -> Any:
        error = _host_module().HostCallError
        self.calls.append((name, copy.deepcopy(args)))
        if name in self.overrides:
            value = self.overrides[name](**args)
            return await value if inspect.isawaitable(value) else value
        call = self._calls.get(name)
        if call is None:
            if name == "tags.set":
                raise error("fatal", _TAGS_SET_REFUSED)
            raise error("fatal", f"unknown host call {name!r}")
        try:
            inspect.signature(call).bind(identity, **args)
        except TypeError as e:
            raise error("client", f"host call {name!r}: {e}") from None
        return call(identity, **args)

    # -- tasks and batches ----------------------------------------------------------------------------------
    def _view(self, identity: Any, template_name: Any, tags: Any, batch: str | None = None,
              delay: Any = None) -> dict[str, Any]:
        all_tags = _tags(tags)
        all_tags[PARENT_TAG] = identity.task_id
        state = "DELAYED" if delay is not None else "TODO"
        task = {"id": str(uuid.uuid4()), "state": state, "title": str(template_name),
                "template_name": str(template_name), "result": None, "resolver_username": None,
                "requester_username": self.requester or None, "resolution": None, "batch": batch,
                "tags": all_tags}
        self.tasks[task["id"]] = task
        return task

    def _task_create(self, identity: Any, *, template_name: str, input: Any = None, resolver_usernames: Any = None,
                     resolver_groups: Any = None, watcher_usernames: Any = None, watcher_groups: Any = None,
                     tags: Any = None, delay: Any = None, comment: Any = None) -> dict[str, Any]:
        if input is not None and not isinstance(input, dict):
            raise _host_module().HostCallError("client", "input must be a map")
        _tags(tags)
        for what, value in (("watcher_usernames", watcher_usernames), ("watcher_groups", watcher_groups),
                            ("resolver_usernames", resolver_usernames), ("resolver_groups", resolver_groups)):
            _strings(value, what)
        return copy.deepcopy(self._view(identity, template_name, tags, delay=delay))

    def _task_get(self, identity: Any, *, task_id: str) -> dict[str, Any]:
        task = self.tasks.get(str(task_id))
        if task is None:
            raise _host_module().HostCallError("server", TASK_NOT_FOUND)
        return copy.deepcopy(task)

    def _batch_create(self, identity: Any, *, template_name: str, inputs: Any = None, common_input: Any = None,
                      comment: Any = None, watcher_usernames: Any = None, watcher_groups: Any = None,
                      tags: Any = None, batch_id: Any = None, resolver_usernames: Any = None,
                      resolver_groups: Any = None) -> dict[str, Any]:
        error = _host_module().HostCallError
        if inputs is not None and not isinstance(inputs, list):
            raise error("client", "inputs must be a list of maps")
        if common_input is not None and not isinstance(common_input, dict):
            raise error("client", "common_input must be a map")
        _tags(tags)
        public_id = str(batch_id) if batch_id else str(uuid.uuid4())
        if batch_id:
            _batch_uuid(public_id)
        created = []
        if inputs:
            _strings(watcher_usernames, "watcher_usernames")
            _strings(watcher_groups, "watcher_groups")
        for item in inputs or []:
            if item is not None and not isinstance(item, dict):
                raise error("client", "inputs must be a list of maps")
            if set(item or {}) & set(common_input or {}):
                raise error("client", "Conflicting keys in input maps")
            created.append(self._view(identity, template_name, tags, batch=public_id)["id"])
        self.batches.setdefault(public_id, []).extend(created)
        return {"id": public_id, "task_ids": created}

    def _batch_get(self, identity: Any, *, batch_id: str) -> dict[str, Any]:
        public_id = str(batch_id)
        _batch_uuid(public_id)
        tasks = self.batches.get(public_id)
        if tasks is None:
            return {"id": public_id, "exists": False, "total": 0, "running": 0}
        running = sum(1 for t in tasks if self.tasks[t]["state"] not in ("DONE", "CANCELLED", "WONTFIX"))
        return {"id": public_id, "exists": True, "total": len(tasks), "running": running}

    def _run_max_increase(self, identity: Any, *, step_name: str | None = None) -> dict[str, Any]:
        if step_name is not None and str(step_name) != identity.step_name:
            raise _host_module().HostCallError("client", "run_max.increase: only the calling step may be counted")
        self.run_max += self.try_count
        return {"run_max": self.run_max}

    # -- callbacks -------------------------------------------------------------------------------------------
    def _callback_create(self, identity: Any, *, schema: Any = None, step: Any = None) -> dict[str, Any]:
        error = _host_module().HostCallError
        normalised: Any = None
        if isinstance(schema, str) and schema != "" or isinstance(schema, dict | list | bool):
            try:
                from utask.core.templates.jsonschema_lint import normalize_and_compile

                parsed = _gojson().loads(schema) if isinstance(schema, str) else schema
                normalised = normalize_and_compile(identity.step_name, parsed)
            except Exception as e:  # noqa: BLE001 - as the server: any refusal is the template author's
                raise error("client", f"unable to parse provided schema: {e}") from None
        elif schema not in (None, ""):
            raise error("client", "unable to parse provided schema: schema must be a JSON text")
        public_id, secret = str(uuid.uuid4()), str(uuid.uuid4())
        self.callbacks[public_id] = {"id": public_id, "called": None, "body": None}
        url = f"{self.base_url}/unsecured/callback/{public_id}?t={secret}"
        return {"id": public_id, "url": url, "token": secret, "secret": secret, "schema": normalised}

    def _callback_get(self, identity: Any, *, callback_id: str) -> dict[str, Any]:
        callback = self.callbacks.get(str(callback_id))
        if callback is None:
            raise _host_module().HostCallError("server", CALLBACK_NOT_FOUND)
        return copy.deepcopy(callback)

    # -- cache -----------------------------------------------------------------------------------------------
    @staticmethod
    def _key(key: Any) -> str:
        if not isinstance(key, str) or key == "":
            raise _host_module().HostCallError("client", 'missing required parameter "key"')
        return key

    @staticmethod
    def _read(text: str) -> Any:
        return _plain_floats(_gojson().loads(text))

    def _cache_set(self, identity: Any, *, key: str, value: Any = None, ttl: Any = None) -> dict[str, Any]:
        key = self._key(key)
        seconds = _ttl_seconds(ttl)
        self._cache[key] = (_gojson().dumps(value), time.monotonic() + seconds if seconds > 0 else None)
        return {"key": key, "cached": True}

    def _cache_get(self, identity: Any, *, key: str) -> dict[str, Any]:
        key = self._key(key)
        entry = self._cache.get(key)
        if entry is not None and _expired(entry[1]):
            del self._cache[key]
            entry = None
        if entry is None:
            return {"key": key, "hit": False, "value": None}
        return {"key": key, "hit": True, "value": self._read(entry[0])}

    def _cache_delete(self, identity: Any, *, key: str) -> dict[str, Any]:
        key = self._key(key)
        self._cache.pop(key, None)
        return {"key": key, "deleted": True}

    # -- notifications ---------------------------------------------------------------------------------------
    def _notify_send(self, identity: Any, *, message: Any = "", fields: Any = None,
                     backends: Any = None) -> dict[str, Any]:
        error = _host_module().HostCallError
        if not isinstance(message, str):
            raise error("client", "message must be a string")
        if fields is not None and (not isinstance(fields, dict)
                                   or not all(isinstance(v, str) for v in fields.values())):
            raise error("client", "fields must be a map of strings")
        names = _strings(backends, "backends") or []
        for name in names:
            if name not in self.notify_backends:
                raise error("client", f"can't find backend name: {name}. Available backends: "
                                      f"{', '.join(self.notify_backends)}")
        sent = names or list(self.notify_backends)
        self.notifications.append({"message": message, "fields": dict(fields or {}), "backends": sent})
        return {"backends": sent}


def _gojson():
    from utask.core import gojson

    return gojson


def _server() -> Any:
    """The server's own host-call rules (argument checks, ttl, numbers), so the fake cannot drift from them."""
    from utask.core.engine import host_calls

    return host_calls


def _plain_floats(value: Any) -> Any:
    return _server()._plain_floats(value)


def _expired(expires: float | None) -> bool:
    return expires is not None and time.monotonic() >= expires


def _ttl_seconds(ttl: Any) -> float:
    return _server()._ttl_seconds(ttl)


def _strings(value: Any, what: str) -> list[str] | None:
    return _server()._strings(value, what)


def _tags(value: Any) -> dict[str, str]:
    return _server()._tags(value)


def _batch_uuid(public_id: str) -> None:
    try:
        uuid.UUID(public_id)
    except ValueError:
        raise _host_module().HostCallError("client", f"invalid batch id {public_id!r}") from None


def _rfc3339(moment: datetime) -> str:
    from utask.core.gojson import time_rfc3339nano

    return time_rfc3339nano(moment)
