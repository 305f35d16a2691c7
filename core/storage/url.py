"""Database URL normalisation: what µTask users write (`postgres://u:p@db/utask?sslmode=disable`),
libpq key=value strings (what the test fixtures hand out) and SQLAlchemy URLs all become one
`sqlalchemy.engine.URL` for the psycopg 3 driver."""

from __future__ import annotations

import re

import psycopg.conninfo
from sqlalchemy.engine import URL

_DRIVER_PREFIX = re.compile(r"^postgres(?:ql)?(?:\+[a-z0-9_]+)?://", re.IGNORECASE)


class DatabaseURLError(ValueError):
    pass


def conninfo_dict(url: str) -> dict[str, str]:
    """The libpq parameters of any accepted form of URL."""
    text = url.strip()
    if not text:
        raise DatabaseURLError("empty database URL")
    if "://" in text:
        if not _DRIVER_PREFIX.match(text):
            raise DatabaseURLError("database URL must start with postgres:// or postgresql://")
        text = _DRIVER_PREFIX.sub("postgresql://", text, count=1)
    try:
        return {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(text).items() if v is not None}
    except psycopg.ProgrammingError as e:
        raise DatabaseURLError(f"invalid database URL: {e}") from None


def to_conninfo(url: str) -> str:
    """A libpq conninfo string (for psycopg.connect)."""
    return psycopg.conninfo.make_conninfo(**conninfo_dict(url))


def to_sqlalchemy_url(url: str) -> URL:
    params = conninfo_dict(url)
    port = params.pop("port", None)
    try:
        port_number = int(port) if port else None
    except ValueError:
        raise DatabaseURLError(f"invalid port {port!r} in database URL") from None
    return URL.create(
        "postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None),
        host=params.pop("host", None),
        port=port_number,
        database=params.pop("dbname", None),
        query=params,
    )


def redact(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    try:
        params = conninfo_dict(url)
        if params.get("host", "").startswith("/"):  # a unix socket directory reads better as libpq text
            params.pop("password", None)
            return psycopg.conninfo.make_conninfo(**params)
        rendered = to_sqlalchemy_url(url).render_as_string(hide_password=True)
        return rendered.replace("postgresql+psycopg://", "postgresql://", 1)
    except DatabaseURLError:
        return "<invalid database URL>"
