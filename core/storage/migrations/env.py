"""Alembic environment: always run programmatically by `utask.core.storage.migrate`, which hands over
an open connection (holding the advisory lock) in `config.attributes["connection"]`."""

from alembic import context
from utask.core.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `migrate()` runs these migrations
    raise RuntimeError("run migrations through utask.core.storage.migrate(url)")

context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
