"""The builtin echo plugin through the real host and sandbox (reference §10.1, §5.8)."""

from __future__ import annotations

import pytest
from utask.core.gojson import JSONNumber
from utask.core.plugins import PluginConfigError, StepFailure
from utask_sdk.testing import plain


def test_echo_is_discovered_through_its_entry_point(echo_box):
    row = next(r for r in echo_box.host.describe() if r["name"] == "echo")
    assert row["distribution"] == "utask-plugin-echo" and row["version"] == "0.1" and row["status"] == "ready"


def test_output_and_metadata(echo_box):
    result = echo_box.run("echo", {"output": {"foo": "bar", "n": [1, "x"]}, "metadata": {"a": "b"}})
    assert result.error is None
    assert plain(result.output) == {"foo": "bar", "n": [1, "x"]} and result.metadata == {"a": "b"}


def test_numbers_stay_exact(echo_box):
    result = echo_box.run("echo", {"output": {"price": JSONNumber("2.50"), "big": JSONNumber("12345678901234567890")}})
    assert str(result.output["price"]) == "2.50" and str(result.output["big"]) == "12345678901234567890"


def test_base_configuration_then_step_configuration_over_it(echo_box):
    result = echo_box.run("echo", {"error_message": "error1"}, base_config={"output": "testingoutput"})
    assert result.output == "testingoutput"
    assert result.error == StepFailure("server", "error1")


def test_metadata_is_merged_key_by_key_and_output_replaced(echo_box):
    result = echo_box.run("echo", {"output": {"b": 2}, "metadata": {"b": "2"}},
                          base_config={"output": {"a": 1}, "metadata": {"a": "1"}})
    assert plain(result.output) == {"b": 2} and result.metadata == {"a": "1", "b": "2"}


def test_client_and_server_errors_keep_output_and_metadata(echo_box):
    result = echo_box.run("echo", {"output": "o", "metadata": {"m": 1}, "error_message": "bad", "error_type": "client"})
    assert result.error == StepFailure("client", "bad") and result.output == "o" and plain(result.metadata) == {"m": 1}
    result = echo_box.run("echo", {"error_message": "boom", "error_type": "server"})
    assert result.error == StepFailure("server", "boom")


def test_unmarshal_yaml_and_json(echo_box):
    assert plain(echo_box.run("echo", {"output": '{"a": [1, 2]}', "unmarshal": True}).output) == {"a": [1, 2]}
    assert echo_box.run("echo", {"output": "a: b\nc: [d]", "unmarshal": True}).output == {"a": "b", "c": ["d"]}


def test_unmarshal_errors(echo_box):
    result = echo_box.run("echo", {"output": {"a": 1}, "unmarshal": True})
    assert result.error == StepFailure("server", "cannot unmarshal: invalid data type (map[string]interface {})")
    assert result.output is None
    result = echo_box.run("echo", {"output": "a: [b", "unmarshal": True})
    assert result.error.kind == "server" and result.error.message.startswith("failed to unmarshal output: ")
    assert result.output is None


def test_validation(echo_box):
    echo_box.validate("echo", {"output": "x", "error_type": "client"})
    with pytest.raises(PluginConfigError) as err:
        echo_box.validate("echo", {"error_type": "bogus"})
    assert str(err.value) == "Wrong error type: expecting 'client' or 'server'"
    with pytest.raises(PluginConfigError) as err:
        echo_box.validate("echo", {"unmarshal": "yes"})
    assert "unmarshal" in str(err.value)
    assert echo_box.resources("echo", {"output": 1}) == []


def test_unknown_action_type(echo_box):
    result = echo_box.run("nope", {})
    assert result.error == StepFailure("fatal", "No runner for type 'nope'")
