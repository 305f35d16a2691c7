"""`utask_sdk.testing` exports what its README uses (`ExecutionResult`, `StepFailure`, `PluginConfigError`,
`HostCallError`, `ExecutionIdentity`), loaded on first use: importing the SDK never imports the server."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_sdk_and_its_testing_module_does_not_import_the_server():
    out = _fresh("""
        import sys
        import utask_sdk, utask_sdk.testing
        from utask_sdk.testing import FakeHost, Sandbox, plain, run_action
        print(sorted(m for m in sys.modules if m == "utask" or m.startswith("utask.")))
        from utask_sdk.testing import ExecutionResult, StepFailure, PluginConfigError
        print(ExecutionResult.__module__, StepFailure.__module__, PluginConfigError.__module__)
        """)
    before, after = out.splitlines()
    assert before == "[]"
    assert after == "utask.core.plugins.model utask.core.plugins.model utask.core.plugins.model"


def test_exports_are_the_server_classes():
    import utask.core.plugins as server
    import utask_sdk.testing as testing

    for name in ("ExecutionResult", "StepFailure", "PluginConfigError", "HostCallError", "ExecutionIdentity"):
        assert getattr(testing, name) is getattr(server, name)
        assert name in testing.__all__ and name in dir(testing)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        testing.Nope  # noqa: B018


def test_the_exports_in_use_with_the_real_sandbox():
    from utask_sdk.testing import ExecutionResult, PluginConfigError, Sandbox, StepFailure

    with Sandbox(modules=["utask_plugin_cache"], entry_points=False) as box:
        with pytest.raises(PluginConfigError) as refused:
            box.validate("cache", {"action": "get"})
        assert refused.value.message == 'missing required parameter "key"'
        # A host call without host_calls= fails the step: a StepFailure in an ExecutionResult.
        result = box.run("cache", {"action": "get", "key": "k"})
    assert isinstance(result, ExecutionResult) and isinstance(result.error, StepFailure)
    assert (result.error.kind, result.error.message) == ("fatal", "host call 'cache.get' is not available here")
