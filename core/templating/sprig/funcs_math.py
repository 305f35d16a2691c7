"""Sprig integer and float math (functions.go, numeric.go): cast coercions, int64 wrap-around,
shopspring/decimal for the *f functions."""

from __future__ import annotations

import math
import random
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from ._cast import parse_int_go, to_float64, to_int, to_int64, wrap64
from ._fmt import go_v
from ._registry import gofunc
from .errors import TemplateFuncError

IF = "interface{}"
I64 = ("int64",)
F64 = ("float64",)


def _div(a: int, b: int) -> int:
    if b == 0:
        raise TemplateFuncError("runtime error: integer divide by zero")
    q = abs(a) // abs(b)
    return wrap64(q if (a >= 0) == (b >= 0) else -q)


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise TemplateFuncError("runtime error: integer divide by zero")
    r = abs(a) % abs(b)
    return -r if a < 0 else r


@gofunc("add1", (IF,), I64)
def add1(i: Any) -> int:
    return wrap64(to_int64(i) + 1)


@gofunc("add", ("...interface{}",), I64)
def add(*vals: Any) -> int:
    total = 0
    for v in vals:
        total += to_int64(v)
    return wrap64(total)


@gofunc("sub", (IF, IF), I64)
def sub(a: Any, b: Any) -> int:
    return wrap64(to_int64(a) - to_int64(b))


@gofunc("div", (IF, IF), I64)
def div(a: Any, b: Any) -> int:
    return _div(to_int64(a), to_int64(b))


@gofunc("mod", (IF, IF), I64)
def mod(a: Any, b: Any) -> int:
    return _mod(to_int64(a), to_int64(b))


@gofunc("mul", (IF, "...interface{}"), I64)
def mul(a: Any, *vals: Any) -> int:
    r = to_int64(a)
    for v in vals:
        r = wrap64(r * to_int64(v))
    return r


@gofunc("randInt", ("int", "int"), ("int",))
def rand_int(lo: int, hi: int) -> int:
    if hi - lo <= 0:
        raise TemplateFuncError("invalid argument to Intn")
    return random.randrange(hi - lo) + lo


def _dec(f: float) -> Decimal:
    if math.isnan(f) or math.isinf(f):
        raise TemplateFuncError(f"Cannot create a Decimal from {go_v(f)}")
    return Decimal(repr(f)) if f != 0 else Decimal(0)


_CTX = Context(prec=2000, Emax=999999, Emin=-999999)


def _decimal_op(a: Any, bs: tuple[Any, ...], op: str) -> float:
    with localcontext(_CTX):
        acc = _dec(to_float64(a))
        for b in bs:
            d = _dec(to_float64(b))
            if op == "+":
                acc = acc + d
            elif op == "-":
                acc = acc - d
            elif op == "*":
                acc = acc * d
            else:
                if d == 0:
                    raise TemplateFuncError("decimal division by 0")
                acc = (acc / d).quantize(Decimal("1e-16"), rounding=ROUND_HALF_UP)
        return 0.0 if acc == 0 else float(acc)  # shopspring/decimal has no negative zero


@gofunc("add1f", (IF,), F64)
def add1f(i: Any) -> float:
    return _decimal_op(i, (1,), "+")


@gofunc("addf", ("...interface{}",), F64)
def addf(*vals: Any) -> float:
    return _decimal_op(0.0, vals, "+")


@gofunc("subf", (IF, "...interface{}"), F64)
def subf(a: Any, *vals: Any) -> float:
    return _decimal_op(a, vals, "-")


@gofunc("divf", (IF, "...interface{}"), F64)
def divf(a: Any, *vals: Any) -> float:
    return _decimal_op(a, vals, "/")


@gofunc("mulf", (IF, "...interface{}"), F64)
def mulf(a: Any, *vals: Any) -> float:
    return _decimal_op(a, vals, "*")


@gofunc(("max", "biggest"), (IF, "...interface{}"), I64)
def max_(a: Any, *vals: Any) -> int:
    r = to_int64(a)
    for v in vals:
        r = max(r, to_int64(v))
    return r


@gofunc("min", (IF, "...interface{}"), I64)
def min_(a: Any, *vals: Any) -> int:
    r = to_int64(a)
    for v in vals:
        r = min(r, to_int64(v))
    return r


def _go_max(x: float, y: float) -> float:
    if math.isinf(x) and x > 0 or math.isinf(y) and y > 0:
        return math.inf
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and y == 0:
        return x if math.copysign(1, x) > 0 else y
    return x if x > y else y


def _go_min(x: float, y: float) -> float:
    if math.isinf(x) and x < 0 or math.isinf(y) and y < 0:
        return -math.inf
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and y == 0:
        return x if math.copysign(1, x) < 0 else y
    return x if x < y else y


@gofunc("maxf", (IF, "...interface{}"), F64)
def maxf(a: Any, *vals: Any) -> float:
    r = to_float64(a)
    for v in vals:
        r = _go_max(r, to_float64(v))
    return r


@gofunc("minf", (IF, "...interface{}"), F64)
def minf(a: Any, *vals: Any) -> float:
    r = to_float64(a)
    for v in vals:
        r = _go_min(r, to_float64(v))
    return r


def _ceil(f: float) -> float:
    if math.isinf(f) or math.isnan(f) or f == 0:
        return f
    c = float(math.ceil(f))
    return math.copysign(0.0, f) if c == 0 else c


@gofunc("floor", (IF,), F64)
def floor(a: Any) -> float:
    f = to_float64(a)
    return f if math.isinf(f) or math.isnan(f) or f == 0 else float(math.floor(f))


@gofunc("ceil", (IF,), F64)
def ceil(a: Any) -> float:
    return _ceil(to_float64(a))


@gofunc("round", (IF, "int", "...float64"), F64)
def round_(a: Any, p: int, *r_opt: float) -> float:
    round_on = r_opt[0] if r_opt else 0.5
    val = to_float64(a)
    pow_ = math.pow(10, float(p))
    digit = pow_ * val
    if math.isinf(digit) or math.isnan(digit):
        frac = math.nan if math.isnan(digit) else 0.0
    else:
        frac = math.modf(digit)[0]
    r = _ceil(digit) if frac >= round_on else (digit if math.isinf(digit) or math.isnan(digit) else float(math.floor(digit)))
    return r / pow_ if pow_ != 0 else (math.nan if r == 0 else math.copysign(math.inf, r))


@gofunc("toDecimal", (IF,), I64)
def to_decimal(v: Any) -> int:
    r = parse_int_go(go_v(v), 8, 64)
    return 0 if r is None else r


@gofunc("atoi", ("string",), ("int",))
def atoi(s: str) -> int:
    from .funcs_dates import _parse_int_clamped

    return _parse_int_clamped(s)  # the error is ignored: ±MaxInt64 when out of range


@gofunc("int64", (IF,), I64)
def int64_(v: Any) -> int:
    return to_int64(v)


@gofunc("int", (IF,), ("int",))
def int_(v: Any) -> int:
    return to_int(v)


@gofunc("float64", (IF,), F64)
def float64_(v: Any) -> float:
    return to_float64(v)
