"""Lexer for Go text/template (after src/text/template/parse/lex.go, Go 1.19).

The Go lexer runs as a state machine feeding the parser one item at a time; here the whole input is
lexed up front into a list, stopping at the first error item — the parser meets that item at the
same point it would in Go, so error texts and lines are the same.
"""

from __future__ import annotations

import unicodedata
from enum import IntEnum
from typing import NamedTuple

LEFT_DELIM = "{{"
RIGHT_DELIM = "}}"
LEFT_COMMENT = "/*"
RIGHT_COMMENT = "*/"


class T(IntEnum):
    ERROR = 0
    BOOL = 1
    CHAR = 2
    CHAR_CONSTANT = 3
    COMMENT = 4
    COMPLEX = 5
    ASSIGN = 6
    DECLARE = 7
    EOF = 8
    FIELD = 9
    IDENTIFIER = 10
    LEFT_DELIM = 11
    LEFT_PAREN = 12
    NUMBER = 13
    PIPE = 14
    RAW_STRING = 15
    RIGHT_DELIM = 16
    RIGHT_PAREN = 17
    SPACE = 18
    STRING = 19
    TEXT = 20
    VARIABLE = 21
    KEYWORD = 22  # keywords sort after this marker, as in Go
    BLOCK = 23
    BREAK = 24
    CONTINUE = 25
    DOT = 26
    DEFINE = 27
    ELSE = 28
    END = 29
    IF = 30
    NIL = 31
    RANGE = 32
    TEMPLATE = 33
    WITH = 34


KEYWORDS = {
    ".": T.DOT,
    "block": T.BLOCK,
    "break": T.BREAK,
    "continue": T.CONTINUE,
    "define": T.DEFINE,
    "else": T.ELSE,
    "end": T.END,
    "if": T.IF,
    "range": T.RANGE,
    "nil": T.NIL,
    "template": T.TEMPLATE,
    "with": T.WITH,
}


class Item(NamedTuple):
    typ: T
    pos: int  # character offset in the input
    val: str
    line: int

    def __str__(self) -> str:
        if self.typ == T.EOF:
            return "EOF"
        if self.typ == T.ERROR:
            return self.val
        if self.typ > T.KEYWORD:
            return f"<{self.val}>"
        if len(self.val.encode("utf-8")) > 10:
            from .gofmt import go_quote

            return go_quote(_first_runes(self.val, 10)) + "..."
        from .gofmt import go_quote

        return go_quote(self.val)


def _first_runes(s: str, n: int) -> str:
    return s[:n]


def is_space(c: str) -> bool:
    return c in " \t\r\n"


def is_alnum(c: str) -> bool:
    if c == "_":
        return True
    if c.isascii():
        return c.isalnum()
    cat = unicodedata.category(c)
    return cat[0] == "L" or cat == "Nd"


def _is_print_ascii(c: str) -> bool:
    return " " <= c <= "~"


def _unicode_repr(c: str) -> str:
    """Go's %#U: `U+0023 '#'`."""
    o = ord(c)
    s = f"U+{o:04X}"
    if c.isprintable():
        s += f" '{c}'"
    return s


class LexError(Exception):
    pass


class Lexer:
    def __init__(self, text: str) -> None:
        self.input = text
        self.n = len(text)
        self.start = 0
        self.pos = 0
        self.items: list[Item] = []
        self.paren_depth = 0
        self._lp = 0  # position up to which newlines are counted in _line
        self._line = 1

    # --- helpers -------------------------------------------------------------------------------
    def line_at(self, pos: int) -> int:
        # items come in increasing positions: count newlines incrementally (linear, not quadratic)
        if pos >= self._lp:
            self._line += self.input.count("\n", self._lp, pos)
            self._lp = pos
            return self._line
        return 1 + self.input.count("\n", 0, pos)

    def emit(self, typ: T) -> None:
        self.items.append(Item(typ, self.start, self.input[self.start : self.pos], self.line_at(self.start)))
        self.start = self.pos

    def ignore(self) -> None:
        self.start = self.pos

    def peek(self) -> str:
        return self.input[self.pos] if self.pos < self.n else ""

    def next(self) -> str:
        if self.pos >= self.n:
            self.pos = self.n + 1  # past the end, so backup() returns to n
            return ""
        c = self.input[self.pos]
        self.pos += 1
        return c

    def backup(self) -> None:
        self.pos -= 1

    def accept(self, valid: str) -> bool:
        if self.pos < self.n and self.input[self.pos] in valid:
            self.pos += 1
            return True
        return False

    def accept_run(self, valid: str) -> None:
        while self.pos < self.n and self.input[self.pos] in valid:
            self.pos += 1

    def error(self, msg: str) -> None:
        self.items.append(Item(T.ERROR, self.start, msg, self.line_at(self.start)))
        raise LexError(msg)

    def has_left_trim(self, at: int) -> bool:
        s = self.input
        return at + 1 < self.n and s[at] == "-" and is_space(s[at + 1])

    def has_right_trim(self, at: int) -> bool:
        s = self.input
        return at + 1 < self.n and is_space(s[at]) and s[at + 1] == "-"

    def at_right_delim(self) -> tuple[bool, bool]:
        if self.has_right_trim(self.pos) and self.input.startswith(RIGHT_DELIM, self.pos + 2):
            return True, True
        if self.input.startswith(RIGHT_DELIM, self.pos):
            return True, False
        return False, False

    def at_terminator(self) -> bool:
        c = self.peek()
        if c == "" or is_space(c):
            return True
        return c in ".,|:)(" or self.input.startswith(RIGHT_DELIM, self.pos)

    # --- states --------------------------------------------------------------------------------
    def run(self) -> list[Item]:
        try:
            state = self.lex_text
            while state is not None:
                state = state()
        except LexError:
            pass
        return self.items

    def lex_text(self):  # type: ignore[no-untyped-def]
        x = self.input.find(LEFT_DELIM, self.pos)
        if x >= 0:
            self.pos = x
            trim = 0
            if self.has_left_trim(x + len(LEFT_DELIM)):
                text = self.input[self.start : x]
                trim = len(text) - len(text.rstrip(" \t\r\n"))
            self.pos -= trim
            if self.pos > self.start:
                self.emit(T.TEXT)
            self.pos += trim
            self.ignore()
            return self.lex_left_delim
        self.pos = self.n
        if self.pos > self.start:
            self.emit(T.TEXT)
        self.emit(T.EOF)
        return None

    def lex_left_delim(self):  # type: ignore[no-untyped-def]
        self.pos += len(LEFT_DELIM)
        trim = self.has_left_trim(self.pos)
        after = 2 if trim else 0
        if self.input.startswith(LEFT_COMMENT, self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        self.emit(T.LEFT_DELIM)
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        return self.lex_inside_action

    def lex_comment(self):  # type: ignore[no-untyped-def]
        self.pos += len(LEFT_COMMENT)
        x = self.input.find(RIGHT_COMMENT, self.pos)
        if x < 0:
            self.error("unclosed comment")
        self.pos = x + len(RIGHT_COMMENT)
        delim, trim = self.at_right_delim()
        if not delim:
            self.error("comment ends before closing delimiter")
        if trim:
            self.pos += 2
        self.pos += len(RIGHT_DELIM)
        if trim:
            self.pos += self._left_trim_length(self.pos)
        self.ignore()
        return self.lex_text

    def _left_trim_length(self, at: int) -> int:
        rest = self.input[at:]
        return len(rest) - len(rest.lstrip(" \t\r\n"))

    def lex_right_delim(self):  # type: ignore[no-untyped-def]
        trim = self.has_right_trim(self.pos)
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(RIGHT_DELIM)
        self.emit(T.RIGHT_DELIM)
        if trim:
            self.pos += self._left_trim_length(self.pos)
            self.ignore()
        return self.lex_text

    def lex_inside_action(self):  # type: ignore[no-untyped-def]
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            self.error("unclosed left paren")
        c = self.next()
        if c == "":
            self.error("unclosed action")
        if is_space(c):
            self.backup()
            return self.lex_space
        if c == "=":
            self.emit(T.ASSIGN)
        elif c == ":":
            if self.next() != "=":
                self.error("expected :=")
            self.emit(T.DECLARE)
        elif c == "|":
            self.emit(T.PIPE)
        elif c == '"':
            return self.lex_quote
        elif c == "`":
            return self.lex_raw_quote
        elif c == "$":
            return self.lex_variable
        elif c == "'":
            return self.lex_char
        elif c == "." and self.pos < self.n and not ("0" <= self.input[self.pos] <= "9"):
            return self.lex_field
        elif c in "+-." or "0" <= c <= "9":
            self.backup()
            return self.lex_number
        elif is_alnum(c):
            self.backup()
            return self.lex_identifier
        elif c == "(":
            self.emit(T.LEFT_PAREN)
            self.paren_depth += 1
        elif c == ")":
            self.emit(T.RIGHT_PAREN)
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.error(f"unexpected right paren {_unicode_repr(c)}")
        elif c.isascii() and _is_print_ascii(c):
            self.emit(T.CHAR)
        else:
            self.error(f"unrecognized character in action: {_unicode_repr(c)}")
        return self.lex_inside_action

    def lex_space(self):  # type: ignore[no-untyped-def]
        num = 0
        while self.pos < self.n and is_space(self.input[self.pos]):
            self.pos += 1
            num += 1
        # a space followed by "-}}" is a trim marker, not an argument separator
        if self.has_right_trim(self.pos - 1) and self.input.startswith(RIGHT_DELIM, self.pos + 1):
            self.backup()
            if num == 1:
                return self.lex_right_delim
        self.emit(T.SPACE)
        return self.lex_inside_action

    def lex_identifier(self):  # type: ignore[no-untyped-def]
        while True:
            c = self.next()
            if c != "" and is_alnum(c):
                continue
            self.backup()
            word = self.input[self.start : self.pos]
            if not self.at_terminator():
                self.error(f"bad character {_unicode_repr(self.peek())}")
            kw = KEYWORDS.get(word)
            if kw is not None and kw > T.KEYWORD:
                self.emit(kw)
            elif word[0] == ".":
                self.emit(T.FIELD)
            elif word in ("true", "false"):
                self.emit(T.BOOL)
            else:
                self.emit(T.IDENTIFIER)
            return self.lex_inside_action

    def lex_field(self):  # type: ignore[no-untyped-def]
        return self._lex_field_or_variable(T.FIELD)

    def lex_variable(self):  # type: ignore[no-untyped-def]
        if self.at_terminator():
            self.emit(T.VARIABLE)
            return self.lex_inside_action
        return self._lex_field_or_variable(T.VARIABLE)

    def _lex_field_or_variable(self, typ: T):  # type: ignore[no-untyped-def]
        if self.at_terminator():
            self.emit(T.VARIABLE if typ == T.VARIABLE else T.DOT)
            return self.lex_inside_action
        while True:
            c = self.next()
            if c == "" or not is_alnum(c):
                self.backup()
                break
        if not self.at_terminator():
            self.error(f"bad character {_unicode_repr(self.peek())}")
        self.emit(typ)
        return self.lex_inside_action

    def lex_char(self):  # type: ignore[no-untyped-def]
        while True:
            c = self.next()
            if c == "\\":
                c2 = self.next()
                if c2 != "" and c2 != "\n":
                    continue
                self.error("unterminated character constant")
            if c == "" or c == "\n":
                self.error("unterminated character constant")
            if c == "'":
                break
        self.emit(T.CHAR_CONSTANT)
        return self.lex_inside_action

    def lex_number(self):  # type: ignore[no-untyped-def]
        if not self._scan_number():
            self.error(f"bad number syntax: {_q(self.input[self.start : self.pos])}")
        c = self.peek()
        if c in ("+", "-"):
            if not self._scan_number() or self.input[self.pos - 1] != "i":
                self.error(f"bad number syntax: {_q(self.input[self.start : self.pos])}")
            self.emit(T.COMPLEX)
        else:
            self.emit(T.NUMBER)
        return self.lex_inside_action

    def _scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        c = self.peek()
        if c != "" and is_alnum(c):
            self.next()
            return False
        return True

    def lex_quote(self):  # type: ignore[no-untyped-def]
        while True:
            c = self.next()
            if c == "\\":
                c2 = self.next()
                if c2 != "" and c2 != "\n":
                    continue
                self.error("unterminated quoted string")
            if c == "" or c == "\n":
                self.error("unterminated quoted string")
            if c == '"':
                break
        self.emit(T.STRING)
        return self.lex_inside_action

    def lex_raw_quote(self):  # type: ignore[no-untyped-def]
        while True:
            c = self.next()
            if c == "":
                self.error("unterminated raw quoted string")
            if c == "`":
                break
        self.emit(T.RAW_STRING)
        return self.lex_inside_action


def _q(s: str) -> str:
    from .gofmt import go_quote

    return go_quote(s)


def lex(text: str) -> list[Item]:
    return Lexer(text).run()
