"""The IR's text form, reading side: text -> Module, through xlc/ir/grammar.lark.

Contracts:

* ``parse_module(print_module(m))`` prints back to the same text;
* ops are built through :meth:`xlc.ir.builder.Builder.create` with the parsed result
  types and ``Location(filename, line, col)`` (or the op's own ``loc(...)``), so every op
  must be in the registry (import :mod:`xlc.ops` first);
* every error is an :class:`~xlc.errors.IRParseError` whose message starts with
  ``file:line:col:`` and shows the source line with a caret under the column;
* value names are scoped like SSA dominance: a value is visible after its definition in
  its block and in regions nested there; a name may be defined once per func.

The parser does not check types against type rules: that is the verifier's job, so that
broken IR can be read, printed and diagnosed.
"""

from __future__ import annotations

import ast
import math
import re
import sys
from functools import lru_cache
from importlib import resources
from typing import Any, NoReturn

import lark
import numpy as np

from xlc.errors import IRParseError, XlcError
from xlc.ir.builder import Builder
from xlc.ir.core import Block, Func, Location, Module, Op, Value
from xlc.ir.opdef import has_opdef
from xlc.ir.types import DType, TensorType, as_dtype

_TYPE_RE = re.compile(r"tensor<((?:(?:\d+|\?)x)*)([a-z][a-z0-9]*)>")

# Friendly names for terminals in "expected ..." messages.
_TERMINAL_NAMES = {
    "VALUE_ID": "a value (%name)", "TENSOR_TYPE": "a type (tensor<...>)", "IDENT": "a name",
    "FUNC_NAME": "a func name (@name)", "INT": "an integer", "FLOAT": "a float", "STRING": "a string",
    "BYTES": "a byte string", "BLOCK_LABEL": "a block label (^bb0)", "NEG_SPECIAL": "-inf/-nan",
    "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'", "LSQB": "'['", "RSQB": "']'",
    "COMMA": "','", "COLON": "':'", "EQUAL": "'='", "LESSTHAN": "'<'", "MORETHAN": "'>'",
    "RETURN": "'return'", "FUNC": "'func'", "LOC": "'loc'", "DENSE": "'dense'", "__ANON_0": "'->'",
}


@lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    """The LALR parser, built once (grammar.lark ships next to this module)."""
    text = resources.files("xlc.ir").joinpath("grammar.lark").read_text(encoding="utf-8")
    return lark.Lark(text, parser="lalr", lexer="contextual", maybe_placeholders=True, propagate_positions=True)


def parse_module(text: str, filename: str = "<string>") -> Module:
    """Parse IR text into a Module; raises IRParseError naming file:line:col."""
    return _ModuleReader(text, filename).read()


def parse_func(text: str, filename: str = "<string>") -> Func:
    """Parse text holding exactly one func."""
    reader = _ModuleReader(text, filename)
    module = reader.read()
    funcs = list(module)
    if len(funcs) != 1:
        reader.fail(1, 1, f"expected exactly one func, found {len(funcs)}")
    return funcs[0]


def parse_type(text: str) -> TensorType:
    """``tensor<2x?xf32>`` -> TensorType; raises IRParseError."""
    t = _type_from_text(text.strip())
    if t is None:
        raise IRParseError(f"'{text}' is not a tensor type")
    return t


def parse_attr(text: str, filename: str = "<string>") -> Any:
    """One attribute value in its printed form (``[1, 2]``, ``dense<...> : tensor<..>``)."""
    # reuse the op grammar on a carrier op; only the syntax tree is used, not the registry
    reader = _ModuleReader(f"func @f() -> () {{\n  __attr() {{v = {text}}}\n}}", filename)
    tree = reader.tree()
    op_tree = tree.children[0].children[3]
    attrs_tree = op_tree.children[3]
    return reader.attr_value(attrs_tree.children[0].children[1])


def _type_from_text(text: str) -> TensorType | None:
    m = _TYPE_RE.fullmatch(text)
    if m is None:
        return None
    dims = [None if d == "?" else int(d) for d in m.group(1).split("x")[:-1]]
    try:
        dtype = as_dtype(m.group(2))
    except TypeError:
        return None
    if dtype.short != m.group(2):  # only the short names (f32, not float) are types
        return None
    return TensorType(tuple(dims), dtype)


class _ModuleReader:
    """Turns one parse tree into a Module, with scoped value names."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.lines = text.splitlines()
        # per func: every name defined so far (names are unique per func), and the
        # stack of visible scopes (a dict per open block)
        self.defined: dict[str, Any] = {}
        self.scopes: list[dict[str, Value]] = []

    # ------------------------------------------------------------------ errors

    def fail(self, line: int, col: int, message: str) -> NoReturn:
        src = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        caret = " " * (max(col, 1) - 1) + "^"
        raise IRParseError(f"{self.filename}:{line}:{col}: {message}\n{src}\n{caret}")

    def fail_at(self, node: Any, message: str) -> NoReturn:
        """Fail at a token, or at the start of a tree node."""
        if isinstance(node, lark.Tree):
            meta = node.meta
            line, col = (meta.line, meta.column) if not meta.empty else (1, 1)
        else:
            line, col = getattr(node, "line", 1) or 1, getattr(node, "column", 1) or 1
        self.fail(line, col, message)

    def tree(self) -> lark.Tree:
        try:
            return _lark().parse(self.text)
        except lark.exceptions.UnexpectedInput as e:
            at_end = isinstance(e, lark.exceptions.UnexpectedEOF) or (
                isinstance(e, lark.exceptions.UnexpectedToken) and e.token.type == "$END")
            if at_end or e.line is None or e.line < 1:  # point just past the last visible character
                line = max((i + 1 for i, ln in enumerate(self.lines) if ln.strip()), default=1)
                col = len(self.lines[line - 1].rstrip()) + 1 if self.lines else 1
                self.fail(line, col, self._syntax_message(e))
            self.fail(e.line, max(e.column, 1), self._syntax_message(e))

    def _syntax_message(self, e: lark.exceptions.UnexpectedInput) -> str:
        if isinstance(e, lark.exceptions.UnexpectedEOF):
            return "unexpected end of input"
        if isinstance(e, lark.exceptions.UnexpectedCharacters):
            return f"unexpected character {self.text[e.pos_in_stream]!r}"
        assert isinstance(e, lark.exceptions.UnexpectedToken)
        tok = e.token
        what = "end of input" if tok.type == "$END" else repr(str(tok))
        expected = sorted(_TERMINAL_NAMES.get(t, t) for t in e.expected)
        return f"unexpected {what}; expected {' or '.join(expected)}"

    # ------------------------------------------------------------------ module and funcs

    def read(self) -> Module:
        module = Module()
        for ftree in self.tree().children:
            func = self.func(ftree)
            if func.name in module.funcs:
                self.fail_at(ftree.children[0], f"func @{func.name} is defined twice")
            module.add(func)
        return module

    def func(self, tree: lark.Tree) -> Func:
        name_tok, args_tree, results_tree, *op_trees = tree.children
        name = str(name_tok)[1:]
        if name.startswith('"'):
            name = self.unquote(name_tok, name)
        self.defined = {}
        self.scopes = [{}]
        names, types = self.args(args_tree)
        func = Func(name, types, self.types(results_tree), [self.hint(n) for n in names])
        self.bind(names, func.args)
        for op_tree in op_trees:
            self.op(op_tree, func.body)
        return func

    def args(self, tree: lark.Tree | None) -> tuple[list[lark.Token], list[TensorType]]:
        if tree is None:
            return [], []
        names = [a.children[0] for a in tree.children]
        return names, [self.type(a.children[1]) for a in tree.children]

    def types(self, tree: lark.Tree | None) -> list[TensorType]:
        return [] if tree is None else [self.type(t) for t in tree.children]

    def type(self, tok: lark.Token) -> TensorType:
        t = _type_from_text(str(tok))
        if t is None:
            self.fail_at(tok, f"unknown element type in '{tok}'")
        return t

    # ------------------------------------------------------------------ values

    @staticmethod
    def hint(tok: lark.Token) -> str | None:
        """The name hint a parsed name sets: none for numbered values."""
        name = str(tok)[1:]
        return None if name.isdigit() else name

    def bind(self, toks: list[lark.Token], values: list[Value] | tuple[Value, ...]) -> None:
        for tok, v in zip(toks, values):
            if str(tok) in self.defined:
                line = self.defined[str(tok)]
                self.fail_at(tok, f"value {tok} is defined twice (first at line {line})")
            self.defined[str(tok)] = tok.line
            self.scopes[-1][str(tok)] = v

    def use(self, tok: lark.Token) -> Value:
        for scope in reversed(self.scopes):
            if str(tok) in scope:
                return scope[str(tok)]
        if str(tok) in self.defined:
            self.fail_at(tok, f"value {tok} is not visible here (defined at line {self.defined[str(tok)]} "
                              f"inside a region or later)")
        self.fail_at(tok, f"undefined value {tok}")

    # ------------------------------------------------------------------ ops

    def op(self, tree: lark.Tree, block: Block) -> Op:
        if tree.data == "return_op":
            ret_tok, operands_tree, loc_tree = tree.children
            return self.build(block, "return", ret_tok, [], operands_tree, None, None, [], loc_tree, tree)
        results_tree, name_tree, operands_tree, attrs_tree, regions_tree, types_tree, loc_tree = tree.children
        name_tok = name_tree.children[0]
        result_toks = [] if results_tree is None else list(results_tree.children)
        types = self.types(types_tree)
        if len(types) != len(result_toks):
            where = types_tree.children[0] if types_tree is not None else name_tok
            self.fail_at(where, f"op '{name_tok}' names {len(result_toks)} result(s) but gives "
                                f"{len(types)} result type(s)")
        return self.build(block, str(name_tok), name_tok, result_toks, operands_tree, attrs_tree, regions_tree,
                          types, loc_tree, tree)

    def build(self, block: Block, name: str, name_tok: lark.Token, result_toks: list[lark.Token],
              operands_tree: lark.Tree | None, attrs_tree: lark.Tree | None, regions_tree: lark.Tree | None,
              types: list[TensorType], loc_tree: lark.Tree | None, tree: lark.Tree) -> Op:
        """Creates the op; its location is its own loc(...) or where its text starts."""
        if not has_opdef(name):
            self.fail_at(name_tok, f"unknown op '{name}'")
        operands = [] if operands_tree is None else [self.use(t) for t in operands_tree.children]
        attrs = self.attr_dict(attrs_tree, name)
        regions = [] if regions_tree is None else [self.region(r) for r in regions_tree.children]
        loc = self.location(loc_tree) if loc_tree is not None else \
            Location(self.filename, tree.meta.line, tree.meta.column)
        if name == "return":
            types = []
        try:
            op = Builder(block).create(name, operands, attrs, result_types=types, regions=regions, loc=loc)
        except XlcError as e:
            self.fail_at(name_tok, str(e))
        except (TypeError, ValueError, KeyError) as e:  # a defaulting hook that choked on a value
            self.fail_at(name_tok, f"op '{name}': {e}")
        for tok, r in zip(result_toks, op.results):
            r.name_hint = self.hint(tok)
        self.bind(result_toks, op.results)
        return op

    def region(self, tree: lark.Tree) -> Block:
        label_tree, *op_trees = tree.children
        names: list[lark.Token] = []
        types: list[TensorType] = []
        if label_tree is not None:
            names, types = self.args(label_tree.children[1])
        block = Block(types, [self.hint(n) for n in names])
        self.scopes.append({})
        try:
            self.bind(names, block.args)
            for op_tree in op_trees:
                self.op(op_tree, block)
        finally:
            self.scopes.pop()
        return block

    def location(self, tree: lark.Tree) -> Location:
        file_tok, line_tok, col_tok = tree.children
        return Location(self.unquote(file_tok, str(file_tok)), int(line_tok), int(col_tok))

    # ------------------------------------------------------------------ attributes

    def attr_dict(self, tree: lark.Tree | None, op_name: str) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        if tree is None:
            return attrs
        for a in tree.children:
            if a is None:  # "{}"
                continue
            key_tok, value_tree = a.children
            if str(key_tok) in attrs:
                self.fail_at(key_tok, f"attribute '{key_tok}' of op '{op_name}' is given twice")
            attrs[str(key_tok)] = self.attr_value(value_tree)
        return attrs

    def unquote(self, tok: lark.Token, text: str) -> Any:
        try:
            return ast.literal_eval(text.lstrip("@"))
        except (SyntaxError, ValueError) as e:
            self.fail_at(tok, f"bad string literal: {e}")

    def attr_value(self, node: Any) -> Any:
        kind = node.data
        if kind == "list":
            return tuple(self.attr_value(c) for c in node.children if c is not None)
        if kind == "dense_value":
            return self.dense(node.children[0], node.children[1])
        tok = node.children[0]
        if kind == "int_value":
            return int(tok)
        if kind == "float_value":
            return float(tok)
        if kind in ("str_value", "bytes_value"):
            return self.unquote(tok, str(tok))
        if kind == "type_value":
            return self.type(tok)
        # ident_value: true/false, inf/nan, or a dtype's short name
        word = str(tok)
        if word in ("true", "false"):
            return word == "true"
        if word in ("inf", "nan"):
            return float(word)
        dtype = _dtype_by_short(word)
        if dtype is None:
            self.fail_at(tok, f"'{word}' is not an attribute value (true, false, inf, nan or a dtype like f32)")
        return dtype

    # ------------------------------------------------------------------ dense arrays

    def dense(self, body: Any, type_tok: lark.Token) -> np.ndarray:
        ttype = self.type(type_tok)
        if not ttype.is_static:
            self.fail_at(type_tok, f"a dense array needs a static type, got {ttype}")
        shape = tuple(int(d) for d in ttype.shape)  # type: ignore[arg-type]
        dtype = ttype.dtype
        if dtype.kind != "string" and body.data == "str_value":
            return self.dense_hex(body.children[0], ttype, shape)
        flat: list[Any] = []
        self.collect(body, shape, 0, flat, ttype)
        if dtype.kind == "string":
            out = np.empty(len(flat), dtype=object)
            out[:] = [self.element(n, dtype, ttype) for n in flat]
            return out.reshape(shape)
        values = [self.element(n, dtype, ttype) for n in flat]
        if dtype.is_floating:
            with np.errstate(over="ignore"):  # 1e300 in an f32 array reads as inf, as in C
                arr = np.array(values, dtype=np.float64).astype(dtype.np_dtype)
        else:
            arr = np.array(values, dtype=dtype.np_dtype)
        return arr.reshape(shape)

    def collect(self, node: Any, shape: tuple[int, ...], depth: int, flat: list[Any], ttype: TensorType) -> None:
        """Checks the nesting against ``shape`` and appends the leaves in row-major order."""
        if depth == len(shape):
            if node.data == "list":
                self.fail_at(node, f"dense array has more nesting than its type {ttype}")
            flat.append(node)
            return
        if node.data != "list":
            self.fail_at(node, f"dense array has less nesting than its type {ttype}")
        items = [c for c in node.children if c is not None]
        if len(items) != shape[depth]:
            self.fail_at(node, f"dense array has {len(items)} elements along dim {depth}, "
                                             f"its type {ttype} says {shape[depth]}")
        for c in items:
            self.collect(c, shape, depth + 1, flat, ttype)

    def element(self, node: Any, dtype: DType, ttype: TensorType) -> Any:
        tok = node.children[0]
        kind = node.data
        word = str(tok)
        if dtype.kind == "string":
            if kind not in ("str_value", "bytes_value"):
                self.fail_at(tok, f"element {word} of a {ttype} array is not a string")
            return self.unquote(tok, word)
        if dtype.is_bool:
            if kind != "ident_value" or word not in ("true", "false"):
                self.fail_at(tok, f"element {word} of a {ttype} array is not true/false")
            return word == "true"
        if dtype.is_integer:
            if kind != "int_value":
                self.fail_at(tok, f"element {word} of a {ttype} array is not an integer")
            v = int(word)
            info = np.iinfo(dtype.np_dtype)
            if not info.min <= v <= info.max:
                self.fail_at(tok, f"element {word} does not fit in {dtype.name} (array of type {ttype})")
            return v
        if kind in ("int_value", "float_value") or (kind == "ident_value" and word in ("inf", "nan")):
            return float(word)
        self.fail_at(tok, f"element {word} of a {ttype} array is not a number")

    def dense_hex(self, tok: lark.Token, ttype: TensorType, shape: tuple[int, ...]) -> np.ndarray:
        text = self.unquote(tok, str(tok))
        if not isinstance(text, str) or not text.startswith("0x"):
            self.fail_at(tok, "a dense string must be hex bytes \"0x...\"")
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            self.fail_at(tok, "bad hex digits in dense array")
        n = math.prod(shape)
        want = n * ttype.dtype.itemsize
        if len(raw) != want:
            self.fail_at(tok, f"dense array of type {ttype} needs {want} bytes, got {len(raw)}")
        arr = np.frombuffer(raw, dtype=ttype.dtype.np_dtype).copy()
        if sys.byteorder != "little":
            arr = arr.byteswap()
        if ttype.dtype.is_bool and raw.strip(b"\x00\x01"):
            if any(b > 1 for b in raw):
                self.fail_at(tok, f"bool array of type {ttype} holds bytes other than 0 and 1")
        return arr.reshape(shape)


def _dtype_by_short(word: str) -> DType | None:
    try:
        d = as_dtype(word)
    except TypeError:
        return None
    return d if d.short == word else None


__all__ = ["parse_module", "parse_func", "parse_type", "parse_attr"]
