"""Reading a step result out of a command's output, as µTask's `script` and `ssh` plugins do (its
`scriptutil` package): output modes, delimiters, the JSON object result, and unrecoverable exit codes.

Shared here so both plugins (and custom ones running commands) behave the same without depending on
each other.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import ClientError, ConfigError, PluginError, ServerError
from .goconv import go_float, go_quote

AUTO_RESULT = "auto-result"
DISABLED = "disabled"
MANUAL_DELIMITERS = "manual-delimiters"
MANUAL_LASTLINE = "manual-lastline"

_EXIT_CODES = re.compile(r"^(\d+)(?:-(\d+))?$")


def validate_output_mode(mode: str, allowed: list[str], delimiters: list[str] | None) -> str:
    """The effective mode (`""` is the caller's default, given first in `allowed`); raises ConfigError
    with µTask's texts."""
    if mode == "":
        mode = allowed[0]
    elif mode not in allowed:
        raise ConfigError(f"invalid value {go_quote(mode)} for output_mode, allowed values are: "
                          + ", ".join(sorted(allowed)))
    if delimiters is not None and mode != MANUAL_DELIMITERS:
        raise ConfigError(f'invalid parameter "output_manual_delimiters", output_mode is configured to {go_quote(mode)}')
    if mode == MANUAL_DELIMITERS and (delimiters is None or len(delimiters) != 2):
        raise ConfigError(f"wrong number of output_manual_delimiters, 2 expected, found {len(delimiters or [])}")
    if delimiters is not None:
        try:
            delimiters_regexp(delimiters[0], delimiters[1])
        except re.error as err:
            raise ConfigError(f"unable to compile output_manual_delimiters regexp: {err}") from None
    return mode


def delimiters_regexp(start: str, end: str) -> re.Pattern[str]:
    # Go: regexp.Compile("(?s)^.*" + start + "(.*)" + end + ".*$")
    return re.compile("(?s)^.*" + start + "(.*)" + end + ".*$")


def validate_exit_codes(codes: list[str] | None) -> None:
    for value in codes or []:
        m = _EXIT_CODES.match(value)
        if not m:
            raise ConfigError(f"invalid value {go_quote(value)} for exit_codes_unrecoverable, should be an integer, "
                              "or a range of integer (e.g: 123, or 120-130)")
        if m.group(2) is not None:
            start, end = int(m.group(1)), int(m.group(2))
            if end <= start:
                raise ConfigError(f"exit_codes_unrecoverable value {go_quote(value)} should have end exit_code "
                                  "superior to start exit_code")
            if start == 0:
                raise ConfigError("exit_codes_unrecoverable cannot map exit code 0 (non-sense)")


def exit_code_error(exit_code: int, codes: list[str] | None, cause: str | None,
                    output: Any = None, metadata: Any = None) -> PluginError:
    """`exit code: N` (server error), or `Client error: exit code: N[: cause]` when N is unrecoverable.

    Mirrors µTask's FormatErrorExitCode, including its quirk: once a range entry has been examined the
    cause is dropped from the message (Go reuses the `err` variable for its integer parsing)."""
    for value in codes or []:
        m = _EXIT_CODES.match(value)
        if not m:
            return ServerError("exit_codes_unrecoverable value doesnt match regex, fatal error",
                               output=output, metadata=metadata)
        start, end = m.group(1), m.group(2)
        if end is None and start != str(exit_code):
            continue
        if start == str(exit_code):
            return _client(exit_code, cause, output, metadata)
        cause = None
        if int(start) <= exit_code <= int(end or start):
            return _client(exit_code, cause, output, metadata)
    return ServerError(f"exit code: {exit_code}", output=output, metadata=metadata)


def _client(exit_code: int, cause: str | None, output: Any, metadata: Any) -> ClientError:
    text = f"Client error: exit code: {exit_code}"
    return ClientError(f"{text}: {cause}" if cause else text, output=output, metadata=metadata)


def parse_output(text: str, mode: str, delimiters: list[str] | None = None) -> str:
    """The result text: the last non-empty line (last-line and auto-result modes), the text between the
    delimiters, or "" (disabled)."""
    if mode == MANUAL_DELIMITERS:
        m = delimiters_regexp(delimiters[0], delimiters[1]).match(text) if delimiters else None
        return m.group(1) if m else ""
    if mode in (AUTO_RESULT, MANUAL_LASTLINE):
        line, last = _last_line(text)
        if line == "" and last != -1:
            # Most programs end their output with a newline: look at the line before it.
            line, _ = _last_line(text[:last])
        return line
    return ""


def _last_line(text: str) -> tuple[str, int]:
    last = text.rfind("\n")
    if last == -1:
        return text, -1
    return text[last:].strip(), last


def decode_result(line: str) -> Any:
    """The result line decoded into a JSON object like Go's json.Unmarshal into map[string]interface{}:
    numbers become float64 (so `2.50` is `2.5`), `null` gives null. Raises ValueError with Go's text."""
    try:
        value = json.loads(line, parse_float=_float64, parse_int=_float64, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise ValueError(json_error_text(line, err)) from None
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"json: cannot unmarshal {_json_kind(value)} into Go value of type map[string]interface {{}}")
    return value


def _float64(text: str) -> Any:
    return go_float(float(text))


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"invalid constant {name}", name, 0)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "number"


def json_error_text(doc: str, err: json.JSONDecodeError) -> str:
    """Go's encoding/json text for the common syntax errors (Python's decoder reports them otherwise)."""
    pos = err.pos
    if pos >= len(doc.rstrip()) and "Extra data" not in err.msg:
        return "unexpected end of JSON input"
    ch = doc[pos] if pos < len(doc) else ""
    literal = {"n": "null", "t": "true", "f": "false"}.get(ch)
    if literal and "Expecting value" in err.msg:  # Go reads a literal from its first letter
        for i, want in enumerate(literal):
            got = doc[pos + i] if pos + i < len(doc) else ""
            if got == "":
                return "unexpected end of JSON input"
            if got != want:
                shown = "'\\''" if got == "'" else f"'{got}'"
                return f"invalid character {shown} in literal {literal} (expecting '{want}')"
    quoted = "'\\''" if ch == "'" else f"'{ch}'"
    if "Extra data" in err.msg:
        return f"invalid character {quoted} after top-level value"
    if "property name" in err.msg:
        return f"invalid character {quoted} looking for beginning of object key string"
    if "':' delimiter" in err.msg:
        return f"invalid character {quoted} after object key"
    if "',' delimiter" in err.msg:
        return f"invalid character {quoted} after object key:value pair"
    return f"invalid character {quoted} looking for beginning of value"


def result_or_error(text: str, mode: str, delimiters: list[str] | None, exit_code: int,
                    codes: list[str] | None, cause: str | None, metadata: Any) -> Any:
    """The step output for a finished command, or raises the step's error (µTask's common tail of the
    script and ssh plugins): an undecodable result fails only a successful command."""
    output: Any = {}
    line = parse_output(text, mode, delimiters)
    if line != "":
        try:
            output = decode_result(line)
        except ValueError as err:
            if exit_code == 0:
                raise ServerError(str(err), metadata=metadata) from None
            output = {}
    if exit_code != 0:
        raise exit_code_error(exit_code, codes, cause, output=output, metadata=metadata)
    return output


def auto_result_preamble(result: dict[str, str]) -> str:
    """The shell function µTask's ssh plugin prepends in auto-result mode: trapped on EXIT, it prints one
    line of JSON `{"<name>":"<expanded value>",...}` (double quotes removed from names and values)."""
    parts = [f"'\"{k.replace(chr(34), '')}\":\"'\"{v.replace(chr(34), '')}\"'\"'" for k, v in result.items()]
    inject = "'{'" + ",".join(parts) + "'}'"
    return ("\nfunction printResultJSON {\n"
            f"echo -n {inject} | sed --posix -z 's/\\n/\\\\n/g'\n"
            "}\ntrap printResultJSON EXIT\n")
