"""The `utask-cfg` item (reference §9.5): parsed, validated, defaults applied.

Error texts that µTask prints at start-up are kept (`failed to parse "resource_acquire_timeout": ...`,
`Admin user list can't be empty`, `<x> compression algorithm not found`, ...); the others name the key.
The `sandbox` section is ours: it is passed through as a dict, `utask.core.sandbox` parses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .durations import DurationError, parse_go_duration
from .errors import ConfigError

ITEM = "utask-cfg"
NOTIFICATION_TYPES = ("task_state_update", "task_validation", "task_step_update")
NOTIFY_BACKEND_TYPES = ("webhook", "slack", "opsgenie")
COMPRESSION_ALGORITHMS = ("noop", "gzip")
# Deliberate difference (DESIGN §6): these items are never readable by templates through `.config`.
ALWAYS_CONCEALED = ("database", "encryption-key", "utask-cfg", "basic-auth", "groups-auth")


KNOWN_KEYS = frozenset({
    "application_name", "admin_usernames", "admin_groups", "completed_task_expiration", "audit_retention",
    "shutdown_grace_period", "shutdown_timeout",
    "notify_config",
    "notify_actions", "database_config", "concealed_secrets", "resource_limits", "resource_acquire_timeout",
    "max_concurrent_executions", "max_concurrent_executions_from_crashed", "delay_between_crashed_tasks_resolution",
    "base_url", "dashboard_path_prefix", "dashboard_api_path_prefix", "dashboard_sentry_dsn",
    "steps_compression_algorithm", "server_options", "sandbox",
})


def _err(problem: str) -> ConfigError:
    return ConfigError(ITEM, problem)


def _str(raw: dict, key: str, default: str = "") -> str:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _err(f'"{key}" must be a string')
    return value


def _str_list(raw: dict, key: str) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(f'"{key}" must be a list of strings')
    return list(value)


def _int(raw: dict, key: str, default: int) -> int:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(f'"{key}" must be an integer')
    return value


def _duration(raw: dict, key: str, default: str) -> timedelta:
    value = raw.get(key)
    if value is None or value == "":
        value = default
    if not isinstance(value, str):
        raise _err(f'failed to parse "{key}": expected a duration string such as "{default}"')
    try:
        return parse_go_duration(value)
    except DurationError as e:
        raise _err(f'failed to parse "{key}": {e}') from e


_UNSAFE_IN_PAGE = set('"\'<>\\`') | {chr(c) for c in range(33)} | {chr(127)}


def _page_value(raw: dict, key: str) -> str:
    """A value the dashboard writes into its pages as it is (µTask's placeholders, in an HTML attribute
    and in JavaScript strings): a path or a URL, so quotes, angle brackets, backslashes, backquotes,
    spaces and control characters can only be a mistake, and would break the page."""
    value = _str(raw, key)
    bad = sorted(set(value) & _UNSAFE_IN_PAGE)
    if bad:
        raise _err(f'"{key}" must be a path or a URL: it contains {", ".join(repr(c) for c in bad)}')
    return value


def _dict(raw: dict, key: str) -> dict:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _err(f'"{key}" must be an object')
    return value


@dataclass(frozen=True)
class DatabaseConfig:
    max_open_conns: int = 50
    max_idle_conns: int = 30
    conn_max_lifetime: int = 60  # seconds
    config_name: str = "database"

    @classmethod
    def parse(cls, raw: Any) -> DatabaseConfig:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise _err('"database_config" must be an object')
        d = cls()

        def num(key: str, default: int) -> int:
            v = _int(raw, key, default)
            return default if v < 0 else v  # µTask: negative values mean "use the default"

        return cls(
            max_open_conns=num("max_open_conns", d.max_open_conns),
            max_idle_conns=num("max_idle_conns", d.max_idle_conns),
            conn_max_lifetime=num("conn_max_lifetime", d.conn_max_lifetime),
            config_name=_str(raw, "config_name", "") or d.config_name,
        )

    def pool_options(self) -> dict[str, int]:
        """SQLAlchemy QueuePool options matching Go's database/sql limits (0 open conns = unlimited)."""
        if self.max_open_conns == 0:
            return {"pool_size": max(self.max_idle_conns, 1), "max_overflow": -1,
                    "pool_recycle": self.conn_max_lifetime or -1}
        size = max(min(self.max_idle_conns, self.max_open_conns), 1)
        return {"pool_size": size, "max_overflow": max(self.max_open_conns - size, 0),
                "pool_recycle": self.conn_max_lifetime or -1}


@dataclass(frozen=True)
class NotifyAction:
    disabled: bool = False
    notify_backends: tuple[str, ...] = ()  # empty: every configured backend


@dataclass(frozen=True)
class UtaskConfig:
    application_name: str = ""
    admin_usernames: tuple[str, ...] = ()
    admin_groups: tuple[str, ...] = ()
    completed_task_expiration: timedelta = timedelta(hours=720)
    # Ours: how long a task's audit trail outlives the task (counted from its last event); 0 keeps it forever.
    audit_retention: timedelta = timedelta(hours=2160)
    # Ours: at SIGTERM, how long running steps may go on before runs stop waiting for them (µTask: 3 s), and
    # how long the instance waits for its runs in all (µTask: 5 s) before it exits and others take over.
    shutdown_grace_period: timedelta = timedelta(seconds=3)
    shutdown_timeout: timedelta = timedelta(seconds=5)
    notify_config: dict[str, dict] = field(default_factory=dict)
    notify_actions: dict[str, NotifyAction] = field(
        default_factory=lambda: {t: NotifyAction() for t in NOTIFICATION_TYPES})
    database_config: DatabaseConfig = field(default_factory=DatabaseConfig)
    concealed_secrets: tuple[str, ...] = ALWAYS_CONCEALED
    resource_limits: dict[str, int] = field(default_factory=dict)
    resource_acquire_timeout: timedelta = timedelta(minutes=1)
    max_concurrent_executions: int = 100
    max_concurrent_executions_from_crashed: int = 20
    delay_between_crashed_tasks_resolution: timedelta = timedelta(seconds=1)
    base_url: str = ""
    dashboard_path_prefix: str = ""
    dashboard_api_path_prefix: str = ""
    dashboard_sentry_dsn: str = ""
    steps_compression_algorithm: str = "noop"
    max_body_bytes: int = 262144  # server_options.max_body_bytes
    sandbox: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # the item as written, for keys others own

    @property
    def unknown_keys(self) -> list[str]:
        """Keys µTask would ignore silently; the server warns about them (typos such as `admin_username`)."""
        return sorted(set(self.raw) - KNOWN_KEYS)

    @classmethod
    def from_text(cls, text: str) -> UtaskConfig:
        try:
            raw = json.loads(text)
        except ValueError as e:
            raise _err(f"invalid JSON: {e}") from e
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Any) -> UtaskConfig:
        if not isinstance(raw, dict):
            raise _err("must be a JSON object")
        admins = _str_list(raw, "admin_usernames")
        admin_groups = _str_list(raw, "admin_groups")
        if not admins and not admin_groups:
            raise _err("Admin user list can't be empty (set admin_usernames or admin_groups)")

        notify_config = _dict(raw, "notify_config")
        for name, backend in notify_config.items():
            if not isinstance(backend, dict):
                raise _err(f'notify_config "{name}" must be an object')
            if backend.get("type") not in NOTIFY_BACKEND_TYPES:
                raise _err(f'notify_config "{name}": failed to identify backend type: {backend.get("type")}')

        actions = {t: NotifyAction() for t in NOTIFICATION_TYPES}
        for name, value in _dict(raw, "notify_actions").items():
            if name not in NOTIFICATION_TYPES:
                raise _err(f'notify_actions: unknown notification type "{name}" '
                           f"(one of {', '.join(NOTIFICATION_TYPES)})")
            if not isinstance(value, dict):
                raise _err(f'notify_actions "{name}" must be an object')
            disabled = value.get("disabled", False)
            if not isinstance(disabled, bool):
                raise _err(f'notify_actions "{name}": "disabled" must be a boolean')
            backends = _str_list(value, "notify_backends")
            for b in backends:
                if b not in notify_config:
                    raise _err(f'notify_actions "{name}": unknown backend "{b}" (not in notify_config)')
            actions[name] = NotifyAction(disabled, tuple(backends))

        limits = _dict(raw, "resource_limits")
        for label, n in limits.items():
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise _err(f'resource_limits "{label}" must be a non-negative integer')

        max_exec = _int(raw, "max_concurrent_executions", 100)
        max_crashed = _int(raw, "max_concurrent_executions_from_crashed", 20)
        for key, v in (("max_concurrent_executions", max_exec),
                       ("max_concurrent_executions_from_crashed", max_crashed)):
            if v < -1:
                raise _err(f'"{key}" must be -1 (unlimited), 0 or a positive integer')
        if max_exec >= 0 and max_crashed > max_exec:
            raise _err("max_concurrent_executions_from_crashed can't be greater than max_concurrent_executions")

        algo = _str(raw, "steps_compression_algorithm") or "noop"
        if algo not in COMPRESSION_ALGORITHMS:
            raise _err(f"{algo} compression algorithm not found")

        server_options = _dict(raw, "server_options")
        max_body = _int(server_options, "max_body_bytes", 0)
        if max_body < 0:
            raise _err('"server_options.max_body_bytes" must be a positive integer')
        if max_body == 0:
            max_body = 262144  # µTask: unset or zero means the default

        concealed = list(ALWAYS_CONCEALED)
        for name in _str_list(raw, "concealed_secrets"):
            if name not in concealed:
                concealed.append(name)
        db_config = DatabaseConfig.parse(raw.get("database_config"))
        if db_config.config_name not in concealed:
            concealed.append(db_config.config_name)

        audit_retention = _duration(raw, "audit_retention", "2160h")
        if audit_retention < timedelta(0):
            raise _err('"audit_retention" must not be negative (0 keeps audit trails forever)')
        grace = _duration(raw, "shutdown_grace_period", "3s")
        shutdown_timeout = _duration(raw, "shutdown_timeout", "5s")
        if grace < timedelta(0) or shutdown_timeout < grace:
            raise _err('"shutdown_grace_period" must be between 0 and "shutdown_timeout" (defaults "3s" and "5s")')

        sandbox = raw.get("sandbox")
        if sandbox is not None and not isinstance(sandbox, dict):
            raise _err('"sandbox" must be an object')

        return cls(
            application_name=_str(raw, "application_name"),
            admin_usernames=tuple(admins),
            admin_groups=tuple(admin_groups),
            completed_task_expiration=_duration(raw, "completed_task_expiration", "720h"),
            audit_retention=audit_retention,
            shutdown_grace_period=grace,
            shutdown_timeout=shutdown_timeout,
            notify_config=notify_config,
            notify_actions=actions,
            database_config=db_config,
            concealed_secrets=tuple(concealed),
            resource_limits=dict(limits),
            resource_acquire_timeout=_duration(raw, "resource_acquire_timeout", "1m"),
            max_concurrent_executions=max_exec,
            max_concurrent_executions_from_crashed=max_crashed,
            delay_between_crashed_tasks_resolution=_duration(raw, "delay_between_crashed_tasks_resolution", "1s"),
            base_url=_str(raw, "base_url"),
            dashboard_path_prefix=_page_value(raw, "dashboard_path_prefix"),
            dashboard_api_path_prefix=_page_value(raw, "dashboard_api_path_prefix"),
            dashboard_sentry_dsn=_page_value(raw, "dashboard_sentry_dsn"),
            steps_compression_algorithm=algo,
            max_body_bytes=max_body,
            sandbox=dict(sandbox or {}),
            raw=raw,
        )
