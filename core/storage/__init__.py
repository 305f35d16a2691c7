"""PostgreSQL storage: engine, table definitions, Alembic migrations, embedded server (reference §9.1).

    db = Database.connect(url, pool=settings.utask.database_config, keyring=settings.keyring)
    with db.session() as conn: ...            # one transaction (SQLAlchemy Core Connection)
    async with db.async_session() as conn: ... # same, asyncio (psycopg 3 async)
    migrate(url) -> MigrationResult            # Alembic upgrade head under pg_advisory_lock; takes over µTask DBs
    to_conninfo(url) / to_sqlalchemy_url(url)  # accept postgres://...?sslmode=..., libpq key=value, SQLAlchemy URLs

Tables (SQLAlchemy Core) are in `utask.core.storage.tables`; new schema changes are new revisions in
`migrations/versions/` (revision ids `NNNN_name`, linear history) plus the matching `Table` update.
`utask.core.storage.embedded.EmbeddedPostgres` is the development server of `utask serve` without configuration.
"""

from .database import Database
from .migrate import (
    ADVISORY_LOCK_KEY,
    BASELINE_REVISION,
    MigrationError,
    MigrationResult,
    current_revision,
    head_revision,
    migrate,
)
from .url import DatabaseURLError, conninfo_dict, redact, to_conninfo, to_sqlalchemy_url

__all__ = [
    "ADVISORY_LOCK_KEY",
    "BASELINE_REVISION",
    "Database",
    "DatabaseURLError",
    "MigrationError",
    "MigrationResult",
    "conninfo_dict",
    "current_revision",
    "head_revision",
    "migrate",
    "redact",
    "to_conninfo",
    "to_sqlalchemy_url",
]
