"""The audit trail: every state change of a task, its resolution and its steps, and every manual action.

Events are appended to `audit_event` in the same transaction as the change they record. Each task has
its own chain: event n carries `prev_hash` = hash of event n-1 (32 zero bytes for the first) and
`hash` = SHA-256(prev_hash || canonical content). Editing an event changes its hash (or breaks the
decryption of its details); deleting one leaves a gap in `seq` and a `prev_hash` that matches nothing;
deleting the newest ones is caught by `audit_chain_head`, which remembers the last link.

The hash covers the *plaintext* details, not their ciphertext, so key rotation can re-encrypt details
without breaking the chain. A database writer who recomputes every hash and the head can still forge
a chain: this detects tampering by SQL edits, it is not a signature.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from utask.core.storage.queries import audit as aq

GENESIS = b"\x00" * 32

# Event kinds (the `kind` column).
TASK_CREATED = "task_created"
TASK_STATE = "task_state"
RESOLUTION_CREATED = "resolution_created"
RESOLUTION_STATE = "resolution_state"
STEP_STATE = "step_state"
MANUAL = "manual_action"


@dataclass
class Event:
    kind: str
    task_public_id: str
    resolution_public_id: str | None = None
    step_name: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    actor: str | None = None
    instance_id: int | None = None
    details: Any = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


def _canonical(
    *, task: str, seq: int, resolution: str | None, step: str | None, kind: str, actor: str | None,
    instance: int | None, created: datetime, from_state: str | None, to_state: str | None,
    details: bytes | None,
) -> bytes:
    created_text = created.astimezone(UTC).isoformat(timespec="microseconds")
    doc = [task, seq, resolution, step, kind, actor, instance, created_text, from_state, to_state,
           None if details is None else details.decode("utf-8")]
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def event_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(bytes(prev_hash) + canonical).digest()


def _details_bytes(details: Any) -> bytes | None:
    if details is None:
        return None
    from .store import dumps  # the project's one JSON encoder

    return dumps(details, escape_html=False).encode("utf-8")


async def append(tx: Any, events: Iterable[Event], keyring: Any,
                 heads: dict[str, tuple[int, bytes]] | None = None) -> int:
    """Append events (in order) to their tasks' chains inside the caller's transaction.

    `heads` (optional, kept by a long-lived writer such as a run) remembers the chains it already appended
    to, which saves ensuring their head row exists; the head itself is always locked and read, so
    concurrent writers (a run and an API action on the same task) queue on it instead of deadlocking.
    """
    by_task: dict[str, list[Event]] = {}
    for ev in events:
        by_task.setdefault(ev.task_public_id, []).append(ev)
    written = 0
    # Sorted so two transactions touching the same chains lock their heads in the same order.
    for task in sorted(by_task):
        evs = by_task[task]
        if heads is None or task not in heads:
            await tx.execute(aq.ENSURE_HEAD, {"task": task, "genesis": GENESIS})
        # Always lock the head before inserting: a writer that inserted from a cached head without the lock
        # and another that holds the lock and inserts the same seq wait on each other (a deadlock).
        head = await tx.fetchone(aq.LOCK_HEAD, {"task": task})
        seq, prev = int(head["seq"]), bytes(head["hash"])
        rows = []
        for ev in evs:
            seq += 1
            created = ev.created
            details = _details_bytes(ev.details)
            h = event_hash(prev, _canonical(
                task=task, seq=seq, resolution=ev.resolution_public_id, step=ev.step_name, kind=ev.kind,
                actor=ev.actor, instance=ev.instance_id, created=created, from_state=ev.from_state,
                to_state=ev.to_state, details=details,
            ))
            rows.append({
                "task": task, "seq": seq, "resolution": ev.resolution_public_id, "step": ev.step_name,
                "kind": ev.kind, "actor": ev.actor, "instance": ev.instance_id, "created": created,
                "from_state": ev.from_state, "to_state": ev.to_state,
                "encrypted_details": None if details is None else keyring.encrypt(details, task),
                "prev_hash": prev, "hash": h,
            })
            prev = h
        if len(rows) == 1:  # the usual case outside runs: arrays would cost more than they save
            await tx.execute(aq.INSERT_EVENT, rows[0])
        else:
            await _insert_events(tx, task, rows)
        await tx.execute(aq.UPDATE_HEAD, {"task": task, "seq": seq, "hash": prev})
        if heads is not None:
            heads[task] = (seq, prev)
        written += len(rows)
    return written


async def _insert_events(tx: Any, task: str, rows: list[dict[str, Any]]) -> None:
    """Several events of one chain in one statement (a run loop commit appends one per changed step)."""
    await tx.execute(aq.INSERT_EVENTS, {
        "task": task, "seqs": [r["seq"] for r in rows], "resolutions": [r["resolution"] for r in rows],
        "steps": [r["step"] for r in rows], "kinds": [r["kind"] for r in rows],
        "actors": [r["actor"] for r in rows], "instances": [r["instance"] for r in rows],
        "created": [r["created"] for r in rows], "from_states": [r["from_state"] for r in rows],
        "to_states": [r["to_state"] for r in rows], "details": [r["encrypted_details"] for r in rows],
        "prev_hashes": [r["prev_hash"] for r in rows], "hashes": [r["hash"] for r in rows],
    })


@dataclass
class Verification:
    task_public_id: str
    events: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_chain(tx: Any, task_public_id: str, keyring: Any) -> Verification:
    """Walk one task's chain and report every edited, deleted or undecryptable event."""
    rows = await tx.fetchall(aq.SELECT_CHAIN, {"task": task_public_id})
    head = await tx.fetchone(aq.SELECT_HEAD, {"task": task_public_id})
    problems: list[str] = []
    prev_hash = GENESIS
    expected_seq = 1
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            if seq > expected_seq:
                missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
                problems.append(f"event {missing} missing (deleted)")
            else:
                problems.append(f"event {seq} duplicated")
        if bytes(row["prev_hash"]) != prev_hash:
            problems.append(f"event {seq}: previous hash does not match the preceding event")
        details: bytes | None = None
        if row["encrypted_details"] is not None:
            try:
                details = keyring.decrypt(bytes(row["encrypted_details"]), task_public_id)
            except Exception:  # noqa: BLE001 - any failure means the stored bytes were changed
                problems.append(f"event {seq}: details do not decrypt (edited)")
                details = None
        computed = event_hash(bytes(row["prev_hash"]), _canonical(
            task=task_public_id, seq=seq, resolution=row["resolution"], step=row["step"], kind=row["kind"],
            actor=row["actor"], instance=row["instance"], created=row["created"],
            from_state=row["from_state"], to_state=row["to_state"], details=details,
        ))
        decrypted = row["encrypted_details"] is None or details is not None
        if decrypted and computed != bytes(row["hash"]):
            problems.append(f"event {seq}: content does not match its hash (edited)")
        prev_hash = bytes(row["hash"])
        expected_seq = seq + 1
    if head is None:
        if rows:
            problems.append("chain head missing")
    else:
        head_seq = int(head["seq"])
        if head_seq > expected_seq - 1:
            first = expected_seq
            missing = f"{first}" if head_seq == first else f"{first}..{head_seq}"
            problems.append(f"event {missing} missing (deleted)")
        elif bytes(head["hash"]) != prev_hash:
            problems.append("chain head does not match the last event")
    return Verification(task_public_id=task_public_id, events=len(rows), problems=problems)


async def read_events(tx: Any, task_public_id: str, keyring: Any) -> list[dict[str, Any]]:
    """The decrypted events of one task, oldest first (for the API and the dashboard)."""
    from utask.core import gojson

    out = []
    for row in await tx.fetchall(aq.SELECT_CHAIN, {"task": task_public_id}):
        details = None
        if row["encrypted_details"] is not None:
            try:
                details = gojson.loads(keyring.decrypt(bytes(row["encrypted_details"]), task_public_id))
            except Exception:  # noqa: BLE001 - shown as unreadable; verify_chain reports it
                details = None
        out.append({
            "seq": int(row["seq"]), "kind": row["kind"], "resolution_id": row["resolution"],
            "step": row["step"], "actor": row["actor"], "instance_id": row["instance"],
            "created": row["created"], "from_state": row["from_state"], "to_state": row["to_state"],
            "details": details, "hash": bytes(row["hash"]).hex(),
        })
    return out


async def reencrypt_details(tx: Any, task_public_id: str, keyring: Any) -> int:
    """Key rotation of a task's audit details (the only update the append-only trigger allows)."""
    rows = await tx.fetchall(aq.SELECT_DETAILS, {"task": task_public_id})
    updates = []
    for row in rows:
        try:
            out = keyring.reencrypt(bytes(row["encrypted_details"]), task_public_id)
        except Exception:  # noqa: BLE001 - a tampered row stays as it is: verify_chain reports it
            continue
        if out is not None:
            updates.append({"id": row["id"], "encrypted_details": out})
    if updates:
        await tx.execute(aq.ALLOW_REENCRYPT)
        await tx.executemany(aq.UPDATE_DETAILS, updates)
    return len(updates)
