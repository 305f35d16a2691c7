"""Resolutions and their steps (µTask's `resolution` table, our `resolution_step` rows)."""

_COLUMNS = """
    r.id, r.public_id::text AS public_id, r.id_task, r.resolver_username, r.state, r.instance_id,
    r.created, r.last_start, r.last_stop, r.next_retry, r.run_count, r.run_max,
    r.encrypted_resolver_input, r.steps_compression_alg, r.base_configurations, r.steps_in_rows,
    t.public_id::text AS task_public_id, t.title AS task_title
"""

# The blob is only fetched when it is needed (legacy rows, key rotation): it is the one column whose
# size grows with the number of steps.
SELECT_BY_PUBLIC_ID = f"""
SELECT {_COLUMNS}
FROM "resolution" r JOIN "task" t ON t.id = r.id_task
WHERE r.public_id = %(public_id)s
"""

# µTask's run initialisation lock: waits for another transaction holding the row (§6.3).
SELECT_BY_PUBLIC_ID_LOCKED = SELECT_BY_PUBLIC_ID + ' FOR NO KEY UPDATE OF r'

# Admin edits: fail at once instead of waiting behind a running commit (§6.4).
SELECT_BY_PUBLIC_ID_LOCKED_NOWAIT = SELECT_BY_PUBLIC_ID + ' FOR NO KEY UPDATE OF r NOWAIT'

# Lock order everywhere: the task row before its resolution row (creating a resolution locks the task
# then inserts; runs and edits lock the task first too), so two writers never wait on each other in a
# cycle. This finds and locks the task of a resolution before the resolution itself is locked.
LOCK_TASK_OF = """
SELECT t.id FROM "task" t JOIN "resolution" r ON r.id_task = t.id
WHERE r.public_id = %(public_id)s
FOR NO KEY UPDATE OF t
"""

LOCK_TASK_OF_NOWAIT = LOCK_TASK_OF.rstrip() + " NOWAIT\n"

# A run's commits first check that the run still owns its resolution (still RUNNING, same run_count): a
# pause, a cancel or another run may have taken it over meanwhile. Task row, then resolution row.
LOCK_RUN_TASK = 'SELECT state FROM "task" WHERE id = %(id_task)s FOR NO KEY UPDATE'
LOCK_RUN_RESOLUTION = 'SELECT state, run_count FROM "resolution" WHERE id = %(id)s FOR NO KEY UPDATE'

SELECT_BY_TASK_ID = f"""
SELECT {_COLUMNS}
FROM "resolution" r JOIN "task" t ON t.id = r.id_task
WHERE r.id_task = %(id_task)s
"""

SELECT_BLOB = """
SELECT encrypted_steps, steps_compression_alg FROM "resolution" WHERE id = %(id)s
"""

INSERT = """
INSERT INTO "resolution" (public_id, id_task, resolver_username, state, created, next_retry,
    run_count, run_max, crypt_key, encrypted_resolver_input, encrypted_steps, steps_compression_alg,
    base_configurations, steps_in_rows)
VALUES (%(public_id)s, %(id_task)s, %(resolver_username)s, %(state)s, %(created)s, %(next_retry)s,
    0, %(run_max)s, ''::bytea, %(encrypted_resolver_input)s, %(encrypted_steps)s, %(steps_compression_alg)s,
    %(base_configurations)s, true)
RETURNING id
"""

DELETE = """
DELETE FROM "resolution" WHERE id = %(id)s
"""

# Everything but next_retry, which has its own guarded update (§6.7).
UPDATE_FIELDS = """
UPDATE "resolution" SET
    state = %(state)s, instance_id = %(instance_id)s, last_start = %(last_start)s,
    last_stop = %(last_stop)s, run_count = %(run_count)s, run_max = %(run_max)s,
    encrypted_resolver_input = %(encrypted_resolver_input)s, base_configurations = %(base_configurations)s,
    crypt_key = ''::bytea
WHERE id = %(id)s
"""

UPDATE_STATE = """
UPDATE "resolution" SET state = %(state)s WHERE id = %(id)s
"""

UPDATE_BLOB = """
UPDATE "resolution" SET encrypted_steps = %(encrypted_steps)s, steps_compression_alg = %(steps_compression_alg)s,
    steps_in_rows = %(steps_in_rows)s
WHERE id = %(id)s
"""

# §6.7: serialise next_retry writers of one resolution for the rest of the transaction.
ADVISORY_XACT_LOCK = "SELECT pg_advisory_xact_lock(%(id)s)"

# §6.7: the new value wins only when it belongs to the current run cycle and moves the retry earlier.
UPDATE_NEXT_RETRY_GUARDED = """
UPDATE "resolution" SET next_retry = %(next_retry)s
WHERE id = %(id)s
  AND %(next_retry)s > last_start
  AND (next_retry < last_start OR %(next_retry)s < next_retry OR next_retry IS NULL)
RETURNING next_retry
"""

# Manual actions (extend, delayed creation) set next_retry unconditionally, as µTask's handlers do
# before last_start exists.
SET_NEXT_RETRY = """
UPDATE "resolution" SET next_retry = %(next_retry)s WHERE id = %(id)s
"""

SELECT_NEXT_RETRY = """
SELECT next_retry FROM "resolution" WHERE id = %(id)s
"""

SELECT_STEP_ROWS = """
SELECT name, encrypted_step FROM "resolution_step" WHERE id_resolution = %(id)s
"""

# With the resolution locked for writing (runs, edits, key rotation): a step row a running engine commits
# meanwhile is waited for and re-read, never overwritten with an older version.
SELECT_STEP_ROWS_LOCKED = SELECT_STEP_ROWS.rstrip() + " FOR UPDATE\n"

UPSERT_STEP_ROW = """
INSERT INTO "resolution_step" (id_resolution, name, encrypted_step)
VALUES (%(id)s, %(name)s, %(encrypted_step)s)
ON CONFLICT (id_resolution, name) DO UPDATE SET encrypted_step = EXCLUDED.encrypted_step
"""

DELETE_STEP_ROW = """
DELETE FROM "resolution_step" WHERE id_resolution = %(id)s AND name = %(name)s
"""

# The rows of one commit in one statement each (a run loop commit writes tens of steps: one statement
# instead of one per row saves most of the client's and the server's per-statement work). Names are unique
# within a call (they come from a mapping), as ON CONFLICT DO UPDATE requires.
UPSERT_STEP_ROWS = """
INSERT INTO "resolution_step" (id_resolution, name, encrypted_step)
SELECT %(id)s::bigint, u.name, u.encrypted_step
FROM unnest(%(names)s::text[], %(encrypted_steps)b::bytea[]) AS u(name, encrypted_step)
ON CONFLICT (id_resolution, name) DO UPDATE SET encrypted_step = EXCLUDED.encrypted_step
"""

DELETE_STEP_ROWS = """
DELETE FROM "resolution_step" WHERE id_resolution = %(id)s::bigint AND name = ANY(%(names)s::text[])
"""

DELETE_ALL_STEP_ROWS = """
DELETE FROM "resolution_step" WHERE id_resolution = %(id)s
"""

# Key rotation pages through every resolution by internal id, like µTask's RotateResolutions.
LIST_IDS_AFTER = """
SELECT id, public_id::text AS public_id FROM "resolution" WHERE id > %(after)s ORDER BY id LIMIT %(limit)s
"""

SELECT_ID_BY_PUBLIC_ID = """
SELECT id FROM "resolution" WHERE public_id = %(public_id)s
"""
