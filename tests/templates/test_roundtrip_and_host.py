"""JSON round trip (what storage and the API do) and the plugin-host catalog adapter."""

from __future__ import annotations

import asyncio
import os

import pytest
from utask.core.gojson import loads
from utask.core.templates import (
    PluginHostCatalog,
    TemplateValidationError,
    decode_template,
    dumps,
    load_template_file,
    load_templates,
    validate_template,
)

from .conftest import SCENARIOS, catalog
from .test_examples_and_schemas import EXAMPLES, PENDING_TYPES


def test_json_round_trip_is_stable():
    loaded = load_templates(EXAMPLES)
    names = {t.template.name for t in loaded}
    for item in loaded:
        tpl = item.template
        validate_template(tpl, actions=catalog(*PENDING_TYPES), known_templates=names)
        text = dumps(tpl.to_json())
        again = decode_template(loads(text))
        assert dumps(again.to_json()) == text, item.path
        validate_template(again, actions=catalog(*PENDING_TYPES), known_templates=names)
        assert dumps(again.to_json()) == text


class SmallHost:
    """The part of PluginHost the adapter uses: `action_types()` and `async validate(...)`."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def action_types(self) -> list[str]:
        return ["echo"]

    async def validate(self, action_type, base_config, config):
        self.calls.append((action_type, base_config, config))
        await asyncio.sleep(0)
        if (config or {}).get("error_type") not in (None, "", "client", "server"):
            raise ValueError("Wrong error type: expecting 'client' or 'server'")


def test_plugin_host_catalog_prevalidates():
    good = load_template_file(os.path.join(SCENARIOS, "lintingObject.yaml"))
    bad = decode_template(loads(
        '{"name":"bad-host","description":"bad host","title_format":"bad host",'
        '"steps":{"a":{"action":{"type":"echo","configuration":{"error_type":"nope"}}},'
        '"b":{"action":{"type":"missing","configuration":{}}}}}'
    ))
    host = SmallHost()
    cat = asyncio.run(PluginHostCatalog.build(host, [good, bad]))
    assert len(host.calls) == 3  # one per distinct (type, base, configuration); unknown types not at all
    validate_template(good, actions=cat)
    try:
        validate_template(bad, actions=cat)
    except TemplateValidationError as exc:
        assert [p.message for p in exc.problems] == [
            "Invalid task template: Invalid step a: Invalid executor action: "
            "Wrong error type: expecting 'client' or 'server'",
            "Invalid task template: Invalid step b: Invalid executor action: No runner for type 'missing'",
        ]
    else:  # pragma: no cover
        raise AssertionError("expected a validation error")


def test_real_plugin_host_validates_echo():
    """The plugin host colleague's PluginHost (sandboxed echo worker) behind the sync catalog."""
    plugins = pytest.importorskip("utask.core.plugins")

    async def scenario() -> list[str]:
        host = plugins.PluginHost.from_config(None)
        async with host:
            good = load_template_file(os.path.join(SCENARIOS, "lintingObject.yaml"))
            bad = decode_template(loads(
                '{"name":"bad-echo","description":"bad echo","title_format":"bad echo",'
                '"steps":{"a":{"action":{"type":"echo","configuration":{"error_type":"nope"}}}}}'
            ))
            cat = await PluginHostCatalog.build(host, [good, bad])
            validate_template(good, actions=cat)
            try:
                validate_template(bad, actions=cat)
            except TemplateValidationError as exc:
                return [p.message for p in exc.problems]
            return []

    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == [
        "Invalid task template: Invalid step a: Invalid executor action: Wrong error type: expecting 'client' or 'server'"
    ]
