"""Runs the action through the real µTask sandbox."""

import pytest
from utask_sdk.testing import Sandbox, run_action


def test_returns_its_message():
    result = run_action("{{ cookiecutter.plugin_name }}", {"message": "hello"})
    assert result.error is None
    assert result.output == {"message": "hello"}


def test_rejects_a_message_that_is_not_a_string():
    with Sandbox() as box:
        with pytest.raises(Exception, match="message"):
            box.validate("{{ cookiecutter.plugin_name }}", {"message": ["not", "a", "string"]})
        result = box.run("{{ cookiecutter.plugin_name }}", {"message": "again"}, base_config={"message": "base"})
        assert result.output == {"message": "again"}
