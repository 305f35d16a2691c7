"""Run an action through the real sandbox from a plugin's own tests.

    from utask_sdk.testing import run_action

    def test_hello():
        result = run_action("hello", {"who": "world"})
        assert result.error is None
        assert result.output == {"greeting": "hi world"}

The plugin is found like the server finds it: through the `utask.plugins` entry points of the installed
distributions (install yours, e.g. `pip install -e .`), plus `modules=[...]` given by dotted name.
This needs the µTask server package (`utask`) installed beside the SDK: the sandbox is the server's.
Numbers in the result are exact JSON numbers (`JSONNumber`, a str subclass); compare with `==` on
`str()`, or use `plain()` to turn them into int/float.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


def _host_module():
    try:
        from utask.core import plugins
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeError("utask_sdk.testing runs plugins in the real sandbox: install the `utask` server "
                           "package in this environment") from err
    return plugins


def _handler(host_calls: dict[str, Callable[..., Any]] | Callable[..., Any] | None):
    """Host calls for the test: a dict `name -> function(**args)` (sync or async), or a handler
    `(identity, name, args)`."""
    if host_calls is None or not isinstance(host_calls, dict):
        return host_calls
    plugins = _host_module()

    async def handler(identity: Any, name: str, args: dict[str, Any]) -> Any:
        if name not in host_calls:
            raise plugins.HostCallError("client", f"host call {name!r} not provided by this test")
        value = host_calls[name](**args)
        if asyncio.iscoroutine(value):
            value = await value
        return value

    return handler


class Sandbox:
    """A plugin host kept up across several runs (one worker start, like the server).

        with Sandbox(sandbox={"defaults": {"timeout": "2s"}}) as sandbox:
            sandbox.run("hello", {"who": "a"})
    """

    def __init__(self, sandbox: dict[str, Any] | None = None, modules: tuple[str, ...] | list[str] = (),
                 entry_points: bool = True, strict: bool = True, **host_options: Any) -> None:
        plugins = _host_module()
        self.host = plugins.PluginHost.from_config(sandbox, modules=tuple(modules), entry_points=entry_points,
                                                   strict=strict, **host_options)
        self._runner = asyncio.Runner()

    def __enter__(self) -> Sandbox:
        self._runner.run(self.host.start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._runner.run(self.host.stop())
        finally:
            self._runner.close()

    def run(self, action_type: str, config: Any = None, *, base_config: Any = None,
            context: dict[str, Any] | None = None, step_name: str = "step", task_id: str = "task-id",
            resolution_id: str = "resolution-id", host_calls: Any = None, timeout: float | None = None):
        plugins = _host_module()
        identity = plugins.ExecutionIdentity(task_id=task_id, resolution_id=resolution_id, step_name=step_name)
        return self._runner.run(self.host.execute(
            action_type, base_config=base_config, config=config, context=context, identity=identity,
            host_calls=_handler(host_calls), timeout=timeout))

    def validate(self, action_type: str, config: Any = None, base_config: Any = None) -> None:
        """Raises `PluginConfigError` when the plugin refuses the configuration."""
        self._runner.run(self.host.validate(action_type, base_config, config))

    def resources(self, action_type: str, config: Any = None, base_config: Any = None) -> list[str]:
        return self._runner.run(self.host.resources(action_type, base_config, config))


def run_action(action_type: str, config: Any = None, *, sandbox: dict[str, Any] | None = None,
               modules: tuple[str, ...] | list[str] = (), **run_options: Any):
    """Start a sandbox, run one execution, stop; returns an `ExecutionResult`
    (`output`, `metadata`, `tags`, `error` = `StepFailure(kind, message)` or None, `logs`)."""
    with Sandbox(sandbox=sandbox, modules=modules) as box:
        return box.run(action_type, config, **run_options)


def plain(value: Any) -> Any:
    """Exact JSON numbers (text) turned into int/float, recursively, for easy comparisons."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if type(value).__name__ == "JSONNumber":
        text = str(value)
        return int(text) if text.lstrip("-").isdigit() else float(text)
    return value
