"""Audit retention: the trail of a task that no longer exists may be purged.

The append-only trigger of 0002 refused every DELETE, so the trails of garbage-collected tasks stayed
forever. It now lets one through when the garbage collector asks for it (`SET LOCAL utask.audit_purge =
'on'`) and the event's task is gone: a live task's chain still cannot lose a link, by accident or by a
purge.

Revision ID: 0003_audit_retention
Revises: 0002_audit_and_step_rows
"""

from __future__ import annotations

from alembic import op

revision = "0003_audit_retention"
down_revision = "0002_audit_and_step_rows"
branch_labels = None
depends_on = None

_REENCRYPT = """
            -- Key rotation may re-encrypt the details and nothing else (the hash covers the plaintext).
            IF TG_OP = 'UPDATE' AND current_setting('utask.audit_reencrypt', true) = 'on'
               AND to_jsonb(NEW) - 'encrypted_details' = to_jsonb(OLD) - 'encrypted_details' THEN
                RETURN NEW;
            END IF;"""


def upgrade() -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN{_REENCRYPT}
            -- Retention may purge the trail of a task that no longer exists, and nothing else.
            IF TG_OP = 'DELETE' AND current_setting('utask.audit_purge', true) = 'on'
               AND NOT EXISTS (SELECT 1 FROM "task" WHERE public_id = OLD.task_public_id) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit_event is append-only';
        END;
        $$;
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN{_REENCRYPT}
            RAISE EXCEPTION 'audit_event is append-only';
        END;
        $$;
        """
    )
