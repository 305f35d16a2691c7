"""The SDK pieces added for the builtin plugins: plugin settings (host side) and the Go-compatible helpers
shared by script and ssh (`utask_sdk.outputs`, `utask_sdk.goconv`)."""

from __future__ import annotations

import os

import pytest
from utask.core.plugins import PluginHost
from utask.core.sandbox import SandboxConfigError, parse_sandbox_config
from utask_sdk import ClientError, ServerError, goconv, outputs


def test_settings_precedence_and_readable_paths(tmp_path):
    host = PluginHost.from_config(
        {"plugins": {"script": {"settings": {"scripts_path": str(tmp_path)}}}}, entry_points=False,
        modules=["utask_plugin_script"], plugin_settings={"script": {"scripts_path": "/ignored", "extra": 1}})
    (row,) = host.describe()
    assert row["limits"]["settings"] == {"scripts_path": str(tmp_path), "extra": 1}
    assert str(tmp_path) in row["limits"]["readable_paths"]
    relative = PluginHost.from_config(None, entry_points=False, modules=["utask_plugin_script"])
    (row,) = relative.describe()
    assert row["limits"]["settings"]["scripts_path"] == os.path.abspath("./scripts")  # the plugin's default


def test_settings_config_validation():
    parse_sandbox_config({"plugins": {"x": {"settings": {"a": 1}}}})
    with pytest.raises(SandboxConfigError, match="settings: must be an object"):
        parse_sandbox_config({"plugins": {"x": {"settings": [1]}}})
    with pytest.raises(SandboxConfigError, match="unknown key 'settings'"):
        parse_sandbox_config({"defaults": {"settings": {}}})


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (12_345_678, "12.345678ms"), (1_000_000_000, "1s"),
    (90_000_000_000, "1m30s"), (3_723_500_000_000, "1h2m3.5s"), (120_000_000_000, "2m0s"), (-2_000_000, "-2ms"),
])
def test_format_duration(ns, text):
    assert goconv.format_duration(ns) == text


def test_parse_helpers():
    assert goconv.parse_duration("1h30m") == 5_400_000_000_000 and goconv.parse_duration("1.5s") == 1_500_000_000
    with pytest.raises(ValueError, match='^time: unknown unit "d" in duration "2d"$'):
        goconv.parse_duration("2d")
    assert goconv.parse_bool("T") is True and goconv.parse_bool("0") is False
    with pytest.raises(ValueError, match=r'^strconv.ParseUint: parsing "65536": value out of range$'):
        goconv.parse_uint("65536", 16)
    assert [str(goconv.go_float(x)) for x in (0.0, 2.5, 100.0, 1e21, 1.5e-7, 33.333333333333336)] == \
        ["0", "2.5", "100", "1e+21", "1.5e-7", "33.333333333333336"]


def test_output_parsing():
    assert outputs.parse_output("a\nb\n", outputs.MANUAL_LASTLINE) == "b"
    assert outputs.parse_output("only", outputs.AUTO_RESULT) == "only"
    assert outputs.parse_output("a\n  x  \n", outputs.MANUAL_LASTLINE) == "x"
    assert outputs.parse_output("x\n\n", outputs.MANUAL_LASTLINE) == ""  # Go looks back one line only
    assert outputs.parse_output("pre S{a}E post", outputs.MANUAL_DELIMITERS, ["S", "E"]) == "{a}"
    assert outputs.parse_output("line\n", outputs.DISABLED) == ""
    assert outputs.decode_result("null") is None
    assert str(outputs.decode_result('{"n": 12345678901234567890}')["n"]) == "12345678901234567000"
    with pytest.raises(ValueError, match="cannot unmarshal string into Go value"):
        outputs.decode_result('"x"')


def test_exit_code_errors():
    err = outputs.exit_code_error(3, None, "exit status 3")
    assert isinstance(err, ServerError) and str(err) == "exit code: 3"
    err = outputs.exit_code_error(3, ["3"], "exit status 3")
    assert isinstance(err, ClientError) and str(err) == "Client error: exit code: 3: exit status 3"
    err = outputs.exit_code_error(3, ["10-20", "3"], "exit status 3")
    assert str(err) == "Client error: exit code: 3"  # µTask drops the cause once a range was examined
    assert isinstance(outputs.exit_code_error(30, ["10-20"], "x"), ServerError)
