"""SQLAlchemy Core tables of µTask's schema at migration 011 (reference §9.1).

These describe the tables for queries; the DDL itself lives in the Alembic migrations (revision
`0001_utask_011` reproduces µTask's `sql/schema.sql` text exactly), so later changes come as new
migrations plus an update here.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, UUID

metadata = MetaData()

TZ = TIMESTAMP(timezone=True)

task_template = Table(
    "task_template", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, unique=True, nullable=False),
    Column("description", Text, nullable=False),
    Column("long_description", Text),
    Column("doc_link", Text),
    Column("inputs", JSONB(none_as_null=False), nullable=False),
    Column("resolver_inputs", JSONB(none_as_null=False), nullable=False),
    Column("steps", JSONB(none_as_null=False), nullable=False),
    Column("variables", JSONB(none_as_null=False), nullable=False, server_default=text("'null'")),
    Column("allowed_resolver_groups", JSONB(none_as_null=False), nullable=False, server_default=text("'[]'")),
    Column("allowed_resolver_usernames", JSONB(none_as_null=False), nullable=False, server_default=text("'[]'")),
    Column("allow_all_resolver_usernames", Boolean, nullable=False, server_default=text("false")),
    Column("auto_runnable", Boolean, nullable=False, server_default=text("false")),
    Column("blocked", Boolean, nullable=False, server_default=text("false")),
    Column("hidden", Boolean, nullable=False, server_default=text("false")),
    Column("result_format", JSONB(none_as_null=False), nullable=False),
    Column("title_format", Text, nullable=False),
    Column("retry_max", Integer),
    Column("allow_task_start_over", Boolean, nullable=False, server_default=text("false")),
    Column("base_configurations", JSONB(none_as_null=False), nullable=False),
    Column("tags", JSONB(none_as_null=False), nullable=False, server_default=text("'null'")),
)

batch = Table(
    "batch", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("public_id", UUID(as_uuid=True), unique=True, nullable=False),
)

task = Table(
    "task", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("public_id", UUID(as_uuid=True), unique=True, nullable=False),
    Column("id_template", BigInteger, ForeignKey("task_template.id"), nullable=False),
    Column("id_batch", BigInteger, ForeignKey("batch.id")),
    Column("title", Text, nullable=False),
    Column("requester_username", Text),
    Column("requester_groups", JSONB(none_as_null=False), nullable=False, server_default=text("'null'")),
    Column("watcher_usernames", JSONB(none_as_null=False), nullable=False, server_default=text("'null'")),
    Column("watcher_groups", JSONB(none_as_null=False), nullable=False, server_default=text("'null'")),
    Column("resolver_usernames", JSONB(none_as_null=False), nullable=False, server_default=text("'null'")),
    Column("resolver_groups", JSONB(none_as_null=False), nullable=False, server_default=text("'null'")),
    Column("created", TZ, nullable=False, server_default=func.now()),
    Column("last_activity", TZ, server_default=func.now()),
    Column("state", Text, nullable=False),
    Column("steps_done", Integer, nullable=False),
    Column("steps_total", Integer, nullable=False),
    Column("crypt_key", LargeBinary, nullable=False),  # legacy per-row key: always written empty
    Column("encrypted_input", LargeBinary, nullable=False),
    Column("encrypted_result", LargeBinary, nullable=False),
    Column("tags", JSONB(none_as_null=False), nullable=False, server_default=text("'null'")),
)

task_comment = Table(
    "task_comment", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("public_id", UUID(as_uuid=True), unique=True, nullable=False),
    Column("id_task", BigInteger, ForeignKey("task.id", ondelete="CASCADE"), nullable=False),
    Column("username", Text),
    Column("created", TZ, nullable=False, server_default=func.now()),
    Column("updated", TZ, nullable=False, server_default=func.now()),
    Column("content", Text, nullable=False),
)

resolution = Table(
    "resolution", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("public_id", UUID(as_uuid=True), unique=True, nullable=False),
    Column("id_task", BigInteger, ForeignKey("task.id", ondelete="CASCADE"), unique=True, nullable=False),
    Column("resolver_username", Text),
    Column("state", Text, nullable=False),
    Column("instance_id", BigInteger),
    Column("created", TZ, nullable=False, server_default=func.now()),
    Column("last_start", TZ),
    Column("last_stop", TZ),
    Column("next_retry", TZ),
    Column("run_count", Integer, nullable=False),
    Column("run_max", Integer, nullable=False),
    Column("crypt_key", LargeBinary, nullable=False),
    Column("encrypted_resolver_input", LargeBinary),
    Column("encrypted_steps", LargeBinary, nullable=False),
    Column("steps_compression_alg", Text, nullable=False, server_default=text("''")),
    Column("base_configurations", JSONB(none_as_null=False), nullable=False),
)

runner_instance = Table(
    "runner_instance", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("heartbeat", TZ, nullable=False, server_default=func.now()),
)

callback = Table(
    "callback", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("created", TZ, nullable=False, server_default=func.now()),
    Column("updated", TZ, nullable=False, server_default=func.now()),
    Column("called", TZ),
    Column("public_id", UUID(as_uuid=True), unique=True, nullable=False),
    Column("id_task", BigInteger, ForeignKey("task.id", ondelete="CASCADE"), nullable=False),
    Column("id_resolution", BigInteger, ForeignKey("resolution.id", ondelete="CASCADE"), nullable=False),
    Column("resolver_username", Text, nullable=False),
    Column("encrypted_schema", LargeBinary, nullable=False),
    Column("encrypted_body", LargeBinary, nullable=False),
    Column("encrypted_secret", LargeBinary, nullable=False),
)

cache = Table(
    "cache", metadata,
    Column("key", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),  # JSON bytes, not encrypted
    Column("expires_at", TZ),
)

utask_sql_migrations = Table(
    "utask_sql_migrations", metadata,
    Column("current_migration_applied", Text, primary_key=True),
)

UTASK_TABLES = ("task_template", "batch", "task", "task_comment", "resolution", "runner_instance",
                "callback", "cache", "utask_sql_migrations")
UTASK_LATEST_MIGRATION = "v1.21.1-migration011"
