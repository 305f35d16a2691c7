"""The `{{ cookiecutter.plugin_name }}` action: returns its `message` configuration as `{"message": ...}`."""

from __future__ import annotations

from dataclasses import dataclass

from utask_sdk import ActionPlugin, hookimpl


@dataclass
class Config:
    """The step's configuration; the SDK checks types and names the faulty field."""

    message: str = ""


class Plugin(ActionPlugin):
    name = "{{ cookiecutter.plugin_name }}"  # the action `type` in task templates
    version = "{{ cookiecutter.version }}"
    config_model = Config

    def execute(self, ctx, config: Config) -> dict:
        ctx.logger.info("returning the message of step %s", ctx.step_name)
        return {"message": config.message}


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Plugin()]
