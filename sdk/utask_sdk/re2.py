"""RE2 (Go `regexp`) patterns on Python's `re`.

Templates are written for Go's RE2 syntax. The common subset is the same; this module translates the
RE2-only spellings (`\\z`, `[[:alpha:]]`, `\\pL`-less classes are refused) and refuses what RE2 refuses
but Python accepts (look-arounds, back-references), with Go's `error parsing regexp: ...` texts for
the usual mistakes.
"""

from __future__ import annotations

import functools
import re

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7F",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}


class RegexError(ValueError):
    """Go's `regexp.Compile` error text."""


# Unicode classes Python's `re` lacks; the usual ones are approximated, others are refused.
_UNICODE_CLASSES = {"L": "[^\\W\\d_]", "N": "\\d", "Nd": "\\d"}
_UNICODE_CLASSES_NEG = {"L": "[\\W\\d_]", "N": "\\D", "Nd": "\\D"}


def _unicode_class(m: re.Match[str]) -> str:
    neg, name = m.group(1) == "P", m.group(2) or m.group(3)
    table = _UNICODE_CLASSES_NEG if neg else _UNICODE_CLASSES
    if name not in table:
        raise RegexError(f"error parsing regexp: invalid character class range: `{m.group(0)}` (not supported here)")
    return table[name]


def _translate(expr: str) -> str:
    out = re.sub(r"(?<!\\)\\([pP])(?:\{(\w+)\}|(\w))", _unicode_class, expr)
    out = out.replace("\\z", "\\Z")
    out = re.sub(r"\[:(\^?)([a-z]+):\]", lambda m: _posix(m.group(1), m.group(2), expr), out)
    return out


def _posix(neg: str, name: str, expr: str) -> str:
    if name not in _POSIX:
        raise RegexError(f"error parsing regexp: invalid character class range: `[:{neg}{name}:]`")
    if neg:
        raise RegexError(f"error parsing regexp: invalid character class range: `[:^{name}:]`")
    return _POSIX[name]


@functools.lru_cache(maxsize=512)
def compile_re2(expr: str) -> re.Pattern[str]:
    """Compile a Go regexp; raise RegexError with a Go-like message when Go would refuse it."""
    for bad in ("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?P=", "(?#"):
        if bad in expr:
            raise RegexError(f"error parsing regexp: invalid or unsupported Perl syntax: `{bad}`")
    # Python 3.11 knows possessive quantifiers; RE2 reads them as a repetition of a repetition
    outside_classes = re.sub(r"\\.|\[\^?\]?(?:\\.|[^\]])*\]", "_", expr)
    m = re.search(r"([*+?}])\+", outside_classes)
    if m:
        raise RegexError(f"error parsing regexp: invalid nested repetition operator: `{m.group(1)}+`")
    m = re.search(r"(?<!\\)(?:\\\\)*\\([1-9])", expr)
    if m:
        raise RegexError(f"error parsing regexp: invalid escape sequence: `\\{m.group(1)}`")
    try:
        return re.compile(_translate(expr))
    except re.error as exc:
        raise RegexError(_go_message(expr, exc)) from None


def _go_message(expr: str, exc: re.error) -> str:
    msg = exc.msg
    pos = exc.pos or 0
    if msg.startswith("missing ), unterminated subpattern"):
        return f"error parsing regexp: missing closing ): `{expr[pos:]}`"
    if msg.startswith("unbalanced parenthesis"):
        return f"error parsing regexp: unexpected ): `{expr}`"
    if msg.startswith("unterminated character set"):
        return f"error parsing regexp: missing closing ]: `{expr[pos:]}`"
    if msg.startswith("nothing to repeat"):
        return f"error parsing regexp: missing argument to repetition operator: `{expr[pos:pos + 1]}`"
    if msg.startswith("multiple repeat"):
        return f"error parsing regexp: invalid nested repetition operator: `{expr[pos - 1:pos + 1]}`"
    if msg.startswith("bad escape (end of pattern)"):
        return "error parsing regexp: trailing backslash at end of expression: ``"
    if msg.startswith("bad escape"):
        return f"error parsing regexp: invalid escape sequence: `{expr[pos:pos + 2]}`"
    if msg.startswith("bad character range"):
        return f"error parsing regexp: invalid character class range: `{msg.split()[-1]}`"
    return f"error parsing regexp: {msg}"


def search(expr: str, text: str) -> bool:
    """Go's `MatchString`: unanchored search."""
    return compile_re2(expr).search(text) is not None
