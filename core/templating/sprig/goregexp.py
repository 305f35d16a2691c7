"""Go `regexp` (RE2 syntax, leftmost-first) on Python's `re`.

`compile_go(expr)` translates the Go syntax (ASCII `\\d \\w \\s \\b`, `\\z`, `$` = end of text without
`(?m)`, flags anywhere `(?i)`, `\\Q...\\E`, `\\x{...}`, octal escapes, `[[:alpha:]]`, literal `{` that is not a
repetition, `\\pL`...) and raises `GoRegexpError` with Go's message for the common syntax errors.
`find_all`, `replace_all`, `split` follow Go's handling of empty matches and `$1`/`${name}` expansion.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ._fmt import go_quote


class GoRegexpError(ValueError):
    """`str(e)` is Go's `error parsing regexp: ...` text."""


_W = "0-9A-Za-z_"
_ASCII_CLASSES = {"d": "0-9", "w": _W, "s": "\\t\\n\\f\\r "}
_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~", "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": _W, "xdigit": "0-9A-Fa-f",
}
_UNICODE_CLASSES = {"L": "[^\\W\\d_]", "N": "\\d", "Nd": "\\d", "Lu": "(?-i:[^\\W\\d_a-z])", "Ll": "(?-i:[^\\W\\d_A-Z])"}
_WORD_B = f"(?:(?<=[{_W}])(?![{_W}])|(?<![{_W}])(?=[{_W}]))"
_NOT_WORD_B = f"(?:(?<=[{_W}])(?=[{_W}])|(?<![{_W}])(?![{_W}]))"
_ASSERTIONS = {"^", "$", "\\A", "\\Z", _WORD_B, _NOT_WORD_B}
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_PERL_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])")


def _err(code: str, expr: str) -> GoRegexpError:
    return GoRegexpError(f"error parsing regexp: {code}: `{expr}`")


def _translate(expr: str, names: list[str] | None = None) -> str:  # noqa: C901 - a hand-written tokenizer
    """Go syntax -> Python syntax. Capture names go to `names` (index = group number - 1), the groups
    themselves are left unnamed: Go allows duplicate names and names Python refuses (`1a`)."""
    if names is None:
        names = []
    out: list[str] = []
    i = 0
    n = len(expr)
    # stack of (flag groups open in the enclosing group, multiline flag at group start)
    stack: list[tuple[list[str], bool, bool]] = []
    ungreedy = False  # Go's (?U): repetitions are lazy unless followed by ?
    multiline = False
    pending: list[str] = []  # flag groups opened by `(?flags)` inside the current group
    last_atom = False  # something a repetition operator can apply to
    last_rep = False
    rep_start = 0
    while i < n:
        c = expr[i]
        if c == "\\":
            if i + 1 >= n:
                raise _err("trailing backslash at end of expression", "")
            e = expr[i + 1]
            if e in "dws":
                out.append(f"[{_ASCII_CLASSES[e]}]")
                i += 2
            elif e in "DWS":
                out.append(f"[^{_ASCII_CLASSES[e.lower()]}]")
                i += 2
            elif e == "b":
                out.append(_WORD_B)
                i += 2
            elif e == "B":
                out.append(_NOT_WORD_B)
                i += 2
            elif e == "A":
                out.append("\\A")
                i += 2
            elif e == "z":
                out.append("\\Z")
                i += 2
            elif e == "Q":
                end = expr.find("\\E", i + 2)
                lit = expr[i + 2:] if end < 0 else expr[i + 2:end]
                out.append(re.escape(lit))
                i = n if end < 0 else end + 2
            elif e == "x":
                if i + 2 < n and expr[i + 2] == "{":
                    end = expr.find("}", i + 3)
                    hexd = expr[i + 3:end] if end > 0 else ""
                    if end < 0 or not hexd or not all(h in "0123456789abcdefABCDEF" for h in hexd) or int(hexd, 16) > 0x10FFFF:
                        raise _err("invalid escape sequence", expr[i:end + 1 if end > 0 else n])
                    out.append(f"\\U{int(hexd, 16):08x}")
                    i = end + 1
                else:
                    hexd = expr[i + 2:i + 4]
                    if len(hexd) != 2 or not all(h in "0123456789abcdefABCDEF" for h in hexd):
                        raise _err("invalid escape sequence", expr[i:i + 4])
                    out.append(f"\\x{hexd}")
                    i += 4
            elif e in "01234567":
                j = i + 1
                if e != "0" and not (i + 2 < n and expr[i + 2] in "01234567"):
                    raise _err("invalid escape sequence", expr[i:i + 2])
                k = j
                while k < n and k < j + 3 and expr[k] in "01234567":
                    k += 1
                out.append(f"\\x{int(expr[j:k], 8):02x}" if int(expr[j:k], 8) < 256 else f"\\u{int(expr[j:k], 8):04x}")
                i = k
            elif e in "pP":
                if i + 2 < n and expr[i + 2] == "{":
                    end = expr.find("}", i + 3)
                    name = expr[i + 3:end] if end > 0 else ""
                    ln = end + 1
                else:
                    name = expr[i + 2:i + 3]
                    ln = i + 3
                neg = e == "P"
                if name.startswith("^"):
                    neg, name = not neg, name[1:]
                if name not in _UNICODE_CLASSES:
                    raise _err("invalid character class range", expr[i:ln])
                cls = _UNICODE_CLASSES[name]
                out.append(f"(?:(?!{cls}).)" if neg else cls)
                i = ln
            elif e in "afnrtv" or e.isascii() and not e.isalnum():
                out.append("\\" + e)
                i += 2
            else:
                raise _err("invalid escape sequence", expr[i:i + 2])
            last_atom, last_rep = True, False
            continue
        if c == "[":
            j = i + 1
            parts = ["["]
            if j < n and expr[j] == "^":
                parts.append("^")
                j += 1
            first = True
            closed = False
            negsets: list[str] = []  # negated sets inside the class ([:^alpha:], \\D): unions of classes
            while j < n:
                ch = expr[j]
                if ch == "]" and not first:
                    closed = True
                    j += 1
                    break
                first = False
                if ch == "[" and expr.startswith("[:", j):
                    end = expr.find(":]", j + 2)
                    name = expr[j + 2:end] if end > 0 else ""
                    negp = name.startswith("^")
                    if negp:
                        name = name[1:]
                    if end > 0 and name in _POSIX:
                        if negp:
                            negsets.append(_POSIX[name])
                        else:
                            parts.append(_POSIX[name])
                        j = end + 2
                        continue
                    parts.append("\\[")
                    j += 1
                    continue
                if ch == "\\":
                    if j + 1 >= n:
                        raise _err("missing closing ]", expr[i:])
                    e = expr[j + 1]
                    if e in "dws":
                        parts.append(_ASCII_CLASSES[e])
                    elif e in "DWS":
                        negsets.append(_ASCII_CLASSES[e.lower()])
                    elif e in "pP":
                        raise GoRegexpError("error parsing regexp: unicode classes inside [] are not supported here")
                    elif e == "x" and j + 2 < n and expr[j + 2] == "{":
                        end = expr.find("}", j + 3)
                        if end < 0:
                            raise _err("invalid escape sequence", expr[j:])
                        parts.append(f"\\U{int(expr[j + 3:end], 16):08x}")
                        j = end + 1
                        continue
                    elif e in "afnrtvx" or (e.isascii() and not e.isalnum()):
                        parts.append("\\" + e)
                    elif e in "01234567":
                        k = j + 1
                        while k < n and k < j + 4 and expr[k] in "01234567":
                            k += 1
                        parts.append(f"\\x{int(expr[j + 1:k], 8):02x}")
                        j = k
                        continue
                    else:
                        raise _err("invalid escape sequence", expr[j:j + 2])
                    j += 2
                    continue
                if ch in "[&~|":
                    parts.append("\\" + ch)
                    j += 1
                    continue
                if ch == "-" and j + 1 < n and expr[j + 1] != "]" and len(parts) > 1 and parts[-1] not in ("[", "^"):
                    lo = expr[j - 1]
                    hi = expr[j + 1]
                    if hi != "\\" and lo != "]" and hi < lo:
                        raise _err("invalid character class range", f"{lo}-{hi}")
                parts.append(ch)
                j += 1
            if not closed:
                raise _err("missing closing ]", expr[i:])
            if not negsets:
                parts.append("]")
                out.append("".join(parts))
            else:
                neg_outer = len(parts) > 1 and parts[1] == "^"
                inner = parts[2:] if neg_outer else parts[1:]
                alts = (["[" + "".join(inner) + "]"] if inner else []) + [f"[^{s}]" for s in negsets]
                union = "|".join(alts)
                out.append(f"(?:(?!{union})(?s:.))" if neg_outer else f"(?:{union})")
            i = j
            last_atom, last_rep = True, False
            continue
        if c == "(":
            if expr.startswith("(?", i):
                m = _PERL_FLAGS.match(expr, i)
                if expr.startswith("(?P<", i):
                    end = expr.find(">", i)
                    name = expr[i + 4:end] if end > 0 else ""
                    if end < 0 or not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
                        raise _err("invalid named capture", expr[i:end + 1 if end > 0 else n])
                    stack.append((pending, multiline, ungreedy))
                    pending = []
                    out.append("(")
                    names.append(name)
                    i = end + 1
                    last_atom = False
                    continue
                if m and (m.group(1) or m.group(2) is not None or m.group(3) == ":"):
                    on, off, kind = m.group(1) or "", m.group(2) or "", m.group(3)
                    if m.group(2) is not None and not off:
                        raise _err("invalid or unsupported Perl syntax", expr[i:m.end()])
                    new_ml = (multiline or "m" in on) and "m" not in off
                    new_ug = (ungreedy or "U" in on) and "U" not in off
                    on, off = on.replace("U", ""), off.replace("U", "")
                    flags = on + ("-" + off if off else "")
                    if kind == ":":
                        stack.append((pending, multiline, ungreedy))
                        pending = []
                        out.append(f"(?{flags}:" if flags else "(?:")
                        multiline, ungreedy = new_ml, new_ug
                    else:
                        if flags:
                            out.append(f"(?{flags}:")
                            pending.append(flags)
                        multiline, ungreedy = new_ml, new_ug
                    i = m.end()
                    last_atom = False
                    continue
                raise _err("invalid or unsupported Perl syntax", expr[i:i + 3])
            stack.append((pending, multiline, ungreedy))
            pending = []
            out.append("(")
            names.append("")
            i += 1
            last_atom = False
            continue
        if c == ")":
            if not stack:
                raise _err("unexpected )", expr)
            out.append(")" * len(pending) + ")")
            pending, multiline, ungreedy = stack.pop()
            i += 1
            last_atom, last_rep = True, False
            continue
        if c == "|":
            # a flag set by (?i) lasts to the end of the group, across alternatives: close and reopen
            out.append(")" * len(pending) + "|" + "".join(f"(?{f}:" for f in pending))
            i += 1
            last_atom, last_rep = False, False
            continue
        if c in "*+?" or (c == "{" and _REPEAT.match(expr, i)):
            if c == "{":
                m = _REPEAT.match(expr, i)
                assert m is not None
                lo = int(m.group(1))
                hi = m.group(3)
                if lo > 1000 or (hi and int(hi) > 1000) or (hi and int(hi) < lo):
                    raise _err("invalid repeat count", m.group(0))
                end = m.end()
            else:
                end = i + 1
            if end < n and expr[end] == "?":
                end += 1
            if last_rep:
                raise _err("invalid nested repetition operator", expr[rep_start:end])
            if not last_atom:
                raise _err("missing argument to repetition operator", expr[i:end])
            if out and out[-1] in _ASSERTIONS:
                out[-1] = "(?:" + out[-1] + ")"  # Python refuses to repeat a bare assertion
            op = expr[i:end]
            if ungreedy:
                op = op[:-1] if op.endswith("?") and len(op) > 1 else op + "?"
            out.append(op)
            rep_start = i
            i = end
            last_rep = True
            continue
        if c == "{":
            out.append("\\{")
            i += 1
            last_atom, last_rep = True, False
            continue
        if c == "$":
            out.append("$" if multiline else "\\Z")  # Go's $ without (?m) is \\z
            i += 1
            last_atom, last_rep = True, False
            continue
        if c == "^":
            out.append("^")
            i += 1
            last_atom, last_rep = True, False
            continue
        if c in "#} \t\n'\"&~-":
            out.append(re.escape(c) if c in "#} \t\n&~-" else c)
            i += 1
            last_atom, last_rep = True, False
            continue
        out.append(c)
        i += 1
        last_atom, last_rep = True, False
    if stack:
        raise _err("missing closing )", expr)
    out.append(")" * len(pending))
    return "".join(out)


_GROUP_NAMES: dict[re.Pattern[str], list[str]] = {}


def subexp_names(rx: re.Pattern[str]) -> list[str]:
    """Go's SubexpNames()[1:]: the capture names in group order ("" for unnamed)."""
    return _GROUP_NAMES.get(rx, [])


@lru_cache(maxsize=512)
def compile_go(expr: str) -> re.Pattern[str]:
    """regexp.Compile. Raises GoRegexpError."""
    names: list[str] = []
    translated = _translate(expr, names)
    try:
        rx = re.compile(translated)
        _GROUP_NAMES[rx] = names
        return rx
    except re.error as exc:
        raise GoRegexpError(f"error parsing regexp: {exc}: `{expr}`") from exc
    except (OverflowError, RecursionError) as exc:
        raise GoRegexpError(f"error parsing regexp: expression too large: `{expr}`") from exc


def must_compile(expr: str) -> re.Pattern[str]:
    """regexp.MustCompile: the panic text."""
    try:
        return compile_go(expr)
    except GoRegexpError as exc:
        from .errors import TemplateFuncError

        raise TemplateFuncError(f"regexp: Compile({_quote(expr)}): {exc}") from None


def _quote(s: str) -> str:
    """regexp's quote: a raw string when strconv.CanBackquote, else strconv.Quote."""
    if "`" not in s and all(c == "\t" or (c >= " " and c != "\x7f" and c != "\ufeff") for c in s):
        return "`" + s + "`"
    return go_quote(s)


def _all_matches(rx: re.Pattern[str], s: str, n: int) -> list[re.Match[str]]:
    if n < 0:
        n = len(s) + 1
    res: list[re.Match[str]] = []
    pos = 0
    prev_end = -1
    end = len(s)
    while len(res) < n and pos <= end:
        m = rx.search(s, pos)
        if m is None:
            break
        accept = True
        if m.end() == pos:
            if m.start() == prev_end:
                accept = False
            pos += 1
        else:
            pos = m.end()
        prev_end = m.end()
        if accept:
            res.append(m)
    return res


def find_all(rx: re.Pattern[str], s: str, n: int) -> list[str] | None:
    """FindAllString: None (Go nil) when no match or n == 0."""
    if n == 0:
        return None
    ms = _all_matches(rx, s, n)
    return [m.group(0) for m in ms] if ms else None


def find(rx: re.Pattern[str], s: str) -> str:
    m = rx.search(s)
    return m.group(0) if m else ""


def _extract(t: str) -> tuple[str, int, str] | None:
    if not t:
        return None
    brace = t[0] == "{"
    if brace:
        t = t[1:]
    i = 0
    while i < len(t) and (t[i].isalpha() or t[i].isdigit() or t[i] == "_"):
        i += 1
    if i == 0:
        return None
    name = t[:i]
    if brace:
        if i >= len(t) or t[i] != "}":
            return None
        i += 1
    num = int(name) if name.isascii() and name.isdigit() and len(name) < 9 else -1
    if name[0] == "0" and len(name) > 1:
        num = -1
    return name, num, t[i:]


def expand(rx: re.Pattern[str], template: str, m: re.Match[str]) -> str:
    out: list[str] = []
    names = subexp_names(rx)
    while template:
        before, sep, after = template.partition("$")
        if not sep:
            break
        out.append(before)
        template = after
        if template.startswith("$"):
            out.append("$")
            template = template[1:]
            continue
        ex = _extract(template)
        if ex is None:
            out.append("$")
            continue
        name, num, template = ex
        if num >= 0:
            if num <= rx.groups and m.group(num) is not None:
                out.append(m.group(num))
        else:
            for gi, gname in enumerate(names, start=1):
                if gname == name and m.group(gi) is not None:
                    out.append(m.group(gi))
                    break
    out.append(template)
    return "".join(out)


def replace_all(rx: re.Pattern[str], src: str, repl: str, literal: bool) -> str:
    out: list[str] = []
    last_end = 0
    search_pos = 0
    end = len(src)
    while search_pos <= end:
        m = rx.search(src, search_pos)
        if m is None:
            break
        a0, a1 = m.span()
        out.append(src[last_end:a0])
        if a1 > last_end or a0 == 0:
            out.append(repl if literal else expand(rx, repl, m))
        last_end = a1
        if search_pos + 1 > a1:
            search_pos += 1
        else:
            search_pos = a1
    out.append(src[last_end:])
    return "".join(out)


def split(rx: re.Pattern[str], s: str, n: int, expr: str) -> list[str] | None:
    if n == 0:
        return None
    if expr and s == "":
        return [""]
    matches = _all_matches(rx, s, n)
    res: list[str] = []
    beg = 0
    end = 0
    for m in matches:
        if n > 0 and len(res) == n - 1:
            break
        end = m.start()
        if m.end() != 0:
            res.append(s[beg:end])
        beg = m.end()
    if end != len(s):
        res.append(s[beg:])
    return res


_SPECIAL = set("\\.+*?()|[]{}^$")


def quote_meta(s: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in s)
