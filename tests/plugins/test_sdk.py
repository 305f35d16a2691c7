"""The SDK's pure parts: configuration decoding and merging, results, errors, the wire encoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from utask.core.gojson import JSONNumber
from utask_sdk import ActionPlugin, ClientError, ConfigError, Result, _runtime, hookimpl, protocol
from utask_sdk.config import decode, merge


@dataclass
class Inner:
    x: int = 0
    y: str = ""


@dataclass
class Model:
    name: str = ""
    count: int = 0
    ratio: float = 0.0
    enabled: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    nested: Inner = field(default_factory=Inner)
    anything: Any = None


def test_merge_maps_key_by_key_nested_structs_recursively_others_replaced():
    base = {"labels": {"a": "1"}, "items": ["a"], "nested": {"x": 1, "y": "b"}, "anything": {"k": 1}}
    step = {"labels": {"b": "2"}, "items": ["b"], "nested": {"y": "s"}, "anything": {"j": 2}}
    assert merge(base, step, Model) == {"labels": {"a": "1", "b": "2"}, "items": ["b"],
                                        "nested": {"x": 1, "y": "s"}, "anything": {"j": 2}}
    assert merge(base, step, None)["labels"] == {"b": "2"}  # untyped: replaced
    assert merge(None, {"a": 1}) == {"a": 1} and merge({"a": 1}, None) == {"a": 1}


def test_decode_checks_types_and_names_the_field():
    cfg = decode({"name": "n", "count": 3, "ratio": 1, "enabled": True, "nested": {"x": 2}, "unknown": 1}, Model)
    assert cfg.name == "n" and cfg.count == 3 and cfg.nested == Inner(2, "") and cfg.ratio == 1
    with pytest.raises(ConfigError) as err:
        decode({"count": "three"}, Model)
    assert str(err.value) == 'invalid configuration: field \'count\': expected integer, got string "three"'
    with pytest.raises(ConfigError, match="field 'name': expected string, got number"):
        decode({"name": JSONNumber("3")}, Model)
    with pytest.raises(ConfigError) as err:
        decode({"nested": {"x": True}}, Model)
    assert "'nested.x'" in str(err.value)
    with pytest.raises(ConfigError):
        decode({"labels": {"a": 1}}, Model)
    assert decode({"a": 1}, None) == {"a": 1}


class Hello(ActionPlugin):
    name = "hello"
    version = "1.0.0"

    def execute(self, ctx, config):
        if config.get("fail"):
            raise ClientError("no", output={"partial": 1})
        if config.get("result"):
            return Result(output=1, metadata={"m": 2}, tags={"t": "v"})
        return {"greeting": "hi " + config["who"]}


@hookimpl
def utask_action_plugins():
    return [Hello()]


@dataclass
class Required:
    text: str
    limit: int = 10


def test_decode_rendered_strings_template_expressions_numbers_and_required_fields():
    # Rendered configurations are text: numbers and booleans spelled as strings are taken for typed fields.
    cfg = decode({"count": "3", "ratio": "2.5", "enabled": "true", "nested": {"x": " 7 "}}, Model)
    assert (cfg.count, cfg.ratio, cfg.enabled, cfg.nested.x) == (3, 2.5, True, 7)
    # At template load nothing is rendered yet: an expression stands for a value of any type.
    cfg = decode({"count": "{{.input.n}}", "items": "{{.input.list}}", "nested": "{{.step.a.output}}"}, Model)
    assert (cfg.count, cfg.items, cfg.nested) == ("{{.input.n}}", "{{.input.list}}", "{{.step.a.output}}")
    # Numbers the server keeps as text (`utask templates check` validates in process) are numbers.
    cfg = decode({"count": JSONNumber("4"), "ratio": JSONNumber("1.50")}, Model)
    assert (cfg.count, str(cfg.ratio)) == (4, "1.50")
    with pytest.raises(ConfigError, match="field 'count': expected integer, got number"):
        decode({"count": JSONNumber("4.5")}, Model)
    with pytest.raises(ConfigError, match="field 'enabled': expected boolean, got string \"yes\""):
        decode({"enabled": "yes"}, Model)
    # A field without a default must be given, and the error names it.
    with pytest.raises(ConfigError) as err:
        decode({"limit": 3}, Required)
    assert str(err.value) == "invalid configuration: field 'text': required"
    with pytest.raises(ConfigError, match="field 'text': required"):
        decode({}, Required)


def test_runtime_handle_maps_returns_and_errors():
    plugin = Hello()
    ok = _runtime.handle(plugin, {"op": "execute", "config": {"who": "x"}}, None, "/tmp")
    assert ok["ok"] and ok["output"] == {"greeting": "hi x"} and ok["metadata"] is None
    res = _runtime.handle(plugin, {"op": "execute", "config": {"result": True}}, None, "/tmp")
    assert res["output"] == 1 and res["metadata"] == {"m": 2} and res["tags"] == {"t": "v"}
    err = _runtime.handle(plugin, {"op": "execute", "config": {"fail": True}}, None, "/tmp")
    assert err["error"] == {"kind": "client", "message": "no"} and err["output"] == {"partial": 1}
    boom = _runtime.handle(plugin, {"op": "execute", "config": {}}, None, "/tmp")
    assert boom["error"]["kind"] == "server" and boom["error"]["message"] == "'who'"
    assert _runtime.load_plugin({"module": __name__}, "hello").name == "hello"


def test_wire_encoding_is_exact():
    text = protocol.dumps({"a": JSONNumber("2.50"), "b": [1, 1.5, None, True, "é<"]}, raw_numbers=(JSONNumber,))
    assert text == '{"a":2.50,"b":[1,1.5,null,true,"é<"]}'
    decoded = protocol.loads('{"n": 2.50, "e": 1e3, "i": 12345678901234567890}')
    assert protocol.dumps(decoded) == '{"n":2.50,"e":1e3,"i":12345678901234567890}'
    assert decoded["n"] == 2.5 and isinstance(decoded["i"], int)
    buf = protocol.FrameBuffer()
    frame = protocol.frame({"x": 1})
    assert buf.feed(frame[:3]) == [] and buf.feed(frame[3:] + frame) == [b'{"x":1}', b'{"x":1}']
    with pytest.raises(ValueError):
        protocol.dumps(float("nan"))


def test_protocol_versions():
    assert protocol.compatible("1.0.0", "1.4.2") and not protocol.compatible("1.0.0", "2.0.0")
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_version("1.0")


def test_step_logger_keeps_lines_without_touching_logging_globals():
    import logging
    import threading

    from utask_sdk.context import step_logger

    handlers_before = list(logging._handlerList)  # type: ignore[attr-defined]
    logger, handler = step_logger("s")
    logger.debug("d %s", 1)
    logger.warning("w")
    worker = threading.Thread(target=lambda: logger.info("from a thread"))
    worker.start()
    worker.join()
    assert handler.lines == ["DEBUG d 1", "WARNING w", "INFO from a thread"]
    assert list(logging._handlerList) == handlers_before  # type: ignore[attr-defined]
    handler.close()


def test_protocol_loads_keeps_exact_floats_from_bytes_and_text():
    value = protocol.loads(b'{"a": 1.50, "b": [2e3, 7], "c": "\\u00e9"}')
    assert str(value["a"]) == "1.50" and str(value["b"][0]) == "2e3" and value["b"][1] == 7 and value["c"] == "é"
    assert protocol.loads('{"x": 0.10}')["x"].text == "0.10"
