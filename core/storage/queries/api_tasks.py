"""Reads and writes of the REST API that the task service does not offer: task listings and details,
comments, batches, statistics (reference §7.4, §13).

Plain SQL with psycopg named placeholders, sent through `utask.core.engine.store.Tx`. The one dynamic
statement (the task listing, whose WHERE clause depends on the filters) is assembled by
`list_tasks()` from the fixed fragments below, never from caller text.
"""

from __future__ import annotations

from typing import Any

# The task service's task columns, so `Store._task_from_row` decodes these rows too.
from .tasks import _TASK_COLUMNS, _TASK_FROM

# The listing does not decrypt anything (µTask: `input` is null in lists), so the encrypted columns stay
# in the database.
_LIST_COLUMNS = """
    t.id, t.public_id::text AS public_id, t.title, t.id_template, t.id_batch, t.requester_username,
    t.requester_groups, t.watcher_usernames, t.watcher_groups, t.resolver_usernames, t.resolver_groups,
    t.created, t.state, t.steps_done, t.steps_total, t.last_activity, t.tags,
    tt.name AS template_name, tt.resolver_inputs AS template_resolver_inputs,
    r.public_id::text AS resolution_public_id, r.last_start, r.last_stop,
    r.resolver_username AS resolution_resolver_username,
    b.public_id::text AS batch_public_id
"""

_LIST_FROM = """
FROM "task" t
JOIN "task_template" tt ON tt.id = t.id_template
LEFT JOIN "resolution" r ON r.id_task = t.id
LEFT JOIN "batch" b ON b.id = t.id_batch
"""

_FILTERS = {
    "state": "t.state = %(state)s",
    "batch": "t.id_batch = %(batch_id)s",
    "template": "tt.name = %(template)s",
    "last": 't.last_activity < (SELECT last_activity FROM "task" WHERE public_id = %(last)s::uuid)',
    "after": "t.last_activity > %(after)s",
    "before": "t.last_activity < %(before)s",
    "tags": "t.tags @> %(tags)s::jsonb",
    # type=own
    "own": "(t.requester_username = %(user)s OR t.watcher_usernames ? %(user)s)",
    # type=resolvable
    "resolvable": """(tt.allowed_resolver_usernames ? %(user)s OR t.resolver_usernames ? %(user)s
        OR tt.allowed_resolver_groups ?| %(groups)s::text[] OR t.resolver_groups ?| %(groups)s::text[])""",
    # type=all for a non-admin: requester, watcher or potential resolver
    "all": """(t.requester_username = %(user)s OR t.watcher_usernames ? %(user)s
        OR tt.allowed_resolver_usernames ? %(user)s OR t.resolver_usernames ? %(user)s
        OR t.watcher_groups ?| %(groups)s::text[] OR tt.allowed_resolver_groups ?| %(groups)s::text[]
        OR t.resolver_groups ?| %(groups)s::text[])""",
}


def list_tasks(filters: set[str]) -> str:
    """SELECT of one page of tasks, newest activity first; `filters` names fragments of `_FILTERS`."""
    where = [_FILTERS[name] for name in sorted(filters)]
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    return f"SELECT {_LIST_COLUMNS} {_LIST_FROM}{clause} ORDER BY t.last_activity DESC, t.id DESC LIMIT %(limit)s"


# The task list's event stream (the dashboard's live list): which of some changed tasks the caller sees
# under the list's filters, and the caller's counts by state. Same fragments as the listing.
_VISIBLE_FROM = 'FROM "task" t JOIN "task_template" tt ON tt.id = t.id_template'


def visible_task_ids(filters: set[str], *, among: bool = False) -> str:
    """Public ids of the tasks matching `filters` (newest activity first); `among`: only those of %(ids)s."""
    where = [_FILTERS[name] for name in sorted(filters)]
    if among:
        where.append("t.public_id = ANY(%(ids)s::uuid[])")
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    return (f"SELECT t.public_id::text AS public_id {_VISIBLE_FROM}{clause} "
            "ORDER BY t.last_activity DESC, t.id DESC LIMIT %(limit)s")


def count_tasks_by_state(filters: set[str]) -> str:
    """Counts by state of the tasks matching `filters` (the template join only when a filter needs it)."""
    where = [_FILTERS[name] for name in sorted(filters)]
    needs_template = bool(filters & {"template", "resolvable", "all"})
    source = _VISIBLE_FROM if needs_template else 'FROM "task" t'
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    return f"SELECT t.state, count(*) AS state_count {source}{clause} GROUP BY t.state"


# Whether a task changed since a stream last read it: row versions of the task and its resolution, and
# its comments (index lookups only; the stream re-reads the task when this moves).
TASK_SIGNATURE = """
SELECT t.xmin::text AS task_version, r.xmin::text AS resolution_version,
    (SELECT count(*)::text || '/' || coalesce(max(c.updated)::text, '') FROM "task_comment" c
     WHERE c.id_task = t.id) AS comments_version
FROM "task" t LEFT JOIN "resolution" r ON r.id_task = t.id
WHERE t.public_id = %(public_id)s::uuid
"""


# GET /task/:id in one round trip: the task (as the task service reads it), the version of its template
# row (xmin: decoded templates are cached until the row changes) and its comments.
SELECT_TASK_DETAIL = f"""
SELECT {_TASK_COLUMNS}, tt.xmin::text AS template_version,
    (SELECT coalesce(json_agg(json_build_object('id', c.public_id::text, 'username', c.username,
                                                'created', c.created, 'updated', c.updated,
                                                'content', c.content) ORDER BY c.id), '[]'::json)
     FROM "task_comment" c WHERE c.id_task = t.id) AS comments_json
{_TASK_FROM}
WHERE t.public_id = %(public_id)s
"""

TASK_EXISTS = 'SELECT 1 FROM "task" WHERE public_id = %(public_id)s::uuid'

SELECT_BATCH_BY_PUBLIC_ID = 'SELECT id, public_id::text AS public_id FROM "batch" WHERE public_id = %(public_id)s::uuid'

# -- comments -----------------------------------------------------------------------------------------------

SELECT_COMMENT = """
SELECT id, public_id::text AS id_public, id_task, username, created, updated, content
FROM "task_comment" WHERE public_id = %(public_id)s::uuid
"""

# Oldest first. (ORDER BY must name the table's id: a bare `id` would be the `id` output column, the
# public UUID, and give a random order.)
SELECT_COMMENTS_OF_TASK = """
SELECT c.public_id::text AS id, c.username, c.created, c.updated, c.content
FROM "task_comment" c WHERE c.id_task = %(id_task)s ORDER BY c.id
"""

UPDATE_COMMENT = """
UPDATE "task_comment" SET content = %(content)s, updated = %(updated)s WHERE id = %(id)s
"""

DELETE_COMMENT = 'DELETE FROM "task_comment" WHERE id = %(id)s'

# -- statistics (§13) ---------------------------------------------------------------------------------------

COUNT_BY_STATE = 'SELECT state, count(state) AS state_count FROM "task" GROUP BY state'

COUNT_BY_STATE_WITH_TAGS = """
SELECT state, count(state) AS state_count FROM "task" WHERE tags @> %(tags)s::jsonb GROUP BY state
"""

# µTask's LoadStateCountResolverGroup: the task's resolver groups, else the template's, else "".
COUNT_BY_GROUP_STATE_TEMPLATE = """
SELECT group_name, sq.state, sq.template, count(sq.state) AS state_count
FROM (
    SELECT t.id, tt.name AS template, t.state,
        coalesce(nullif(t.resolver_groups, 'null'::jsonb), nullif(tt.allowed_resolver_groups, 'null'::jsonb),
                 '[""]'::jsonb) AS groups
    FROM "task" t LEFT JOIN "task_template" tt ON t.id_template = tt.id
) sq
JOIN jsonb_array_elements_text(sq.groups) group_name ON true
WHERE sq.groups IS NOT NULL
GROUP BY group_name, sq.state, sq.template
"""


def params(**values: Any) -> dict[str, Any]:
    return values
