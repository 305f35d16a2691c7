from __future__ import annotations

from collections.abc import Iterator

import pytest

from .go_oracle import GoOracle


@pytest.fixture(scope="session")
def go_oracle() -> Iterator[GoOracle]:
    oracle = GoOracle()
    yield oracle
    oracle.close()
