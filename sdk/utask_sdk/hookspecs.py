"""Every extension point of µTask for Python, in one module (pluggy project name "utask").

Plugin distributions register a module (or object) under the entry-point group `utask.plugins`;
the server loads them all at start-up and refuses hooks it does not know (strict `check_pending()`).

Action plugins run sandboxed, outside the server. Init plugins (the three `utask_init_*` families below)
are trusted and run inside the server process, like µTask's init plugins.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT_NAME = "utask"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def utask_action_plugins() -> list[Any]:
    """Return the `ActionPlugin` instances this distribution provides (one per action `type`)."""


@hookspec
def utask_auth_providers() -> list[Any]:
    """Return authentication providers (init plugin, in-process).

    A provider is a callable `provider(request) -> str | None` (awaitable allowed) giving the user name of
    an HTTP request, or None to let the next provider decide; it replaces µTask's `WithAuth`.
    """


@hookspec
def utask_group_providers() -> list[Any]:
    """Return group providers (init plugin): `provider(username) -> list[str]`, like µTask's `WithGroupAuth`."""


@hookspec
def utask_config_sources() -> dict[str, Any]:
    """Return configuration sources by scheme (init plugin), e.g. `{"vault": loader}`.

    `loader(argument: str) -> dict[str, str]` returns configuration items, as µTask's configstore providers
    registered by init plugins; `CONFIGURATION_FROM=vault:...` selects one.
    """


@hookspec
def utask_extra_routes(app: Any) -> None:
    """Add HTTP routes (init plugin): `app` is the FastAPI application; mount routers on it."""


@hookspec
def utask_http_middlewares() -> list[Any]:
    """Return HTTP middlewares (init plugin), each an ASGI middleware class or a `(class, options)` pair.

    They wrap the API and run before µTask's own (CORS, audit log line, authentication), in the order
    returned, like µTask's init-plugin middlewares.
    """
