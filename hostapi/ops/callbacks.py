"""`POST /unsecured/callback/:id?t=<token>`: resolve a callback created by the `callback` action
(reference §10.12), then resume the task's resolution in the background."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from utask.core import gojson
from utask.core.engine.store import Store, dumps, utcnow
from utask.core.storage.queries import api_callbacks as q

from ..http.errors import BadRequest, NotFound

log = logging.getLogger("utask.api")

NOT_FOUND = "failed to load callback from public id: callback not found"


def _validate(public_id: str, schema_bytes: bytes, body: Any) -> None:
    try:
        schema = gojson.loads(schema_bytes)
    except ValueError as e:
        raise BadRequest(f"unable to validate body: {e}") from None
    try:
        from utask.core.templates.jsonschema_lint import normalize_and_compile

        schema = normalize_and_compile(public_id, schema)
    except ImportError:
        pass
    except Exception as e:  # noqa: BLE001 - a schema that does not compile refuses every body
        raise BadRequest(f"unable to validate body: {e}") from None
    import jsonschema

    try:
        # Exact numbers are text here: compare them as JSON would (plain JSON round trip).
        import json

        jsonschema.validate(json.loads(dumps(body)), schema)
    except jsonschema.ValidationError as e:
        raise BadRequest(f"unable to validate body: {e.message}") from None
    except jsonschema.SchemaError as e:
        raise BadRequest(f"unable to validate body: {e.message}") from None


async def handle(services: Any, public_id: str, token: str, body: Any) -> dict[str, str]:
    store: Store = services.store
    keyring = store.keyring
    async with store.tx() as tx:
        row = await tx.fetchone(q.SELECT_CALLBACK_LOCKED, {"public_id": public_id})
        if row is None:
            raise NotFound(NOT_FOUND)
        secret = keyring.decrypt(bytes(row["encrypted_secret"]), public_id).decode("utf-8")
        if secret != token:
            raise NotFound(NOT_FOUND)
        if row["called"] is not None:
            raise BadRequest("callback has already been resolved")
        task = await tx.fetchone(q.SELECT_CALLBACK_TASK, {"id_task": row["id_task"]})
        if task is None:
            raise BadRequest("unable to fetch related task")
        if task["state"] not in ("BLOCKED", "RUNNING", "WAITING"):
            raise BadRequest(f"related task is not in a valid state: {task['state']}")
        schema = keyring.decrypt(bytes(row["encrypted_schema"]), public_id) if row["encrypted_schema"] else b""
        if schema.strip() and schema.strip() != b"null":
            _validate(public_id, schema, body)
        encrypted_body = keyring.encrypt(dumps(body).encode("utf-8"), public_id)
        await tx.execute(q.SET_CALLED, {"id": row["id"], "called": utcnow(), "encrypted_body": encrypted_body})
    resolution = task["resolution_public_id"]
    if resolution is not None:
        # µTask ignores the outcome: the caller only learns that the callback was recorded.
        run = asyncio.ensure_future(services.tasks.run(resolution))
        run.add_done_callback(_ignore)
    return {"message": "The callback has been resolved"}


def _ignore(fut: asyncio.Future) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.info("callback: resolution not resumed: %s", fut.exception())
