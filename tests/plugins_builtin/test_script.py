"""The script plugin (reference §10.8) through the real sandbox, with scripts in a temporary folder."""

from __future__ import annotations

import os
import re
import time

import pytest
from utask.core.plugins import PluginConfigError
from utask_sdk.testing import plain


def run(box, config, **kw):
    return box.run("script", config, context={"task_id": "T1", "resolution_id": "R1"}, step_name="stepA", **kw)


def test_runs_with_argv_env_ids_and_lastline(box):
    result = run(box, {"file_path": "hello.sh", "argv": ["a", "b c"],
                       "environment": {"GREETING": "hi", "COUNT": 3}})
    assert result.error is None, result.error
    assert plain(result.output) == {"result": "ok", "price": 2.5, "n": 3}
    assert str(result.output["price"]) == "2.5"  # Go decodes the result line into float64
    md = result.metadata
    assert md["exit_code"] == "0" and md["process_state"] == "exit status 0" and md["error"] == ""
    assert "argv: a b c\n" in md["output"]
    assert "ids: T1 R1 stepA\n" in md["output"]
    assert "env: hi 3\n" in md["output"]
    assert re.fullmatch(r"[0-9.]+(ns|µs|ms|s)", md["execution_time"])


def test_stdin_and_delimiters_and_disabled(box):
    result = run(box, {"file_path": "stdin.sh", "stdin": "hello\n"})
    assert result.error is None and plain(result.output) == {"got": "hello"}
    result = run(box, {"file_path": "delims.sh", "output_mode": "manual-delimiters",
                       "output_manual_delimiters": ["<<<", ">>>"]})
    assert result.error is None and plain(result.output) == {"a": 1}
    result = run(box, {"file_path": "hello.sh", "output_mode": "disabled"})
    assert result.error is None and result.output == {}


def test_exit_codes(box):
    result = run(box, {"file_path": "fail.sh"})
    assert result.error.kind == "server" and result.error.message == "exit code: 3"
    assert plain(result.output) == {"partial": True}
    assert result.metadata["exit_code"] == "3" and result.metadata["error"] == "exit status 3"
    assert result.metadata["output"] == "some error\n{\"partial\": true}\n"
    result = run(box, {"file_path": "fail.sh", "exit_codes_unrecoverable": ["3"]})
    assert result.error.kind == "client"
    assert result.error.message == "Client error: exit code: 3: exit status 3"
    result = run(box, {"file_path": "fail.sh", "argv": ["12"], "exit_codes_unrecoverable": ["10-20"]})
    assert (result.error.kind, result.error.message) == ("client", "Client error: exit code: 12")


def test_bad_result_line(box):
    result = run(box, {"file_path": "badjson.sh"})
    assert result.error.kind == "server"
    assert result.error.message == "invalid character 'o' in literal null (expecting 'u')"  # Go's text
    assert result.metadata["exit_code"] == "0"


def test_timeout_kills_everything(box):
    started = time.monotonic()
    result = run(box, {"file_path": "sleepy.sh", "timeout": "1s"})
    assert time.monotonic() - started < 10
    assert result.error.message == "exit code: -1"
    assert result.metadata["process_state"] == "signal: killed"
    assert result.metadata["exit_code"] == "-1" and result.metadata["error"] == "signal: killed"
    assert result.metadata["output"] == "started\n"
    time.sleep(0.2)
    assert not _processes("sleep", "31") and not _processes("sleep", "30"), "a process outlived the timeout"


def _processes(*argv: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[:-1] == [a.encode() for a in argv]:
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_validation(box, scripts_dir):
    box.validate("script", {"file_path": "hello.sh"})
    cases = [
        ({}, "file is missing"),
        ({"file_path": "nope.sh"},
         f'can\'t stat "{scripts_dir}/nope.sh": stat {scripts_dir}/nope.sh: no such file or directory'),
        ({"file_path": "noexec.sh"}, f'"{scripts_dir}/noexec.sh" is not executable'),
        ({"file_path": "hello.sh", "timeout": "-1s"}, "timeout must be positive"),
        ({"file_path": "hello.sh", "timeout": "abc"}, 'can\'t parse timeout field "abc": time: invalid duration "abc"'),
        ({"file_path": "hello.sh", "output_mode": "auto-result"},
         'invalid value "auto-result" for output_mode, allowed values are: disabled, manual-delimiters, manual-lastline'),
        ({"file_path": "hello.sh", "output_manual_delimiters": ["a", "b"]},
         'invalid parameter "output_manual_delimiters", output_mode is configured to "manual-lastline"'),
        ({"file_path": "hello.sh", "output_mode": "manual-delimiters", "output_manual_delimiters": ["a"]},
         "wrong number of output_manual_delimiters, 2 expected, found 1"),
        ({"file_path": "hello.sh", "exit_codes_unrecoverable": ["x"]},
         'invalid value "x" for exit_codes_unrecoverable, should be an integer, or a range of integer '
         "(e.g: 123, or 120-130)"),
        ({"file_path": "hello.sh", "exit_codes_unrecoverable": ["5-2"]},
         'exit_codes_unrecoverable value "5-2" should have end exit_code superior to start exit_code'),
        ({"file_path": "hello.sh", "exit_codes_unrecoverable": ["0-2"]},
         "exit_codes_unrecoverable cannot map exit code 0 (non-sense)"),
    ]
    for config, message in cases:
        with pytest.raises(PluginConfigError) as err:
            box.validate("script", config)
        assert str(err.value) == message, config


def test_resources_and_context(box):
    assert box.resources("script", {"file_path": "hello.sh"}) == ["fork", "script:hello.sh"]
    assert box.host.context_template("script", "s") == {"task_id": "{{ .task.task_id }}",
                                                       "resolution_id": "{{ .task.resolution_id }}"}


def test_scripts_folder_is_read_only(box, scripts_dir):
    assert os.path.isdir(scripts_dir)
    limits = box.host.pools["script"].limits
    assert scripts_dir in limits.readable_paths and limits.settings["scripts_path"] == scripts_dir
