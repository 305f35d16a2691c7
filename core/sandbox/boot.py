"""The sandboxed worker's entry point: `python -I -S boot.py <policy JSON>`.

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


def main() -> None:
    policy = json.loads(sys.argv[1])
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
