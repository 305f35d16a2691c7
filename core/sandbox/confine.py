"""Applies every layer to the current process, in order, each independently: a failure is reported by
name and reason, not fatal here (the supervisor decides which missing layers refuse the plugin)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from . import cgroups, identity, landlock, libc, namespaces, rlimits, seccomp
from .layers import LayerReport


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError):
        return f"{type(err).__name__}({err.errno}, {err.strerror!r})"
    return f"{type(err).__name__}({err})"


def confine(policy: dict[str, Any]) -> LayerReport:
    report = LayerReport()
    for layer, reason in policy.get("missing", {}).items():  # found by the supervisor while preparing
        report.fail(layer, reason)
    limits = policy["limits"]
    # Tests switch single layers off to show each one's own effect; production never sets this.
    skip = set(policy.get("skip_layers", []))
    uid, gid = policy.get("uid"), policy.get("gid")

    def step(layer: str, apply: Any) -> bool:
        if layer in skip or layer in report.missing:
            return False
        try:
            report.ok(layer, apply())
            return True
        except (OSError, ValueError) as err:
            report.fail(layer, _reason(err))
            return False

    notes: dict[str, str] = {k: v for k, v in policy.get("cgroup_notes", {}).items() if k not in skip}
    if notes:
        try:
            cgroups.join({k: v for k, v in policy.get("cgroups", {}).items() if f"cgroup-{k}" in notes
                          or (k == "kill" and "cgroup-kill" in notes)})
            for layer, note in notes.items():
                report.ok(layer, note)
        except OSError as err:
            for layer in notes:
                report.fail(layer, "joining the cgroup failed: " + _reason(err))

    step("rlimits", lambda: rlimits.apply_worker({**limits, "uid": uid}))
    # Filesystem sockets (PostgreSQL's, a container runtime's...) are reachable by path whatever the
    # network namespace; list them while we still see the host's, to hide them in our mount namespace.
    sockets = namespaces.unix_socket_paths()
    if step("namespaces", lambda: namespaces.enter(limits["network"])):
        step("readonly-root", lambda: namespaces.read_only_root(
            policy["scratch"], limits["memory_mb"], uid if uid is not None else os.getuid(),
            gid if gid is not None else os.getgid(), list(limits["writable_paths"]),
            hidden=[*sockets, *policy.get("hidden_paths", [])]))
    elif "readonly-root" not in skip:
        report.fail("readonly-root", "needs the mount namespace")
    step("landlock", lambda: landlock.restrict(
        policy["read_paths"], [policy["scratch"], *limits["writable_paths"], "/dev/null"], limits["network"]))
    if uid is not None:
        step("uid-drop", lambda: identity.drop(uid, gid))
    elif os.geteuid() != 0 and "uid-drop" not in report.missing:
        report.ok("uid-drop", f"already unprivileged (uid {os.geteuid()})")
    step("seccomp", lambda: seccomp.install(limits["network"]))
    # Not dumpable: without a uid change (a non-root server) the executions it forks share its uid, and
    # would otherwise read its memory (earlier requests) and environment through /proc.
    with contextlib.suppress(OSError):
        libc.prctl(libc.PR_SET_DUMPABLE, 0)
    return report
