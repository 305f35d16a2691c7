"""The action plugin contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .protocol import PROTOCOL_VERSION


@dataclass
class Result:
    """What `execute` may return instead of a bare dict: output, metadata and tags of the step."""

    output: Any = None
    metadata: Any = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxProfile:
    """What the plugin needs from its sandbox; the operator's `sandbox.plugins.<name>` settings win.

    network: keep the host's network (no private network namespace, sockets allowed).
    writable_paths: host paths the plugin may write besides its scratch directory.
    readable_paths: host paths it must read besides the system and its own code.
    limits: defaults for `timeout`, `memory_mb`, `cpu_seconds`, `max_processes`, `max_open_files`,
    `max_file_size_mb`, `max_output_mb` (same names and units as the `sandbox` section of utask-cfg).
    readable_settings: names of plugin settings (`ActionPlugin.settings`) whose values are host paths the
    plugin must read (and execute from); the server makes them absolute and adds them to the readable paths,
    e.g. the `script` plugin's `scripts_path`.
    """

    network: bool = False
    writable_paths: tuple[str, ...] = ()
    readable_paths: tuple[str, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)
    readable_settings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "writable_paths": list(self.writable_paths),
            "readable_paths": list(self.readable_paths),
            "limits": dict(self.limits),
            "readable_settings": list(self.readable_settings),
        }


class ActionPlugin:
    """Base class of an action plugin. Subclass it, set `name` and `version`, implement `execute`.

    Optional:
    - `config_model`: a dataclass (or a pydantic model) the merged configuration is decoded into before
      `validate`/`resources`/`execute` (unknown keys ignored, type mismatches name the field; fields typed
      as dicts are merged key by key over the base configuration, the others replaced);
    - `validate(config)`: raise `ConfigError`/`ClientError` to reject a configuration at template load;
    - `resources(config)`: resource labels the step holds while it runs (e.g. `["socket", "url:host"]`);
    - `context(step_name)`: a dict whose string fields are templates the engine renders before execution
      (available as `ctx.context`);
    - `sandbox`: a `SandboxProfile`;
    - `default_settings`: the plugin's server-side settings when the operator gives none. The server hands
      the resolved settings (defaults < `PluginHost(plugin_settings=...)`, e.g. from command-line flags <
      `sandbox.plugins.<name>.settings` of utask-cfg) to the worker: `self.settings` in every operation and
      `ctx.settings` in `execute`;
    - `preload`: names of modules the plugin imports inside its functions rather than at the top of its
      module (heavy dependencies, e.g. `("asyncssh",)`): its warm worker imports them once before its first
      execution, so executions never pay for them, while the server (which imports the plugin module for
      its metadata only) and the start-up catalog process never load them.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0.0.0"
    config_model: ClassVar[type | None] = None
    sandbox: ClassVar[SandboxProfile] = SandboxProfile()
    metadata_schema: ClassVar[dict[str, Any] | None] = None
    default_settings: ClassVar[dict[str, Any]] = {}
    preload: ClassVar[tuple[str, ...]] = ()
    # Set on the instance by the worker when it loads the plugin (see `default_settings`).
    settings: dict[str, Any] = {}  # noqa: RUF012 - replaced per instance, never mutated
    # The protocol this plugin was built against; the server refuses a different major version.
    protocol: ClassVar[str] = PROTOCOL_VERSION

    def validate(self, config: Any) -> None:
        """Check a configuration at template load (raw, before templating). Default: accept."""

    def resources(self, config: Any) -> list[str]:
        return []

    def context(self, step_name: str) -> dict[str, Any] | None:
        return None

    def execute(self, ctx: Any, config: Any) -> Any:
        raise NotImplementedError(f"plugin {self.name!r} does not implement execute()")

    def describe(self) -> dict[str, Any]:
        """How the plugin presents itself in the handshake and in `utask plugins`."""
        return {
            "name": self.name,
            "version": self.version,
            "protocol": self.protocol,
            "sandbox": self.sandbox.to_dict(),
        }
