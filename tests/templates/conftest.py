"""Shared helpers of the template tests: the real echo plugin (validated in-process through the SDK)
plus type names whose configuration checks do not matter here."""

from __future__ import annotations

import os
import textwrap
from typing import Any

import pytest
from utask.core.templates import (
    FunctionRegistry,
    StaticCatalog,
    TaskTemplate,
    find_problems,
    load_functions,
    parse_template,
)
from utask.core.templates.catalogs import CombinedCatalog, InstalledPluginsCatalog

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
SCENARIOS = os.path.join(FIXTURES, "scenarios")
FUNCTIONS = os.path.join(FIXTURES, "functions")

_INSTALLED = InstalledPluginsCatalog()


class _InstalledExcept:
    """The installed catalog minus names the tests accept unchecked (stand-in action types), even
    once a real plugin of that name is installed."""

    def __init__(self, inner: Any, names: set[str]) -> None:
        self.inner, self.names = inner, names

    def has(self, action_type: str) -> bool:
        return action_type not in self.names and self.inner.has(action_type)

    def validate(self, action_type: str, base_config: Any, config: Any) -> None:
        self.inner.validate(action_type, base_config, config)

    def metadata_schema(self, action_type: str) -> Any:
        return self.inner.metadata_schema(action_type)


def catalog(*extra: str) -> Any:
    """echo from the installed plugin, plus `extra` types accepted without configuration checks."""
    unchecked = ["script", "subtask", "batch", "callback", *extra]
    return CombinedCatalog(_InstalledExcept(_INSTALLED, set(unchecked)), StaticCatalog(unchecked))


@pytest.fixture(scope="session")
def actions() -> Any:
    assert _INSTALLED.has("echo"), "the echo plugin (builtin-plugins/echo) must be installed"
    return catalog()


@pytest.fixture(scope="session")
def functions() -> FunctionRegistry:
    return load_functions(FUNCTIONS)


def tpl_from(text: str) -> TaskTemplate:
    return parse_template(textwrap.dedent(text))


def problems_of(text: str | TaskTemplate, functions: FunctionRegistry | None = None, **kw: Any) -> list[str]:
    tpl = tpl_from(text) if isinstance(text, str) else text
    return [p.message for p in find_problems(tpl, actions=kw.pop("actions", catalog()),
                                             functions=functions or FunctionRegistry(), **kw)]


def first_error(text: str | TaskTemplate, functions: FunctionRegistry | None = None, **kw: Any) -> str | None:
    found = problems_of(text, functions, **kw)
    return found[0] if found else None
