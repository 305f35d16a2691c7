"""Change notifications of tasks: what the dashboard's live views (the API's server-sent events) listen to.

Every committed write of a task row, of its resolution (fields or steps) or of its comments is announced
on the channel `utask_task_changed` with the task's public id as payload: the writer's transaction records
the ids, and `utask.core.engine.store.ChangeAnnouncer` NOTIFYs them after the commit, in batches (NOTIFY
inside the writers' transactions would serialise every commit of the database). Listeners hear of a
change once it is committed, never of a rolled-back one. The payload is a hint: a listener re-reads the
task (with the caller's rights) before showing anything, and polls as a fallback, so a lost notification
only delays a page.
"""

CHANNEL = "utask_task_changed"
LISTEN = f"LISTEN {CHANNEL}"

NOTIFY_MANY = f"SELECT pg_notify('{CHANNEL}', p) FROM unnest(%(payloads)s::text[]) AS p"

# The notifying transaction does not wait for its WAL flush: it holds PostgreSQL's notification lock
# (which serialises notifying commits) for a moment only.
ASYNC_COMMIT = "SET LOCAL synchronous_commit = off"

# Writes that only know internal ids (comments, deletions by id): the task's public id, read in the
# writer's transaction.
TASK_PUBLIC_ID = 'SELECT public_id::text AS public_id FROM "task" WHERE id = %(id)s'
TASK_PUBLIC_ID_OF_RESOLUTION = """
SELECT t.public_id::text AS public_id FROM "resolution" r JOIN "task" t ON t.id = r.id_task WHERE r.id = %(id)s
"""

# The fallback poll: tasks whose activity moved since a watermark (served by task_last_activity_idx).
SELECT_ACTIVE_SINCE = """
SELECT public_id::text AS public_id, last_activity FROM "task"
WHERE last_activity > %(since)s ORDER BY last_activity DESC LIMIT %(limit)s
"""
