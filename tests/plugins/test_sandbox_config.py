"""The `sandbox` section of utask-cfg."""

from __future__ import annotations

import pytest
from utask.core.sandbox import ALL_LAYERS, SandboxConfigError, parse_duration, parse_sandbox_config


def test_defaults_and_overrides():
    cfg = parse_sandbox_config({
        "defaults": {"timeout": "10m", "memory_mb": 512, "cpu_seconds": 600, "max_processes": 64,
                     "max_open_files": 256, "max_file_size_mb": 64, "network": False},
        "plugins": {"http": {"network": True, "timeout": "30s"}},
        "required_layers": ["seccomp", "landlock"],
    })
    assert cfg.defaults.timeout == 600 and cfg.defaults.memory_mb == 512
    http = cfg.limits_for("http", {"network": False, "memory_mb": 128})
    assert http.network is True and http.timeout == 30 and http.memory_mb == 128  # operator > plugin > defaults
    assert cfg.required_for({}) == {"seccomp", "landlock"}
    assert cfg.required_for({"SANDBOX_REQUIRE": "all"}) == set(ALL_LAYERS)
    assert parse_sandbox_config(None).defaults.timeout == 600


@pytest.mark.parametrize("raw, message", [
    ({"defaults": {"memory_mb": 0}}, "sandbox.defaults.memory_mb: must be a positive integer, got 0"),
    ({"defaults": {"timeout": "soon"}}, "sandbox.defaults.timeout: invalid duration 'soon'"),
    ({"defaults": {"network": "yes"}}, "sandbox.defaults.network: must be a boolean, got 'yes'"),
    ({"plugins": {"x": {"bogus": 1}}}, "sandbox.plugins.x: unknown key 'bogus'"),
    ({"required_layers": ["magic"]}, "sandbox.required_layers: unknown layer 'magic'"),
    ({"other": 1}, "sandbox: unknown key 'other'"),
])
def test_errors_name_the_key(raw, message):
    with pytest.raises(SandboxConfigError) as err:
        parse_sandbox_config(raw)
    assert str(err.value).startswith(message)


def test_go_durations():
    assert parse_duration("1h30m") == 5400 and parse_duration("1.5s") == 1.5 and parse_duration("250ms") == 0.25
    with pytest.raises(ValueError):
        parse_duration("5")
