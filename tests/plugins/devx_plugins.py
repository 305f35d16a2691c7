"""A plugin for the tests of what a plugin developer reported (step logs, kills, outputs, exits, network):
`{"do": <what>, ...}` does one thing. Its sandbox profile has no network."""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from utask_sdk import ActionPlugin, Result, ServerError, hookimpl


class Devx(ActionPlugin):
    name = "devx"
    version = "1.0.0"

    def execute(self, ctx, config: dict[str, Any]) -> Any:
        do = config["do"]
        log = ctx.logger
        if do == "log":  # logger lines, a multi-line one, and printed lines
            log.info("first %s", ctx.step_name)
            print("printed line")
            log.warning("two\nlines")
            print("error line", file=sys.stderr)
            return Result(output={"done": True})
        if do == "log_many":
            pad = "x" * int(config.get("width", 0))
            for i in range(int(config["count"])):
                log.info("line %d %s", i, pad)
            if config.get("then_print"):
                print("printed after the logs")
            return {"logged": int(config["count"])}
        if do == "print_many":
            for i in range(int(config["count"])):
                print(f"printed {i} " + "x" * int(config.get("width", 0)))
            return {"printed": int(config["count"])}
        if do == "log_then_sleep":
            for i in range(int(config.get("count", 0))):
                log.info("early line %d", i)
            log.info("before the timeout")
            log.warning("still before\nthe timeout")
            print("printed before the timeout")
            time.sleep(60)
            return {}
        if do == "log_then_memory":
            log.info("before the memory limit")
            chunks = []
            for _ in range(256):
                chunks.append(bytearray(16 * 1024 * 1024))
            return {"allocated": len(chunks)}
        if do == "unserialisable":
            log.info("returning an object")
            return {"value": object()}
        if do == "unserialisable_metadata":
            return Result(output={"fine": True}, metadata={"when": {1, 2}})
        if do == "exit":
            log.info("exiting")
            sys.exit(config.get("code"))
        if do == "os_exit":
            os._exit(int(config["code"]))
        if do == "connect":  # socket.create_connection: the refusal comes from inside the socket module
            socket.create_connection((config.get("host", "192.0.2.1"), int(config.get("port", 80))), timeout=2)
            return {"connected": True}
        if do == "raw_connect":  # a socket object's own connect(): the refusal comes from a C method
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.settimeout(2)
                sock.connect((config.get("host", "192.0.2.1"), int(config.get("port", 80))))
            finally:
                sock.close()
            return {"connected": True}
        if do == "wrapped_connect":  # a plugin turning the socket error into its own
            try:
                socket.create_connection(("192.0.2.1", 80), timeout=2)
            except OSError as err:
                raise ServerError(f"cannot reach the service: {err}") from err
            return {}
        if do == "write":  # a file permission error: no network hint
            with open(config["path"], "w") as f:
                f.write("x")
            return {}
        if do == "kill":  # a process permission error (EPERM, no file name): no network hint either
            os.kill(int(config.get("pid", 1)), 9)
            return {}
        raise ValueError(f"unknown action {do!r}")


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Devx()]
