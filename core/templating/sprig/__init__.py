"""The Sprig v3.3.0 function library (Masterminds/sprig `GenericFuncMap`) on µTask's value model.

```python
from utask.core.templating.sprig import sprig_funcs, TemplateFuncError
funcs = sprig_funcs()          # a fresh dict name -> callable on every call
```

Value model: Go map[string]interface{} = dict, []interface{} = list, string = str, bool, nil = None,
json.Number = `utask.core.gojson.JSONNumber`, int/int64 = int, float64 = float, time.Time = aware
`datetime`, *semver.Version = `semver.Version`, Sprig's certificate struct = `funcs_crypto.Certificate`
(fields `.Cert`, `.Key`). Go strings are bytes: invalid UTF-8 is carried with `surrogateescape`.

Calling convention for the executor (Go's text/template `evalCall`):

* every callable has `fn.sig`: its Go parameter types, e.g. `("string", "interface{}")`; a variadic
  parameter is the last entry, prefixed with `...` (`("interface{}", "...interface{}")`), and
  `fn.variadic` is True. Types used: `string`, `int`, `int64`, `uint32`, `float64`, `bool`,
  `interface{}`, `[]interface{}`, `map[string]interface{}`, `time.Time`, `certificate`, and
  `...` forms of `interface{}`, `string`, `int`, `float64`, `map[string]interface{}`.
  The executor does Go's argument checks and conversions (untyped constants, `wrong type for value;
  expected string; got int`, `invalid value; expected string` for a missing value) before calling;
  a missing value given to an `interface{}` parameter is passed as None (MISSING is tolerated too).
* `fn.returns`: Go result types, e.g. `("string",)` or `("interface{}", "error")`.
* a Go error result or a recovered panic is raised as `TemplateFuncError(message)` (`errors.py`);
  the executor reports `error calling <name>: <message>`. Any other exception is a bug.

Where Debian's Sprig 3.2.3 (the Go oracle) and 3.3.0 (pinned by µTask) differ, this follows 3.3.0:
`camelcase` is xstrings' ToPascalCase ("GOLANG_IS_GREAT" -> "GolangIsGreat"; 3.2.3 gives
"GOLANGISGREAT"), `sha512sum` exists, semver ranges as semver v3.3.0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import (  # noqa: F401 - importing registers the functions
    funcs_crypto,
    funcs_dates,
    funcs_defaults,
    funcs_dicts,
    funcs_lists,
    funcs_math,
    funcs_misc,
    funcs_strings,
)
from ._registry import FUNCS
from .errors import TemplateFuncError

__all__ = ["sprig_funcs", "TemplateFuncError", "NONHERMETIC"]

NONHERMETIC = frozenset({
    "date", "date_in_zone", "date_modify", "now", "htmlDate", "htmlDateInZone", "dateInZone", "dateModify",
    "randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes", "uuidv4", "env", "expandenv",
    "getHostByName",
})


class _SprigFuncs(dict):  # type: ignore[type-arg]
    """The function map; calling it returns a fresh copy (`sprig_funcs()`), and it reads as a mapping
    itself (`dict(sprig_funcs)`)."""

    def __call__(self) -> dict[str, Callable[..., Any]]:
        return dict(self)


sprig_funcs = _SprigFuncs(FUNCS)
"""Sprig's GenericFuncMap: `sprig_funcs()` returns a new dict name -> callable on every call."""
