"""`utask audit verify TASK_ID`: check one task's audit chain (edited or deleted events).

Registered by the composition root (`hostapi/cli.py` SUBCOMMANDS: "utask.core.engine.cli:register").
Light to import: the database and crypto modules are loaded only when the command runs.
Exit status: 0 when the chain verifies, 1 when tampering is found or the check cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="inspect the tamper-evident audit trail")
    sub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    sub.required = True
    verify = sub.add_parser("verify", help="verify the hash chain of one task's audit events")
    verify.add_argument("task_id", metavar="TASK_ID", help="the task's public id")
    verify.add_argument("--database", default=None,
                        help="database URL (default: the configuration's `database` item)")
    verify.add_argument("--encryption-key", action="append", default=None, metavar="KEY_JSON",
                        help="a symmecrypt key item (repeatable; default: the configuration's keys)")
    verify.set_defaults(func=cmd_verify)
    show = sub.add_parser("show", help="print one task's audit events, oldest first")
    show.add_argument("task_id", metavar="TASK_ID")
    show.add_argument("--database", default=None)
    show.add_argument("--encryption-key", action="append", default=None, metavar="KEY_JSON")
    show.set_defaults(func=cmd_show)


def _fail(message: str) -> int:
    print(f"utask: {message}", file=sys.stderr)
    return 1


def _connection_settings(args: argparse.Namespace) -> tuple[str, Any]:
    from utask.core.crypto import KeyRing

    url, keyring = args.database, None
    if args.encryption_key:
        keyring = KeyRing.from_values(args.encryption_key)
    if url is None or keyring is None:
        from utask.core.config import load_settings

        settings = load_settings()
        if settings is None:
            raise ValueError("no configuration: set CONFIGURATION_FROM (or pass --database and --encryption-key)")
        url = url or settings.database_url
        keyring = keyring or settings.keyring
    return url, keyring


async def _verify(url: str, keyring: Any, task_id: str) -> Any:
    from utask.core.storage import to_conninfo

    from . import audit
    from .store import Store

    store = Store(to_conninfo(url), keyring, pool_size=1)
    try:
        async with store.tx() as tx:
            return await audit.verify_chain(tx, task_id, keyring)
    finally:
        await store.close()


async def _show(url: str, keyring: Any, task_id: str) -> list[dict]:
    from utask.core.storage import to_conninfo

    from . import audit
    from .store import Store

    store = Store(to_conninfo(url), keyring, pool_size=1)
    try:
        async with store.tx() as tx:
            return await audit.read_events(tx, task_id, keyring)
    finally:
        await store.close()


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        url, keyring = _connection_settings(args)
        result = asyncio.run(_verify(url, keyring, args.task_id))
    except Exception as e:  # noqa: BLE001 - one line for the operator, never a traceback
        return _fail(f"audit verify: {' '.join(str(e).split())}")
    if result.events == 0 and result.ok:
        print(f"task {args.task_id}: no audit events")
        return 0
    if result.ok:
        print(f"task {args.task_id}: {result.events} events, chain intact")
        return 0
    for problem in result.problems:
        print(f"task {args.task_id}: {problem}")
    print(f"task {args.task_id}: TAMPERED ({len(result.problems)} problem(s) in {result.events} events)")
    return 1


def cmd_show(args: argparse.Namespace) -> int:
    import json

    try:
        url, keyring = _connection_settings(args)
        events = asyncio.run(_show(url, keyring, args.task_id))
    except Exception as e:  # noqa: BLE001
        return _fail(f"audit show: {' '.join(str(e).split())}")
    for ev in events:
        ev = dict(ev, created=ev["created"].isoformat())
        print(json.dumps(ev, default=str, ensure_ascii=False))
    return 0
