"""Names of the confinement layers, in the order the worker applies them, and the layer report."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

ALL_LAYERS = (
    "cgroup-memory",   # v1 memory.limit_in_bytes or v2 memory.max: RSS of the whole worker tree
    "cgroup-pids",     # pids.max: fork bombs, also as root
    "cgroup-cpu",      # CFS quota: one plugin cannot starve the others
    "cgroup-kill",     # v2 cgroup.kill: nothing the worker started survives it
    "rlimits",         # address space, CPU seconds, open files, file size, no core, nproc
    "namespaces",      # private network (unless the profile asks), mount, ipc, uts namespaces
    "readonly-root",   # every mount read-only; a private tmpfs scratch is the only writable place
    "landlock",        # filesystem allow-list, TCP deny (ABI>=4), signal scoping (ABI>=6)
    "uid-drop",        # an unprivileged per-slot uid (61000+slot), no capabilities
    "seccomp",         # syscall deny-list (ptrace, mount, bpf, io_uring, ...), foreign arch killed
)


@dataclass
class LayerReport:
    applied: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # layer -> reason
    notes: dict[str, str] = field(default_factory=dict)  # layer -> detail (e.g. "landlock ABI 7")

    def ok(self, layer: str, note: str | None = None) -> None:
        self.applied.append(layer)
        if note:
            self.notes[layer] = note

    def fail(self, layer: str, reason: str) -> None:
        self.missing[layer] = reason
        # Exactly one line per missing layer; the supervisor also logs the handshake's copy.
        print(f"sandbox: layer={layer} status=unavailable error={reason}", file=sys.stderr, flush=True)

    def to_dict(self) -> dict[str, object]:
        return {"applied": list(self.applied), "missing": dict(self.missing), "notes": dict(self.notes)}
