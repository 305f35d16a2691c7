"""What `execute(ctx, config)` gets as `ctx`."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Transport = Callable[[str, dict[str, Any]], Any]


class HostCalls:
    """Calls from the sandbox to the server, made as the task's identity (the server checks it).

    The sandbox never touches the database: creating subtasks, batches and callbacks, reading tasks,
    the cache and tags all go through these calls. A refused or failed call raises the matching
    `PluginError` (e.g. `ClientError` when the identity may not do it).
    """

    def __init__(self, transport: Transport | None) -> None:
        self._transport = transport

    def call(self, name: str, **args: Any) -> Any:
        """The generic form: `ctx.host.call("task.create", template_name=..., input=...)`."""
        if self._transport is None:
            from .errors import FatalError

            raise FatalError(f"host call {name!r}: no host connection in this context")
        return self._transport(name, args)

    # Typed helpers; each is `call` with a fixed name.
    def create_task(self, template_name: str, input: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
        """Create a task (options: resolver_usernames, resolver_groups, watcher_usernames, watcher_groups,
        tags, delay, comment; batches: `create_batch`). Returns the task as the API shows it (with `id`)."""
        return self.call("task.create", template_name=template_name, input=input or {}, **options)

    def get_task(self, task_id: str) -> dict[str, Any]:
        return self.call("task.get", task_id=task_id)

    def create_batch(self, template_name: str, inputs: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        """Create a batch of tasks (options: common_input, tags, resolver_usernames, ...)."""
        return self.call("batch.create", template_name=template_name, inputs=inputs, **options)

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        return self.call("batch.get", batch_id=batch_id)

    def create_callback(self, **options: Any) -> dict[str, Any]:
        """Create a callback for this step; returns `{"id", "secret", "url", ...}`."""
        return self.call("callback.create", **options)

    def get_callback(self, callback_id: str) -> dict[str, Any]:
        return self.call("callback.get", callback_id=callback_id)

    def cache_get(self, key: str) -> Any:
        return self.call("cache.get", key=key)

    def cache_set(self, key: str, value: Any, ttl: str | int | None = None) -> dict[str, Any]:
        """Cache `value` under `key`; `ttl`: seconds or a Go duration (`"10m"`), none or 0 = no expiry.
        Returns `{"key", "cached"}`."""
        return self.call("cache.set", key=key, value=value, ttl=ttl)

    def set_tags(self, tags: dict[str, str]) -> None:
        """Set tags on the task (same as returning them in a `Result`, but immediate)."""
        self.call("tags.set", tags=tags)


@dataclass
class Context:
    """The execution context of one step attempt."""

    step_name: str = ""
    task_id: str = ""
    resolution_id: str = ""
    scratch_dir: str = ""
    context: dict[str, Any] | None = None  # the rendered `ActionPlugin.context(step_name)`
    identity: dict[str, Any] = field(default_factory=dict)
    host: HostCalls = field(default_factory=lambda: HostCalls(None))
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("utask.plugin"))
    # The server's settings for this plugin (`ActionPlugin.settings`); last, so positions stay compatible.
    settings: dict[str, Any] = field(default_factory=dict)


# The execution's log file (its stdout and stderr, in its scratch folder) also gets each logger record as it
# is emitted, so the lines written before the sandbox kills an execution (timeout, memory) survive: the
# zygote reads them back from the file. A record starts with LOG_MARK; each further line of a multi-line
# record starts with LOG_CONT. Everything else in the file is the plugin's (and its subprocesses') output.
LOG_MARK = "\x1e"
LOG_CONT = "\x1f"


class StepLogHandler(logging.Handler):
    """Keeps the lines a plugin logs so they are stored with the step: the last `limit` ones in memory
    (`dropped` counts the earlier ones), and, given `fd`, each one written to the execution's log file at
    once (at most `budget` bytes: the file's size is limited, and the plugin's own output shares it)."""

    def __init__(self, limit: int = 1000, fd: int | None = None, budget: int = 1 << 20) -> None:
        # Not `logging.Handler.__init__`: it creates a lock and registers the handler in logging's global
        # list under the module lock, shared state every forked execution would write (copy-on-write
        # faults). Emitting only appends to a list, which needs no lock.
        self._name: str | None = None
        self._closed = False
        self.level = logging.DEBUG
        self.filters: list = []
        self.lock = None
        self.formatter = _FORMATTER
        self.lines: list[str] = []
        self.limit = limit
        self.dropped = 0
        self.fd = fd
        self.budget = budget

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        lines = self.lines
        lines.append(line)
        if len(lines) > self.limit:
            del lines[0]
            self.dropped += 1
        if self.fd is not None:
            data = (LOG_MARK + line.replace("\n", "\n" + LOG_CONT) + "\n").encode("utf-8", "replace")
            self.budget -= len(data)
            if self.budget < 0:
                self.fd = None  # enough for the file: keep its room for the plugin's own output
                return
            try:
                os.write(self.fd, data)
            except OSError:
                self.fd = None


_FORMATTER = logging.Formatter("%(levelname)s %(message)s")


def step_logger(step_name: str, fd: int | None = None, budget: int = 1 << 20) -> tuple[logging.Logger, StepLogHandler]:
    # A logger outside logging's registry: registering one (and setLevel) walks every logger, which in a
    # forked execution means copy-on-write faults across the whole shared heap.
    logger = logging.Logger(f"utask.step.{step_name or 'step'}", logging.DEBUG)
    logger.propagate = False
    handler = StepLogHandler(fd=fd, budget=budget)
    logger.handlers.append(handler)  # not addHandler(): it takes logging's module lock, shared state
    return logger, handler


def split_log(text: str) -> tuple[list[str], list[str], int]:
    """An execution's log file (or its tail, starting at a line) → (logger records, output lines, count of
    continuation lines whose record started before `text`, left out)."""
    lines = text.split("\n")  # not splitlines(): it splits at LOG_MARK too
    if lines[-1] == "":
        lines.pop()
    if LOG_MARK not in text and LOG_CONT not in text:
        return [], lines, 0
    records: list[str] = []
    output: list[str] = []
    orphans = 0
    for line in lines:
        if line.startswith(LOG_CONT):
            if records:
                records[-1] += "\n" + line[1:]
            else:
                orphans += 1
            continue
        before, mark, record = line.partition(LOG_MARK)
        if before:  # output written without a newline just before the record
            output.append(before)
        if mark:
            records.append(record)
    return records, output, orphans
