"""Callbacks as the `POST /unsecured/callback/:id` route reads and resolves them (reference §10.12)."""

# Locked like µTask's loadFromPublicID(forUpdate): two concurrent calls cannot both resolve it.
SELECT_CALLBACK_LOCKED = """
SELECT id, public_id::text AS public_id, id_task, id_resolution, called,
    encrypted_schema, encrypted_body, encrypted_secret
FROM "callback" WHERE public_id = %(public_id)s::uuid
FOR NO KEY UPDATE
"""

SELECT_CALLBACK_TASK = """
SELECT t.state, r.public_id::text AS resolution_public_id
FROM "task" t LEFT JOIN "resolution" r ON r.id_task = t.id
WHERE t.id = %(id_task)s
"""

SET_CALLED = """
UPDATE "callback" SET called = %(called)s, updated = %(called)s, encrypted_body = %(encrypted_body)s
WHERE id = %(id)s
"""
