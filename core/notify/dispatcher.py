"""The notifier: builds §11.1 messages from task records, routes them (§11.3) and sends them in the background.

The task service calls the event methods synchronously (`task_created`, `task_state`, `step_update`, ...);
they only build a message and put it on the bounded queue of each chosen backend, so a state change never
waits for a webhook. One sender per backend drains its queue in order over a shared `httpx.AsyncClient`.
A full queue drops the message with a warning rather than grow without bound while a backend is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import messages as msgs
from .config import Backend, NotifyConfigError, build_backend
from .messages import Message

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("utask.notify")

QUEUE_SIZE = 1000  # per backend


class Notifier:
    def __init__(self, backends: Mapping[str, Backend] | None = None, actions: Mapping[str, Any] | None = None, *,
                 base_url: str = "", dashboard_path_prefix: str = "", queue_size: int = QUEUE_SIZE) -> None:
        self.backends: dict[str, Backend] = dict(backends or {})
        # notify_actions: notification type → object with `disabled` and `notify_backends` (NotifyAction).
        self.actions: dict[str, Any] = dict(actions or {})
        self.base_url = base_url
        self.dashboard_path_prefix = dashboard_path_prefix
        self._queue_size = queue_size  # per backend
        self._queues: dict[str, asyncio.Queue[Message]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[asyncio.Task] = []
        self._client: httpx.AsyncClient | None = None
        self.dropped = 0

    @property
    def backend_names(self) -> list[str]:
        return sorted(self.backends)

    def url(self, task_id: str) -> str:
        return msgs.task_url(self.base_url, self.dashboard_path_prefix, task_id)

    # -- events (§11.1) ------------------------------------------------------------------------------------------
    def _wanted(self, notification_type: str) -> bool:
        """Cheap check before building a message: the engine calls `step_update` at every step change."""
        if not self.backends:
            return False
        action = self.actions.get(notification_type)
        return not (action is not None and getattr(action, "disabled", False))

    def task_created(self, task: Any, template: Any, *, validation: bool = False) -> None:
        """A new task: its state with the potential resolvers, then `task_validation` when it waits for a
        resolver (template not auto-runnable, or the requester may not run it)."""
        resolvers = msgs.potential_resolvers(template, task.requester_username)
        if self._wanted(msgs.TASK_STATE_UPDATE):
            self.dispatch(msgs.task_state_update(task, self.url(task.public_id), resolvers))
        if validation and self._wanted(msgs.TASK_VALIDATION):
            self.dispatch(msgs.task_validation(task, self.url(task.public_id), resolvers))

    def task_state(self, task: Any) -> None:
        if self._wanted(msgs.TASK_STATE_UPDATE):
            self.dispatch(msgs.task_state_update(task, self.url(task.public_id)))

    def step_update(self, task: Any, step_name: str, step_state: str) -> None:
        # µTask: nothing while the task has no resolution with a resolver (e.g. steps set TODO at creation).
        if task.resolution_public_id is None or task.resolver_username is None:
            return
        if not self._wanted(msgs.TASK_STEP_UPDATE):
            return
        self.dispatch(msgs.task_step_update(task, self.url(task.public_id), step_name, step_state))

    # -- routing (§11.3) -----------------------------------------------------------------------------------------
    def dispatch(self, m: Message) -> None:
        action = self.actions.get(m.notification_type)
        if action is not None and getattr(action, "disabled", False):
            return
        names = list(getattr(action, "notify_backends", None) or ()) or sorted(self.backends)
        for name in names:
            backend = self.backends.get(name)
            if backend is not None and msgs.should_deliver(m, backend.default_strategy, backend.template_strategies):
                self._enqueue(backend, m)

    def deliver(self, m: Message, backends: Iterable[str] | None = None) -> list[str]:
        """The `notify` action (deliberate fix, DESIGN §6): to the named backends (empty: all), strategy
        `always`, regardless of `notify_actions`. Unknown names raise `KeyError`; returns the names used."""
        names = list(backends or ()) or sorted(self.backends)
        unknown = [n for n in names if n not in self.backends]
        if unknown:
            raise KeyError(unknown[0])
        for name in names:
            self._enqueue(self.backends[name], m)
        return names

    # -- background sending ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Bind to the running event loop (called by the composition root; otherwise at first use)."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        # One FIFO queue and one sender per backend: a receiver sees a task's events in order (RUNNING
        # before DONE), and a slow or dead backend delays only itself.
        for name in self.backends:
            queue: asyncio.Queue[Message] = asyncio.Queue(self._queue_size)
            self._queues[name] = queue
            self._workers.append(self._loop.create_task(self._work(self.backends[name], queue),
                                                        name=f"utask-notify-{name}"))

    def _enqueue(self, backend: Backend, m: Message) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is None:
            if running is None:
                log.warning("notification %s for task %s not sent: notifier not started", m.notification_type,
                            m.task_id)
                return
            self.start()
        assert self._loop is not None
        if running is not self._loop:  # from another thread: hand it to the notifier's loop
            self._loop.call_soon_threadsafe(self._put, backend, m)
        else:
            self._put(backend, m)

    def _put(self, backend: Backend, m: Message) -> None:
        queue = self._queues.get(backend.name)
        if queue is None:  # closed
            return
        try:
            queue.put_nowait(m)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("notification queue of %r full: %s for task %s dropped", backend.name,
                        m.notification_type, m.task_id)

    async def _work(self, backend: Backend, queue: asyncio.Queue[Message]) -> None:
        while True:
            m = await queue.get()
            try:
                if self._client is None:
                    import httpx  # here, not with the server: only a server that notifies needs it

                    self._client = httpx.AsyncClient()
                await backend.sender.send(self._client, m, backend.name)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a notification failure is logged, never raised
                log.exception("Error while sending notification on %s", getattr(backend.sender, "type", "?"))
            finally:
                queue.task_done()

    async def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far has been sent (tests, shutdown). False on timeout."""
        if not self._queues:
            return True
        try:
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._queues.values())), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for at most `timeout` seconds), then stop."""
        if self._loop is None:
            return
        if self._loop is asyncio.get_running_loop():
            await self.flush(timeout)
            for worker in self._workers:
                worker.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            if self._client is not None:
                await self._client.aclose()
        self._client = None
        self._workers = []
        self._queues = {}
        self._loop = None


def build_notifier(utask_cfg: Any, store: Any = None, *,
                   opsgenie_urls: Mapping[str, str] | None = None) -> Notifier:
    """The notifier of a server from its `UtaskConfig` and configstore (for `notify-webhook-credentials`).

    Raises `NotifyConfigError` with µTask's start-up text for a bad backend or strategy."""
    backends = {}
    for name, raw in sorted((getattr(utask_cfg, "notify_config", None) or {}).items()):
        backends[name] = build_backend(name, raw, store, opsgenie_urls)
    actions = dict(getattr(utask_cfg, "notify_actions", None) or {})
    for action in actions.values():
        for name in getattr(action, "notify_backends", None) or ():
            if name not in backends:
                raise NotifyConfigError(f"notify_actions: unknown backend {name!r} (not in notify_config)")
    return Notifier(backends, actions, base_url=getattr(utask_cfg, "base_url", "") or "",
                    dashboard_path_prefix=getattr(utask_cfg, "dashboard_path_prefix", "") or "")
