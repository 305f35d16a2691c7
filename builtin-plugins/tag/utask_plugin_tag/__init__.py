"""The tag action plugin (reference §10.11): returns tags the engine applies to the task with the step
(value "" deletes the key, others overwrite). No output, no metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utask_sdk import ActionPlugin, ConfigError, Result, hookimpl

PARENT_TAG = "_utask_parent_task_id"


@dataclass
class TagConfig:
    tags: dict[str, str] | None = None


class Tag(ActionPlugin):
    name = "tag"
    version = "0.1"
    config_model = TagConfig

    def validate(self, config: TagConfig) -> None:
        if config.tags and PARENT_TAG in config.tags:
            raise ConfigError(f'tag name "{PARENT_TAG}" not allowed')

    def execute(self, ctx: Any, config: TagConfig) -> Result:
        # Checked again after templating: a rendered configuration is not the one validated at load.
        self.validate(config)
        return Result(output=None, metadata=None, tags=dict(config.tags or {}))


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Tag()]
