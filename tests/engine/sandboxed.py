"""The real echo plugin through colleague C's sandboxed plugin host, as an engine executor."""

from __future__ import annotations

from utask.core.engine import PluginHostExecutor


async def start_sandboxed_echo():
    from utask.core.plugins import PluginHost

    host = PluginHost.from_config(None)
    host.entries = {name: entry for name, entry in host.entries.items() if name == "echo"}
    await host.start()
    return PluginHostExecutor(host), host.stop
