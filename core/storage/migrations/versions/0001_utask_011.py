"""µTask's schema at its SQL migration 011 (`v1.21.1-migration011`), reference §9.1.

The DDL reproduces µTask's `sql/schema.sql` statement for statement (same types, defaults, constraint
and index names), so a database created here can go back to µTask, and a µTask database is taken over
by stamping this revision instead of running it (see `utask.core.storage.migrate`).

Revision ID: 0001_utask_011
Revises:
"""

from alembic import op

revision = "0001_utask_011"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE "task_template" (
    id BIGSERIAL PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    description TEXT NOT NULL,
    long_description TEXT,
    doc_link TEXT,
    inputs JSONB NOT NULL,
    resolver_inputs JSONB NOT NULL,
    steps JSONB NOT NULL,
    variables JSONB NOT NULL DEFAULT 'null',
    allowed_resolver_groups JSONB NOT NULL DEFAULT '[]',
    allowed_resolver_usernames JSONB NOT NULL DEFAULT '[]',
    allow_all_resolver_usernames BOOL NOT NULL DEFAULT false,
    auto_runnable BOOL NOT NULL DEFAULT false,
    blocked BOOL NOT NULL DEFAULT false,
    hidden BOOL NOT NULL DEFAULT false,
    result_format JSONB NOT NULL,
    title_format TEXT NOT NULL,
    retry_max INTEGER,
    allow_task_start_over BOOL NOT NULL DEFAULT false,
    base_configurations JSONB NOT NULL,
    tags JSONB NOT NULL DEFAULT 'null'
);

CREATE TABLE "batch" (
    id BIGSERIAL PRIMARY KEY,
    public_id UUID UNIQUE NOT NULL
);

CREATE TABLE "task" (
    id BIGSERIAL PRIMARY KEY,
    public_id UUID UNIQUE NOT NULL,
    id_template BIGINT NOT NULL REFERENCES "task_template"(id),
    id_batch BIGINT REFERENCES "batch"(id),
    title TEXT NOT NULL,
    requester_username TEXT,
    requester_groups JSONB NOT NULL DEFAULT 'null',
    watcher_usernames JSONB NOT NULL DEFAULT 'null',
    watcher_groups JSONB NOT NULL DEFAULT 'null',
    resolver_usernames JSONB NOT NULL DEFAULT 'null',
    resolver_groups JSONB NOT NULL DEFAULT 'null',
    created TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    last_activity TIMESTAMP WITH TIME ZONE DEFAULT now(),
    state TEXT NOT NULL,
    steps_done INTEGER NOT NULL,
    steps_total INTEGER NOT NULL,
    crypt_key BYTEA NOT NULL,
    encrypted_input BYTEA NOT NULL,
    encrypted_result BYTEA NOT NULL,
    tags JSONB NOT NULL DEFAULT 'null'
);

-- Index names are the ones PostgreSQL gives µTask's unnamed `CREATE INDEX ON ...`.
CREATE INDEX "task_id_template_idx" ON "task"(id_template);
CREATE INDEX "task_id_batch_idx" ON "task"(id_batch);
CREATE INDEX "task_requester_username_idx" ON "task"(requester_username);
CREATE INDEX "task_state_idx" ON "task"(state);
CREATE INDEX "task_last_activity_idx" ON "task"(last_activity DESC);
CREATE INDEX "task_watcher_usernames_idx" ON "task" USING gin (watcher_usernames jsonb_path_ops);
CREATE INDEX "task_watcher_groups_idx" ON "task" USING gin (watcher_groups);
CREATE INDEX "task_resolver_usernames_idx" ON "task" USING gin (resolver_usernames jsonb_path_ops);
CREATE INDEX "task_resolver_groups_idx" ON "task" USING gin (resolver_groups);
CREATE INDEX "task_tags_idx" ON "task" USING gin (tags jsonb_path_ops);

CREATE TABLE "task_comment" (
    id BIGSERIAL PRIMARY KEY,
    public_id UUID UNIQUE NOT NULL,
    id_task BIGINT NOT NULL REFERENCES "task"(id) ON DELETE CASCADE,
    username TEXT,
    created TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX "task_comment_id_task_idx" ON "task_comment"(id_task);

CREATE TABLE "resolution" (
    id BIGSERIAL PRIMARY KEY,
    public_id UUID UNIQUE NOT NULL,
    id_task BIGINT UNIQUE NOT NULL REFERENCES "task"(id) ON DELETE CASCADE,
    resolver_username TEXT,
    state TEXT NOT NULL,
    instance_id BIGINT,
    created TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    last_start TIMESTAMP WITH TIME ZONE,
    last_stop TIMESTAMP WITH TIME ZONE,
    next_retry TIMESTAMP WITH TIME ZONE,
    run_count INTEGER NOT NULL,
    run_max INTEGER NOT NULL,
    crypt_key BYTEA NOT NULL,
    encrypted_resolver_input BYTEA,
    encrypted_steps BYTEA NOT NULL,
    steps_compression_alg TEXT NOT NULL DEFAULT '',
    base_configurations JSONB NOT NULL
);
CREATE INDEX "resolution_resolver_username_idx" ON "resolution"(resolver_username);
CREATE INDEX "resolution_state_idx" ON "resolution"(state);
CREATE INDEX "resolution_instance_id_idx" ON "resolution"(instance_id);
CREATE INDEX "resolution_next_retry_idx" ON "resolution"(next_retry);

CREATE TABLE "runner_instance" (
    id BIGSERIAL PRIMARY KEY,
    heartbeat TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL
);

CREATE TABLE "callback" (
    id BIGSERIAL PRIMARY KEY,
    created TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    called TIMESTAMP WITH TIME ZONE,
    public_id UUID UNIQUE NOT NULL,
    id_task BIGINT NOT NULL REFERENCES "task"(id) ON DELETE CASCADE,
    id_resolution BIGINT NOT NULL REFERENCES "resolution"(id) ON DELETE CASCADE,
    resolver_username TEXT NOT NULL,
    encrypted_schema BYTEA NOT NULL,
    encrypted_body BYTEA NOT NULL,
    encrypted_secret BYTEA NOT NULL
);
CREATE INDEX "callback_id_task_idx" ON "callback"(id_task);
CREATE INDEX "callback_id_resolution_idx" ON "callback"(id_resolution);

CREATE TABLE "utask_sql_migrations" (
    current_migration_applied TEXT PRIMARY KEY
);

CREATE TABLE "cache" (
    "key" TEXT PRIMARY KEY,
    "value" BYTEA NOT NULL,
    "expires_at" TIMESTAMP WITH TIME ZONE
);
CREATE INDEX "cache_expires_at_idx" ON "cache" ("expires_at") WHERE "expires_at" IS NOT NULL;

-- µTask refuses to start without this row: keeping it lets the database go back to µTask.
INSERT INTO "utask_sql_migrations" VALUES ('v1.21.1-migration011');
"""

TABLES = ("cache", "utask_sql_migrations", "callback", "runner_instance", "resolution", "task_comment",
          "task", "batch", "task_template")


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
