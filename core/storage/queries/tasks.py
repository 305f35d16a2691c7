"""Tasks, templates, comments and batches as the task service and the engine read and write them."""

_TASK_COLUMNS = """
    t.id, t.public_id::text AS public_id, t.title, t.id_template, t.id_batch, t.requester_username,
    t.requester_groups, t.watcher_usernames, t.watcher_groups, t.resolver_usernames, t.resolver_groups,
    t.created, t.state, t.steps_done, t.steps_total, t.last_activity, t.tags,
    t.encrypted_input, t.encrypted_result,
    tt.name AS template_name,
    r.public_id::text AS resolution_public_id, r.last_start, r.last_stop,
    r.resolver_username AS resolution_resolver_username,
    b.public_id::text AS batch_public_id
"""

_TASK_FROM = """
FROM "task" t
JOIN "task_template" tt ON tt.id = t.id_template
LEFT JOIN "resolution" r ON r.id_task = t.id
LEFT JOIN "batch" b ON b.id = t.id_batch
"""

SELECT_BY_PUBLIC_ID = f"SELECT {_TASK_COLUMNS} {_TASK_FROM} WHERE t.public_id = %(public_id)s"

# Row lock on the task only (the joined rows stay unlocked), as µTask's LoadLockedFromPublicID.
SELECT_BY_PUBLIC_ID_LOCKED = SELECT_BY_PUBLIC_ID + " FOR NO KEY UPDATE OF t"

SELECT_BY_ID = f"SELECT {_TASK_COLUMNS} {_TASK_FROM} WHERE t.id = %(id)s"

INSERT = """
INSERT INTO "task" (public_id, id_template, id_batch, title, requester_username, requester_groups,
    watcher_usernames, watcher_groups, resolver_usernames, resolver_groups, created, last_activity,
    state, steps_done, steps_total, crypt_key, encrypted_input, encrypted_result, tags)
VALUES (%(public_id)s, %(id_template)s, %(id_batch)s, %(title)s, %(requester_username)s,
    %(requester_groups)s, %(watcher_usernames)s, %(watcher_groups)s, %(resolver_usernames)s,
    %(resolver_groups)s, %(created)s, %(last_activity)s, %(state)s, 0, %(steps_total)s, ''::bytea,
    %(encrypted_input)s, %(encrypted_result)s, %(tags)s)
RETURNING id
"""

UPDATE = """
UPDATE "task" SET
    title = %(title)s, watcher_usernames = %(watcher_usernames)s, watcher_groups = %(watcher_groups)s,
    resolver_usernames = %(resolver_usernames)s, resolver_groups = %(resolver_groups)s,
    state = %(state)s, steps_done = %(steps_done)s, last_activity = %(last_activity)s,
    encrypted_input = %(encrypted_input)s, encrypted_result = %(encrypted_result)s, tags = %(tags)s,
    crypt_key = ''::bytea
WHERE id = %(id)s
"""

# The run loop's commits: what a run changes on its task (inputs, title and watchers stay as they are).
UPDATE_RUN_FIELDS = """
UPDATE "task" SET state = %(state)s, steps_done = %(steps_done)s, last_activity = %(last_activity)s,
    tags = %(tags)s
WHERE id = %(id)s
"""

UPDATE_RESULT = """
UPDATE "task" SET encrypted_result = %(encrypted_result)s WHERE id = %(id)s
"""

DELETE = 'DELETE FROM "task" WHERE id = %(id)s'

# xmin changes with every update of the row: the task service caches decoded templates by (id, xmin).
SELECT_TEMPLATE_BY_NAME = 'SELECT xmin::text AS row_version, * FROM "task_template" WHERE name = %(name)s'
SELECT_TEMPLATE_BY_ID = 'SELECT xmin::text AS row_version, * FROM "task_template" WHERE id = %(id)s'

# Only the key of the decoded-template cache (utask.core.templates.cache): the full row (a dozen jsonb
# columns to parse) is read only when the cached version is stale.
SELECT_TEMPLATE_VERSION_BY_NAME = 'SELECT id, xmin::text AS row_version FROM "task_template" WHERE name = %(name)s'
SELECT_TEMPLATE_VERSION_BY_ID = 'SELECT id, xmin::text AS row_version FROM "task_template" WHERE id = %(id)s'

INSERT_COMMENT = """
INSERT INTO "task_comment" (public_id, id_task, username, created, updated, content)
VALUES (%(public_id)s, %(id_task)s, %(username)s, %(created)s, %(created)s, %(content)s)
"""

SELECT_COMMENTS = """
SELECT public_id::text AS id, username, created, updated, content
FROM "task_comment" WHERE id_task = %(id_task)s ORDER BY id
"""

INSERT_BATCH = 'INSERT INTO "batch" (public_id) VALUES (%(public_id)s) RETURNING id'

# §6.8: a batch child only wakes its parent once every sibling is final.
COUNT_UNFINISHED_BATCH_SIBLINGS = """
SELECT count(*) FROM "task"
WHERE id_batch = %(id_batch)s AND state NOT IN ('DONE', 'CANCELLED', 'WONTFIX')
"""

# Key rotation pages through tasks by internal id.
LIST_IDS_AFTER = """
SELECT id, public_id::text AS public_id FROM "task" WHERE id > %(after)s ORDER BY id LIMIT %(limit)s
"""

SELECT_CRYPTED_LOCKED = """
SELECT id, public_id::text AS public_id, encrypted_input, encrypted_result
FROM "task" WHERE id = %(id)s FOR NO KEY UPDATE
"""

UPDATE_CRYPTED = """
UPDATE "task" SET encrypted_input = %(encrypted_input)s, encrypted_result = %(encrypted_result)s,
    crypt_key = ''::bytea
WHERE id = %(id)s
"""

# Callbacks are re-encrypted with tasks and resolutions (µTask rotates them first).
LIST_CALLBACK_IDS_AFTER = """
SELECT id, public_id::text AS public_id FROM "callback" WHERE id > %(after)s ORDER BY id LIMIT %(limit)s
"""

SELECT_CALLBACK_CRYPTED_LOCKED = """
SELECT encrypted_schema, encrypted_body, encrypted_secret FROM "callback" WHERE id = %(id)s FOR NO KEY UPDATE
"""

UPDATE_CALLBACK_CRYPTED = """
UPDATE "callback" SET encrypted_schema = %(encrypted_schema)s, encrypted_body = %(encrypted_body)s,
    encrypted_secret = %(encrypted_secret)s
WHERE id = %(id)s
"""
