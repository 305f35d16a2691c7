"""Confinement of plugin workers: layers applied by the worker to itself, cgroups, kill/timeout, report.

Every module here is stdlib-only: the worker's boot script loads this package by path, before
site-packages exist for it and before it confines itself. The supervisor side (cgroup creation, spawning,
killing) lives here too and is used by `utask.core.plugins`.
"""

from .config import (
    SandboxConfig,
    SandboxConfigError,
    SandboxLimits,
    format_duration,
    parse_duration,
    parse_sandbox_config,
)
from .layers import ALL_LAYERS, LayerReport

__all__ = [
    "ALL_LAYERS",
    "LayerReport",
    "SandboxConfig",
    "SandboxConfigError",
    "SandboxLimits",
    "format_duration",
    "parse_duration",
    "parse_sandbox_config",
]
