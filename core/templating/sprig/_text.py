"""Go `strings`/`unicode` behaviours Python's str methods do not share."""

from __future__ import annotations

import unicodedata

# unicode.IsSpace
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_GO_SPACE_SET = frozenset(GO_SPACE)


def is_space(ch: str) -> bool:
    return ch in _GO_SPACE_SET


def trim_space(s: str) -> str:
    return s.strip(GO_SPACE)


def _simple(ch: str, mapped: str) -> str:
    return mapped if len(mapped) == 1 else ch


def to_upper_rune(ch: str) -> str:
    return _simple(ch, ch.upper())


def to_lower_rune(ch: str) -> str:
    if ch == "\u0130":
        return "i"
    return _simple(ch, ch.lower())


def to_title_rune(ch: str) -> str:
    t = ch.title()
    if len(t) == 1:
        return t
    return to_upper_rune(ch)


def to_upper(s: str) -> str:
    if s.isascii():
        return s.upper()
    return "".join(to_upper_rune(c) for c in s)


def to_lower(s: str) -> str:
    if s.isascii():
        return s.lower()
    return "".join(to_lower_rune(c) for c in s)


def is_upper(ch: str) -> bool:
    return unicodedata.category(ch) == "Lu"


def is_lower(ch: str) -> bool:
    return unicodedata.category(ch) == "Ll"


def is_title(ch: str) -> bool:
    return unicodedata.category(ch) == "Lt"


def is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def is_digit(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd"


def is_number(ch: str) -> bool:
    return unicodedata.category(ch).startswith("N")


def is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _is_separator(r: str) -> bool:
    if r <= "\x7f":
        return not (r.isalnum() or r == "_")
    if is_letter(r) or is_digit(r):
        return False
    return is_space(r)


def title(s: str) -> str:
    """strings.Title."""
    prev = " "
    out = []
    for r in s:
        out.append(to_title_rune(r) if _is_separator(prev) else r)
        prev = r
    return "".join(out)
