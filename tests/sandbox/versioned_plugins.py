"""A plugin built against a future, incompatible protocol major version."""

from utask_sdk import ActionPlugin, hookimpl


class Future(ActionPlugin):
    name = "future"
    version = "9.0.0"
    protocol = "2.0.0"

    def execute(self, ctx, config):
        return {}


@hookimpl
def utask_action_plugins():
    return [Future()]
