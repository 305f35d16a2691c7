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


def catalog(*extra: str) -> Any:
    """echo from the installed plugin, plus `extra` types accepted without configuration checks."""
    return CombinedCatalog(_INSTALLED, StaticCatalog(["script", "subtask", "batch", "callback", *extra]))


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
