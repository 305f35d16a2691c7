"""Audit trail and per-step rows: our first tables beyond µTask's schema.

- `resolution_step`: one encrypted row per step, the live source of truth while a resolution runs, so
  that persisting a step costs the same whether the resolution has 10 steps or 10,000. µTask's
  `resolution.encrypted_steps` blob stays readable and writable (it is rewritten at the end of each run),
  so a database can still be handed back to µTask, and a µTask database is taken over by exploding its
  blob into rows on first load (`resolution.steps_in_rows` says which of the two is authoritative).
- `audit_event`: append-only, hash-chained per task (each event carries the hash of the previous event
  of the same task); `audit_chain_head` remembers the last link of each chain so that deleting the
  newest events is detected too. A trigger refuses UPDATE and DELETE so that tampering has to be
  deliberate (disable the trigger) rather than an accident of some maintenance query; the one update it
  lets through is key rotation re-encrypting `encrypted_details` (`SET LOCAL utask.audit_reencrypt = 'on'`).

Revision ID: 0002_audit_and_step_rows
Revises: 0001_utask_011
"""

from __future__ import annotations

from alembic import op

revision = "0002_audit_and_step_rows"
down_revision = "0001_utask_011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE "resolution" ADD COLUMN steps_in_rows BOOLEAN NOT NULL DEFAULT false;

        CREATE TABLE "resolution_step" (
            id_resolution BIGINT NOT NULL REFERENCES "resolution"(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            encrypted_step BYTEA NOT NULL,
            PRIMARY KEY (id_resolution, name)
        );

        CREATE TABLE "audit_event" (
            id BIGSERIAL PRIMARY KEY,
            task_public_id UUID NOT NULL,
            seq BIGINT NOT NULL,
            resolution_public_id UUID,
            step_name TEXT,
            kind TEXT NOT NULL,
            actor TEXT,
            instance_id BIGINT,
            created TIMESTAMP WITH TIME ZONE NOT NULL,
            from_state TEXT,
            to_state TEXT,
            encrypted_details BYTEA,
            prev_hash BYTEA NOT NULL,
            hash BYTEA NOT NULL,
            UNIQUE (task_public_id, seq)
        );
        CREATE INDEX ON "audit_event"(resolution_public_id);
        CREATE INDEX ON "audit_event"(created);

        CREATE TABLE "audit_chain_head" (
            task_public_id UUID PRIMARY KEY,
            seq BIGINT NOT NULL,
            hash BYTEA NOT NULL
        );

        CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Key rotation may re-encrypt the details and nothing else (the hash covers the plaintext).
            IF TG_OP = 'UPDATE' AND current_setting('utask.audit_reencrypt', true) = 'on'
               AND to_jsonb(NEW) - 'encrypted_details' = to_jsonb(OLD) - 'encrypted_details' THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_event is append-only';
        END;
        $$;
        CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON "audit_event"
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER IF EXISTS audit_event_append_only ON "audit_event";
        DROP FUNCTION IF EXISTS audit_event_append_only();
        DROP TABLE IF EXISTS "audit_chain_head";
        DROP TABLE IF EXISTS "audit_event";
        DROP TABLE IF EXISTS "resolution_step";
        ALTER TABLE "resolution" DROP COLUMN IF EXISTS steps_in_rows;
        """
    )
