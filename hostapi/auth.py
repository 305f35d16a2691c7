"""Authentication (reference §8, DESIGN §5–§6): who is calling, in which groups, admin or not.

Identity providers, first answer wins:
1. providers of init plugins (`utask_auth_providers` hook): `provider(request) -> str | None` (may be
   awaitable); None lets the next provider decide; an exception refuses the request (401);
2. the default: `basic-auth` when configured (the `Authorization` header must be exactly
   `Basic base64(user:password)` of one user, else 401 with `WWW-Authenticate`), otherwise the
   `x-remote-user` header set by a trusted proxy.

Groups come from `groups-auth` (group → users) plus the `utask_group_providers` hook. Admins are
`admin_usernames` and members of `admin_groups`. Deliberate fix (DESIGN §6): an anonymous caller (no
identity) gets 401 instead of µTask's "everything an empty user name matches".
"""

from __future__ import annotations

import base64
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from utask.core.engine.service import Caller

from .http.errors import APIError, MethodNotAllowed

REMOTE_USER_HEADER = "x-remote-user"
BASIC_REALM = 'Basic realm="Authorization Required"'
MAINTENANCE_MESSAGE = "Maintenance mode activated"


class AuthFailed(APIError):
    """401 with an empty body (µTask's auth middleware), with `WWW-Authenticate` when `challenge`."""

    status = 401

    def __init__(self, message: str = "Unauthorized", challenge: bool = False) -> None:
        super().__init__(message)
        self.challenge = challenge


class AdminRequired(APIError):
    """µTask's admin middleware: 401 with an empty body."""

    status = 401


Provider = Callable[[Any], Any]
GroupProvider = Callable[[str], Any]


@dataclass
class Authenticator:
    basic_auth: Mapping[str, str] = field(default_factory=dict)
    groups_auth: Mapping[str, Iterable[str]] = field(default_factory=dict)
    admin_usernames: Iterable[str] = ()
    admin_groups: Iterable[str] = ()
    providers: list[Provider] = field(default_factory=list)
    group_providers: list[GroupProvider] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The exact header of every user: a lookup instead of decoding what the client sent.
        self._basic = {
            "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode("ascii"): u
            for u, p in (self.basic_auth or {}).items()
        }
        groups: dict[str, list[str]] = {}
        for group, users in (self.groups_auth or {}).items():
            for user in users or ():
                groups.setdefault(user, []).append(group)
        self._groups = groups
        self._admins = frozenset(self.admin_usernames or ())
        self._admin_groups = frozenset(self.admin_groups or ())

    @classmethod
    def from_settings(cls, settings: Any, plugin_manager: Any = None) -> Authenticator:
        providers: list[Provider] = []
        group_providers: list[GroupProvider] = []
        if plugin_manager is not None:
            hook = plugin_manager.hook
            if hasattr(hook, "utask_auth_providers"):
                for result in hook.utask_auth_providers():
                    providers.extend(result or [])
            if hasattr(hook, "utask_group_providers"):
                for result in hook.utask_group_providers():
                    group_providers.extend(result or [])
        return cls(
            basic_auth=dict(getattr(settings, "basic_auth", {}) or {}),
            groups_auth=dict(getattr(settings, "groups_auth", {}) or {}),
            admin_usernames=tuple(settings.utask.admin_usernames),
            admin_groups=tuple(settings.utask.admin_groups),
            providers=providers,
            group_providers=group_providers,
        )

    def is_admin(self, username: str, groups: Iterable[str]) -> bool:
        return username in self._admins or any(g in self._admin_groups for g in groups)

    async def _username(self, request: Request) -> str:
        for provider in self.providers:
            try:
                user = provider(request)
                if inspect.isawaitable(user):
                    user = await user
            except APIError as e:
                raise AuthFailed(e.message, challenge=e.status == 401) from None
            except Exception as e:  # noqa: BLE001 - a provider's refusal, whatever its type
                raise AuthFailed(str(e), challenge=bool(getattr(e, "challenge", False))) from None
            if user is not None:
                return str(user)
        if self._basic:
            user = self._basic.get(request.headers.get("authorization", ""))
            if user is None:
                raise AuthFailed("User not found", challenge=True)
            return user
        return request.headers.get(REMOTE_USER_HEADER, "")

    async def _groups_of(self, username: str) -> list[str]:
        groups = list(self._groups.get(username, ()))
        for provider in self.group_providers:
            extra = provider(username)
            if inspect.isawaitable(extra):
                extra = await extra
            for g in extra or ():
                if g not in groups:
                    groups.append(g)
        return groups

    async def identify(self, request: Request) -> Caller:
        username = await self._username(request)
        if not username:
            # Deliberate fix: no identity, no access (µTask lets an empty user name through).
            raise AuthFailed("anonymous access refused", challenge=bool(self._basic))
        groups = await self._groups_of(username)
        return Caller(username=username, groups=groups, is_admin=self.is_admin(username, groups))


# -- FastAPI dependencies --------------------------------------------------------------------------------


async def authenticated(request: Request) -> Caller:
    """Every secured route: the caller, or 401. Cached per request by FastAPI."""
    caller = getattr(request.state, "caller", None)
    if caller is not None:
        return caller
    authenticator: Authenticator = request.app.state.authenticator
    caller = await authenticator.identify(request)
    request.state.caller = caller
    request.state.user = caller.username
    return caller


async def admin_only(request: Request) -> Caller:
    caller = await authenticated(request)
    if not caller.is_admin:
        raise AdminRequired("Not an admin user")
    return caller


async def maintenance_guard(request: Request) -> None:
    """Write routes in maintenance mode: 405, and the handler does NOT run (µTask's quirk fixed)."""
    if getattr(request.app.state, "maintenance_mode", False):
        raise MethodNotAllowed(MAINTENANCE_MESSAGE)
