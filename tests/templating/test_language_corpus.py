"""Differential test over the project's example task templates: every templated string in
templates/*.yaml renders (or fails) exactly as with Go, against a µTask-shaped values root."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .difftools import check
from .go_oracle import GoOracle

pytestmark = pytest.mark.oracle

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

ROOT = json.dumps({
    "input": {"name": "bob", "id": 1619464078, "list": [1, 2], "multilineString": "a\nb \"q\"", "amount": 12.50},
    "resolver_input": {"approve": True},
    "step": {
        "stepOne": {"output": {"foo": "bar", "id": 5}, "metadata": {}, "children": [], "error": "", "state": "DONE"},
        "this": {"output": {"a": 1}, "metadata": {}, "children": {}, "error": "", "state": "TODO"},
    },
    "config": {"my-config": {"url": "https://example.org"}},
    "task": {"task_id": "0f4c", "requester_username": "alice", "region": "eu"},
    "iterator": {"id": 7, "value": "v"},
    "var": {},
})


def _strings(x: Any) -> Iterator[str]:
    if isinstance(x, str):
        if "{{" in x:
            yield x
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from _strings(v)


# functions whose output differs run to run (or machine to machine) cannot be compared
_NONDETERMINISTIC = re.compile(
    r"\b(uuid\w*|now|rand\w*|env|expandenv|date\w*|htmlDate\w*|ago|shuffle|gen\w*|derive\w*|build\w*|"
    r"encrypt\w*|bcrypt|htpasswd|getHostByName|unixEpoch)\b"
)


def _corpus() -> list[str]:
    found: list[str] = []
    for path in sorted(TEMPLATES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for s in _strings(doc):
                if s not in found and not _NONDETERMINISTIC.search(s):
                    found.append(s)
    return found


CORPUS = _corpus()


@pytest.mark.skipif(not CORPUS, reason="no example templates")
@pytest.mark.parametrize("template", CORPUS)
def test_example_templates_match_go(go_oracle: GoOracle, template: str) -> None:
    check(go_oracle, template, ROOT)
