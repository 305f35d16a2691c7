"""Engine test fixtures: which echo executor drives the scenarios."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["inprocess", "sandboxed"])
def echo_kind(request) -> str:
    """The in-process echo fixture (§10.1 semantics), and the real echo through the sandboxed plugin host."""
    return request.param
