from __future__ import annotations

from collections.abc import Iterator

import pytest
from utask_sdk.testing import Sandbox


@pytest.fixture(scope="module")
def echo_box() -> Iterator[Sandbox]:
    """The echo plugin as the server finds it: through its installed entry point."""
    with Sandbox(sandbox={"defaults": {"timeout": "5s"}}) as box:
        yield box
