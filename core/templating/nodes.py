"""Parse tree nodes and literal parsing for Go text/template (after src/text/template/parse/node.go).

Node `__str__` reproduces Go's `String()` because execution errors quote it (`at <index .a 1>`).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .lexer import T


class ParseError(Exception):
    """A template parse error; str is Go's text (`template: tmpl:1: ...`)."""


# --- nodes ------------------------------------------------------------------------------------


class Node:
    __slots__ = ("pos", "tree")

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.tree: Tree | None = None


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class CommentNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return "{{" + self.text + "}}"


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.nodes: list[Node] = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class PipeNode(Node):
    __slots__ = ("line", "is_assign", "decl", "cmds")

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line
        self.is_assign = False
        self.decl: list[VariableNode] = []
        self.cmds: list[CommandNode] = []

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + " := "
        return s + " | ".join(str(c) for c in self.cmds)


class ActionNode(Node):
    __slots__ = ("line", "pipe")

    def __init__(self, pos: int, line: int, pipe: PipeNode) -> None:
        super().__init__(pos)
        self.line = line
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class CommandNode(Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.args: list[Node] = []

    def __str__(self) -> str:
        parts = []
        for a in self.args:
            parts.append("(" + str(a) + ")" if isinstance(a, PipeNode) else str(a))
        return " ".join(parts)


class IdentifierNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident

    def __str__(self) -> str:
        return self.ident


class VariableNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident.split(".")

    def __str__(self) -> str:
        return ".".join(self.ident)


class DotNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "."


class NilNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "nil"


class FieldNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos: int, ident: str) -> None:
        super().__init__(pos)
        self.ident = ident[1:].split(".")  # drop the leading dot

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


class ChainNode(Node):
    __slots__ = ("node", "fields")

    def __init__(self, pos: int, node: Node) -> None:
        super().__init__(pos)
        self.node = node
        self.fields: list[str] = []

    def add(self, field: str) -> None:
        self.fields.append(field[1:])

    def __str__(self) -> str:
        s = str(self.node)
        if isinstance(self.node, PipeNode):
            s = "(" + s + ")"
        return s + "".join("." + f for f in self.fields)


class BoolNode(Node):
    __slots__ = ("true",)

    def __init__(self, pos: int, true: bool) -> None:
        super().__init__(pos)
        self.true = true

    def __str__(self) -> str:
        return "true" if self.true else "false"


class NumberNode(Node):
    __slots__ = (
        "text", "is_int", "is_uint", "is_float", "is_complex", "int64", "uint64", "float64", "complex128", "const",
    )

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text
        self.is_int = self.is_uint = self.is_float = self.is_complex = False
        self.int64 = 0
        self.uint64 = 0
        self.float64 = 0.0
        self.complex128 = 0j
        self.const: Any = None  # the executor's ideal constant, computed once

    def __str__(self) -> str:
        return self.text


class StringNode(Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str) -> None:
        super().__init__(pos)
        self.quoted = quoted
        self.text = text

    def __str__(self) -> str:
        return self.quoted


class EndNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{end}}"


class ElseNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line

    def __str__(self) -> str:
        return "{{else}}"


class BranchNode(Node):
    __slots__ = ("line", "pipe", "list", "else_list")
    keyword = ""

    def __init__(self, pos: int, line: int, pipe: PipeNode, lst: ListNode, else_list: ListNode | None) -> None:
        super().__init__(pos)
        self.line = line
        self.pipe = pipe
        self.list = lst
        self.else_list = else_list

    def __str__(self) -> str:
        s = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            s += "{{else}}" + str(self.else_list)
        return s + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


class BreakNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line

    def __str__(self) -> str:
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        super().__init__(pos)
        self.line = line

    def __str__(self) -> str:
        return "{{continue}}"


class TemplateNode(Node):
    __slots__ = ("line", "name", "pipe")

    def __init__(self, pos: int, line: int, name: str, pipe: PipeNode | None) -> None:
        super().__init__(pos)
        self.line = line
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        from .gofmt import go_quote

        if self.pipe is None:
            return "{{template " + go_quote(self.name) + "}}"
        return "{{template " + go_quote(self.name) + " " + str(self.pipe) + "}}"


def is_empty_tree(n: Node | None) -> bool:
    if n is None:
        return True
    if isinstance(n, ListNode):
        return all(is_empty_tree(c) for c in n.nodes)
    if isinstance(n, TextNode):
        return n.text.strip(" \t\n\v\f\r\x85\xa0") == ""
    return isinstance(n, CommentNode)


# --- number literals --------------------------------------------------------------------------

_UNDERSCORE_OK = re.compile(r"^[+-]?(0[xXbBoO]_?)?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$")


def _go_unquote_char(body: str) -> tuple[int, str]:
    """strconv.UnquoteChar for a char constant body (after the opening quote)."""
    if not body:
        raise ValueError("invalid syntax")
    c = body[0]
    if c != "\\":
        if c == "'":
            raise ValueError("invalid syntax")
        return ord(c), body[1:]
    if len(body) < 2:
        raise ValueError("invalid syntax")
    e = body[1]
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39}
    if e in simple:
        return simple[e], body[2:]
    if e in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[e]
        hx = body[2 : 2 + n]
        if len(hx) < n or not all(ch in "0123456789abcdefABCDEF" for ch in hx):
            raise ValueError("invalid syntax")
        v = int(hx, 16)
        if e != "x" and (v > 0x10FFFF or 0xD800 <= v < 0xE000):
            raise ValueError("invalid syntax")
        return v, body[2 + n :]
    if e in "01234567":
        oc = body[1:4]
        if len(oc) < 3 or not all(ch in "01234567" for ch in oc):
            raise ValueError("invalid syntax")
        v = int(oc, 8)
        if v > 255:
            raise ValueError("invalid syntax")
        return v, body[4:]
    raise ValueError("invalid syntax")


def go_unquote(s: str) -> str:
    """strconv.Unquote for "..." and `...` literals."""
    if len(s) < 2:
        raise ValueError("invalid syntax")
    q = s[0]
    if q != s[-1]:
        raise ValueError("invalid syntax")
    body = s[1:-1]
    if q == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    if q != '"':
        raise ValueError("invalid syntax")
    if "\\" not in body and '"' not in body and "\n" not in body:
        return body
    out: list[str] = []
    raw_bytes: list[int] = []

    def flush() -> None:
        if raw_bytes:
            out.append(bytes(raw_bytes).decode("utf-8", "replace"))
            raw_bytes.clear()

    i = 0
    while i < len(body):
        c = body[i]
        if c == '"' or c == "\n":
            raise ValueError("invalid syntax")
        if c != "\\":
            flush()
            out.append(c)
            i += 1
            continue
        e = body[i + 1] if i + 1 < len(body) else ""
        if e == "'":
            raise ValueError("invalid syntax")
        if e == '"':
            flush()
            out.append('"')
            i += 2
            continue
        v, rest = _go_unquote_char(body[i:])
        consumed = len(body) - i - len(rest)
        if e == "x" or e in "01234567":
            raw_bytes.append(v)  # \x and octal escapes are bytes, not runes
        else:
            flush()
            out.append(chr(v))
        i += consumed
    flush()
    return "".join(out)


def _parse_go_int(text: str) -> int | None:
    """strconv.ParseInt/ParseUint(text, 0, 64) without the range check."""
    t = text
    neg = False
    if t[:1] in "+-":
        neg = t[0] == "-"
        t = t[1:]
    if not t:
        return None
    if "_" in t and not _UNDERSCORE_OK.match(t):
        return None
    body = t.replace("_", "")
    base = 10
    low = body.lower()
    if low.startswith("0x"):
        base, body = 16, body[2:]
    elif low.startswith("0b"):
        base, body = 2, body[2:]
    elif low.startswith("0o"):
        base, body = 8, body[2:]
    elif low.startswith("0") and len(body) > 1:
        base, body = 8, body[1:]
    elif "_" in t:
        # decimal literals may not start with an underscore group after a prefix-less 0
        pass
    if not body:
        return None
    try:
        v = int(body, base)
    except ValueError:
        return None
    return -v if neg else v


def _parse_go_float(text: str) -> float | None:
    t = text
    if "_" in t:
        # Go accepts underscores only between digits (checked loosely: not leading/trailing/doubled)
        if "__" in t or t.endswith("_") or re.search(r"(^|[^0-9a-fA-FxXoObB])_|_[^0-9a-fA-F]", t):
            return None
        t = t.replace("_", "")
    sign = 1.0
    u = t
    if u[:1] in "+-":
        sign = -1.0 if u[0] == "-" else 1.0
        u = u[1:]
    low = u.lower()
    if low.startswith("0x"):
        if "p" not in low:
            return None
        try:
            return sign * float.fromhex(u)
        except (ValueError, OverflowError):
            return None
    if low in ("inf", "infinity", "nan") or not u:
        return None
    if not re.fullmatch(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", u):
        return None
    try:
        f = float(u)
    except ValueError:
        return None
    if math.isinf(f):
        raise OverflowError(text)
    return sign * f


def new_number(pos: int, text: str, typ: T) -> NumberNode:
    n = NumberNode(pos, text)
    if typ == T.CHAR_CONSTANT:
        try:
            r, tail = _go_unquote_char(text[1:])
        except ValueError:
            raise ParseError("invalid syntax") from None
        if tail != "'":
            raise ParseError(f"malformed character constant: {text}")
        n.int64 = n.uint64 = r
        n.float64 = float(r)
        n.is_int = n.is_uint = n.is_float = True
        return n
    if typ == T.COMPLEX:
        # fmt.Sscan reads "<real><sign><imag>i"; its error names the part strconv rejected
        m = re.fullmatch(r"([+-]?[^+-]*)([+-].*)i", text)
        if m is None:
            raise ParseError(f'strconv.ParseFloat: parsing {_gq(text)}: invalid syntax')
        if m.group(2) in ("+", "-"):
            raise ParseError("syntax error scanning complex number")  # Sscan took the i for "Inf"
        parts = []
        for part in (m.group(1), m.group(2)):
            try:
                f = _parse_go_float(part) if part not in ("", "+", "-") else None
            except OverflowError:
                f = None
            if f is None:
                raise ParseError(f"strconv.ParseFloat: parsing {_gq(part)}: invalid syntax")
            parts.append(f)
        re_, im = parts
        n.is_complex = True
        n.complex128 = complex(re_, im)
        _simplify_complex(n)
        return n
    if text.endswith("i"):
        # only strconv.ParseFloat is tried for an imaginary literal (so 0x11i is illegal)
        try:
            f = _parse_go_float(text[:-1])
        except OverflowError:
            f = None
        if f is not None:
            n.is_complex = True
            n.complex128 = complex(0, f)
            _simplify_complex(n)
            return n
    iv = _parse_go_int(text)
    if iv is not None:
        if 0 <= iv < 1 << 64:
            n.is_uint = True
            n.uint64 = iv
        if -(1 << 63) <= iv < 1 << 63:
            n.is_int = True
            n.int64 = iv
            if iv == 0:
                n.is_uint = True
    if n.is_int:
        n.is_float = True
        n.float64 = float(n.int64)
    elif n.is_uint:
        n.is_float = True
        n.float64 = float(n.uint64)
    else:
        try:
            f = _parse_go_float(text)
        except OverflowError:
            f = None
        if f is not None:
            if not any(c in text for c in ".eEpP"):
                raise ParseError(f"integer overflow: {_gq(text)}")
            n.is_float = True
            n.float64 = f
            if f == int(f) and -(1 << 63) <= int(f) < 1 << 63:
                n.is_int = True
                n.int64 = int(f)
            if f == int(f) and 0 <= int(f) < 1 << 64:
                n.is_uint = True
                n.uint64 = int(f)
    if not (n.is_int or n.is_uint or n.is_float):
        raise ParseError(f"illegal number syntax: {_gq(text)}")
    return n


def _simplify_complex(n: NumberNode) -> None:
    if n.complex128.imag == 0:
        n.is_float = True
        n.float64 = n.complex128.real
        if n.float64 == int(n.float64):
            n.is_int = True
            n.int64 = int(n.float64)
            if n.int64 >= 0:
                n.is_uint = True
                n.uint64 = n.int64


def _gq(s: str) -> str:
    from .gofmt import go_quote

    return go_quote(s)


# --- trees and the parser ---------------------------------------------------------------------


class Tree:
    """One named template: a parse tree and the source it came from."""

    __slots__ = ("name", "parse_name", "root", "text", "_line_starts")

    def __init__(self, name: str, parse_name: str, text: str) -> None:
        self.name = name
        self.parse_name = parse_name
        self.root: ListNode | None = None
        self.text = text

    def error_context(self, node: Node) -> tuple[str, str]:
        """Go's ErrorContext: `name:line:col` (col counted in bytes) and the node text, cut at 20."""
        pos = node.pos
        text = self.text[:pos]
        nl = text.rfind("\n")
        col = len(text[nl + 1 :].encode("utf-8")) if nl >= 0 else len(text.encode("utf-8"))
        line = 1 + text.count("\n")
        # Go 1.19's exec errors quote the whole node text (no 20-character cut)
        return f"{self.parse_name}:{line}:{col}", str(node)
