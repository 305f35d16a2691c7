"""The Go oracle: the real text/template + Sprig (+ µTask's own functions), built from Debian's packages.

`.ci/run` installs `golang-go` and `golang-github-masterminds-sprig-dev`; the binary is built once into
a cache folder keyed by the source's hash and kept running for the whole test session.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).parent / "oracle" / "main.go"
GOPATH = "/usr/share/gocode"


class OracleUnavailable(RuntimeError):
    pass


def build_oracle() -> Path:
    go = shutil.which("go")
    if go is None or not Path(GOPATH, "src/github.com/Masterminds/sprig").is_dir():
        raise OracleUnavailable(
            "the Go oracle needs Debian's golang-go and golang-github-masterminds-sprig-dev "
            "(apt-get install -y golang-go golang-github-masterminds-sprig-dev; .ci/run does it)"
        )
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "utask-go-oracle" / digest
    binary = cache / "oracle"
    if binary.exists():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(SOURCE, Path(work) / "main.go")
        env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOCACHE=str(cache / "gocache"), GOFLAGS="")
        subprocess.run([go, "build", "-o", str(binary), "main.go"], cwd=work, env=env, check=True,
                       capture_output=True, timeout=600)
    return binary


class GoOracle:
    """Renders templates with the real Go engine, one JSON line a request."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen([str(build_oracle())], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, encoding="utf-8", bufsize=1)

    def render(self, template: str, data: Any = None, *, data_json: str | None = None) -> tuple[str | None, str | None]:
        """(output, None) on success, (None, error text) on failure. `data_json` keeps numbers exactly as written."""
        raw = data_json if data_json is not None else json.dumps(data)
        request = '{"template": %s, "data": %s}\n' % (json.dumps(template), raw)  # noqa: UP031
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(request)
        self._proc.stdin.flush()
        reply = json.loads(self._proc.stdout.readline())
        return reply.get("output"), reply.get("error")

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=5)
