"""The example of the SDK's README and of the issue, verbatim."""

from utask_sdk import ActionPlugin, hookimpl, ClientError, ServerError  # noqa: F401,I001


class Hello(ActionPlugin):
    name = "hello"          # the action `type` used in templates
    version = "1.0.0"

    def execute(self, ctx, config):        # config: the rendered configuration (dict)
        return {"greeting": "hi " + config["who"]}   # a dict is the step output


@hookimpl
def utask_action_plugins():
    return [Hello()]
