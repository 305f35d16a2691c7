"""The audit trail: an append-only, hash-chained event log per task."""

# Locks the chain of one task for the rest of the transaction, creating it when the task has none yet,
# so concurrent writers (engine, API) append one after the other.
ENSURE_HEAD = """
INSERT INTO "audit_chain_head" (task_public_id, seq, hash) VALUES (%(task)s, 0, %(genesis)s)
ON CONFLICT (task_public_id) DO NOTHING
"""

LOCK_HEAD = """
SELECT seq, hash FROM "audit_chain_head" WHERE task_public_id = %(task)s FOR UPDATE
"""

UPDATE_HEAD = """
UPDATE "audit_chain_head" SET seq = %(seq)s, hash = %(hash)s WHERE task_public_id = %(task)s
"""

INSERT_EVENT = """
INSERT INTO "audit_event" (task_public_id, seq, resolution_public_id, step_name, kind, actor,
    instance_id, created, from_state, to_state, encrypted_details, prev_hash, hash)
VALUES (%(task)s, %(seq)s, %(resolution)s, %(step)s, %(kind)s, %(actor)s, %(instance)s, %(created)s,
    %(from_state)s, %(to_state)s, %(encrypted_details)s, %(prev_hash)s, %(hash)s)
"""

# The events of one chain appended by one transaction, in one statement.
INSERT_EVENTS = """
INSERT INTO "audit_event" (task_public_id, seq, resolution_public_id, step_name, kind, actor,
    instance_id, created, from_state, to_state, encrypted_details, prev_hash, hash)
SELECT %(task)s::uuid, u.seq, u.resolution::uuid, u.step, u.kind, u.actor, u.instance, u.created,
    u.from_state, u.to_state, u.details, u.prev_hash, u.hash
FROM unnest(%(seqs)s::bigint[], %(resolutions)s::text[], %(steps)s::text[], %(kinds)s::text[],
    %(actors)s::text[], %(instances)s::bigint[], %(created)s::timestamptz[], %(from_states)s::text[],
    %(to_states)s::text[], %(details)b::bytea[], %(prev_hashes)b::bytea[], %(hashes)b::bytea[])
    AS u(seq, resolution, step, kind, actor, instance, created, from_state, to_state, details, prev_hash, hash)
"""

SELECT_CHAIN = """
SELECT id, seq, task_public_id::text AS task, resolution_public_id::text AS resolution, step_name AS step,
    kind, actor, instance_id AS instance, created, from_state, to_state, encrypted_details, prev_hash, hash
FROM "audit_event" WHERE task_public_id = %(task)s ORDER BY seq, id
"""

SELECT_HEAD = """
SELECT seq, hash FROM "audit_chain_head" WHERE task_public_id = %(task)s
"""

# Key rotation: the append-only trigger lets this one column change when the transaction says so.
ALLOW_REENCRYPT = "SELECT set_config('utask.audit_reencrypt', 'on', true)"

SELECT_DETAILS = """
SELECT id, encrypted_details FROM "audit_event"
WHERE task_public_id = %(task)s AND encrypted_details IS NOT NULL
"""

UPDATE_DETAILS = """
UPDATE "audit_event" SET encrypted_details = %(encrypted_details)s WHERE id = %(id)s
"""
