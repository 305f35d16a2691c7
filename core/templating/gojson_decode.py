"""Go `json.Unmarshal` into `interface{}`: float64 numbers and Go's syntax error texts.

`fromJson`/`mustFromJson` decode with plain float64 numbers (not json.Number) and report
encoding/json's scanner messages (`invalid character 'x' looking for beginning of value`).
"""

from __future__ import annotations

import json
import math
from typing import Any

_WS = " \t\r\n"


class GoJSONError(ValueError):
    pass


def _quote_char(c: str) -> str:
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    from .gofmt import go_quote

    s = go_quote(c)
    return "'" + s[1:-1] + "'"


class _Scanner:
    def __init__(self, s: str) -> None:
        self.s = s
        self.n = len(s)
        self.i = 0

    def err(self, c: str, context: str) -> GoJSONError:
        if ord(c) >= 0x80:
            # Go's scanner reads bytes: the first UTF-8 byte, taken as a rune, is what it names
            c = chr(c.encode("utf-8", "surrogatepass")[0])
        return GoJSONError(f"invalid character {_quote_char(c)} {context}")

    def eof(self) -> GoJSONError:
        return GoJSONError("unexpected end of JSON input")

    def ws(self) -> None:
        while self.i < self.n and self.s[self.i] in _WS:
            self.i += 1

    def peek(self) -> str:
        if self.i >= self.n:
            raise self.eof()
        return self.s[self.i]

    def peek_sp(self) -> str:
        # Go's scanner feeds a space at the end of input: inside a literal, a number or an
        # escape that space is the invalid character reported
        if self.i >= self.n:
            return " "
        return self.s[self.i]

    def check(self) -> None:
        self.ws()
        self.value()
        self.ws()
        if self.i < self.n:
            raise self.err(self.s[self.i], "after top-level value")

    def value(self) -> None:
        self.ws()
        c = self.peek()
        if c == "{":
            self.i += 1
            self.ws()
            if self.peek() == "}":
                self.i += 1
                return
            while True:
                c = self.peek()
                if c != '"':
                    raise self.err(c, "looking for beginning of object key string")
                self.string()
                self.ws()
                c = self.peek()
                if c != ":":
                    raise self.err(c, "after object key")
                self.i += 1
                self.value()
                self.ws()
                c = self.peek()
                self.i += 1
                if c == "}":
                    return
                if c != ",":
                    raise self.err(c, "after object key:value pair")
                self.ws()
        elif c == "[":
            self.i += 1
            self.ws()
            if self.peek() == "]":
                self.i += 1
                return
            while True:
                self.value()
                self.ws()
                c = self.peek()
                self.i += 1
                if c == "]":
                    return
                if c != ",":
                    raise self.err(c, "after array element")
        elif c == '"':
            self.string()
        elif c == "-" or "0" <= c <= "9":
            self.number()
        elif c in "tfn":
            word = {"t": "true", "f": "false", "n": "null"}[c]
            self.i += 1
            for expect in word[1:]:
                got = self.peek_sp()
                if got != expect:
                    raise self.err(got, f"in literal {word} (expecting {_quote_char(expect)})")
                self.i += 1
        else:
            raise self.err(c, "looking for beginning of value")

    def string(self) -> None:
        self.i += 1
        while True:
            c = self.peek()
            self.i += 1
            if c == '"':
                return
            if c == "\\":
                e = self.peek_sp()
                self.i += 1
                if e == "u":
                    for _ in range(4):
                        h = self.peek_sp()
                        if h not in "0123456789abcdefABCDEF":
                            raise self.err(h, "in \\u hexadecimal character escape")
                        self.i += 1
                elif e not in 'bfnrt\\/"':
                    raise self.err(e, "in string escape code")
            elif c < " ":
                raise self.err(c, "in string literal")

    def _digits(self) -> None:
        while self.i < self.n and "0" <= self.s[self.i] <= "9":
            self.i += 1

    def number(self) -> None:
        if self.s[self.i] == "-":
            self.i += 1
            c = self.peek_sp()
            if not ("0" <= c <= "9"):
                raise self.err(c, "in numeric literal")
        if self.s[self.i] == "0":
            self.i += 1
        else:
            self._digits()
        if self.i < self.n and self.s[self.i] == ".":
            self.i += 1
            c = self.peek_sp()
            if not ("0" <= c <= "9"):
                raise self.err(c, "after decimal point in numeric literal")
            self._digits()
        if self.i < self.n and self.s[self.i] in "eE":
            self.i += 1
            c = self.peek_sp()
            if c in "+-":
                self.i += 1
                c = self.peek_sp()
            if not ("0" <= c <= "9"):
                raise self.err(c, "in exponent of numeric literal")
            self._digits()


def _float(text: str) -> float:
    f = float(text)
    if math.isinf(f):
        raise GoJSONError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return f


def go_unmarshal(s: str) -> Any:
    """Decode like Go's json.Unmarshal into interface{}; raises GoJSONError with Go's text."""
    _Scanner(s).check()
    return json.loads(s, parse_int=_float, parse_float=_float)
