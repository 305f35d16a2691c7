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


def test_input_checks_are_the_servers(tmp_path):
    """`utask_sdk.inputs` is what the server checks template inputs with, so the `input` plugin accepts
    exactly the definitions a template's inputs accept: RE2 spellings, Go's `%v` of numbers, µTask's texts."""
    from utask.core.templates.inputs import validate_definition as server_validate
    from utask_plugin_input import Input, InputConfig
    from utask_sdk import ConfigError, protocol
    from utask_sdk.inputs import InputDefinition, InputError, check_value, validate_definition

    assert server_validate is validate_definition
    config = protocol.loads('{"inputs": [{"name": "code", "regex": "^[a-z]+\\\\z", "default": "abc"},'
                            ' {"name": "ratio", "type": "number", "legal_values": [0.5, 1.50], "default": 1.50}]}')
    definitions = [InputDefinition(**d) for d in config["inputs"]]
    Input().validate(InputConfig(inputs=definitions))  # `\z` is RE2's end of text; Python's re lacks it
    check_value(definitions[1], protocol.loads("1.50"))  # exact texts: 1.50 is the legal 1.50 ...
    with pytest.raises(InputError, match=r"'1.5' is not a legal value \(\[0.5 1.50\]\)"):
        check_value(definitions[1], protocol.loads("1.5"))  # ... and 1.5 is not (Go's json.Number)
    with pytest.raises(ConfigError, match="Invalid regex for input 'bad'"):
        Input().validate(InputConfig(inputs=[InputDefinition(name="bad", regex="(?=x)")]))  # RE2 has no look-ahead
    with pytest.raises(ConfigError, match="doesnt comply with regex"):
        Input().validate(InputConfig(inputs=[InputDefinition(name="c", regex="^a+$", default="b")]))
    assert goconv.format_v([1e20, 1e21, 0.00001, True, None]) == "[100000000000000000000 1e+21 1e-05 true <nil>]"
