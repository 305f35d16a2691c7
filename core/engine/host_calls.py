"""The server side of the plugins' host calls: what sandboxed plugins may ask of the task service.

Sandboxed code never touches the database. The `subtask`, `batch`, `callback`, `cache` and `tag` plugins
call the server through the worker channel (`ctx.host.call(name, **args)`); the plugin host hands each
call to `HostCalls.__call__(identity, name, args)` with the identity *it* attached to the execution, never
one the plugin chose. Every call is checked against that identity:

- the identity must name a resolution running in this process (`TaskService.live_run`), and the task of
  that run; anything else is refused (`fatal`), so a plugin cannot act for a task that is not executing it;
- actions happen as the task's requester (username and groups, admin if the requester is one), like
  µTask's plugins which run `auth.WithIdentity(requester)` (§10.3);
- reads are limited to what the task owns: its children (tag `_utask_parent_task_id`), its batches,
  its callbacks (or its requester's).

Calls (arguments → result; errors are `HostCallError(kind, message)`, raised in the plugin as the SDK's
matching error class):

| name | arguments | result |
|---|---|---|
| `task.create` | template_name, input, resolver_usernames, resolver_groups, watcher_usernames, watcher_groups, tags, delay, comment | task view |
| `task.get` | task_id | task view |
| `batch.create` | template_name, inputs, common_input, comment, watcher_usernames, watcher_groups, tags, batch_id | {id, task_ids} |
| `batch.get` | batch_id | {id, exists, total, running} |
| `run_max.increase` | step_name | {run_max} |
| `callback.create` | schema (JSON text or object), step | {id, url, token (= secret), secret, schema} |
| `callback.get` | callback_id | {id, called (RFC 3339 or null), body} |
| `cache.set` | key, value, ttl (seconds, or a Go duration text) | {key, cached} |
| `cache.get` | key | {key, hit, value} |
| `cache.delete` | key | {key, deleted} |
| `notify.send` | message, fields (map of strings), backends (names; empty = all) | {backends} (names queued) |

A callback's `url` is `<base_url><path_prefix>/<id>?t=<token>` (prefix `/unsecured/callback` by default); without
`callback-config` nor `utask-cfg.base_url` it is relative, `/unsecured/callback/<id>?t=<token>`, not an error.

The task view is `{id, state, title, template_name, result, resolver_username, requester_username,
resolution, batch, tags}`. Created tasks and batches always carry `_utask_parent_task_id` = the calling
task (§6.8), which plugins may not set themselves. Tags are not a host call: a plugin returns them in its
`Result` and the engine applies them to the task with the step (§10.11).
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from utask.core import gojson
from utask.core.plugins.model import ExecutionIdentity, HostCallError
from utask.core.storage.queries import host_calls as hq

from .service import PARENT_TAG, Caller, RunHandle, ServiceError, TaskService
from .states import TaskState as TS
from .store import NotFoundError, TaskRecord, utcnow

log = logging.getLogger(__name__)

DEFAULT_CALLBACK_PREFIX = "/unsecured/callback"
FINAL_STATES = (TS.DONE, TS.CANCELLED, TS.WONTFIX)


def callback_url(base_url: str, path_prefix: str, public_id: str, secret: str) -> str:
    """§10.12: `<base_url><prefix>/<id>?t=<token>`; the prefix gets a leading `/`, loses a trailing one."""
    prefix = path_prefix
    if prefix == "":
        prefix = DEFAULT_CALLBACK_PREFIX
    else:
        if not prefix.startswith("/"):
            prefix = "/" + prefix
        prefix = prefix.removesuffix("/")
    return f"{base_url}{prefix}/{public_id}?t={secret}"


def _plain_floats(value: Any) -> Any:
    """Numbers as Go's json.Unmarshal into interface{} leaves them: float64 (cache values, §10.13)."""
    if isinstance(value, gojson.JSONNumber):
        return gojson.JSONNumber(gojson.format_float(float(str(value))))
    if isinstance(value, dict):
        return {k: _plain_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_floats(v) for v in value]
    return value


def _strings(value: Any, what: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise HostCallError("client", f"{what} must be a list of strings")
    return list(value)


def _tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise HostCallError("client", "tags must be a map of strings")
    if PARENT_TAG in value:
        raise HostCallError("client", f'tag name "{PARENT_TAG}" not allowed')
    return dict(value)


def _service_error(e: ServiceError) -> HostCallError:
    # µTask's plugins return these errors as they are: only BadRequest makes a CLIENT_ERROR (§5.14).
    return HostCallError("client" if e.kind == "bad_request" else "server", e.message)


def task_view(task: TaskRecord) -> dict[str, Any]:
    return {
        "id": task.public_id, "state": task.state, "title": task.title, "template_name": task.template_name,
        "result": task.result, "resolver_username": task.resolver_username,
        "requester_username": task.requester_username, "resolution": task.resolution_public_id,
        "batch": task.batch_public_id, "tags": task.tags,
    }


class HostCalls:
    """The host-call handler given to `PluginHostExecutor(host, host_calls=...)`."""

    def __init__(self, tasks: TaskService, *, callback: Any = None,
                 is_admin: Callable[[str, Iterable[str]], bool] | None = None, notifier: Any = None) -> None:
        self.tasks = tasks
        # utask.core.notify.Notifier: the `notify` plugin's messages go out through the server, which holds
        # the backends' secrets (defaults to the task service's).
        self.notifier = notifier
        # utask.core.config.CallbackConfig (base_url, path_prefix), or None: callback URLs are then relative.
        self.callback = callback
        self.is_admin = is_admin or (lambda username, groups: False)
        self._calls: dict[str, Callable[..., Any]] = {
            "task.create": self._task_create, "task.get": self._task_get,
            "batch.create": self._batch_create, "batch.get": self._batch_get,
            "run_max.increase": self._run_max_increase,
            "callback.create": self._callback_create, "callback.get": self._callback_get,
            "cache.set": self._cache_set, "cache.get": self._cache_get, "cache.delete": self._cache_delete,
            "notify.send": self._notify_send,
        }

    @property
    def store(self) -> Any:
        return self.tasks.store

    async def __call__(self, identity: ExecutionIdentity, name: str, args: dict[str, Any]) -> Any:
        call = self._calls.get(name)
        if call is None:
            if name == "tags.set":
                raise HostCallError("fatal", "host call 'tags.set' is not supported: return the tags in the "
                                             "step's Result(tags=...), the engine applies them with the step")
            raise HostCallError("fatal", f"unknown host call {name!r}")
        run = self._run_of(identity)
        try:
            inspect.signature(call).bind(identity, run, **args)
        except TypeError as e:  # unknown or missing arguments: the plugin's mistake
            raise HostCallError("client", f"host call {name!r}: {e}") from None
        try:
            return await call(identity, run, **args)
        except ServiceError as e:
            raise _service_error(e) from None
        except NotFoundError as e:
            raise HostCallError("server", str(e)) from None

    def _run_of(self, identity: ExecutionIdentity) -> RunHandle:
        run = self.tasks.live_run(identity.resolution_id)
        if run is None or run.task.public_id != identity.task_id:
            raise HostCallError("fatal", "host call refused: the calling step's resolution is not running here")
        return run

    def _caller(self, run: RunHandle) -> Caller:
        """µTask's plugins act as the task's requester (auth.WithIdentity + WithGroups)."""
        task = run.task
        username = task.requester_username or ""
        groups = list(task.requester_groups or [])
        return Caller(username=username, groups=groups, is_admin=bool(self.is_admin(username, groups)))

    async def _may_read_task(self, run: RunHandle, child: TaskRecord) -> bool:
        if (child.tags or {}).get(PARENT_TAG) == run.task.public_id:
            return True
        caller = self._caller(run)
        return caller.is_admin or (bool(caller.username) and child.requester_username == caller.username)

    # -- tasks --------------------------------------------------------------------------------------------------
    async def _task_create(self, identity: ExecutionIdentity, run: RunHandle, *, template_name: str,
                           input: dict[str, Any] | None = None, resolver_usernames: Any = None,
                           resolver_groups: Any = None, watcher_usernames: Any = None, watcher_groups: Any = None,
                           tags: Any = None, delay: str | None = None, comment: str | None = None) -> dict[str, Any]:
        if input is not None and not isinstance(input, dict):
            raise HostCallError("client", "input must be a map")
        all_tags = _tags(tags)
        all_tags[PARENT_TAG] = run.task.public_id
        task = await self.tasks.create_task(
            self._caller(run), str(template_name), copy.deepcopy(input) if input else {},
            comment=comment if comment is not None else f"Auto created subtask, parent task {run.task.public_id}",
            watcher_usernames=_strings(watcher_usernames, "watcher_usernames"),
            watcher_groups=_strings(watcher_groups, "watcher_groups"),
            resolver_usernames=_strings(resolver_usernames, "resolver_usernames"),
            resolver_groups=_strings(resolver_groups, "resolver_groups"),
            delay=delay, tags=all_tags, internal_tags=True)
        return task_view(task)

    async def _task_get(self, identity: ExecutionIdentity, run: RunHandle, *, task_id: str) -> dict[str, Any]:
        async with self.store.tx() as tx:
            child = await self.store.load_task(tx, str(task_id))
        if not await self._may_read_task(run, child):
            raise HostCallError("client", f"task {task_id!r} is not readable by this task")
        return task_view(child)

    # -- batches ------------------------------------------------------------------------------------------------
    async def _batch_create(self, identity: ExecutionIdentity, run: RunHandle, *, template_name: str,
                            inputs: list[Any] | None = None, common_input: dict[str, Any] | None = None,
                            comment: str | None = None, watcher_usernames: Any = None, watcher_groups: Any = None,
                            tags: Any = None, batch_id: str | None = None,
                            resolver_usernames: Any = None, resolver_groups: Any = None) -> dict[str, Any]:
        """POST /batch's creation path (one transaction); with `batch_id`, adds tasks to that batch of this
        task (re-created under the same public id if the garbage collector deleted it, §10.4)."""
        del resolver_usernames, resolver_groups  # QUIRK kept (§10.4): the batch plugin ignores them
        if inputs is not None and not isinstance(inputs, list):
            raise HostCallError("client", "inputs must be a list of maps")
        if common_input is not None and not isinstance(common_input, dict):
            raise HostCallError("client", "common_input must be a map")
        all_tags = _tags(tags)
        all_tags[PARENT_TAG] = run.task.public_id
        caller = self._caller(run)
        created: list[str] = []
        async with self.store.tx() as tx:
            row = None
            if batch_id:
                public_id = str(batch_id)
                try:
                    row = await tx.fetchone(hq.SELECT_BATCH, {"public_id": public_id})
                except Exception:  # noqa: BLE001 - not a UUID
                    raise HostCallError("client", f"invalid batch id {batch_id!r}") from None
                if row is not None:
                    await self._check_batch_owner(tx, run, row["id"], public_id)
            else:
                public_id = str(uuid.uuid4())
            if row is None:
                row = await tx.fetchone(hq.INSERT_BATCH, {"public_id": public_id})
            # Like POST /batch: the template is loaded once, before any input.
            await self.store.load_template(tx, name=str(template_name))
            for item in inputs or []:
                if item is not None and not isinstance(item, dict):
                    raise HostCallError("client", "inputs must be a list of maps")
                merged = dict(copy.deepcopy(item or {}))
                for k, v in (common_input or {}).items():
                    if k in merged:
                        raise HostCallError("client", "Conflicting keys in input maps")
                    merged[k] = copy.deepcopy(v)
                task = await self.tasks.create_task(
                    caller, str(template_name), merged, comment=comment or None,
                    watcher_usernames=_strings(watcher_usernames, "watcher_usernames"),
                    watcher_groups=_strings(watcher_groups, "watcher_groups"), tags=all_tags,
                    batch_id=row["id"], internal_tags=True, tx=tx)
                created.append(task.public_id)
        return {"id": public_id, "task_ids": created}

    async def _check_batch_owner(self, tx: Any, run: RunHandle, batch_row_id: int, public_id: str) -> dict:
        counts = await tx.fetchone(hq.BATCH_TASKS, {"id_batch": batch_row_id, "parent": run.task.public_id})
        if counts["foreign_tasks"]:
            raise HostCallError("client", f"batch {public_id!r} does not belong to this task")
        return counts

    async def _batch_get(self, identity: ExecutionIdentity, run: RunHandle, *, batch_id: str) -> dict[str, Any]:
        async with self.store.tx() as tx:
            try:
                row = await tx.fetchone(hq.SELECT_BATCH, {"public_id": str(batch_id)})
            except Exception:  # noqa: BLE001 - not a UUID
                raise HostCallError("client", f"invalid batch id {batch_id!r}") from None
            if row is None:
                return {"id": str(batch_id), "exists": False, "total": 0, "running": 0}
            counts = await self._check_batch_owner(tx, run, row["id"], str(batch_id))
        return {"id": str(batch_id), "exists": True, "total": int(counts["total"]),
                "running": int(counts["running"])}

    async def _run_max_increase(self, identity: ExecutionIdentity, run: RunHandle, *,
                                step_name: str | None = None) -> dict[str, Any]:
        # Only the calling step's own try_count, on its own resolution.
        name = identity.step_name if step_name is None else str(step_name)
        if name != identity.step_name:
            raise HostCallError("client", "run_max.increase: only the calling step may be counted")
        return {"run_max": await self.tasks.extend_run_max(identity.resolution_id, name)}

    # -- callbacks ----------------------------------------------------------------------------------------------
    async def _callback_create(self, identity: ExecutionIdentity, run: RunHandle, *, schema: Any = None,
                               step: str | None = None) -> dict[str, Any]:
        normalised: Any = None
        if isinstance(schema, str) and schema != "" or isinstance(schema, dict | list | bool):
            try:
                parsed = gojson.loads(schema) if isinstance(schema, str) else schema
                from utask.core.templates.jsonschema_lint import normalize_and_compile

                normalised = normalize_and_compile(identity.step_name, parsed)
            except Exception as e:  # noqa: BLE001 - any refusal is the template author's
                raise HostCallError("client", f"unable to parse provided schema: {e}") from None
        elif schema not in (None, ""):
            raise HostCallError("client", "unable to parse provided schema: schema must be a JSON text")
        public_id, secret = str(uuid.uuid4()), str(uuid.uuid4())
        keyring = self.store.keyring
        schema_bytes = gojson.dumps(normalised).encode("utf-8") if normalised is not None else b""
        now = utcnow()
        async with self.store.tx() as tx:
            await tx.execute(hq.INSERT_CALLBACK, {
                "public_id": public_id, "id_task": run.task.id, "id_resolution": run.resolution.id,
                "resolver_username": run.task.requester_username or "", "now": now,
                "encrypted_schema": keyring.encrypt(schema_bytes, public_id),
                "encrypted_secret": keyring.encrypt(secret.encode("utf-8"), public_id),
                "encrypted_body": keyring.encrypt(b"", public_id),
            })
        # Without `callback-config` (nor utask-cfg.base_url) the URL is relative to the API: start-up does not
        # require a callback URL (deliberate difference, docs/differences.md), so creating one must not fail.
        base_url = self.callback.base_url if self.callback is not None else ""
        prefix = (self.callback.path_prefix or "") if self.callback is not None else ""
        url = callback_url(base_url, prefix, public_id, secret)
        # `secret` too: the SDK's create_callback documents that name for the token.
        return {"id": public_id, "url": url, "token": secret, "secret": secret, "schema": normalised}

    async def _callback_get(self, identity: ExecutionIdentity, run: RunHandle, *,
                            callback_id: str) -> dict[str, Any]:
        async with self.store.tx() as tx:
            try:
                row = await tx.fetchone(hq.SELECT_CALLBACK, {"public_id": str(callback_id)})
            except Exception:  # noqa: BLE001 - not a UUID
                row = None
        if row is None:
            raise HostCallError("server", "failed to load callback from public id: callback not found")
        own = row["id_task"] == run.task.id or (
            bool(run.task.requester_username) and row["resolver_username"] == run.task.requester_username)
        if not own:
            raise HostCallError("client", f"callback {callback_id!r} does not belong to this task")
        body: Any = None
        if row["called"] is not None:
            raw = self.store.keyring.decrypt(bytes(row["encrypted_body"]), row["public_id"])
            body = gojson.loads(raw) if raw.strip() else None
        called = gojson.time_rfc3339nano(row["called"]) if row["called"] is not None else None
        return {"id": row["public_id"], "called": called, "body": body}

    # -- cache --------------------------------------------------------------------------------------------------
    @staticmethod
    def _key(key: Any) -> str:
        if not isinstance(key, str) or key == "":
            raise HostCallError("client", 'missing required parameter "key"')
        return key

    async def _cache_set(self, identity: ExecutionIdentity, run: RunHandle, *, key: str, value: Any = None,
                         ttl: Any = None) -> dict[str, Any]:
        key = self._key(key)
        seconds = _ttl_seconds(ttl)
        expires = utcnow() + timedelta(seconds=seconds) if seconds > 0 else None
        data = gojson.dumps(value).encode("utf-8")
        async with self.store.tx() as tx:
            await tx.execute(hq.CACHE_SET, {"key": key, "value": data, "expires_at": expires})
        return {"key": key, "cached": True}

    async def _cache_get(self, identity: ExecutionIdentity, run: RunHandle, *, key: str) -> dict[str, Any]:
        key = self._key(key)
        now = utcnow()
        async with self.store.tx() as tx:
            await tx.execute(hq.CACHE_DELETE_EXPIRED, {"key": key, "now": now})
            row = await tx.fetchone(hq.CACHE_GET, {"key": key})
        if row is None:
            return {"key": key, "hit": False, "value": None}
        try:
            value = _plain_floats(gojson.loads(bytes(row["value"])))
        except ValueError as e:
            raise HostCallError("server", f"failed to unmarshal cached value: {e}") from None
        return {"key": key, "hit": True, "value": value}

    async def _cache_delete(self, identity: ExecutionIdentity, run: RunHandle, *, key: str) -> dict[str, Any]:
        key = self._key(key)
        async with self.store.tx() as tx:
            await tx.execute(hq.CACHE_DELETE, {"key": key})
        return {"key": key, "deleted": True}


    # -- notifications ------------------------------------------------------------------------------------------
    async def _notify_send(self, identity: ExecutionIdentity, run: RunHandle, *, message: Any = "",
                           fields: Any = None, backends: Any = None) -> dict[str, Any]:
        """The `notify` action (§10.5, deliberately fixed): the message really goes to the named backends
        (empty: all of them) with strategy `always`, whatever `notify_actions` says."""
        notifier = self.notifier if self.notifier is not None else getattr(self.tasks, "notifier", None)
        if not isinstance(message, str):
            raise HostCallError("client", "message must be a string")
        if fields is not None and (not isinstance(fields, dict)
                                   or not all(isinstance(v, str) for v in fields.values())):
            raise HostCallError("client", "fields must be a map of strings")
        names = _strings(backends, "backends") or []
        if notifier is None:
            if names:
                raise HostCallError("client", f"can't find backend name: {names[0]}. Available backends: ")
            return {"backends": []}
        from utask.core.notify import Message

        # µTask's plugin message carries no notification type: receivers get `notification_type: ""`.
        try:
            sent = notifier.deliver(Message(message, "", {str(k): v for k, v in (fields or {}).items()}), names)
        except KeyError as e:
            raise HostCallError("client", f"can't find backend name: {e.args[0]}. Available backends: "
                                          f"{', '.join(notifier.backend_names)}") from None
        return {"backends": sent}


def _ttl_seconds(ttl: Any) -> float:
    """Seconds (the `cache` plugin's integer `ttl`), or a Go duration text (`cache_set(key, v, ttl="1h")`)."""
    if ttl is None or ttl == "":
        return 0
    if isinstance(ttl, bool):
        raise HostCallError("client", "ttl must be a number of seconds or a duration")
    if isinstance(ttl, int | float):
        return float(ttl)
    text = str(ttl)
    try:
        return float(json.loads(text))
    except (ValueError, TypeError):
        pass
    from utask.core.config.durations import DurationError, parse_go_duration_ns

    try:
        return parse_go_duration_ns(text) / 1e9
    except DurationError as e:
        raise HostCallError("client", f"ttl: {e}") from None


async def purge_expired_cache(store: Any) -> int:
    """Delete expired cache entries (at start-up; µTask attempts it before its database is ready, §10.13)."""
    async with store.tx() as tx:
        cur = await tx.execute(hq.CACHE_PURGE_EXPIRED, {"now": utcnow()})
        return cur.rowcount or 0


# -- template validation ----------------------------------------------------------------------------------------

KNOWN_TEMPLATES_KEY = "_utask_known_templates"


class KnownTemplatesHost:
    """The plugin host as template validation sees it: plugins that check references to other templates
    (`subtask`, `batch`: `sub-task template "<t>" not found`) get the names of the known templates.

    Validation runs in the sandbox, where the server's `KNOWN_TEMPLATES` context variable (set by
    `PluginHostCatalog.build` around each `validate`) does not exist; a plugin opts in with the class
    attribute `wants_known_templates = True` and receives the names, sorted, under the base configuration
    key `_utask_known_templates` (a field of its config model). Nothing else is sent to other plugins.
    """

    def __init__(self, host: Any, extra: Callable[[], Iterable[str]] | None = None) -> None:
        self._host = host
        self._extra = extra  # more names (e.g. templates already in the database)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)

    def _wants(self, action_type: str) -> bool:
        entry = (getattr(self._host, "entries", None) or {}).get(action_type)
        return bool(getattr(getattr(entry, "plugin", None), "wants_known_templates", False))

    async def validate(self, action_type: str, base_config: Any, config: Any) -> None:
        if self._wants(action_type) and (base_config is None or isinstance(base_config, dict)):
            from utask.core.templates.catalogs import KNOWN_TEMPLATES

            names = set(KNOWN_TEMPLATES.get()) | set(self._extra() if self._extra else ())
            base_config = {**(base_config or {}), KNOWN_TEMPLATES_KEY: sorted(names)}
        await self._host.validate(action_type, base_config, config)
