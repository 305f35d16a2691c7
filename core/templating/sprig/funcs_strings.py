"""Sprig string functions (strings.go, functions.go) and Masterminds/goutils, huandu/xstrings ports."""

from __future__ import annotations

import base64
import binascii
import random
import secrets
import string
from typing import Any

from ._cast import strslice, strval
from ._fmt import go_bytes, go_quote, go_str, go_v, norm
from ._registry import gofunc
from ._text import (
    is_letter,
    is_lower,
    is_number,
    is_punct,
    is_space,
    is_title,
    is_upper,
    title,
    to_lower,
    to_lower_rune,
    to_title_rune,
    to_upper,
    to_upper_rune,
    trim_space,
)
from .errors import TemplateFuncError

S, INT, IF = "string", "int", "interface{}"


def _blen(s: str) -> int:
    return len(s) if s.isascii() else len(go_bytes(s))


def _bslice(s: str, start: int, end: int | None = None) -> str:
    """s[start:end] on Go's bytes (panics like Go when out of range)."""
    if s.isascii():
        n = len(s)
        e = n if end is None else end
        if start < 0 or e > n or start > e:
            _slice_panic(start, e, n)
        return s[start:e]
    b = go_bytes(s)
    n = len(b)
    e = n if end is None else end
    if start < 0 or e > n or start > e:
        _slice_panic(start, e, n)
    return go_str(b[start:e])


def _slice_panic(start: int, end: int, n: int) -> None:
    if end > n:
        raise TemplateFuncError(f"runtime error: slice bounds out of range [:{end}] with length {n}")
    if end < 0:
        raise TemplateFuncError(f"runtime error: slice bounds out of range [:{end}]")
    if start < 0:
        raise TemplateFuncError(f"runtime error: slice bounds out of range [{start}:]")
    raise TemplateFuncError(f"runtime error: slice bounds out of range [{start}:{end}]")


@gofunc("trim", (S,), (S,))
def trim(s: str) -> str:
    return trim_space(s)


@gofunc("upper", (S,), (S,))
def upper(s: str) -> str:
    return to_upper(s)


@gofunc("lower", (S,), (S,))
def lower(s: str) -> str:
    return to_lower(s)


@gofunc("title", (S,), (S,))
def title_(s: str) -> str:
    return title(s)


@gofunc("untitle", (S,), (S,))
def untitle(s: str) -> str:
    if not s:
        return s
    out = []
    nxt = True
    for ch in s:
        if is_space(ch):
            nxt = True
            out.append(ch)
        elif nxt:
            out.append(to_lower_rune(ch))
            nxt = False
        else:
            out.append(ch)
    return "".join(out)


@gofunc("substr", (INT, INT, S), (S,))
def substr(start: int, end: int, s: str) -> str:
    if start < 0:
        return _bslice(s, 0, end)
    if end < 0 or end > _blen(s):
        return _bslice(s, start)
    return _bslice(s, start, end)


@gofunc("repeat", (INT, S), (S,))
def repeat(count: int, s: str) -> str:
    if count < 0:
        raise TemplateFuncError("strings: negative Repeat count")
    if len(s) * count > 100_000_000:
        raise TemplateFuncError("strings: Repeat output length overflow")
    return s * count


@gofunc(("trimAll", "trimall"), (S, S), (S,))
def trim_all(cutset: str, s: str) -> str:
    return s.strip(cutset) if cutset else s


@gofunc("trimSuffix", (S, S), (S,))
def trim_suffix(suffix: str, s: str) -> str:
    return s.removesuffix(suffix)


@gofunc("trimPrefix", (S, S), (S,))
def trim_prefix(prefix: str, s: str) -> str:
    return s.removeprefix(prefix)


@gofunc("nospace", (S,), (S,))
def nospace(s: str) -> str:
    # goutils.DeleteWhiteSpace walks bytes, each byte taken as a rune: bytes 0x85 and 0xA0 count as spaces,
    # and when anything was removed every other byte >= 0x80 is re-encoded as U+0080..U+00FF
    if not s:
        return s
    b = go_bytes(s)
    kept = [x for x in b if not is_space(chr(x))]
    if len(kept) == len(b):
        return s
    return "".join(chr(x) for x in kept)


@gofunc("initials", (S,), (S,))
def initials(s: str) -> str:
    # goutils.Initials walks bytes, keeps the first byte of each word
    if not s:
        return s
    b = go_bytes(s)
    out = bytearray()
    gap = True
    for byte in b:
        if byte < 0x80 and is_space(chr(byte)) or byte in (0x85, 0xA0):
            gap = True
        elif gap:
            out += chr(byte).encode("utf-8")  # WriteRune(rune(byte)): a byte >= 0x80 becomes U+0080..U+00FF
            gap = False
    return out.decode("utf-8")


def _crypto_random(count: int, letters: bool, numbers: bool, start: int = 0, end: int = 0) -> str:
    if count == 0:
        return ""
    if count < 0:
        return ""
    if start == 0 and end == 0:
        if not letters and not numbers:
            end = 0x7FFFFFFF
        else:
            start, end = ord(" "), ord("z") + 1
    alphabet = "".join(
        chr(c) for c in range(start, min(end, 0x110000))
        if (letters and chr(c).isalpha() or numbers and chr(c).isdigit() or not letters and not numbers)
    ) if end - start < 10000 else ""
    if alphabet:
        return "".join(secrets.choice(alphabet) for _ in range(count))
    return "".join(chr(secrets.randbelow(0xD7FF)) for _ in range(count))


@gofunc("randAlphaNum", (INT,), (S,))
def rand_alpha_num(count: int) -> str:
    return _crypto_random(count, True, True)


@gofunc("randAlpha", (INT,), (S,))
def rand_alpha(count: int) -> str:
    return _crypto_random(count, True, False)


@gofunc("randAscii", (INT,), (S,))
def rand_ascii(count: int) -> str:
    return _crypto_random(count, False, False, 32, 127)


@gofunc("randNumeric", (INT,), (S,))
def rand_numeric(count: int) -> str:
    return _crypto_random(count, False, True)


@gofunc("swapcase", (S,), (S,))
def swapcase(s: str) -> str:
    out = []
    ws = True
    for ch in s:
        if is_upper(ch) or is_title(ch):
            out.append(to_lower_rune(ch))
            ws = False
        elif is_lower(ch):
            out.append(to_title_rune(ch) if ws else to_upper_rune(ch))
            ws = False
        else:
            out.append(ch)
            ws = is_space(ch)
    return "".join(out)


@gofunc("shuffle", (S,), (S,))
def shuffle(s: str) -> str:
    chars = list(s)
    random.shuffle(chars)
    return "".join(chars)


# -- xstrings 1.5 -------------------------------------------------------------------------------------------


def _is_connector(r: str) -> bool:
    return r in "-_" or is_space(r)


def _is_alphabet(r: str) -> bool:
    if not is_letter(r):
        return False
    if r < "\u3400":
        return True
    if "\u4e00" <= r <= "\u9fcc" or "\u3400" <= r <= "\u4d85" or "\U00020000" <= r <= "\U0002b734":
        return False
    return not ("\U0002b740" <= r <= "\U0002b81d" or "\U0002b820" <= r <= "\U0002cea1")


_INVALID, _NUMBER, _UPPER, _ALPHA, _CONNECTOR, _PUNCT, _OTHER = range(7)


def _next_word(s: str) -> tuple[int, str, str]:
    if not s:
        return _INVALID, "", ""
    r = s[0]
    i = 1
    n = len(s)
    if _is_connector(r):
        wt = _CONNECTOR
        while i < n and _is_connector(s[i]):
            i += 1
    elif is_punct(r):
        wt = _PUNCT
        while i < n and is_punct(s[i]):
            i += 1
    elif is_upper(r):
        wt = _UPPER
        if i < n:
            r2 = s[i]
            if is_upper(r2):
                prev_i = i
                i += 1
                while i < n and is_upper(s[i]):
                    prev_i = i
                    i += 1
                if i < n and _is_alphabet(s[i]):
                    i = prev_i
            elif _is_alphabet(r2):
                i += 1
                while i < n and _is_alphabet(s[i]) and not is_upper(s[i]):
                    i += 1
    elif _is_alphabet(r):
        wt = _ALPHA
        while i < n and _is_alphabet(s[i]) and not is_upper(s[i]):
            i += 1
    elif is_number(r):
        wt = _NUMBER
        while i < n and is_number(s[i]):
            i += 1
    else:
        wt = _OTHER
        while i < n and not (_is_connector(s[i]) or _is_alphabet(s[i]) or is_number(s[i]) or is_punct(s[i])):
            i += 1
    return wt, s[:i], s[i:]


def _to_lower_word(buf: list[str], wt: int, word: str, connector: str) -> None:
    if wt != _UPPER and wt != _CONNECTOR:
        buf.append(word)
        return
    for r in word:
        if _is_connector(r):
            buf.append(connector)
        elif is_upper(r):
            buf.append(to_lower_rune(r))
        else:
            buf.append(r)


def _camel_to_lower(s: str, connector: str) -> str:  # noqa: C901 - port of xstrings
    if not s:
        return ""
    buf: list[str] = []
    wt, word, remaining = _next_word(s)
    while remaining:
        if wt != _CONNECTOR:
            _to_lower_word(buf, wt, word, connector)
        prev = wt
        last = word
        wt, word, remaining = _next_word(remaining)
        if prev == _NUMBER:
            while wt in (_ALPHA, _NUMBER):
                _to_lower_word(buf, wt, word, connector)
                wt, word, remaining = _next_word(remaining)
            if wt not in (_INVALID, _PUNCT, _CONNECTOR):
                buf.append(connector)
        elif prev == _CONNECTOR:
            _to_lower_word(buf, prev, last, connector)
        elif prev == _PUNCT:
            pass
        else:
            if wt != _NUMBER:
                if wt not in (_CONNECTOR, _PUNCT):
                    buf.append(connector)
                continue
            if not remaining:
                continue
            last = word
            wt, word, remaining = _next_word(remaining)
            if wt != _ALPHA:
                _to_lower_word(buf, _NUMBER, last, connector)
                if wt not in (_CONNECTOR, _PUNCT):
                    buf.append(connector)
                continue
            buf.append(connector)
            _to_lower_word(buf, _NUMBER, last, connector)
            while wt in (_ALPHA, _NUMBER):
                _to_lower_word(buf, wt, word, connector)
                wt, word, remaining = _next_word(remaining)
            if wt not in (_INVALID, _CONNECTOR, _PUNCT):
                buf.append(connector)
    _to_lower_word(buf, wt, word, connector)
    return "".join(buf)


@gofunc("snakecase", (S,), (S,))
def snakecase(s: str) -> str:
    return _camel_to_lower(s, "_")


@gofunc("kebabcase", (S,), (S,))
def kebabcase(s: str) -> str:
    return _camel_to_lower(s, "-")


def _to_camel(s: str, big: bool) -> str:
    """xstrings 1.5 toCamelCase(str, isBig)."""
    if not s:
        return ""
    buf: list[str] = []
    chars = list(s)
    i = 0
    n = len(chars)
    r0 = ""
    first_upper = False
    while i < n:
        r0 = chars[i]
        i += 1
        if not _is_connector(r0):
            first_upper = is_upper(r0)
            r0 = to_upper_rune(r0) if big else to_lower_rune(r0)
            break
        buf.append(r0)
    if i >= n:
        buf.append(r0)  # xstrings: "a special case for a string contains only 1 rune"
        return "".join(buf)
    while i < n:
        r1 = r0
        r0 = chars[i]
        i += 1
        if _is_connector(r0) and _is_connector(r1):
            buf.append(r1)
            continue
        if _is_connector(r1):
            first_upper = is_upper(r0)
            r0 = to_upper_rune(r0)
        else:
            if first_upper:
                if is_upper(r0):
                    r0 = to_lower_rune(r0)
                else:
                    first_upper = False
            buf.append(r1)
    buf.append(r0)
    return "".join(buf)


@gofunc("camelcase", (S,), (S,))
def camelcase(s: str) -> str:
    """Sprig 3.3.0: xstrings.ToPascalCase (3.2.3 used ToCamelCase of xstrings 1.3, which lower-cased)."""
    return _to_camel(s, True)


# -- goutils word wrapping ----------------------------------------------------------------------------------


def _wrap_custom(s: str, wrap_length: int, newline: str, wrap_long: bool) -> str:
    if s == "":
        return ""
    if newline == "":
        newline = "\n"
    if wrap_length < 1:
        wrap_length = 1
    b = go_bytes(s)
    nl = go_bytes(newline)
    n = len(b)
    offset = 0
    out = bytearray()
    while n - offset > wrap_length:
        if b[offset] == 0x20:
            offset += 1
            continue
        end = wrap_length + offset + 1
        space = b.rfind(b" ", offset, min(end, n))
        if space >= offset:
            out += b[offset:space] + nl
            offset = space + 1
        else:
            if wrap_long:
                end = wrap_length + offset
                out += b[offset:end] + nl
                offset += wrap_length
            else:
                end = wrap_length + offset
                idx = b.find(b" ", end)
                if idx == -1:
                    out += b[offset:]
                    offset = n
                else:
                    out += b[offset:idx] + nl
                    offset = idx + 1
    out += b[offset:]
    return go_str(bytes(out))


@gofunc("wrap", (INT, S), (S,))
def wrap(length: int, s: str) -> str:
    return _wrap_custom(s, length, "", False)


@gofunc("wrapWith", (INT, S, S), (S,))
def wrap_with(length: int, sep: str, s: str) -> str:
    return _wrap_custom(s, length, sep, True)


@gofunc("contains", (S, S), ("bool",))
def contains(substr: str, s: str) -> bool:
    return substr in s


@gofunc("hasPrefix", (S, S), ("bool",))
def has_prefix(prefix: str, s: str) -> bool:
    return s.startswith(prefix)


@gofunc("hasSuffix", (S, S), ("bool",))
def has_suffix(suffix: str, s: str) -> bool:
    return s.endswith(suffix)


@gofunc("quote", ("...interface{}",), (S,))
def quote(*values: Any) -> str:
    return " ".join(go_quote(strval(v)) for v in values if norm(v) is not None)


@gofunc("squote", ("...interface{}",), (S,))
def squote(*values: Any) -> str:
    return " ".join(f"'{go_v(v)}'" for v in values if norm(v) is not None)


@gofunc("cat", ("...interface{}",), (S,))
def cat(*values: Any) -> str:
    return " ".join(go_v(v) for v in values if norm(v) is not None)


@gofunc("indent", (INT, S), (S,))
def indent(spaces: int, s: str) -> str:
    pad = " " * max(spaces, 0)
    if spaces < 0:
        raise TemplateFuncError("strings: negative Repeat count")
    return pad + s.replace("\n", "\n" + pad)


@gofunc("nindent", (INT, S), (S,))
def nindent(spaces: int, s: str) -> str:
    return "\n" + indent(spaces, s)


@gofunc("replace", (S, S, S), (S,))
def replace(old: str, new: str, src: str) -> str:
    if old == "":
        # Go inserts `new` before every rune and at the end
        return new + new.join(src) + new if src else new
    return src.replace(old, new)


@gofunc("plural", (S, S, INT), (S,))
def plural(one: str, many: str, count: int) -> str:
    return one if count == 1 else many


@gofunc("toString", (IF,), (S,))
def to_string(v: Any) -> str:
    return strval(norm(v))


@gofunc("trunc", (INT, S), (S,))
def trunc(c: int, s: str) -> str:
    n = _blen(s)
    if c < 0 and n + c > 0:
        return _bslice(s, n + c)
    if c >= 0 and n > c:
        return _bslice(s, 0, c)
    return s


def _abbreviate_full(s: str, offset: int, max_width: int) -> str:
    if s == "":
        return ""
    if max_width < 4:
        return ""
    n = _blen(s)
    if n <= max_width:
        return s
    if offset > n:
        offset = n
    if n - offset < max_width - 3:
        offset = n - (max_width - 3)
    marker = "..."
    if offset <= 4:
        return _bslice(s, 0, max_width - 3) + marker
    if max_width < 7:
        return ""
    if offset + max_width - 3 < n:
        return marker + _abbreviate_full(_bslice(s, offset), 0, max_width - 3)
    return marker + _bslice(s, n - (max_width - 3))


@gofunc("abbrev", (INT, S), (S,))
def abbrev(width: int, s: str) -> str:
    if width < 4:
        return s
    return _abbreviate_full(s, 0, width)


@gofunc("abbrevboth", (INT, INT, S), (S,))
def abbrevboth(left: int, right: int, s: str) -> str:
    if right < 4 or (left > 0 and right < 7):
        return s
    return _abbreviate_full(s, left, right)


@gofunc("join", (S, IF), (S,))
def join(sep: str, v: Any) -> str:
    return sep.join(strslice(v))


@gofunc("split", (S, S), ("map[string]string",))
def split(sep: str, orig: str) -> dict[str, Any]:
    return {f"_{i}": p for i, p in enumerate(_go_split(orig, sep, -1))}


@gofunc("splitList", (S, S), ("[]string",))
def split_list(sep: str, orig: str) -> list[Any]:
    return list(_go_split(orig, sep, -1))


@gofunc("splitn", (S, INT, S), ("map[string]string",))
def splitn(sep: str, n: int, orig: str) -> dict[str, Any]:
    return {f"_{i}": p for i, p in enumerate(_go_split(orig, sep, n))}


def _go_split(s: str, sep: str, n: int) -> list[str]:
    """strings.SplitN."""
    if n == 0:
        return []
    if sep == "":
        chars = list(s)
        if n < 0 or n > len(chars):
            return chars
        return chars[: n - 1] + ["".join(chars[n - 1:])]
    if n < 0:
        return s.split(sep)
    return s.split(sep, n - 1)


@gofunc("toStrings", (IF,), ("[]string",))
def to_strings(v: Any) -> list[Any]:
    return list(strslice(v))


@gofunc("b64enc", (S,), (S,))
def b64enc(s: str) -> str:
    return base64.b64encode(go_bytes(s)).decode("ascii")


class _CorruptInput(ValueError):
    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")


def _go_b64_decode(src: bytes, alphabet: str, pad: bool) -> bytes:
    """encoding/base64 Decode (Go's decodeQuantum loop: \\r and \\n ignored, exact error offsets)."""
    dmap = {ord(c): i for i, c in enumerate(alphabet)}
    out = bytearray()
    si = 0
    n = len(src)
    while si < n:
        dbuf = [0, 0, 0, 0]
        dlen = 4
        err: int | None = None
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                if j == 1 or pad:
                    raise _CorruptInput(si - j)
                dlen = j
                break
            c = src[si]
            si += 1
            v = dmap.get(c)
            if v is not None:
                dbuf[j] = v
                j += 1
                continue
            if c in (10, 13):
                continue
            if not pad or c != 0x3D:
                raise _CorruptInput(si - 1)
            if j in (0, 1):
                raise _CorruptInput(si - 1)
            if j == 2:
                while si < n and src[si] in (10, 13):
                    si += 1
                if si == n:
                    raise _CorruptInput(n)
                if src[si] != 0x3D:
                    raise _CorruptInput(si - 1)
                si += 1
            while si < n and src[si] in (10, 13):
                si += 1
            if si < n:
                err = si
            dlen = j
            break
        val = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3]
        chunk = bytes([(val >> 16) & 0xFF, (val >> 8) & 0xFF, val & 0xFF])
        out += chunk[: dlen - 1]
        if err is not None:
            raise _CorruptInput(err)
    return bytes(out)


_B64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"


def b64_decode_go(s: str, pad: bool = True) -> str:
    """base64 decode returning Go's error text instead of raising (Sprig b64dec, µTask b64RawDec)."""
    try:
        return go_str(_go_b64_decode(go_bytes(s), _B64, pad))
    except _CorruptInput as exc:
        return str(exc)


@gofunc("b64dec", (S,), (S,))
def b64dec(s: str) -> str:
    return b64_decode_go(s, True)


@gofunc("b32enc", (S,), (S,))
def b32enc(s: str) -> str:
    return base64.b32encode(go_bytes(s)).decode("ascii")


@gofunc("b32dec", (S,), (S,))
def b32dec(s: str) -> str:
    clean = s.replace("\r", "").replace("\n", "")
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    stripped = clean.rstrip("=")
    for i, ch in enumerate(stripped):
        if ch not in alphabet:
            return f"illegal base32 data at input byte {i}"
    if len(clean) % 8:
        return f"illegal base32 data at input byte {(len(stripped) // 8) * 8}"
    try:
        return go_str(base64.b32decode(clean))
    except binascii.Error:
        return f"illegal base32 data at input byte {len(stripped)}"


@gofunc("hello", (), (S,))
def hello() -> str:
    return "Hello!"
