"""The `sandbox` section of utask-cfg: parsing, validation, per-plugin resolution.

    "sandbox": {
      "defaults": {"timeout": "10m", "memory_mb": 512, "cpu_seconds": 600, "max_processes": 64,
                   "max_open_files": 256, "max_file_size_mb": 64, "max_output_mb": 8, "network": false},
      "plugins": {"<name>": {... same keys ...}},
      "required_layers": ["seccomp", ...],
      "idle_timeout": "5m",
      "prestart": ["echo", "http"]
    }

Extra keys accepted in `defaults` and `plugins.<name>`: `cpus` (CPU quota in CPUs, default: all of them),
`max_parallel` (executions at once in one worker), `max_executions` (recycle a worker after that many),
`writable_paths`, `readable_paths`, and in `plugins.<name>` only `settings` (an object: the plugin's own
server-side settings, e.g. `{"scripts_path": "/srv/scripts"}` for `script`).

Worker life cycle: a plugin's warm worker is started on the first execution that needs it (concurrent
first executions share one start), stays warm while used, and is stopped once it has been idle for
`idle_timeout` (a Go duration or seconds; default `"5m"`; `0` keeps it forever). Plugins named in
`prestart` (or `["all"]`) get their worker at start-up, as before lazy workers, and keep it warm whatever
`idle_timeout` says. Stdlib only: the sandbox boot loads this package before confinement.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from .layers import ALL_LAYERS


class SandboxConfigError(ValueError):
    """An invalid `sandbox` section; the message names the faulty key."""


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration string (`"10m"`, `"1.5s"`, `"1h30m"`, `"500ms"`) in seconds."""
    s = text.strip()
    if s in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if s.startswith("-") else 1.0
    s = s.lstrip("+-")
    pos, total = 0, 0.0
    while pos < len(s):
        m = _DURATION.match(s, pos)
        if not m:
            raise ValueError(f"time: invalid duration {text!r}")
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if not s:
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * total


def format_duration(seconds: float) -> str:
    """Seconds as a short Go-like duration (`4s`, `1.5s`, `10m0s`, `250ms`)."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)}m{secs:g}s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)}h{int(minutes)}m{secs:g}s"


@dataclass(frozen=True)
class SandboxLimits:
    """The resolved limits and profile of one plugin's worker."""

    timeout: float = 600.0
    memory_mb: int = 512
    cpu_seconds: int = 600
    max_processes: int = 64
    max_open_files: int = 256
    max_file_size_mb: int = 64
    # The largest frame an execution may send: its result (output, metadata, logs) or a host call; also
    # bounds the JSON values the server decodes from it (see core/plugins/worker.py).
    max_output_mb: int = 8
    network: bool = False
    # CFS quota in CPUs. Default: every CPU (the layer is in place, an operator lowers it per plugin); a
    # low quota throttles a busy worker's forked executions and costs throughput and tail latency.
    cpus: float = float(os.cpu_count() or 1)
    max_parallel: int = 32
    max_executions: int = 1000
    writable_paths: tuple[str, ...] = ()
    readable_paths: tuple[str, ...] = ()
    # The plugin's server-side settings (ActionPlugin.settings), resolved by the plugin host.
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "timeout": self.timeout, "memory_mb": self.memory_mb, "cpu_seconds": self.cpu_seconds,
            "max_processes": self.max_processes, "max_open_files": self.max_open_files,
            "max_file_size_mb": self.max_file_size_mb, "max_output_mb": self.max_output_mb,
            "network": self.network, "cpus": self.cpus,
            "max_parallel": self.max_parallel, "max_executions": self.max_executions,
            "writable_paths": list(self.writable_paths), "readable_paths": list(self.readable_paths),
            "settings": dict(self.settings),
        }


@dataclass(frozen=True)
class SandboxConfig:
    defaults: SandboxLimits = field(default_factory=SandboxLimits)
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)  # validated overrides, by plugin name
    required_layers: frozenset[str] = frozenset()
    idle_timeout: float = 300.0  # seconds a worker may stay idle before it is stopped; 0: never stopped
    prestart: tuple[str, ...] = ()  # plugins whose worker starts with the server and stays warm ("all": all)

    def limits_for(self, plugin: str, declared: dict[str, Any] | None = None) -> SandboxLimits:
        """defaults < what the plugin's own profile declares < the operator's `plugins.<name>`."""
        limits = self.defaults
        if declared:
            limits = replace(limits, **_checked(declared, f"plugin {plugin!r} sandbox profile", strict=False))
        return replace(limits, **self.plugins.get(plugin, {}))

    def required_for(self, environ: dict[str, str] | None = None) -> frozenset[str]:
        """Required layers; `SANDBOX_REQUIRE=all` (CI) makes every layer required."""
        env = os.environ if environ is None else environ
        wanted = env.get("SANDBOX_REQUIRE", "").strip()
        if wanted == "all":
            return frozenset(ALL_LAYERS)
        extra = {w.strip() for w in wanted.split(",") if w.strip()}
        return self.required_layers | extra


def _positive_int(key: str, value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SandboxConfigError(f"{where}.{key}: must be a positive integer, got {value!r}")
    try:
        number = int(str(value))
    except ValueError:
        raise SandboxConfigError(f"{where}.{key}: must be a positive integer, got {value!r}") from None
    if number <= 0:
        raise SandboxConfigError(f"{where}.{key}: must be a positive integer, got {value!r}")
    return number


def _checked(raw: Any, where: str, strict: bool = True) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SandboxConfigError(f"{where}: must be an object")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "timeout":
            try:
                seconds = parse_duration(value) if isinstance(value, str) else float(value)
            except (TypeError, ValueError):
                raise SandboxConfigError(f"{where}.timeout: invalid duration {value!r}") from None
            if seconds <= 0:
                raise SandboxConfigError(f"{where}.timeout: must be positive, got {value!r}")
            out["timeout"] = seconds
        elif key in ("memory_mb", "cpu_seconds", "max_processes", "max_open_files", "max_file_size_mb",
                     "max_output_mb", "max_parallel", "max_executions"):
            out[key] = _positive_int(key, value, where)
        elif key == "network":
            if not isinstance(value, bool):
                raise SandboxConfigError(f"{where}.network: must be a boolean, got {value!r}")
            out["network"] = value
        elif key == "cpus":
            try:
                cpus = float(str(value))
            except ValueError:
                raise SandboxConfigError(f"{where}.cpus: must be a positive number, got {value!r}") from None
            if cpus <= 0 or isinstance(value, bool):
                raise SandboxConfigError(f"{where}.cpus: must be a positive number, got {value!r}")
            out["cpus"] = cpus
        elif key in ("writable_paths", "readable_paths"):
            if not isinstance(value, list | tuple) or not all(isinstance(p, str) and os.path.isabs(p) for p in value):
                raise SandboxConfigError(f"{where}.{key}: must be a list of absolute paths")
            out[key] = tuple(value)
        elif key == "settings" and where.startswith("sandbox.plugins."):
            if not isinstance(value, dict):
                raise SandboxConfigError(f"{where}.settings: must be an object")
            out["settings"] = dict(value)
        elif strict:
            raise SandboxConfigError(f"{where}: unknown key {key!r}")
    return out


def parse_sandbox_config(raw: Any) -> SandboxConfig:
    """Validate the `sandbox` section (None or missing keys: the defaults)."""
    if raw is None:
        return SandboxConfig()
    if isinstance(raw, SandboxConfig):
        return raw
    if not isinstance(raw, dict):
        raise SandboxConfigError("sandbox: must be an object")
    unknown = set(raw) - {"defaults", "plugins", "required_layers", "idle_timeout", "prestart"}
    if unknown:
        raise SandboxConfigError(f"sandbox: unknown key {sorted(unknown)[0]!r}")
    defaults = replace(SandboxLimits(), **_checked(raw.get("defaults") or {}, "sandbox.defaults"))
    plugins_raw = raw.get("plugins") or {}
    if not isinstance(plugins_raw, dict):
        raise SandboxConfigError("sandbox.plugins: must be an object")
    plugins = {name: _checked(value, f"sandbox.plugins.{name}") for name, value in plugins_raw.items()}
    required = raw.get("required_layers") or []
    if not isinstance(required, list) or not all(isinstance(x, str) for x in required):
        raise SandboxConfigError("sandbox.required_layers: must be a list of layer names")
    for name in required:
        if name != "all" and name not in ALL_LAYERS:
            raise SandboxConfigError(
                f"sandbox.required_layers: unknown layer {name!r} (known: {', '.join(ALL_LAYERS)}, all)")
    layers = frozenset(ALL_LAYERS) if "all" in required else frozenset(required)
    idle = raw.get("idle_timeout", "5m")
    try:
        idle_timeout = parse_duration(idle) if isinstance(idle, str) else float(idle)
    except (TypeError, ValueError):
        raise SandboxConfigError(f"sandbox.idle_timeout: invalid duration {idle!r}") from None
    if idle_timeout < 0 or isinstance(idle, bool):
        raise SandboxConfigError(f"sandbox.idle_timeout: must be a duration >= 0, got {idle!r}")
    prestart = raw.get("prestart") or []
    if not isinstance(prestart, list) or not all(isinstance(x, str) and x for x in prestart):
        raise SandboxConfigError(f"sandbox.prestart: must be a list of plugin names (or [\"all\"]), got {prestart!r}")
    return SandboxConfig(defaults=defaults, plugins=plugins, required_layers=layers, idle_timeout=idle_timeout,
                         prestart=tuple(dict.fromkeys(prestart)))
