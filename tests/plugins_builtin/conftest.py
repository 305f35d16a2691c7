"""Fixtures of the builtin plugins' tests: one real sandbox (every installed plugin, like the server) for the
whole module set, and a scripts folder the sandbox's unprivileged uid can read."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from utask_sdk.testing import Sandbox

SCRIPTS = {
    "hello.sh": "#!/bin/sh\necho \"argv: $*\"\necho \"ids: $UTASK_TASK_ID $UTASK_RESOLUTION_ID $UTASK_STEP_NAME\"\n"
                "echo \"env: $GREETING $COUNT\"\necho '{\"result\": \"ok\", \"price\": 2.50, \"n\": 3}'\n",
    "stdin.sh": "#!/bin/sh\nread line\necho \"{\\\"got\\\": \\\"$line\\\"}\"\n",
    "fail.sh": "#!/bin/sh\necho 'some error' >&2\necho '{\"partial\": true}'\nexit \"${1:-3}\"\n",
    "delims.sh": "#!/bin/sh\necho 'noise'\necho '<<<{\"a\":\n1}>>>'\necho 'more noise'\n",
    "badjson.sh": "#!/bin/sh\necho 'not json'\n",
    "sleepy.sh": "#!/bin/sh\n(sleep 30; echo late) &\nsetsid sleep 31 &\necho started\nsleep 30\n",
    "pids.sh": "#!/bin/sh\necho \"{\\\"pid\\\": $$}\"\n",
    "noexec.sh": "#!/bin/sh\necho never\n",
}


@pytest.fixture(scope="session")
def scripts_dir() -> Iterator[str]:
    # Not under pytest's tmp_path: its parents are private (0700) and the sandbox runs as another uid.
    folder = tempfile.mkdtemp(prefix="utask-scripts-")
    os.chmod(folder, 0o755)
    for name, text in SCRIPTS.items():
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644 if name == "noexec.sh" else 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def box(scripts_dir: str) -> Iterator[Sandbox]:
    with Sandbox(sandbox={"defaults": {"timeout": "40s"}},
                 plugin_settings={"script": {"scripts_path": scripts_dir}}) as sandbox:
        yield sandbox
