"""Instances, heartbeats, claims and garbage collection: µTask's collector queries, verbatim in spirit.

Every claim is one UPDATE over a `LIMIT 1 FOR UPDATE SKIP LOCKED` sub-select, so two instances polling at
the same moment never claim the same resolution: the second one skips the row the first one locked.
"""

INSERT_INSTANCE = 'INSERT INTO "runner_instance" (heartbeat) VALUES (now()) RETURNING id'

HEARTBEAT = 'UPDATE "runner_instance" SET heartbeat = now() WHERE id = %(id)s'

# A cleanly stopped instance with no run left: other instances may recollect its CRASHED resolutions now.
MARK_STOPPED = """UPDATE "runner_instance" SET heartbeat = 'epoch' WHERE id = %(id)s"""

# The dead-instance threshold is a parameter so tests can use seconds instead of µTask's 60 s.
LIST_DEAD_INSTANCES = """
SELECT id FROM "runner_instance"
WHERE heartbeat < now() - make_interval(secs => %(dead_after)s) AND id <> %(me)s
ORDER BY id
"""

# Instances whose row is gone but which still hold resolutions: one declared dead while it was only
# paused (it registers again under a new id when it wakes up) and then really died. Collected like the dead.
LIST_ORPHAN_INSTANCES = """
SELECT DISTINCT r.instance_id AS id FROM "resolution" r
WHERE r.state IN ('CRASHED', 'RUNNING', 'RETRY', 'AUTORUNNING') AND r.instance_id IS NOT NULL
  AND r.instance_id <> %(me)s
  AND NOT EXISTS (SELECT 1 FROM "runner_instance" i WHERE i.id = r.instance_id)
ORDER BY 1
"""

DELETE_INSTANCE = 'DELETE FROM "runner_instance" WHERE id = %(id)s'

SELECT_NOW = "SELECT now()"

CLAIM_AUTORUN = """
UPDATE "resolution"
SET instance_id = %(me)s, state = 'AUTORUNNING'
WHERE id IN (
    SELECT id FROM "resolution"
    WHERE (state = 'TO_AUTORUN' OR (instance_id = %(me)s AND state = 'AUTORUNNING'))
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, public_id::text AS public_id, state
"""

CLAIM_RETRY = """
UPDATE "resolution"
SET instance_id = %(me)s, state = 'RETRY'
WHERE id IN (
    SELECT id FROM "resolution"
    WHERE ((instance_id = %(me)s AND state = 'RETRY') OR
           (state IN ('ERROR', 'TO_AUTORUN_DELAYED') AND next_retry < now()) OR
           (state = 'WAITING' AND next_retry > last_start AND next_retry < now()))
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, public_id::text AS public_id, state
"""

CLAIM_CRASHED = """
UPDATE "resolution"
SET instance_id = %(me)s, state = 'CRASHED'
WHERE id IN (
    SELECT id FROM "resolution"
    WHERE ((instance_id = %(dead)s AND state IN ('CRASHED', 'RUNNING', 'RETRY', 'AUTORUNNING')) OR
           (instance_id = %(me)s AND state = 'CRASHED'))
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, public_id::text AS public_id, state
"""

COUNT_REMAINING_OF_INSTANCE = """
SELECT count(id) FROM "resolution"
WHERE instance_id = %(dead)s AND state IN ('CRASHED', 'RUNNING', 'RETRY', 'AUTORUNNING')
"""

# The earliest moment the retry collector will have something to claim: lets an idle instance sleep
# exactly until then instead of polling blindly.
NEXT_RETRY_DUE = """
SELECT min(next_retry) FROM "resolution"
WHERE (state IN ('ERROR', 'TO_AUTORUN_DELAYED')) OR (state = 'WAITING' AND next_retry > last_start)
"""

GC_DELETE_TASKS = """
DELETE FROM "task"
WHERE state IN ('DONE', 'CANCELLED', 'WONTFIX') AND last_activity < %(threshold)s
RETURNING public_id::text AS public_id
"""

GC_DELETE_ORPHAN_BATCHES = """
DELETE FROM "batch" WHERE id IN (
    SELECT b.id FROM "batch" b LEFT JOIN "task" t ON b.id = t.id_batch WHERE t.id IS NULL
)
"""

# Audit retention: the trails of tasks that no longer exist, once their last event is older than the
# threshold, a batch at a time. The trigger lets these deletes through only with `utask.audit_purge` set
# and only for events whose task is gone (migration 0003).
GC_ALLOW_AUDIT_PURGE = "SELECT set_config('utask.audit_purge', 'on', true)"
GC_PURGE_AUDIT = """
WITH gone AS (
    SELECT h.task_public_id FROM "audit_chain_head" h
    WHERE NOT EXISTS (SELECT 1 FROM "task" t WHERE t.public_id = h.task_public_id)
      AND NOT EXISTS (SELECT 1 FROM "audit_event" e
                      WHERE e.task_public_id = h.task_public_id AND e.created >= %(threshold)s)
    LIMIT %(limit)s
), events AS (
    DELETE FROM "audit_event" WHERE task_public_id IN (SELECT task_public_id FROM gone)
)
DELETE FROM "audit_chain_head" WHERE task_public_id IN (SELECT task_public_id FROM gone)
RETURNING task_public_id
"""

# LISTEN/NOTIFY channel announcing claimable work; the payload is a hint only (collectors still claim
# with the queries above, so a lost or duplicated notification is harmless).
CHANNEL = "utask_work"
NOTIFY = "SELECT pg_notify('utask_work', %(payload)s)"
LISTEN = "LISTEN utask_work"
