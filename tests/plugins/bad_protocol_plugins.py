"""Plugins declaring a malformed `protocol` (not a MAJOR.MINOR.PATCH string), beside a good one."""

from utask_sdk import ActionPlugin, hookimpl


class Banana(ActionPlugin):
    name = "banana"
    version = "1.0.0"
    protocol = "banana"

    def execute(self, ctx, config):
        return {}


class Numeric(ActionPlugin):
    name = "numeric"
    version = "1.0.0"
    protocol = 1  # type: ignore[assignment]

    def execute(self, ctx, config):
        return {}


class Fine(ActionPlugin):
    name = "fine"
    version = "1.0.0"

    def execute(self, ctx, config):
        return {"fine": True}


@hookimpl
def utask_action_plugins():
    return [Banana(), Numeric(), Fine()]
