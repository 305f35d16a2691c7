"""Go `fmt` printing: Sprint, Sprintln, Sprintf and `%v` formatting of the Go value model.

Follows src/fmt/print.go and format.go: verbs are checked against the operand's kind and a bad
pairing prints `%!d(string=x)`; missing operands print `%!d(MISSING)`, surplus ones
`%!(EXTRA type=value, ...)`. Floats print in strconv's shortest form for `%v`/`%g`.
"""

from __future__ import annotations

import datetime as _dt
import math
import unicodedata
from typing import Any

from utask_sdk.goconv import shortest_digits

from .values_model import MISSING, Uint8, go_type_name

NO_VALUE = "<no value>"
NIL = "<nil>"

__all__ = ["NO_VALUE", "format_value", "go_quote", "shortest_float", "sprint", "sprintf", "sprintln"]


# --- floats -----------------------------------------------------------------------------------


def _fmt_e(neg: bool, ds: str, dp: int, prec: int, echar: str) -> str:
    first = ds[0]
    rest = ds[1:]
    if prec < 0:
        frac = rest
    else:
        frac = (rest + "0" * prec)[:prec]
    exp = dp - 1 if ds != "0" else 0
    out = first + ("." + frac if frac else "")
    esign = "-" if exp < 0 else "+"
    ae = abs(exp)
    return ("-" if neg else "") + out + echar + esign + (f"{ae:02d}")


def _fmt_f(neg: bool, ds: str, dp: int, prec: int) -> str:
    if dp > 0:
        ip = (ds[:dp] + "0" * max(0, dp - len(ds))) if ds != "0" else "0"
        fr = ds[dp:]
    else:
        ip = "0"
        fr = "0" * (-dp) + ds if ds != "0" else ""
    fr = (fr + "0" * prec)[:prec]
    return ("-" if neg else "") + ip + ("." + fr if prec > 0 else "")


def shortest_float(f: float, verb: str = "g", size: int = 64) -> str:
    """strconv.FormatFloat(f, verb, -1, size) for verb in g/G/e/E/f/F."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    neg = math.copysign(1.0, f) < 0
    ds, dp = shortest_digits(f, size)
    if verb in "eE":
        return _fmt_e(neg, ds, dp, len(ds) - 1, verb)
    if verb in "fF":
        return _fmt_f(neg, ds, dp, max(len(ds) - dp, 0))
    exp = dp - 1
    if ds == "0":
        exp = 0
    if exp < -4 or exp >= 6:
        return _fmt_e(neg, ds, dp, len(ds) - 1, "E" if verb == "G" else "e")
    return _fmt_f(neg, ds, dp, max(len(ds) - dp, 0))


def _float_prec(f: float, verb: str, prec: int) -> str:
    """strconv.FormatFloat with an explicit precision (Python rounds the exact binary value too)."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    if verb in "gG":
        if prec == 0:
            prec = 1
        s = f"{f:.{prec}{verb.lower()}}"
        return s.upper() if verb == "G" else s
    return f"{f:.{prec}{verb}}"


def _hex_float(f: float, prec: int | None = None) -> str:
    """strconv.FormatFloat(f, 'x', prec, 64): `0x1.cp+01`."""
    if math.isinf(f) or math.isnan(f):
        return shortest_float(f)
    if prec is not None:
        return _hex_float_prec(f, prec)
    h = float.hex(f)  # e.g. -0x1.c000000000000p+1
    sign = "-" if h.startswith("-") else ""
    h = h.lstrip("-")
    mant, exp = h[2:].split("p")
    if "." in mant:
        ip, fp = mant.split(".")
        fp = fp.rstrip("0")
        mant = ip + ("." + fp if fp else "")
    e = int(exp)
    return f"{sign}0x{mant}p{'-' if e < 0 else '+'}{abs(e):02d}"


def _hex_float_prec(f: float, prec: int) -> str:
    m, e = math.frexp(abs(f))  # abs(f) = m * 2**e, 0.5 <= m < 1
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if m == 0:
        return sign + "0x0" + ("." + "0" * prec if prec > 0 else "") + "p+00"
    mant = int(m * (1 << 53))  # 53-bit integer, leading bit set
    e -= 1  # normalise to 1.xxx
    shift = 52 - 4 * prec  # bits to drop from the 52 fraction bits
    if shift > 0:
        half = 1 << (shift - 1)
        rem = mant & ((1 << shift) - 1)
        mant >>= shift
        if rem > half or (rem == half and mant & 1):
            mant += 1
        if mant >> (4 * prec + 1):
            mant >>= 1
            e += 1
    else:
        mant <<= -shift
    lead = mant >> (4 * prec)
    frac = mant & ((1 << (4 * prec)) - 1)
    digits = f"{frac:0{prec}x}" if prec > 0 else ""
    return f"{sign}0x{lead}" + ("." + digits if prec > 0 else "") + f"p{'-' if e < 0 else '+'}{abs(e):02d}"


# --- %v ---------------------------------------------------------------------------------------


def _go_time(t: _dt.datetime) -> str:
    """time.Time.String(): `2006-01-02 15:04:05.999999999 -0700 MST` (Sprig's Go layout formatter)."""
    try:
        from .sprig.gotime import time_string
    except ImportError:
        return _go_time_fallback(t)
    return time_string(t if t.tzinfo is not None else t.replace(tzinfo=_dt.UTC))


def _go_time_fallback(t: _dt.datetime) -> str:
    base = t.strftime("%Y-%m-%d %H:%M:%S")
    if t.microsecond:
        base += ("." + f"{t.microsecond:06d}").rstrip("0")
    off = t.utcoffset()
    if off is None:
        return base + " +0000 UTC"
    secs = int(off.total_seconds())
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    zone = f"{sign}{secs // 3600:02d}{(secs % 3600) // 60:02d}"
    name = t.tzname() or ""
    if name in ("UTC", "UTC+00:00") or (secs == 0 and name.startswith("UTC")):
        name = "UTC"
    elif not name or name.startswith("UTC"):
        name = zone
    return f"{base} {zone} {name}"


def _complex(c: complex, fmtf: Any) -> str:
    im = fmtf(c.imag)
    if not im.startswith(("-", "+")):
        im = "+" + im
    return "(" + fmtf(c.real) + im + "i)"


def format_value(v: Any) -> str:
    """Go's `%v` of one value; MISSING prints `<no value>` (the template printer's text)."""
    if isinstance(v, str):
        return v
    if v is None:
        return NIL
    if v is MISSING:
        return NO_VALUE
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return shortest_float(v)
    if isinstance(v, dict):
        return "map[" + " ".join(f"{format_value(k)}:{_elem(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(_elem(x) for x in v) + "]"
    if isinstance(v, complex):
        return _complex(v, shortest_float)
    if isinstance(v, bytes | bytearray):
        return "[" + " ".join(str(b) for b in v) + "]"
    if isinstance(v, _dt.datetime):
        return _go_time(v)
    return str(v)


def _elem(v: Any) -> str:
    # Inside containers a nil interface prints <nil> (fmt never sees the template's invalid value).
    if v is MISSING:
        return NIL
    return format_value(v)


# --- Sprint / Sprintln ------------------------------------------------------------------------


def _is_string_kind(v: Any) -> bool:
    return isinstance(v, str)


def sprint(*args: Any) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out = []
    prev_string = False
    for i, a in enumerate(args):
        a = None if a is MISSING else a
        is_string = _is_string_kind(a)
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(format_value(a))
        prev_string = is_string
    return "".join(out)


def sprintln(*args: Any) -> str:
    """fmt.Sprintln: always a space between operands, then a newline."""
    return " ".join(format_value(None if a is MISSING else a) for a in args) + "\n"


# --- quoting ----------------------------------------------------------------------------------


def _is_print(c: str) -> bool:
    o = ord(c)
    if o < 0x20 or o == 0x7F:
        return False
    if o < 0x7F:
        return True
    # strconv.IsPrint: letters, marks, numbers, punctuation and symbols (no spaces but ASCII's)
    return unicodedata.category(c)[0] in "LMNPS"


def go_quote(s: str, ascii_only: bool = False, quote: str = '"') -> str:
    """strconv.Quote / QuoteToASCII / QuoteRune."""
    out = [quote]
    for c in s:
        o = ord(c)
        if c == quote or c == "\\":
            out.append("\\" + c)
        elif (o < 0x80 or not ascii_only) and _is_print(c) and not (0xD800 <= o < 0xE000):
            if ascii_only and o >= 0x80:
                out.append(f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
            else:
                out.append(c)
        elif c == "\a":
            out.append("\\a")
        elif c == "\b":
            out.append("\\b")
        elif c == "\f":
            out.append("\\f")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c == "\v":
            out.append("\\v")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o < 0xE000:
            out.append("\\ufffd")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append(quote)
    return "".join(out)


def _can_backquote(s: str) -> bool:
    for c in s:
        if c == "`" or c == "\ufeff":
            return False
        if c != "\t" and (ord(c) < 0x20 or ord(c) == 0x7F):
            return False
    return True


# --- Sprintf ----------------------------------------------------------------------------------


class _Flags:
    __slots__ = ("minus", "plus", "sharp", "sharp_v", "space", "zero", "width", "prec")

    def __init__(self) -> None:
        # sharp_v is %#v (Go syntax); sharp is the # flag of every other verb, as in fmt's state
        self.minus = self.plus = self.sharp = self.sharp_v = self.space = self.zero = False
        self.width: int | None = None
        self.prec: int | None = None


def _pad(s: str, fl: _Flags, zero_ok: bool = True) -> str:
    """fmt's pad: to the width, on the right with `-`, else on the left with spaces or zeros."""
    if fl.width is None or len(s) >= fl.width:
        return s
    n = fl.width - len(s)
    if fl.minus:
        return s + " " * n
    if fl.zero and zero_ok:
        return "0" * n + s
    return " " * n + s


def _fmt_int(v: int, verb: str, fl: _Flags) -> str:
    """fmt's fmtInteger: precision or zero flag digits, # prefixes, sign, then padding."""
    negative = v < 0
    u = -v if negative else v
    if verb in ("d", "v"):
        digits = str(u)
    elif verb == "b":
        digits = format(u, "b")
    elif verb in ("o", "O"):
        digits = format(u, "o")
    elif verb == "x":
        digits = format(u, "x")
    elif verb == "X":
        digits = format(u, "X")
    else:
        digits = str(u)
    prec = 0
    if fl.prec is not None:
        prec = fl.prec
        if prec == 0 and u == 0:
            return " " * (fl.width or 0)
    elif fl.zero and fl.width is not None:
        prec = fl.width
        if negative or fl.plus or fl.space:
            prec -= 1  # leave room for the sign (not for a 0x prefix)
    if prec > len(digits):
        digits = "0" * (prec - len(digits)) + digits
    if fl.sharp:
        if verb == "b":
            digits = "0b" + digits
        elif verb == "o" and not digits.startswith("0"):
            digits = "0" + digits
        elif verb == "x":
            digits = "0x" + digits
        elif verb == "X":
            digits = "0X" + digits
    if verb == "O":
        digits = "0o" + digits
    if negative:
        digits = "-" + digits
    elif fl.plus:
        digits = "+" + digits
    elif fl.space:
        digits = " " + digits
    return _pad(digits, fl, zero_ok=False)


def _bin_float(f: float) -> str:
    """strconv 'b' format: decimal mantissa 'p' binary exponent (`4503599627370496p-52`)."""
    if f == 0:
        return ("-" if math.copysign(1.0, f) < 0 else "") + "0p-1074"
    m, e = math.frexp(abs(f))
    mant = int(m * (1 << 53))
    exp = e - 53
    if exp < -1074:  # subnormal
        mant >>= -1074 - exp
        exp = -1074
    return ("-" if f < 0 else "") + f"{mant}p{'-' if exp < 0 else '+'}{abs(exp)}"


def _fmt_float(f: float, verb: str, fl: _Flags) -> str:
    """fmt's fmtFloat (format.go): strconv text, the # flag's digits, sign and padding rules."""
    if verb == "v":
        verb = "g"
    prec = -1 if fl.prec is None else fl.prec
    if verb in "xX":
        num = _hex_float(f, fl.prec)
        if verb == "X":
            num = num.upper()
    elif verb == "b":
        num = _bin_float(f)
    elif prec < 0:
        num = _float_prec(f, "f" if verb in "fF" else verb, 6) if verb in "eEfF" else shortest_float(f, verb)
    else:
        num = _float_prec(f, "f" if verb in "fF" else verb, prec)
    # Go's num always carries a sign in num[0]
    num = num if num[:1] in ("-", "+") else "+" + num
    if fl.space and num[0] == "+" and not fl.plus:
        num = " " + num[1:]
    if num[1:] in ("Inf", "NaN"):
        if num[1] == "N" and not fl.space and not fl.plus:
            num = num[1:]
        return _pad(num, fl, zero_ok=False)
    if fl.sharp and verb != "b":
        digits = 0
        if verb in "vgGx":
            digits = 6 if prec == -1 else prec
        tail = ""
        has_point = False
        saw_nonzero = False
        body = list(num)
        i = 1
        while i < len(body):
            c = body[i]
            if c == ".":
                has_point = True
            elif c in "pP" or (c in "eE" and verb not in "xX"):
                tail = "".join(body[i:])
                body = body[:i]
                break
            else:
                if c != "0":
                    saw_nonzero = True
                if saw_nonzero:
                    digits -= 1
            i += 1
        if not has_point:
            if len(body) == 2 and body[1] == "0":
                digits -= 1
            body.append(".")
        while digits > 0:
            body.append("0")
            digits -= 1
        num = "".join(body) + tail
    if fl.plus or num[0] != "+":
        if fl.zero and fl.width is not None and fl.width > len(num) and not fl.minus:
            return num[0] + "0" * (fl.width - len(num)) + num[1:]
        return _pad(num, fl, zero_ok=False)
    return _pad(num[1:], fl)


def _trunc(s: str, fl: _Flags) -> str:
    if fl.prec is not None:
        return s[: fl.prec]
    return s


def _fmt_string(s: str, verb: str, fl: _Flags) -> str | None:
    if verb in ("v", "s"):
        if verb == "v" and fl.sharp_v:
            return _pad(go_quote(_trunc(s, fl)), fl)
        return _pad(_trunc(s, fl), fl)
    if verb == "q":
        s = _trunc(s, fl)
        if fl.sharp and _can_backquote(s):
            return _pad("`" + s + "`", fl)
        return _pad(go_quote(s, ascii_only=fl.plus), fl)
    if verb in ("x", "X"):
        b = s.encode("utf-8")
        if fl.prec is not None:
            b = b[: fl.prec]  # the precision counts bytes here
        h = b.hex() if verb == "x" else b.hex().upper()
        pairs = [h[i : i + 2] for i in range(0, len(h), 2)]
        pre = ("0x" if verb == "x" else "0X") if fl.sharp else ""
        if fl.space:
            out = " ".join(pre + p for p in pairs)
        else:
            out = pre + "".join(pairs) if pairs else ""
        return _pad(out, fl)
    return None


def _bad_verb(verb: str, v: Any, fl: _Flags | None = None) -> str:
    if v is None or v is MISSING:
        return f"%!{verb}(<nil>)"
    shown = format_value(v) if fl is None else _fmt_arg(v, "v", _plain(fl))
    return f"%!{verb}({go_type_name(v)}={shown})"


def _plain(fl: _Flags) -> _Flags:
    # badVerb prints the operand with %v and the same width/precision flags
    c = _Flags()
    c.minus, c.plus, c.space, c.zero, c.width, c.prec = fl.minus, fl.plus, fl.space, fl.zero, fl.width, fl.prec
    c.sharp = fl.sharp
    return c


def _sharp_v(v: Any, fl: _Flags, depth: int = 0) -> str:
    """%#v: Go-syntax representation; scalars keep the width and precision flags."""
    if v is None or v is MISSING:
        return "interface {}(nil)" if depth else _pad(NIL, fl)
    if isinstance(v, bool | int | float | complex):
        return _fmt_arg(v, "v", fl, depth)
    if isinstance(v, str):
        return _pad(go_quote(_trunc(v, fl)), fl)
    if isinstance(v, list | tuple):
        return "[]interface {}{" + ", ".join(_sharp_v(x, fl, depth + 1) for x in v) + "}"
    if isinstance(v, dict):
        items = (f"{_sharp_v(k, fl, depth + 1)}:{_sharp_v(v[k], fl, depth + 1)}" for k in sorted(v))
        return "map[string]interface {}{" + ", ".join(items) + "}"
    return format_value(v)


def _fmt_arg(v: Any, verb: str, fl: _Flags, depth: int = 0) -> str:
    if verb == "T":
        if v is None or v is MISSING:
            return _pad(NIL, fl)
        return _pad(_trunc(go_type_name(v), fl), fl)
    if verb == "v" and fl.sharp_v and not isinstance(v, bool | int | float | complex | str):
        return _sharp_v(v, fl, depth)
    if v is None or v is MISSING:
        if depth > 0:
            return NIL  # an interface element holding nil: written without padding
        if verb == "v":
            return _pad(NIL, fl)
        return _bad_verb(verb, None)
    if isinstance(v, bool):
        if verb in ("t", "v"):
            return _pad("true" if v else "false", fl)
        return _bad_verb(verb, v, fl)
    if isinstance(v, int):
        if verb == "v" and fl.sharp_v and isinstance(v, Uint8):
            # %#v of an unsigned integer is Go syntax in hex: 0x68
            hx = _Flags()
            hx.minus, hx.plus, hx.space, hx.zero, hx.width, hx.prec = fl.minus, fl.plus, fl.space, fl.zero, fl.width, fl.prec
            hx.sharp = True
            return _fmt_int(v, "x", hx)
        if verb in ("d", "v", "b", "o", "O", "x", "X"):
            return _fmt_int(v, verb, fl)
        if verb == "c":
            return _pad(chr(v) if 0 <= v <= 0x10FFFF else "\ufffd", fl)
        if verb == "q":
            c = chr(v) if 0 <= v <= 0x10FFFF else "\ufffd"
            return _pad(go_quote(c, ascii_only=fl.plus, quote="'"), fl)
        if verb == "U":
            u = v & 0xFFFFFFFFFFFFFFFF
            digits = 4 if fl.prec is None or fl.prec <= 4 else fl.prec
            s = f"U+{u:0{digits}X}"
            if fl.sharp and u <= 0x10FFFF and _is_print(chr(u)):
                s += " '" + chr(u) + "'"
            return _pad(s, fl, zero_ok=False)
        return _bad_verb(verb, v, fl)
    if isinstance(v, float):
        if verb in ("v", "b", "e", "E", "f", "F", "g", "G", "x", "X"):
            return _fmt_float(v, verb, fl)
        return _bad_verb(verb, v, fl)
    if isinstance(v, complex):
        if verb in ("v", "b", "e", "E", "f", "F", "g", "G", "x", "X"):
            # each part is formatted with the flags (and width); the imaginary part always has a sign
            re_s = _fmt_float(v.real, verb, fl)
            plus = fl.plus
            fl.plus = True
            im_s = _fmt_float(v.imag, verb, fl)
            fl.plus = plus
            return "(" + re_s + im_s + "i)"
        return _bad_verb(verb, v, fl)
    if isinstance(v, str):
        r = _fmt_string(v, verb, fl)
        return r if r is not None else _bad_verb(verb, v, fl)
    if isinstance(v, bytes | bytearray):
        if verb in ("s", "q", "x", "X"):
            r = _fmt_string(v.decode("utf-8", "replace"), verb, fl)
            if r is not None:
                return r
        return "[" + " ".join(_fmt_arg(b, verb, fl, depth + 1) for b in v) + "]"
    if isinstance(v, dict):
        inner = " ".join(
            f"{_fmt_arg(k, verb, fl, depth + 1)}:{_fmt_arg(v[k], verb, fl, depth + 1)}" for k in sorted(v)
        )
        return "map[" + inner + "]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(_fmt_arg(x, verb, fl, depth + 1) for x in v) + "]"
    if isinstance(v, _dt.datetime):
        if verb in ("v", "s"):
            return _pad(_trunc(_go_time(v), fl), fl)
        if verb == "q":
            return _pad(go_quote(_go_time(v)), fl)
        return _bad_verb(verb, v, fl)
    if verb in ("v", "s"):
        return _pad(str(v), fl)
    return _bad_verb(verb, v, fl)


def _parsenum(s: str, i: int, end: int) -> tuple[int, bool, int]:
    """fmt's parsenum: digits at s[i:end] → (number, present, new index)."""
    num, isnum = 0, False
    while i < end and "0" <= s[i] <= "9":
        if num > 1_000_000:  # tooLarge
            return 0, False, end
        num = num * 10 + ord(s[i]) - 48
        isnum = True
        i += 1
    return num, isnum, i


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf (after print.go doPrintf); nil/missing operands are Go's nil interface."""
    out: list[str] = []
    end = len(fmt)
    nargs = len(args)
    argn = 0
    reordered = False
    after_index = False
    i = 0
    while i < end:
        good = True
        lasti = i
        while i < end and fmt[i] != "%":
            i += 1
        if i > lasti:
            out.append(fmt[lasti:i])
        if i >= end:
            break
        i += 1  # skip %
        fl = _Flags()
        while i < end:
            c = fmt[i]
            if c == "#":
                fl.sharp = True
            elif c == "0":
                fl.zero = not fl.minus
            elif c == "+":
                fl.plus = True
            elif c == "-":
                fl.minus = True
                fl.zero = False
            elif c == " ":
                fl.space = True
            else:
                break
            i += 1
        argn, i, after_index, good, reordered = _arg_number(argn, fmt, i, nargs, good, reordered)
        if i < end and fmt[i] == "*":
            i += 1
            w, ok, argn = _int_from_arg(args, argn)
            if not ok:
                out.append("%!(BADWIDTH)")
            else:
                if w < 0:
                    w = -w
                    fl.minus = True
                    fl.zero = False
                fl.width = w
            after_index = False
        else:
            w, present, i = _parsenum(fmt, i, end)
            if present:
                fl.width = w
                if after_index:
                    good = False
        if i + 1 < end and fmt[i] == ".":
            i += 1
            if after_index:
                good = False
            argn, i, after_index, good, reordered = _arg_number(argn, fmt, i, nargs, good, reordered)
            if i < end and fmt[i] == "*":
                i += 1
                p, ok, argn = _int_from_arg(args, argn)
                if ok and p < 0:
                    ok = False
                if not ok:
                    out.append("%!(BADPREC)")
                    fl.prec = None
                else:
                    fl.prec = p
                after_index = False
            else:
                p, present, i = _parsenum(fmt, i, end)
                fl.prec = p if present else 0
        if not after_index:
            argn, i, after_index, good, reordered = _arg_number(argn, fmt, i, nargs, good, reordered)
        if i >= end:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif not good:
            out.append(f"%!{verb}(BADINDEX)")
        elif argn >= nargs:
            out.append(f"%!{verb}(MISSING)")
        else:
            if verb == "w":
                verb = "v"
            if verb == "v":
                fl.plus = False  # %+v only adds struct field names
                fl.sharp_v, fl.sharp = fl.sharp, False
            a = args[argn]
            argn += 1
            out.append(_fmt_arg(None if a is MISSING else a, verb, fl))
    if not reordered and argn < nargs:
        extra = []
        for a in args[argn:]:
            a = None if a is MISSING else a
            extra.append(NIL if a is None else f"{go_type_name(a)}={format_value(a)}")
        out.append("%!(EXTRA " + ", ".join(extra) + ")")
    return "".join(out)


def _arg_number(
    argn: int, fmt: str, i: int, nargs: int, good: bool, reordered: bool
) -> tuple[int, int, bool, bool, bool]:
    """An explicit `[n]` operand index → (argn, i, found, good, reordered)."""
    if i >= len(fmt) or fmt[i] != "[":
        return argn, i, False, good, reordered
    reordered = True
    rest = fmt[i:]
    index, wid, ok = -1, 1, False
    if len(rest) >= 3:
        j = rest.find("]", 1)
        if j >= 0:
            n, isnum, newi = _parsenum(rest, 1, j)
            if isnum and newi == j:
                index, wid, ok = n - 1, j + 1, True
            else:
                wid = j + 1
    if ok and 0 <= index < nargs:
        return index, i + wid, True, good, reordered
    return argn, i + wid, ok, False, reordered


def _int_from_arg(args: tuple[Any, ...], argn: int) -> tuple[int, bool, int]:
    if argn >= len(args):
        return 0, False, argn
    a = args[argn]
    if isinstance(a, int) and not isinstance(a, bool) and -1_000_000 <= a <= 1_000_000:
        return a, True, argn + 1
    return 0, False, argn + 1
