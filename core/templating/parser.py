"""Parser for Go text/template (after src/text/template/parse/parse.go, Go 1.19)."""

from __future__ import annotations

from typing import Any

from .lexer import Item, T, lex
from .nodes import (
    ActionNode,
    BoolNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    ElseNode,
    EndNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    ParseError,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    Tree,
    VariableNode,
    WithNode,
    _gq,
    go_unquote,
    is_empty_tree,
    new_number,
)

__all__ = [
    "ActionNode", "BoolNode", "BreakNode", "ChainNode", "CommandNode", "CommentNode", "ContinueNode", "DotNode",
    "ElseNode", "EndNode", "FieldNode", "IdentifierNode", "IfNode", "ListNode", "NilNode", "Node", "NumberNode",
    "ParseError", "PipeNode", "RangeNode", "StringNode", "TemplateNode", "TextNode", "Tree", "VariableNode",
    "WithNode", "parse",
]


class _Parser:
    def __init__(self, name: str, text: str, funcs: Any, items: list[Item]) -> None:
        self.parse_name = name
        self.text = text
        self.funcs = funcs
        self.items = items
        self.i = 0  # index of the next item to read
        self.hi = 0  # one past the most recently lexed item (Go's token[0])
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.action_line = 0
        self.trees: dict[str, Tree] = {}
        self.tree: Tree = Tree(name, name, text)

    # token stream ---------------------------------------------------------------------------
    def _get(self, i: int) -> Item:
        if i < len(self.items):
            return self.items[i]
        # past the end of an aborted lex: Go's zero item is an empty error item
        last = self.items[-1] if self.items else Item(T.EOF, 0, "", 1)
        return Item(T.ERROR, last.pos, "", last.line)

    def next(self) -> Item:
        it = self._get(self.i)
        self.i += 1
        if self.i > self.hi:
            self.hi = self.i
        return it

    def backup(self, n: int = 1) -> None:
        self.i -= n

    def peek(self) -> Item:
        it = self._get(self.i)
        if self.i + 1 > self.hi:
            self.hi = self.i + 1
        return it

    def next_non_space(self) -> Item:
        while True:
            it = self.next()
            if it.typ != T.SPACE:
                return it

    def peek_non_space(self) -> Item:
        it = self.next_non_space()
        self.backup()
        return it

    # errors ---------------------------------------------------------------------------------
    def errorf(self, msg: str) -> None:
        line = self._get(self.hi - 1).line if self.hi > 0 else 1
        raise ParseError(f"template: {self.parse_name}:{line}: {msg}")

    def unexpected(self, item: Item, context: str) -> None:
        if item.typ == T.ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != item.line:
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if item.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            self.errorf(f"{item}{extra}")
        self.errorf(f"unexpected {item} in {context}")

    def expect(self, typ: T, context: str) -> Item:
        it = self.next_non_space()
        if it.typ != typ:
            self.unexpected(it, context)
        return it

    def expect_one_of(self, t1: T, t2: T, context: str) -> Item:
        it = self.next_non_space()
        if it.typ != t1 and it.typ != t2:
            self.unexpected(it, context)
        return it

    # structure ------------------------------------------------------------------------------
    def _with_tree(self, node: Node) -> Node:
        node.tree = self.tree
        return node

    def parse(self) -> dict[str, Tree]:
        self.tree.root = self._with_tree(ListNode(self.peek().pos))  # type: ignore[assignment]
        root = self.tree.root
        assert root is not None
        while self.peek().typ != T.EOF:
            if self.peek().typ == T.LEFT_DELIM:
                self.next()
                if self.next_non_space().typ == T.DEFINE:
                    self._parse_definition()
                    continue
                # back up to the delimiter (Go's backup2 of the delimiter)
                self._backup_to_delim()
            n = self.text_or_action()
            if isinstance(n, EndNode | ElseNode):
                self.errorf(f"unexpected {n}")
            root.nodes.append(n)
        self._add(self.tree)
        return self.trees

    def _backup_to_delim(self) -> None:
        # move back over the consumed non-space token and spaces to the left delimiter
        while self._get(self.i - 1).typ != T.LEFT_DELIM:
            self.i -= 1
        self.i -= 1

    def _add(self, tree: Tree) -> None:
        old = self.trees.get(tree.name)
        if old is None or is_empty_tree(old.root):
            self.trees[tree.name] = tree
            return
        if not is_empty_tree(tree.root):
            self.errorf(f"template: multiple definition of template {_gq(tree.name)}")

    def _sub_tree(self, name: str) -> tuple[Tree, list[str], int]:
        saved = (self.tree, self.vars, self.range_depth)
        self.tree = Tree(name, self.parse_name, self.text)
        self.vars = ["$"]
        self.range_depth = 0
        return saved  # type: ignore[return-value]

    def _parse_definition(self) -> None:
        context = "define clause"
        saved = self._sub_tree("definition")
        name = self.expect_one_of(T.STRING, T.RAW_STRING, context)
        try:
            self.tree.name = go_unquote(name.val)
        except ValueError as e:
            self.errorf(str(e))
        self.expect(T.RIGHT_DELIM, context)
        root, end = self.item_list()
        self.tree.root = root
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self._add(self.tree)
        self.tree, self.vars, self.range_depth = saved

    def item_list(self) -> tuple[ListNode, Node]:
        lst = self._with_tree(ListNode(self.peek_non_space().pos))
        assert isinstance(lst, ListNode)
        while self.peek_non_space().typ != T.EOF:
            n = self.text_or_action()
            if isinstance(n, EndNode | ElseNode):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")
        raise AssertionError

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ == T.TEXT:
            return self._with_tree(TextNode(tok.pos, tok.val))
        if tok.typ == T.LEFT_DELIM:
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if tok.typ == T.COMMENT:
            return self._with_tree(CommentNode(tok.pos, tok.val))
        self.unexpected(tok, "input")
        raise AssertionError

    def action(self) -> Node:
        tok = self.next_non_space()
        t = tok.typ
        if t == T.BLOCK:
            return self.block_control()
        if t == T.BREAK:
            return self.break_control(tok.pos, tok.line)
        if t == T.CONTINUE:
            return self.continue_control(tok.pos, tok.line)
        if t == T.ELSE:
            return self.else_control()
        if t == T.END:
            return self.end_control()
        if t == T.IF:
            return self.if_control()
        if t == T.RANGE:
            return self.range_control()
        if t == T.TEMPLATE:
            return self.template_control()
        if t == T.WITH:
            return self.with_control()
        self.backup()
        tok = self.peek()
        return self._with_tree(ActionNode(tok.pos, tok.line, self.pipeline("command", T.RIGHT_DELIM)))

    def break_control(self, pos: int, line: int) -> Node:
        tok = self.next_non_space()
        if tok.typ != T.RIGHT_DELIM:
            self.unexpected(tok, "{{break}}")
        if self.range_depth == 0:
            self.errorf("{{break}} outside {{range}}")
        return self._with_tree(BreakNode(pos, line))

    def continue_control(self, pos: int, line: int) -> Node:
        tok = self.next_non_space()
        if tok.typ != T.RIGHT_DELIM:
            self.unexpected(tok, "{{continue}}")
        if self.range_depth == 0:
            self.errorf("{{continue}} outside {{range}}")
        return self._with_tree(ContinueNode(pos, line))

    def pipeline(self, context: str, end: T) -> PipeNode:
        tok = self.peek_non_space()
        pipe = PipeNode(tok.pos, tok.line)
        pipe.tree = self.tree
        while True:  # declarations (loops back for `$i, $v :=` in range)
            v = self.peek_non_space()
            if v.typ != T.VARIABLE:
                break
            self.next_non_space()
            token_after = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in (T.ASSIGN, T.DECLARE):
                pipe.is_assign = nxt.typ == T.ASSIGN
                self.next_non_space()
                pipe.decl.append(self._with_tree(VariableNode(v.pos, v.val)))  # type: ignore[arg-type]
                self.vars.append(v.val)
                break
            if nxt.typ == T.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(self._with_tree(VariableNode(v.pos, v.val)))  # type: ignore[arg-type]
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (T.VARIABLE, T.RIGHT_DELIM, T.RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            # not a declaration: put the variable (and the space after it) back
            if token_after.typ == T.SPACE:
                self._backup_before(v)
            else:
                self._backup_before(v)
            break
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.typ in (
                T.BOOL, T.CHAR_CONSTANT, T.COMPLEX, T.DOT, T.FIELD, T.IDENTIFIER, T.NUMBER,
                T.NIL, T.RAW_STRING, T.STRING, T.VARIABLE, T.LEFT_PAREN,
            ):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def _backup_before(self, item: Item) -> None:
        while self._get(self.i - 1) is not item:
            self.i -= 1
        self.i -= 1

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], BoolNode | DotNode | NilNode | NumberNode | StringNode):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        cmd.tree = self.tree
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ == T.SPACE:
                continue
            if tok.typ in (T.RIGHT_DELIM, T.RIGHT_PAREN):
                self.backup()
            elif tok.typ == T.PIPE:
                pass
            else:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == T.FIELD:
            chain = ChainNode(self.peek().pos, node)
            chain.tree = self.tree
            while self.peek().typ == T.FIELD:
                chain.add(self.next().val)
            if isinstance(node, FieldNode):
                node = self._with_tree(FieldNode(chain.pos, str(chain)))
            elif isinstance(node, VariableNode):
                node = self._with_tree(VariableNode(chain.pos, str(chain)))
            elif isinstance(node, BoolNode | StringNode | NumberNode | NilNode | DotNode):
                self.errorf(f"unexpected . after term {_gq(str(node))}")
            else:
                node = chain
        return node

    def term(self) -> Node | None:
        tok = self.next_non_space()
        t = tok.typ
        if t == T.IDENTIFIER:
            if not self._has_function(tok.val):
                self.errorf(f"function {_gq(tok.val)} not defined")
            return self._with_tree(IdentifierNode(tok.pos, tok.val))
        if t == T.DOT:
            return self._with_tree(DotNode(tok.pos))
        if t == T.NIL:
            return self._with_tree(NilNode(tok.pos))
        if t == T.VARIABLE:
            return self.use_var(tok.pos, tok.val)
        if t == T.FIELD:
            return self._with_tree(FieldNode(tok.pos, tok.val))
        if t == T.BOOL:
            return self._with_tree(BoolNode(tok.pos, tok.val == "true"))
        if t in (T.CHAR_CONSTANT, T.COMPLEX, T.NUMBER):
            try:
                return self._with_tree(new_number(tok.pos, tok.val, t))
            except ParseError as e:
                self.errorf(str(e))
        if t == T.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", T.RIGHT_PAREN)
        if t in (T.STRING, T.RAW_STRING):
            try:
                s = go_unquote(tok.val)
            except ValueError as e:
                self.errorf(str(e))
            return self._with_tree(StringNode(tok.pos, tok.val, s))
        self.backup()
        return None

    def _has_function(self, name: str) -> bool:
        return name in self.funcs

    def use_var(self, pos: int, name: str) -> Node:
        v = VariableNode(pos, name)
        v.tree = self.tree
        if v.ident[0] in self.vars:
            return v
        self.errorf(f"undefined variable {_gq(v.ident[0])}")
        raise AssertionError

    def parse_control(self, allow_else_if: bool, context: str) -> tuple[int, int, PipeNode, ListNode, ListNode | None]:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, T.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list: ListNode | None = None
            if isinstance(nxt, ElseNode):
                if allow_else_if and self.peek().typ == T.IF:
                    self.next()
                    else_list = ListNode(nxt.pos)
                    else_list.tree = self.tree
                    else_list.nodes.append(self.if_control())
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, EndNode):
                        self.errorf(f"expected end; found {nxt}")
            return pipe.pos, pipe.line, pipe, lst, else_list
        finally:
            del self.vars[mark:]

    def if_control(self) -> Node:
        return self._with_tree(IfNode(*self.parse_control(True, "if")))

    def range_control(self) -> Node:
        return self._with_tree(RangeNode(*self.parse_control(False, "range")))

    def with_control(self) -> Node:
        return self._with_tree(WithNode(*self.parse_control(False, "with")))

    def end_control(self) -> Node:
        return self._with_tree(EndNode(self.expect(T.RIGHT_DELIM, "end").pos))

    def else_control(self) -> Node:
        peek = self.peek_non_space()
        if peek.typ == T.IF:
            return self._with_tree(ElseNode(peek.pos, peek.line))
        tok = self.expect(T.RIGHT_DELIM, "else")
        return self._with_tree(ElseNode(tok.pos, tok.line))

    def _template_name(self, tok: Item, context: str) -> str:
        if tok.typ in (T.STRING, T.RAW_STRING):
            try:
                return go_unquote(tok.val)
            except ValueError as e:
                self.errorf(str(e))
        self.unexpected(tok, context)
        raise AssertionError

    def template_control(self) -> Node:
        context = "template clause"
        tok = self.next_non_space()
        name = self._template_name(tok, context)
        pipe = None
        if self.next_non_space().typ != T.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, T.RIGHT_DELIM)
        return self._with_tree(TemplateNode(tok.pos, tok.line, name, pipe))

    def block_control(self) -> Node:
        context = "block clause"
        tok = self.next_non_space()
        name = self._template_name(tok, context)
        pipe = self.pipeline(context, T.RIGHT_DELIM)
        outer_tree = self.tree
        saved = self._sub_tree(name)
        root, end = self.item_list()
        self.tree.root = root
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self._add(self.tree)
        self.tree, self.vars, self.range_depth = saved
        node = TemplateNode(tok.pos, tok.line, name, pipe)
        node.tree = outer_tree
        return node


def parse(name: str, text: str, funcs: Any) -> dict[str, Tree]:
    """Parse `text` into the named trees it defines (the main one under `name`)."""
    items = lex(text)
    return _Parser(name, text, funcs, items).parse()
