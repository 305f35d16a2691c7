"""Notifications (reference §11): messages, backends (webhook, Slack, Opsgenie), strategies and routing.

    notifier = build_notifier(settings.utask, settings.store)   # NotifyConfigError on a bad configuration
    notifier.start()                                            # on the server's event loop
    notifier.task_created(task, template, validation=...)       # task_state_update (+ task_validation)
    notifier.task_state(task); notifier.step_update(task, step_name, step_state)
    notifier.deliver(Message(...), ["backend"])                 # the `notify` action: strategy `always`
    await notifier.flush(); await notifier.close()

Sending happens in the background (bounded queue, a few concurrent requests); failures are logged only.
"""

from .backends import OPSGENIE_ZONES, OpsgenieSender, SlackSender, WebhookSender
from .config import (
    CREDENTIALS_ITEM,
    Backend,
    NotifyConfigError,
    TemplateStrategy,
    build_backend,
    parse_strategies,
)
from .dispatcher import Notifier, build_notifier
from .messages import (
    NOTIFICATION_TYPES,
    TASK_STATE_UPDATE,
    TASK_STEP_UPDATE,
    TASK_VALIDATION,
    Message,
    should_deliver,
    task_state_update,
    task_step_update,
    task_validation,
)

__all__ = [
    "CREDENTIALS_ITEM",
    "NOTIFICATION_TYPES",
    "OPSGENIE_ZONES",
    "TASK_STATE_UPDATE",
    "TASK_STEP_UPDATE",
    "TASK_VALIDATION",
    "Backend",
    "Message",
    "Notifier",
    "NotifyConfigError",
    "OpsgenieSender",
    "SlackSender",
    "TemplateStrategy",
    "WebhookSender",
    "build_backend",
    "build_notifier",
    "parse_strategies",
    "should_deliver",
    "task_state_update",
    "task_step_update",
    "task_validation",
]
