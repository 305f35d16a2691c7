"""Queries of the plugins' host calls (reference §10.3, §10.4, §10.12, §10.13): batches, callbacks, cache."""

# -- batches --------------------------------------------------------------------------------------------------

SELECT_BATCH = 'SELECT id FROM "batch" WHERE public_id = %(public_id)s::uuid'

# The batch plugin re-creates a batch the garbage collector deleted with its public id (§10.4).
INSERT_BATCH = 'INSERT INTO "batch" (public_id) VALUES (%(public_id)s::uuid) RETURNING id'

# Tasks of a batch: how many, how many not final, and whether every one is a child of `parent`.
BATCH_TASKS = """
SELECT count(*) AS total,
    count(*) FILTER (WHERE state NOT IN ('DONE', 'CANCELLED', 'WONTFIX')) AS running,
    count(*) FILTER (WHERE tags->>'_utask_parent_task_id' IS DISTINCT FROM %(parent)s) AS foreign_tasks
FROM "task" WHERE id_batch = %(id_batch)s
"""

# -- resolutions ----------------------------------------------------------------------------------------------

# §6.8: a completed batch gives back the runs its children's wake-ups consumed.
INCREASE_RUN_MAX = """
UPDATE "resolution" SET run_max = run_max + %(amount)s WHERE id = %(id)s RETURNING run_max
"""

# -- callbacks ------------------------------------------------------------------------------------------------

INSERT_CALLBACK = """
INSERT INTO "callback" (public_id, id_task, id_resolution, resolver_username, created, updated,
    encrypted_schema, encrypted_secret, encrypted_body)
VALUES (%(public_id)s::uuid, %(id_task)s, %(id_resolution)s, %(resolver_username)s, %(now)s, %(now)s,
    %(encrypted_schema)s, %(encrypted_secret)s, %(encrypted_body)s)
"""

SELECT_CALLBACK = """
SELECT id, public_id::text AS public_id, id_task, id_resolution, resolver_username, called, encrypted_body
FROM "callback" WHERE public_id = %(public_id)s::uuid
"""

# -- cache (global, values in clear) ----------------------------------------------------------------------------

CACHE_SET = """
INSERT INTO "cache" (key, value, expires_at) VALUES (%(key)s, %(value)s, %(expires_at)s)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
"""

CACHE_GET = 'SELECT value, expires_at FROM "cache" WHERE key = %(key)s'

# Expired entries are deleted when read (§10.13).
CACHE_DELETE_EXPIRED = 'DELETE FROM "cache" WHERE key = %(key)s AND expires_at IS NOT NULL AND expires_at <= %(now)s'

CACHE_DELETE = 'DELETE FROM "cache" WHERE key = %(key)s'

CACHE_PURGE_EXPIRED = 'DELETE FROM "cache" WHERE expires_at IS NOT NULL AND expires_at <= %(now)s'
