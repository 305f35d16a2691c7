"""The embedded default: a private PostgreSQL server in the user's data folder.

`utask serve` with no configuration starts one (data in ~/.local/share/utask/postgres, or
$UTASK_DATA_DIR/postgres), migrates it and stops it on exit; the data survives restarts. Binaries come
from the `pgserver` wheel (PostgreSQL 16, no system install needed), else from the machine's
/usr/lib/postgresql/*/bin. We drive initdb/pg_ctl ourselves rather than through pgserver's
`PostgresServer`, whose process-wide lock files, atexit hooks and recursive chmods do not suit a server.

The server listens on a unix socket only (no TCP port to collide with), in a directory only its owner
can enter: trust authentication is then as private as the data directory itself.

PostgreSQL refuses to run as root: when we are root, the server runs as the `postgres` system user if
the machine has one, else as a system user `utask-postgres` we create; the directories on the way to
the data folder get the search bit for others (not read) so that user can reach it.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import importlib.util
import logging
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("utask.storage.embedded")

SUPERUSER = "postgres"
SOCKET_PORT = 5432  # names the socket file only: the server opens no TCP port
_SOCKET_NAME = f".s.PGSQL.{SOCKET_PORT}"
_UNIX_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin


class EmbeddedPostgresError(RuntimeError):
    """The embedded server cannot be started; str() is one line for the operator."""


@dataclass(frozen=True)
class _Binaries:
    directory: Path
    major: int
    origin: str


def _version_of(bindir: Path) -> int | None:
    try:
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(m.group(1)) if m else None


def _candidate_binaries() -> list[_Binaries]:
    found: list[_Binaries] = []
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        bindir = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
        if (bindir / "postgres").exists():
            major = _version_of(bindir)
            if major:
                found.append(_Binaries(bindir, major, "pgserver"))
    system = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(re.sub(r"\D", "", p) or 0),
                    reverse=True)
    for d in system:
        bindir = Path(d)
        if (bindir / "postgres").exists() and (bindir / "initdb").exists():
            major = _version_of(bindir)
            if major:
                found.append(_Binaries(bindir, major, "system"))
    return found


def _ensure_system_user() -> pwd.struct_passwd:
    for name in ("postgres", "utask-postgres"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    try:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        "utask-postgres"], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise EmbeddedPostgresError(
            "PostgreSQL cannot run as root and no unprivileged user could be created "
            f"(useradd utask-postgres: {getattr(e, 'stderr', '') or e}); run utask as another user") from None
    return pwd.getpwnam("utask-postgres")


def _grant_traversal(path: Path) -> None:
    """Give others the search bit (x, not r) on every ancestor, so the server's user reaches `path`."""
    changed = []
    for parent in reversed(path.parents):
        try:
            mode = parent.stat().st_mode
        except OSError:
            continue
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
            changed.append(str(parent))
    if changed:
        log.warning("embedded PostgreSQL runs unprivileged: added the search (o+x) bit to %s", ", ".join(changed))


class EmbeddedPostgres:
    """A PostgreSQL server whose files live under `base_dir` (data in `base_dir/data`)."""

    def __init__(self, base_dir: Path | str, *, durable: bool = True) -> None:
        self.base_dir = Path(base_dir).expanduser().resolve()
        self.pgdata = self.base_dir / "data"
        self.logfile = self.base_dir / "postgres.log"
        self.durable = durable  # False: fsync off (tests)
        self._binaries: _Binaries | None = None
        self._run_as: pwd.struct_passwd | None = None
        self._owner_fd: int | None = None  # flock held while this process owns (and will stop) the server

    @classmethod
    def default(cls, purpose: str = "serve") -> EmbeddedPostgres:
        """The server of the user's data folder; `purpose` other than "serve" gets its own directory."""
        from utask.core.config.settings import data_dir

        name = "postgres" if purpose == "serve" else f"postgres-{purpose}"
        return cls(data_dir() / name, durable=purpose == "serve")

    # -- locations ----------------------------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        if len(str(self.base_dir / _SOCKET_NAME)) < _UNIX_PATH_MAX:
            return self.base_dir
        digest = hashlib.sha256(str(self.base_dir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"utask-pg-{digest}"

    def url(self, dbname: str = "postgres") -> str:
        """A libpq conninfo string for `dbname` on this server."""
        return f"host={self.socket_dir} port={SOCKET_PORT} user={SUPERUSER} dbname={dbname}"

    # -- process --------------------------------------------------------------------------------------
    def _run(self, args: list[str], timeout: float = 120, detach: bool = False) -> subprocess.CompletedProcess:
        # detach: a session of its own, so a Ctrl-C in utask's terminal reaches utask (which then stops the
        # server cleanly) and not the postmaster directly.
        kwargs: dict = {"start_new_session": detach}
        if self._run_as is not None:
            kwargs.update(user=self._run_as.pw_uid, group=self._run_as.pw_gid, extra_groups=[])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        try:
            return subprocess.run(args, cwd="/", env=env, capture_output=True, text=True, timeout=timeout,
                                  check=True, **kwargs)
        except subprocess.CalledProcessError as e:
            detail = " ".join((e.stderr or e.stdout or "").split())[-400:]
            raise EmbeddedPostgresError(f"{Path(args[0]).name} failed: {detail}") from None
        except subprocess.TimeoutExpired:
            raise EmbeddedPostgresError(f"{Path(args[0]).name} timed out after {timeout:.0f}s") from None

    def _pick_binaries(self) -> _Binaries:
        candidates = _candidate_binaries()
        if not candidates:
            raise EmbeddedPostgresError(
                "no PostgreSQL binaries found (install the pgserver package or the postgresql package)")
        version_file = self.pgdata / "PG_VERSION"
        if version_file.exists():
            wanted = int(version_file.read_text().strip().split(".")[0])
            for c in candidates:
                if c.major == wanted:
                    return c
            raise EmbeddedPostgresError(
                f"{self.pgdata} holds PostgreSQL {wanted} data but only PostgreSQL "
                f"{', '.join(str(c.major) for c in candidates)} binaries are available")
        return candidates[0]

    def _prepare_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base_dir, 0o700)
        sock = self.socket_dir
        if sock != self.base_dir:
            sock.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            self._run_as = _ensure_system_user()
            _grant_traversal(self.base_dir)
            _grant_traversal(self._binaries.directory if self._binaries else self.base_dir)
            for path in {self.base_dir, sock}:
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)
            if self.pgdata.exists():
                for root, dirs, files in os.walk(self.pgdata):
                    for n in [root, *(os.path.join(root, f) for f in dirs + files)]:
                        if os.lstat(n).st_uid != self._run_as.pw_uid:
                            os.lchown(n, self._run_as.pw_uid, self._run_as.pw_gid)
            if self.logfile.exists():
                os.chown(self.logfile, self._run_as.pw_uid, self._run_as.pw_gid)

    def _postmaster_running(self) -> bool:
        """A server already runs on this data directory (e.g. left by a killed utask): reuse it."""
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return False
        try:
            lines = pidfile.read_text().splitlines()
            pid = int(lines[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready" and (self.socket_dir / _SOCKET_NAME).exists()

    def is_running(self) -> bool:
        return self._postmaster_running()

    def _take_ownership(self) -> bool:
        """The first process using this data directory owns the server and stops it on exit; a second one
        (`utask migrate` while `make run` serves) only uses it. An flock, so a killed owner frees it."""
        if self._owner_fd is not None:
            return True
        fd = os.open(self.base_dir / "owner.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._owner_fd = fd
        return True

    def _release_ownership(self) -> None:
        if self._owner_fd is not None:
            os.close(self._owner_fd)  # closing releases the flock
            self._owner_fd = None

    def start(self) -> EmbeddedPostgres:
        self._binaries = self._pick_binaries()
        self._prepare_dirs()
        owner = self._take_ownership()
        if not owner:
            deadline = time.monotonic() + 90
            while not self._postmaster_running():  # the owner may be starting it right now
                if time.monotonic() > deadline:
                    raise EmbeddedPostgresError(f"another utask process owns {self.base_dir} but its database "
                                                "does not answer")
                time.sleep(0.2)
            log.info("embedded PostgreSQL in %s is owned by another utask process: using it", self.base_dir)
            return self
        bindir = self._binaries.directory
        if not (self.pgdata / "PG_VERSION").exists():
            if self.pgdata.exists() and any(self.pgdata.iterdir()):
                raise EmbeddedPostgresError(f"{self.pgdata} exists, is not empty and is not a PostgreSQL data directory")
            log.info("initialising embedded PostgreSQL %s data in %s", self._binaries.major, self.pgdata)
            self._run([str(bindir / "initdb"), "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust",
                       "--encoding=UTF8", "--locale=C", "--no-sync"])
        if self._postmaster_running():
            # Left running by an owner that was killed: adopt it (stop() will stop it).
            log.info("embedded PostgreSQL already running on %s", self.pgdata)
            return self
        options = [
            "-c", "listen_addresses=",
            "-c", f"unix_socket_directories={self.socket_dir}",
            "-c", f"port={SOCKET_PORT}",
            "-c", "unix_socket_permissions=0700",
        ]
        if not self.durable:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self._run([str(bindir / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.logfile), "-w", "-t", "60",
                   "-o", " ".join(shlex.quote(o) for o in options), "start"], timeout=90, detach=True)
        log.info("embedded PostgreSQL %s (%s) started in %s", self._binaries.major, self._binaries.origin,
                 self.base_dir)
        return self

    def stop(self) -> None:
        """Stop the server if this process owns it (see `_take_ownership`); else only let go of it."""
        if self._owner_fd is None and self.base_dir.exists() and not self._take_ownership():
            return
        try:
            self._stop()
        finally:
            self._release_ownership()

    def _stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        if self._binaries is None:
            self._binaries = self._pick_binaries()
        if os.geteuid() == 0 and self._run_as is None:
            self._run_as = _ensure_system_user()
        try:
            self._run([str(self._binaries.directory / "pg_ctl"), "-D", str(self.pgdata), "-w", "-t", "60",
                       "-m", "fast", "stop"], timeout=90)
        except EmbeddedPostgresError as e:
            if self._postmaster_running():
                raise
            log.debug("embedded PostgreSQL was not running: %s", e)
        log.info("embedded PostgreSQL stopped (%s)", self.base_dir)

    def remove(self) -> None:
        """Stop the server and delete its files (tests)."""
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)
        if self.socket_dir != self.base_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
