"""A layer the machine cannot provide is reported by name and reason, in one log line and in the
handshake; the worker carries on with the others. Shown by starting the worker as an unprivileged uid,
which may not join the server's cgroups."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest
from utask.core.sandbox import SandboxLimits, supervisor

NOBODY = 65534


@pytest.mark.skipif(os.geteuid() != 0, reason="starting a worker as another uid needs root")
def test_unprivileged_worker_reports_missing_layers_and_keeps_the_others():
    supervisor.acquire()
    prepared = supervisor.prepare("echo", {"entry_point": "echo", "value": "utask_plugin_echo"},
                                  SandboxLimits(timeout=2), "1.0.0", [], skip_layers=("uid-drop",))
    os.chown(prepared.scratch, NOBODY, NOBODY)
    proc = subprocess.Popen([sys.executable, "-I", "-S", supervisor.BOOT, json.dumps({"plugin": "echo"})],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=prepared.env, user=NOBODY, group=NOBODY, extra_groups=[], cwd="/")
    try:
        assert proc.stdin is not None and proc.stdout is not None
        policy = json.dumps(prepared.policy).encode()  # the policy: the first frame on stdin (supervisor.spawn)
        proc.stdin.write(struct.pack(">I", len(policy)) + policy)
        proc.stdin.flush()
        size = struct.unpack(">I", proc.stdout.read(4))[0]
        hello = json.loads(proc.stdout.read(size))
    finally:
        proc.kill()
        _, stderr = proc.communicate(timeout=5)
        supervisor.destroy(prepared, None)
        supervisor.release()
    layers = hello["layers"]
    for name in ("cgroup-memory", "cgroup-pids", "cgroup-cpu", "cgroup-kill"):
        assert layers["missing"][name] == "joining the cgroup failed: PermissionError(13, 'Permission denied')"
        line = f"sandbox: layer={name} status=unavailable error={layers['missing'][name]}"
        assert stderr.decode().splitlines().count(line) == 1
    # Without root, the namespaces come from a user namespace; the other layers still apply.
    assert {"rlimits", "namespaces", "readonly-root", "landlock", "seccomp", "uid-drop"} <= set(layers["applied"])
    assert layers["notes"]["namespaces"].startswith("user+")
    assert layers["notes"]["uid-drop"] == f"already unprivileged (uid {NOBODY})"
    assert hello["plugin"]["name"] == "echo"
