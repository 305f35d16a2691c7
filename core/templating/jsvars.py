"""JavaScript variable expressions (reference §3.2), run in an embedded QuickJS interpreter.

µTask runs them in Otto (ECMAScript 5) in a fresh VM with a timeout; QuickJS gives the same
isolation in-process: a new context a run, no file, network or process access (the `std`/`os`
modules are not loaded), a time limit and a memory cap. The completion value of the script is
converted with JavaScript's String().
"""

from __future__ import annotations

import re

DEFAULT_TIMEOUT = 10.0
MEMORY_LIMIT = 64 * 1024 * 1024
TIMEOUT_TEXT = "Recovered from unsafe JS eval: Timed out variable evaluation"


class JSEvalError(Exception):
    pass


def run_expression(source: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Run `source` and return String(completion value); raises JSEvalError."""
    import quickjs  # imported on first use: templates without expressions never need it

    ctx = quickjs.Context()
    ctx.set_memory_limit(MEMORY_LIMIT)
    ctx.set_max_stack_size(1024 * 1024)
    ctx.set_time_limit(max(timeout, 0.001))
    ctx.set("__utask_src", source)
    try:
        result = ctx.eval("String((0, eval)(__utask_src))")
    except quickjs.JSException as e:
        text = str(e).split("\n", 1)[0]
        if "interrupted" in text:
            raise JSEvalError(TIMEOUT_TEXT) from None
        raise JSEvalError(text) from None
    return str(result)


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """time.ParseDuration → seconds; raises ValueError with Go's text."""
    orig = text
    s = text
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f'time: invalid duration "{orig}"')
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if not m:
            if re.match(r"(\d+\.?\d*|\.\d+)", s[pos:]):
                num = re.match(r"(\d+\.?\d*|\.\d+)", s[pos:])
                assert num is not None
                rest = s[pos + num.end() :]
                if not rest:
                    raise ValueError(f'time: missing unit in duration "{orig}"')
                unit = re.match(r"[^\d.]*", rest)
                raise ValueError(f'time: unknown unit "{unit.group(0) if unit else rest}" in duration "{orig}"')
            raise ValueError(f'time: invalid duration "{orig}"')
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return -total if neg else total
