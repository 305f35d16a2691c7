"""The notification backends of `utask-cfg.notify_config` (reference §11.2): webhook, Slack, Opsgenie.

Each sender is an async `send(client, message, name)` over a shared `httpx.AsyncClient`; failures are
logged (`Error while sending notification on <backend>`), never raised: a notification must not change
what happens to a task.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from utask.core import gojson

from .messages import Message

if TYPE_CHECKING:
    import httpx


def _http_error() -> type[Exception]:
    """httpx is imported when a notification is sent, not with the server (it loads ~10 MB, 0.1+ s)."""
    import httpx

    return httpx.HTTPError

log = logging.getLogger("utask.notify")

WEBHOOK, SLACK, OPSGENIE = "webhook", "slack", "opsgenie"
HTTP_TIMEOUT = 10.0  # webhook and Slack (µTask's http.Client timeout)

# Opsgenie API per zone (the Go SDK's API_URL, API_URL_EU, API_URL_SANDBOX). Tests point a zone at a
# local stub by replacing an entry (or passing `opsgenie_urls` to the builder).
OPSGENIE_ZONES = {
    "global": "https://api.opsgenie.com",
    "eu": "https://api.eu.opsgenie.com",
    "sandbox": "https://api.sandbox.opsgenie.com",
}


def _log_error(err: Any, m: Message, backend: str, name: str, body: str | None = None) -> None:
    extra = {"notify_backend": backend, "notifier_name": name, "task_id": m.task_id,
             "notification_type": m.notification_type}
    if body is not None:
        extra["response_body"] = body
    log.error("Error while sending notification on %s: %s (%s)", backend, err,
              ", ".join(f"{k}={v}" for k, v in extra.items()), extra={"notify": extra})


@dataclass
class WebhookSender:
    webhook_url: str
    username: str = ""
    password: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    type: str = WEBHOOK

    @staticmethod
    def body(m: Message) -> dict[str, str]:
        """The flat JSON object: `message`, `notification_type`, then every field (fields win, like Go)."""
        return {"message": m.main_message, "notification_type": m.notification_type, **m.fields}

    async def send(self, client: httpx.AsyncClient, m: Message, name: str) -> None:
        # Go sets no Content-Type; a JSON body is announced as such unless the operator's headers say otherwise.
        headers = {"Content-Type": "application/json", **self.headers}
        auth = (self.username, self.password) if self.username and self.password else None
        try:
            res = await client.post(self.webhook_url, content=gojson.dumps(self.body(m)).encode("utf-8"),
                                    headers=headers, auth=auth, timeout=HTTP_TIMEOUT)
        except (_http_error(), ValueError) as e:
            _log_error(e, m, WEBHOOK, name)
            return
        if res.status_code >= 400:
            _log_error(f"failed to send notification using {name!r}: backend returned with status code "
                       f"{res.status_code}", m, WEBHOOK, name, res.text)


def _go_title(text: str) -> str:
    """Go's deprecated strings.Title: upper-case the first letter of each word."""

    def separator(ch: str) -> bool:
        if ch.isascii():
            return not (ch.isalnum() or ch == "_")
        if ch.isalpha() or ch.isdigit():
            return False
        return ch.isspace()

    out, prev = [], " "
    for ch in text:
        out.append(ch.upper() if separator(prev) else ch)
        prev = ch
    return unicodedata.normalize("NFC", "".join(out))


@dataclass
class SlackSender:
    webhook_url: str
    type: str = SLACK

    @staticmethod
    def body(m: Message, name: str) -> dict[str, Any]:
        """Block Kit: the main message, one field per non-empty field, a divider, where it came from."""
        fields = [{"type": "mrkdwn", "text": f"*{_go_title(key.replace('_', ' '))}:*\n{value}"}
                  for key, value in sorted(m.fields.items()) if value]
        second: dict[str, Any] = {"type": "section"}
        if fields:  # Go's `omitempty` leaves an empty list out
            second["fields"] = fields
        return {"blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": m.main_message}},
            second,
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"🚀 Sent from {name}"}]},
        ]}

    async def send(self, client: httpx.AsyncClient, m: Message, name: str) -> None:
        try:
            res = await client.post(self.webhook_url, content=json.dumps(self.body(m, name)).encode("utf-8"),
                                    headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)
        except (_http_error(), ValueError) as e:
            _log_error(e, m, SLACK, name)
            return
        if res.text != "ok":
            _log_error("non-ok response returned from Slack", m, SLACK, name)


@dataclass
class OpsgenieSender:
    zone: str
    api_key: str
    timeout: float = 30.0
    api_url: str = ""
    type: str = OPSGENIE

    async def send(self, client: httpx.AsyncClient, m: Message, name: str) -> None:
        alias = m.task_id  # one alert per task: created while it runs, closed when it is DONE
        headers = {"Authorization": "GenieKey " + self.api_key, "Content-Type": "application/json",
                   "Accept": "application/json"}
        if m.task_state == "DONE":
            if alias == "":
                _log_error("Identifier can not be empty", m, OPSGENIE, name)
                return
            url = f"{self.api_url}/v2/alerts/{quote(alias, safe='')}/close"
            params: dict[str, str] | None = {"identifierType": "alias"}
            body: dict[str, Any] = {}
        else:
            if m.main_message == "":
                _log_error("message can not be empty", m, OPSGENIE, name)
                return
            url, params = f"{self.api_url}/v2/alerts", None
            body = {"message": m.main_message, "description": m.main_message}
            if alias:
                body["alias"] = alias
            if m.fields:
                body["details"] = dict(m.fields)
            body["note"] = gojson.dumps(dict(m.fields))
        try:
            res = await client.post(url, params=params, content=gojson.dumps(body).encode("utf-8"),
                                    headers=headers, timeout=self.timeout)
        except (_http_error(), ValueError) as e:
            _log_error(e, m, OPSGENIE, name)
            return
        if res.status_code >= 400:
            _log_error(f"opsgenie answered with status code {res.status_code}", m, OPSGENIE, name, res.text)
