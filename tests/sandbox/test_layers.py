"""One test per confinement layer, each showing the layer's own effect on this machine."""

from __future__ import annotations

import errno
import os
import socket
import time

import pytest
from utask_sdk.testing import plain

from .conftest import alive, make_box, require

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(box, **config):
    result = box.run("attack", config)
    result.output = plain(result.output)  # exact JSON numbers -> int/float for comparisons
    return result


# --- cgroups ---------------------------------------------------------------------------------------------
def test_memory_hog_is_killed_by_the_memory_cgroup(full):
    require(full, "cgroup-memory")
    result = _run(full, do="memory")
    assert result.error is not None and result.error.kind == "server"
    assert result.error.message == "memory limit 96 MB exceeded"
    assert _run(full, do="log").error is None  # the server and the next execution carry on


def test_fork_loop_is_held_by_the_pids_cgroup_even_as_root():
    with make_box(skip=("rlimits", "uid-drop")) as box:  # root ignores RLIMIT_NPROC: only the cgroup holds
        require(box, "cgroup-pids")
        out = _run(box, do="fork", count=200).output
    assert out["errno"] == errno.EAGAIN and int(out["forked"]) < 16


def test_cpu_quota_throttles_a_spinner():
    with make_box(cpus=0.1) as box:
        require(box, "cgroup-cpu")
        out = _run(box, do="cpu_burn", cpu=0.1).output
    assert float(out["wall"]) >= 0.5  # 0.1 s of CPU at 10 ms per 100 ms period


def test_timeout_kills_the_whole_tree_including_setsid_escapers(full):
    require(full, "cgroup-kill")
    seen = {}

    def report(**pids):
        seen.update(pids)
        return True

    from utask.core.metrics import METRICS

    def kills() -> float:
        return METRICS.registry.get_sample_value("utask_sandbox_kills_total", {"limit": "timeout"}) or 0.0

    killed_before = kills()
    # The plugin reports its children through a host call, then hangs.
    start = time.monotonic()
    result = full.run("attack", {"do": "hostcall_then_hang"}, host_calls={"report": report})
    assert result.error is not None and result.error.message == "timed out after 2s"
    assert kills() == killed_before + 1  # /metrics: utask_sandbox_kills{limit="timeout"}
    assert time.monotonic() - start < 8  # 2 s timeout + a possible worker restart on a loaded machine
    deadline = time.monotonic() + 2
    while any(alive(int(p)) for p in seen.values()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen and not any(alive(int(p)) for p in seen.values())


def test_children_left_behind_by_a_finished_execution_are_killed(full):
    out = _run(full, do="leave_children").output
    deadline = time.monotonic() + 2
    pids = [int(out["child"]), int(out["daemon"])]
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(alive(p) for p in pids)


# --- rlimits ---------------------------------------------------------------------------------------------
def test_cpu_spinner_hits_the_cpu_rlimit():
    with make_box(timeout="8s", cpus=2) as box:  # wall time generous: the CPU limit must fire first
        require(box, "rlimits")
        result = _run(box, do="spin")
    assert result.error is not None and result.error.message == "CPU time limit 1s exceeded"


def test_open_files_and_file_size_limits(full):
    require(full, "rlimits")
    out = _run(full, do="open_files").output
    assert out["errno"] == errno.EMFILE and int(out["opened"]) < 64
    out = _run(full, do="write", path="big", size=2 * 1024 * 1024).output  # relative: the scratch dir
    assert out["ok"] is False and out["errno"] == errno.EFBIG


def test_nproc_rlimit_holds_the_slot_uid():
    with make_box(skip=("cgroup-pids",)) as box:
        require(box, "rlimits", "uid-drop")
        out = _run(box, do="fork", count=200).output
    assert out["errno"] == errno.EAGAIN and int(out["forked"]) <= 16


# --- filesystem ------------------------------------------------------------------------------------------
def test_read_only_root_refuses_writes_to_etc_and_to_the_server_folders(full):
    require(full, "namespaces", "readonly-root")
    for path in ("/etc/utask-sandbox-probe", os.path.join(REPO, "utask-sandbox-probe")):
        out = _run(full, do="write", path=path).output
        assert out["ok"] is False and out["errno"] == errno.EROFS, out
        assert not os.path.exists(path)
    inspect = _run(full, do="inspect").output
    assert inspect["scratch_write"]["ok"] is True


def test_landlock_alone_refuses_writes_outside_the_scratch(tmp_path):
    target = tmp_path / "open"
    target.mkdir(mode=0o777)
    target.chmod(0o777)  # the unprivileged uid could write here: only Landlock stops it
    os.chmod(tmp_path, 0o755)
    with make_box(skip=("namespaces", "readonly-root", "uid-drop", "seccomp")) as box:
        require(box, "landlock")
        out = _run(box, do="write", path=str(target / "x")).output
        listing = _run(box, do="listdir", path="/home").output
    assert out["ok"] is False and out["errno"] == errno.EACCES
    assert not (target / "x").exists()
    assert listing["ok"] is False and listing["errno"] == errno.EACCES


def test_uid_drop_alone_refuses_root_owned_folders(tmp_path):
    os.chmod(tmp_path, 0o755)  # root-owned, readable, not writable by others
    with make_box(skip=("namespaces", "readonly-root", "landlock")) as box:
        require(box, "uid-drop")
        out = _run(box, do="write", path=str(tmp_path / "x")).output
        inspect = _run(box, do="inspect").output
        root = _run(box, do="listdir", path="/root").output
        kill = _run(box, do="kill", pid=1).output
    assert out["ok"] is False and out["errno"] == errno.EACCES
    assert int(inspect["uid"]) >= 61000 and int(inspect["gid"]) >= 61000 and inspect["groups"] == []
    assert inspect["cap_eff"] == "0000000000000000"
    assert inspect["umask_mode"] == "0o600"
    assert root["ok"] is False and root["errno"] == errno.EACCES
    assert kill["ok"] is False and kill["errno"] == errno.EPERM


# --- network ---------------------------------------------------------------------------------------------
def test_no_network_full_stack(full):
    out = _run(full, do="connect", host="127.0.0.1", port=5432).output
    assert out["ok"] is False and out["errno"] in (errno.EPERM, errno.EACCES, errno.ENETUNREACH)


def test_network_namespace_alone_has_only_a_down_loopback():
    with make_box(skip=("seccomp", "landlock")) as box:
        require(box, "namespaces")
        out = _run(box, do="connect", host="127.0.0.1", port=5432).output
        inspect = _run(box, do="inspect").output
    assert out["ok"] is False and out["errno"] == errno.ENETUNREACH
    assert inspect["interfaces"] == ["lo"] and inspect["hostname"] == "utask-sandbox"


def test_landlock_alone_denies_tcp():
    with make_box(skip=("seccomp", "namespaces", "readonly-root")) as box:
        require(box, "landlock")
        out = _run(box, do="connect", host="127.0.0.1", port=5432).output
    assert out["ok"] is False and out["errno"] == errno.EACCES


def test_a_network_profile_keeps_the_network():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with make_box(network=True) as box:
            out = _run(box, do="connect", host="127.0.0.1", port=port).output
            row = box.host.describe()[0]
    assert out["ok"] is True and row["network"] is True, out
    assert row["layer_notes"]["namespaces"] == "mnt+ipc+uts"  # no private network namespace


def test_seccomp_denies_sockets_ptrace_namespaces_and_io_uring(full):
    require(full, "seccomp")
    inspect = _run(full, do="inspect").output
    assert inspect["seccomp"] == "2" and inspect["no_new_privs"] == "1"
    out = _run(full, do="connect", host="127.0.0.1", port=5432).output
    assert out["errno"] == errno.EPERM
    for nr, args in ((425, [1, 0]), (101, [16, 1]), (272, [0x10000000]), (321, [0, 0, 0])):
        res = _run(full, do="syscall", nr=nr, args=args).output
        assert int(res["ret"]) == -1 and int(res["errno"]) == errno.EPERM, (nr, res)


def test_seccomp_kills_the_x32_abi(full):
    require(full, "seccomp")
    result = _run(full, do="syscall", nr=0x40000000 | 39, args=[])  # x32 getpid
    assert result.error is not None and result.error.message == "plugin process killed by signal SIGSYS"


# --- what the execution sees -----------------------------------------------------------------------------
def test_environment_is_scrubbed_and_the_server_environment_unreadable(monkeypatch):
    monkeypatch.setenv("CFG_DATABASE", "postgres://secret")
    monkeypatch.setenv("CONFIGURATION_FROM", "env")
    with make_box() as box:
        inspect = _run(box, do="inspect").output
        server_env = _run(box, do="read", path=f"/proc/{os.getpid()}/environ").output
    assert set(inspect["environ"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "TZ"}
    assert inspect["environ"]["HOME"] == inspect["scratch"] == inspect["cwd"]
    assert server_env["ok"] is False and server_env["errno"] == errno.EACCES
    assert inspect["fds"] == [0, 1, 2, min(f for f in map(int, inspect["fds"]) if f > 2)] or len(inspect["fds"]) <= 6


def test_each_execution_has_its_own_random_sequence_and_threads_work(full):
    first, second = (_run(full, do="random").output for _ in range(2))
    assert first["random"] != second["random"] and first["from_thread"] != second["from_thread"]


def test_a_crash_fails_the_step_and_the_next_execution_gets_a_fresh_worker(full):
    result = _run(full, do="crash")
    assert result.error is not None and result.error.message == "plugin process killed by signal SIGABRT"
    assert _run(full, do="log").error is None


@pytest.mark.parametrize("layer", ["cgroup-memory", "cgroup-pids", "cgroup-cpu", "cgroup-kill", "rlimits",
                                   "namespaces", "readonly-root", "landlock", "uid-drop", "seccomp"])
def test_every_layer_is_applied_here(full, layer):
    require(full, layer)
