"""The sandboxed worker's entry point: `python -I -S boot.py '{"plugin": <name>}'`, its policy (settings,
paths) the first frame on its stdin (4-byte big-endian length, JSON): a command line is readable by any
process (/proc/<pid>/cmdline), so it only names the plugin, for `ps` and the tests.

Trusted, stdlib only until confinement: it loads this package by path (not through site-packages, which
`-S` skips), confines itself, and only then makes site-packages importable and loads plugin code.
The protocol pipes are moved off fds 0/1 first so nothing a plugin prints can corrupt the protocol.
"""

import importlib.util
import json
import os
import sys


def _load_sandbox_package():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("_utask_sandbox", os.path.join(here, "__init__.py"),
                                                  submodule_search_locations=[here])
    module = importlib.util.module_from_spec(spec)
    sys.modules["_utask_sandbox"] = module
    spec.loader.exec_module(module)
    return module


def _read_policy(fd: int) -> dict:
    def exact(size: int) -> bytes:
        chunks = []
        while size:
            chunk = os.read(fd, size)
            if not chunk:
                raise SystemExit("boot: no policy on stdin")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    return json.loads(exact(int.from_bytes(exact(4), "big")))


def main() -> None:
    policy = _read_policy(0)
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    _load_sandbox_package()
    from _utask_sandbox import catalog, confine, zygote  # noqa: E402  (loaded by path just above)

    report = confine.confine(policy)
    if "catalog" in policy["source"]:  # the start-up process that loads every plugin (catalog.py)
        catalog.serve(policy, report, proto_in, proto_out)
    else:
        zygote.serve(policy, report, proto_in, proto_out)


if __name__ == "__main__":
    main()
