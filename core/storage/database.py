"""The database handle: one SQLAlchemy 2 engine (psycopg 3) per process, pooled as utask-cfg says."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .url import redact, to_sqlalchemy_url

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
    from utask.core.config.utask_cfg import DatabaseConfig
    from utask.core.crypto import KeyRing


class Database:
    """Engine(s) plus the keyring that encrypts this database's sensitive columns."""

    def __init__(self, url: str, pool_options: dict[str, int], keyring: KeyRing | None = None) -> None:
        self.url = url
        self.keyring = keyring
        self._sa_url = to_sqlalchemy_url(url)
        self._pool_options = pool_options
        self.engine: Engine = sa.create_engine(self._sa_url, pool_pre_ping=True, **pool_options)
        self._async_engine: AsyncEngine | None = None

    @classmethod
    def connect(cls, url: str, *, pool: DatabaseConfig | None = None, pool_size: int | None = None,
                keyring: KeyRing | None = None) -> Database:
        """`pool` is utask-cfg's `database_config`; `pool_size` alone gives a fixed-size pool."""
        if pool is not None:
            options = pool.pool_options()
        else:
            options = {"pool_size": pool_size or 5, "max_overflow": 0}
        return cls(url, options, keyring)

    @property
    def async_engine(self) -> AsyncEngine:
        """An asyncio engine on the same database and pool settings (created on first use)."""
        if self._async_engine is None:
            # Imported on first use: sqlalchemy.ext.asyncio pulls in the ORM (~0.4 s of start-up).
            from sqlalchemy.ext.asyncio import create_async_engine

            self._async_engine = create_async_engine(self._sa_url, pool_pre_ping=True, **self._pool_options)
        return self._async_engine

    @contextmanager
    def session(self) -> Iterator[Connection]:
        """One transaction as a unit of work: committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def async_session(self) -> AsyncIterator[AsyncConnection]:
        async with self.async_engine.begin() as conn:
            yield conn

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    async def async_ping(self) -> bool:
        try:
            async with self.async_engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()

    async def async_dispose(self) -> None:
        if self._async_engine is not None:
            await self._async_engine.dispose()
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({redact(self.url)})"
