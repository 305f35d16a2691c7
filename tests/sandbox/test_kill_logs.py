"""Step logs through the real sandbox: the logger's lines and the printed ones are reported once each, in
their order, and those written before the sandbox kills an execution (timeout, memory limit) survive it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from utask_sdk.testing import Sandbox

MODULE = "tests.plugins.devx_plugins"
LIMITS = {"timeout": "2s", "memory_mb": 64, "cpu_seconds": 5, "max_processes": 16, "max_open_files": 64,
          "max_file_size_mb": 1}


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(sandbox={"defaults": LIMITS}, modules=[MODULE], entry_points=False) as sandbox:
        yield sandbox


def _require(box: Sandbox, layer: str) -> None:
    row = {r["name"]: r for r in box.host.describe()}["devx"]
    if layer not in row["layers_applied"]:
        message = f"sandbox layer {layer} missing on this machine: {row['layers_missing'].get(layer)}"
        if os.environ.get("SANDBOX_REQUIRE") == "all":
            pytest.fail(message)
        pytest.skip(message)


def test_logger_lines_then_printed_lines_once_each(box):
    result = box.run("devx", {"do": "log"}, step_name="talk")
    assert result.error is None and result.output == {"done": True}
    # The logger's records (a multi-line one stays one entry), then stdout/stderr: none twice, although the
    # logger also wrote its records into the execution's log file.
    assert result.logs == ["INFO first talk", "WARNING two\nlines", "OUTPUT printed line", "OUTPUT error line"]
    assert result.logs_dropped == 0


def test_lines_logged_and_printed_before_a_timeout_survive_it(box):
    result = box.run("devx", {"do": "log_then_sleep"})
    assert result.error is not None and result.error.kind == "server"
    assert result.error.message == "timed out after 2s"
    assert result.logs == ["INFO before the timeout", "WARNING still before\nthe timeout",
                           "OUTPUT printed before the timeout"]


def test_lines_logged_before_the_memory_limit_survive_it(box):
    _require(box, "cgroup-memory")
    result = box.run("devx", {"do": "log_then_memory"})
    assert result.error is not None and result.error.message == "memory limit 64 MB exceeded"
    assert result.logs == ["INFO before the memory limit"]


def test_a_killed_execution_that_logged_a_lot_reports_the_last_lines_and_counts_the_others(box):
    count = 4000  # ~80 KiB of records: more than the 64 KiB read back from the log file
    result = box.run("devx", {"do": "log_then_sleep", "count": count})
    assert result.error is not None and result.error.message == "timed out after 2s"
    assert result.logs[-3:] == ["INFO before the timeout", "WARNING still before\nthe timeout",
                                "OUTPUT printed before the timeout"]
    assert result.logs_dropped > 0
    early = [line for line in result.logs if line.startswith("INFO early line ")]
    assert early == [f"INFO early line {i}" for i in range(count - len(early), count)]  # the last ones, in order
    assert result.logs_dropped + len(result.logs) == count + 3  # every line reported or counted


def test_the_logger_keeps_its_last_1000_lines_and_counts_the_earlier_ones(box):
    result = box.run("devx", {"do": "log_many", "count": 1500})
    assert result.error is None
    assert len(result.logs) == 1000 and result.logs_dropped == 500
    assert result.logs[0] == "INFO line 500 " and result.logs[-1] == "INFO line 1499 "


def test_printed_output_keeps_its_last_64_kib_and_counts_the_earlier_lines(box):
    result = box.run("devx", {"do": "print_many", "count": 2000, "width": 100})
    assert result.error is None
    assert result.logs_dropped > 0 and result.logs_dropped + len(result.logs) == 2000
    assert result.logs[-1] == "OUTPUT printed 1999 " + "x" * 100
    assert result.logs[0] == f"OUTPUT printed {result.logs_dropped} " + "x" * 100  # whole lines only


def test_logging_more_than_the_file_size_limit_leaves_room_for_the_output(box):
    # max_file_size_mb 1: the logger mirrors at most half of it into the log file, so printing still works
    # (a write past RLIMIT_FSIZE fails with EFBIG) and the result lists the logger's last lines from memory.
    result = box.run("devx", {"do": "log_many", "count": 12000, "width": 100, "then_print": True})
    assert result.error is None, result.error
    assert result.logs[-1] == "OUTPUT printed after the logs"
    assert result.logs[-2] == "INFO line 11999 " + "x" * 100


# --- the log file format, read back (what the zygote does when it reports a killed execution) -------------
def test_split_log_separates_records_from_output():
    from utask_sdk.context import LOG_CONT, LOG_MARK, split_log

    text = (f"{LOG_CONT}end of a record cut by the tail\nout 1\n{LOG_MARK}INFO a\n"
            f"{LOG_MARK}WARNING two\n{LOG_CONT}lines\npartial{LOG_MARK}ERROR b\nout\x1c2\n")
    records, output, orphans = split_log(text)
    assert records == ["INFO a", "WARNING two\nlines", "ERROR b"]
    assert output == ["out 1", "partial", "out\x1c2"]  # only "\n" splits lines (not \x1c, \x1e...)
    assert orphans == 1
    assert split_log("a\nb\n") == ([], ["a", "b"], 0) and split_log("") == ([], [], 0)


def test_reading_a_large_log_file_counts_what_it_leaves_out(tmp_path):
    from utask.core.sandbox.zygote import LOG_TAIL, _read_log
    from utask_sdk.context import LOG_CONT, LOG_MARK, split_log

    marks = (LOG_MARK.encode(), LOG_CONT.encode())
    path = tmp_path / "run.log"
    lines = []
    for i in range(6000):  # ~150 KiB: records (one of two lines) and output lines, interleaved
        lines.append(f"{LOG_MARK}INFO record {i}\n{LOG_CONT}second line\n" if i % 3 == 0 else f"output {i}\n")
    path.write_text("".join(lines))
    text, records_left_out, output_left_out = _read_log(str(path), marks)
    assert len(text.encode()) <= LOG_TAIL
    records, output, _orphans = split_log(text)
    assert records_left_out + len(records) == 2000 and output_left_out + len(output) == 4000
    assert output[-1] == "output 5999" and records[-1] == "INFO record 5997\nsecond line"
    small = tmp_path / "small.log"
    small.write_text("one\ntwo\n")
    assert _read_log(str(small), marks) == ("one\ntwo\n", 0, 0)
    assert _read_log(str(tmp_path / "missing.log"), marks) == ("", 0, 0)
