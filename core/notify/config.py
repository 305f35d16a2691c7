"""`utask-cfg.notify_config` → backends (reference §11.2, §11.3), with µTask's start-up error texts.

Every problem raises `NotifyConfigError` (one line); the composition root turns it into a start-up error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .backends import OPSGENIE, OPSGENIE_ZONES, SLACK, WEBHOOK, OpsgenieSender, SlackSender, WebhookSender
from .messages import ALWAYS, FAILURE_ONLY, FAILURE_OR_DONE, NOTIFICATION_TYPES, SILENT, TASK_VALIDATION

CREDENTIALS_ITEM = "notify-webhook-credentials"
ERR_RETRIEVE_CFG = "failed to retrieve cfg"


class NotifyConfigError(Exception):
    """A notification backend cannot be built; `str()` is µTask's start-up message."""


@dataclass(frozen=True)
class TemplateStrategy:
    templates: tuple[str, ...]
    notification_strategy: str


@dataclass
class Backend:
    name: str
    sender: Any  # WebhookSender | SlackSender | OpsgenieSender
    default_strategy: dict[str, str] = field(default_factory=dict)
    template_strategies: dict[str, list[TemplateStrategy]] = field(default_factory=dict)


def _go_quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _go_slice(items: tuple[str, ...]) -> str:
    """Go's %#v of a []string."""
    return "[]string{" + ", ".join(_go_quote(s) for s in items) + "}"


def _go_map(m: Mapping[str, str]) -> str:
    """Go's %q of a map[string]string (keys sorted)."""
    return "map[" + " ".join(f"{_go_quote(k)}:{_go_quote(v)}" for k, v in sorted(m.items())) + "]"


def _strategy_error(action: str, strategy: Any) -> str | None:
    if strategy in (ALWAYS, SILENT):
        return None
    if strategy in (FAILURE_ONLY, FAILURE_OR_DONE):
        return "not_allowed" if action == TASK_VALIDATION else None
    return "unknown"


def parse_strategies(raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, list[TemplateStrategy]]]:
    """µTask's validateAndNormalizeNotificationStrategy: missing default strategies become `always`."""
    default = raw.get("default_notification_strategy") or {}
    if not isinstance(default, dict) or not all(isinstance(v, str) for v in default.values()):
        raise NotifyConfigError("invalid default_notification_strategy: must be a map of strings")
    per_template_raw = raw.get("template_notification_strategies") or {}
    if not isinstance(per_template_raw, dict):
        raise NotifyConfigError("invalid template_notification_strategies: must be a map of lists")
    for action in sorted(default):
        if action not in NOTIFICATION_TYPES:
            raise NotifyConfigError(
                f"invalid action in default_notification_strategy: {_go_quote(action)} is not allowed value")
    default = dict(default)
    per_template: dict[str, list[TemplateStrategy]] = {}
    for action, rules in per_template_raw.items():
        if not isinstance(rules, list):
            raise NotifyConfigError(f"invalid template_notification_strategies for {_go_quote(action)}: "
                                    "must be a list")
        parsed = []
        for rule in rules:
            templates = rule.get("templates") if isinstance(rule, dict) else None
            strategy = rule.get("notification_strategy", "") if isinstance(rule, dict) else None
            if (not isinstance(templates, list | type(None)) or not all(isinstance(t, str) for t in templates or ())
                    or not isinstance(strategy, str)):
                raise NotifyConfigError(f"invalid template_notification_strategies for {_go_quote(action)}: "
                                        "expected {templates: [names], notification_strategy: name}")
            parsed.append(TemplateStrategy(tuple(templates or ()), strategy))
        per_template[action] = parsed
    for action in NOTIFICATION_TYPES:
        strategy = default.setdefault(action, ALWAYS)
        problem = _strategy_error(action, strategy)
        if problem == "not_allowed":
            raise NotifyConfigError(f"invalid default_notification_strategy for action {_go_quote(action)}: "
                                    f"{_go_quote(strategy)} is not allowed for this action")
        if problem == "unknown":
            raise NotifyConfigError(f"invalid default_notification_strategy: {_go_map(default)} is not a valid value")
        for name in sorted(per_template):
            if name not in NOTIFICATION_TYPES:
                raise NotifyConfigError(f"invalid action name {_go_quote(name)} found in notification_strategy: "
                                        f"{_go_quote(name)} is not a valid value")
            for rule in per_template[name]:
                problem = _strategy_error(name, rule.notification_strategy)
                if problem == "not_allowed":
                    raise NotifyConfigError(
                        f"invalid notification_strategy for templates {_go_slice(rule.templates)} and action "
                        f"{_go_quote(name)}: {_go_quote(rule.notification_strategy)} is not allowed for this action")
                if problem == "unknown":
                    raise NotifyConfigError(
                        f"invalid notification_strategy for templates {_go_slice(rule.templates)}: "
                        f"{_go_quote(rule.notification_strategy)} is not a valid value")
    return default, per_template


def _str_field(cfg: Mapping[str, Any], key: str, btype: str, name: str) -> str:
    value = cfg.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise NotifyConfigError(f'{ERR_RETRIEVE_CFG}: {btype}, {name}: "{key}" must be a string')
    return value


def _webhook_credentials(store: Any, credentials_name: str, name: str) -> tuple[str, str]:
    """The `notify-webhook-credentials` items whose `credentials_name` matches: exactly one."""
    found = []
    for item in (store.get_all(CREDENTIALS_ITEM) if store is not None else []):
        try:
            data = json.loads(item.value)
        except ValueError as e:
            raise NotifyConfigError(f"{ERR_RETRIEVE_CFG}: {WEBHOOK}, {name}: {e}") from None
        if isinstance(data, dict) and data.get("credentials_name") == credentials_name:
            found.append(data)
    if not found:
        raise NotifyConfigError(f"{ERR_RETRIEVE_CFG}: {WEBHOOK}, {name}: no credential found with name "
                                f"{_go_quote(credentials_name)}")
    if len(found) > 1:
        raise NotifyConfigError(f"{ERR_RETRIEVE_CFG}: {WEBHOOK}, {name}: more than one credentials found with name "
                                f"{_go_quote(credentials_name)}")
    return str(found[0].get("username") or ""), str(found[0].get("password") or "")


def _timeout_seconds(text: str) -> float:
    if text == "":
        return 30.0
    from utask.core.config.durations import DurationError, parse_go_duration_ns

    try:
        return parse_go_duration_ns(text) / 1e9
    except DurationError as e:
        raise NotifyConfigError(f"failed to instantiate opsgenie notification sender: {e}") from None


def build_backend(name: str, raw: Any, store: Any = None, opsgenie_urls: Mapping[str, str] | None = None) -> Backend:
    if not isinstance(raw, dict):
        raise NotifyConfigError(f'notify_config "{name}" must be an object')
    default, per_template = parse_strategies(raw)
    btype = raw.get("type")
    cfg = raw.get("config") or {}
    if btype in (WEBHOOK, SLACK, OPSGENIE) and not isinstance(cfg, dict):
        raise NotifyConfigError(f"{ERR_RETRIEVE_CFG}: {btype}, {name}: config must be an object")
    sender: Any
    if btype == OPSGENIE:
        zone = _str_field(cfg, "zone", btype, name)
        urls = {**OPSGENIE_ZONES, **(opsgenie_urls or {})}
        if zone not in urls:
            raise NotifyConfigError(f"failed to instantiate opsgenie notification sender: opsgenie zone "
                                    f"{_go_quote(zone)} not found")
        sender = OpsgenieSender(zone, _str_field(cfg, "api_key", btype, name),
                                _timeout_seconds(_str_field(cfg, "timeout", btype, name)), urls[zone].rstrip("/"))
    elif btype == SLACK:
        sender = SlackSender(_str_field(cfg, "webhook_url", btype, name))
    elif btype == WEBHOOK:
        username = _str_field(cfg, "username", btype, name)
        password = _str_field(cfg, "password", btype, name)
        credentials_name = _str_field(cfg, "credentials_name", btype, name)
        if credentials_name:
            username, password = _webhook_credentials(store, credentials_name, name)
        headers = cfg.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise NotifyConfigError(f'{ERR_RETRIEVE_CFG}: {btype}, {name}: "headers" must be a map of strings')
        sender = WebhookSender(_str_field(cfg, "webhook_url", btype, name), username, password, dict(headers))
    else:
        raise NotifyConfigError(f"failed to identify backend type: {btype if btype is not None else ''}")
    return Backend(name, sender, default, per_template)
