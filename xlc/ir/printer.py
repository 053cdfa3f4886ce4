"""The IR's text form, printing side.

The form is generic (a new op never touches this file)::

    func @f(%x: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
      %0, %1 = split(%x) {axis = 1, sizes = [2, 2]} : tensor<?x2xf32>, tensor<?x2xf32>
      return %0, %1
    }

Contracts:

* printing is deterministic and total over well-formed attribute values (int, float,
  bool, str, DType, TensorType, tuples of those, numpy arrays); anything else raises
  :class:`~xlc.errors.VerificationError` naming the op and the attribute;
* :mod:`xlc.ir.parser` reads every printed text back to IR that prints identically;
* a Value prints as ``%<name_hint>`` when its hint matches :data:`NAME_RE` and no other
  value of the func has the same hint, else as ``%<n>`` in program order (func arguments
  without a usable hint print as ``%arg<i>``);
* all attributes print, sorted by key; locations print only with ``locs=True``.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from typing import Any, Iterable, Iterator

import numpy as np

from xlc.errors import VerificationError
from xlc.ir.core import Block, Func, Location, Module, Op, Value
from xlc.ir.types import DType, TensorType, as_dtype

# A value or func name that prints as itself; the grammar's VALUE_ID accepts exactly these
# (plus plain numbers).  "/" and "-" are allowed so that TF scope names survive.
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*\Z")
FUNC_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")

# Arrays with more elements than this print as raw little-endian bytes in hex.
HEX_THRESHOLD = 16

INDENT = "  "


# --------------------------------------------------------------------------- names


class ValueNamer:
    """Assigns each Value of a func its printed name (without the ``%``).

    Names are computed up front for every value the func defines, in program order, so
    they do not depend on which op is printed first.  Values the func does not define
    (broken IR shown in a verifier message) get a name on first sight.
    """

    def __init__(self, func: Func | None = None) -> None:
        self._names: dict[Value, str] = {}
        self._taken: set[str] = set()
        self._next = 0
        if func is not None:
            self._name_func(func)

    def _name_func(self, func: Func) -> None:
        # dict.fromkeys: a value listed twice (broken IR in a verifier message) keeps one name
        defined = list(dict.fromkeys(_defined_values(func.body)))
        counts = Counter(v.name_hint for v in defined if _usable_hint(v.name_hint))
        usable = {h for h, n in counts.items() if n == 1}
        self._taken |= usable
        for i, arg in enumerate(func.args):
            if arg.name_hint in usable:
                self._names[arg] = arg.name_hint  # type: ignore[assignment]
            else:
                # an unhinted argument is %arg<i>; step aside if a hint already took that
                name = f"arg{i}"
                while name in self._taken:
                    name += "_"
                self._taken.add(name)
                self._names[arg] = name
        for v in defined[len(func.args):]:
            self._assign(v, usable)

    def _assign(self, v: Value, usable: set[str]) -> str:
        if v.name_hint in usable and v.name_hint is not None:
            name = v.name_hint
        else:
            name = str(self._next)
            self._next += 1
        self._names[v] = name
        return name

    def name(self, v: Value) -> str:
        """The printed name of ``v`` including the leading ``%``."""
        got = self._names.get(v)
        if got is None:
            hint = v.name_hint
            if _usable_hint(hint) and hint not in self._taken:
                got = hint  # type: ignore[assignment]
                self._taken.add(got)  # type: ignore[arg-type]
                self._names[v] = got  # type: ignore[assignment]
            else:
                got = self._assign(v, set())
        return "%" + got  # type: ignore[operator]


def _usable_hint(hint: str | None) -> bool:
    return bool(hint) and NAME_RE.match(hint) is not None  # type: ignore[arg-type]


def _defined_values(block: Block) -> Iterator[Value]:
    """Block arguments and op results in program order, regions included."""
    yield from block.args
    for op in block.ops:
        for r in op.regions:
            yield from _defined_values(r)
        yield from op.results


def _enclosing_func(op: Op) -> Func | None:
    node: Any = op.parent
    while node is not None and not isinstance(node, Func):
        node = node.parent
    return node


# --------------------------------------------------------------------------- attributes


def quote_string(s: str | bytes) -> str:
    """A double-quoted literal (``b"..."`` for bytes) with Python-compatible escapes."""
    if isinstance(s, bytes):
        body = "".join(_escape_byte(b) for b in s)
        return f'b"{body}"'
    return '"' + "".join(_escape_char(c) for c in s) + '"'


_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_char(c: str) -> str:
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c]
    if c.isprintable():
        return c
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _escape_byte(b: int) -> str:
    c = chr(b)
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c]
    if 0x20 <= b < 0x7F:
        return c
    return f"\\x{b:02x}"


def format_float(v: float) -> str:
    """A Python float as text that reads back to the same bits (sign of nan included)."""
    if math.isnan(v):
        return "-nan" if math.copysign(1.0, v) < 0 else "nan"
    s = repr(v)
    if not any(c in s for c in ".eni"):  # "3" would read back as an int
        s += ".0"
    return s


def _format_element(x: Any, dtype: DType) -> str:
    """One array element in the dense literal form (exactness checked by the caller)."""
    if dtype.is_bool:
        return "true" if x else "false"
    if dtype.is_integer:
        return str(int(x))
    if dtype.kind == "string":
        return quote_string(x if isinstance(x, (str, bytes)) else str(x))
    return _format_narrow_float(x, dtype)


def _format_narrow_float(x: Any, dtype: DType) -> str:
    """The shortest decimal that reads back (through float64) to the same value of ``dtype``."""
    v = float(x)
    if math.isnan(v) or math.isinf(v) or dtype.bits == 64:
        return format_float(v)
    target = np.asarray(x, dtype=dtype.np_dtype)
    with np.errstate(over="ignore"):  # a short candidate may round past the dtype's max
        for digits in range(1, 18):
            cand = float(f"{v:.{digits}g}")
            if np.asarray(cand).astype(dtype.np_dtype) == target:
                return format_float(cand)
    return format_float(v)  # float64 holds every narrower float exactly


def array_kind_is_string(a: np.ndarray) -> bool:
    return a.dtype.kind in "OSU"


def format_dense(a: np.ndarray) -> str:
    """``dense<...> : tensor<...>``: nested literals, or hex bytes for big numeric arrays."""
    dtype = as_dtype(a.dtype)
    ttype = TensorType(a.shape, dtype)
    if dtype.kind != "string" and a.size > HEX_THRESHOLD:
        return f'dense<"0x{_hex_bytes(a, dtype)}"> : {ttype}'
    body = _nested(a, dtype)
    if dtype.kind != "string" and not _literal_is_exact(a, dtype):
        # nan payloads and the like: the bytes are the only exact form
        return f'dense<"0x{_hex_bytes(a, dtype)}"> : {ttype}'
    return f"dense<{body}> : {ttype}"


def _nested(a: np.ndarray, dtype: DType, index: tuple[int, ...] = ()) -> str:
    # full index tuples: slicing an object array down to a 0-d array yields the element itself
    if len(index) == a.ndim:
        return _format_element(a[index], dtype)
    dim = a.shape[len(index)]
    return "[" + ", ".join(_nested(a, dtype, index + (i,)) for i in range(dim)) + "]"


def _hex_bytes(a: np.ndarray, dtype: DType) -> str:
    arr = np.ascontiguousarray(a, dtype=dtype.np_dtype)
    if sys.byteorder != "little":  # the text form is little-endian everywhere
        arr = arr.byteswap()
    return arr.tobytes().hex().upper()


def _literal_is_exact(a: np.ndarray, dtype: DType) -> bool:
    """Whether reading the printed elements back gives the same bytes."""
    flat = np.ascontiguousarray(a, dtype=dtype.np_dtype).reshape(-1)
    if not dtype.is_floating:
        return True
    back = np.array([float(_format_element(x, dtype)) for x in flat], dtype=np.float64)
    with np.errstate(over="ignore"):
        return back.astype(dtype.np_dtype).tobytes() == flat.tobytes()


def print_attr(value: Any) -> str:
    """The text of one attribute value; raises VerificationError for unprintable values."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return format_float(float(value))
    if isinstance(value, (str, bytes)):
        return quote_string(value)
    if isinstance(value, DType):
        return value.short
    if isinstance(value, TensorType):
        return str(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(print_attr(x) for x in value) + "]"
    if isinstance(value, np.ndarray):
        return format_dense(value)
    raise VerificationError(f"the text form cannot print an attribute value of type {type(value).__name__}: "
                            f"{value!r}")


def print_attr_dict(attrs: dict[str, Any], op_name: str = "?") -> str:
    """``{a = 1, b = [2, 3]}`` sorted by key; empty string for no attributes."""
    if not attrs:
        return ""
    parts = []
    for key in sorted(attrs):
        try:
            text = print_attr(attrs[key])
        except VerificationError as e:
            raise VerificationError(f"attribute '{key}' of op '{op_name}': {e}") from None
        parts.append(f"{key} = {text}")
    return "{" + ", ".join(parts) + "}"


def format_location(loc: Location) -> str:
    return f"loc({quote_string(loc.file)}:{loc.line}:{loc.col})"


def format_func_name(name: str) -> str:
    return "@" + (name if FUNC_NAME_RE.match(name) else quote_string(name))


# --------------------------------------------------------------------------- ops and funcs


class FuncPrinter:
    """Prints one func; records the line index each op starts on (for diagnostics)."""

    def __init__(self, namer: ValueNamer, locs: bool = False) -> None:
        self.namer = namer
        self.locs = locs
        self.lines: list[str] = []
        self.op_lines: dict[int, int] = {}  # id(op) -> index into self.lines

    def func(self, func: Func) -> list[str]:
        args = ", ".join(f"{self.namer.name(a)}: {a.type}" for a in func.args)
        results = ", ".join(str(t) for t in func.result_types)
        self.lines.append(f"func {format_func_name(func.name)}({args}) -> ({results}) {{")
        self.block_ops(func.body, 1)
        self.lines.append("}")
        return self.lines

    def block_ops(self, block: Block, depth: int) -> None:
        for op in block.ops:
            self.op(op, depth)

    def op(self, op: Op, depth: int) -> None:
        """Appends the op's lines; the first line holds everything before a region."""
        pad = INDENT * depth
        self.op_lines[id(op)] = len(self.lines)
        head = self.op_head(op)
        if not op.regions:
            self.lines.append(pad + head + self.op_tail(op))
            return
        self.lines.append(pad + head + " ({")
        for i, region in enumerate(op.regions):
            if i:
                self.lines.append(pad + "}, {")
            self.lines.append(pad + self.block_label(region))
            self.block_ops(region, depth + 1)
        self.lines.append(pad + "})" + self.op_tail(op))

    def block_label(self, block: Block) -> str:
        if not block.args:
            return "^bb0:"
        args = ", ".join(f"{self.namer.name(a)}: {a.type}" for a in block.args)
        return f"^bb0({args}):"

    def op_head(self, op: Op) -> str:
        operands = ", ".join(self.namer.name(v) for v in op.operands)
        if op.name == "return" and not op.results and not op.attrs and not op.regions:
            return "return" + (" " + operands if operands else "")
        head = f"{op.name}({operands})"
        if op.results:
            head = ", ".join(self.namer.name(r) for r in op.results) + " = " + head
        attrs = print_attr_dict(op.attrs, op.name)
        return head + (" " + attrs if attrs else "")

    def op_tail(self, op: Op) -> str:
        tail = ""
        if op.results:
            tail = " : " + ", ".join(str(r.type) for r in op.results)
        if self.locs and op.loc is not None:
            tail += " " + format_location(op.loc)
        return tail


def print_func(func: Func, locs: bool = False) -> str:
    """The text of one func (no trailing newline)."""
    return "\n".join(FuncPrinter(ValueNamer(func), locs).func(func))


def print_module(module: Module, locs: bool = False) -> str:
    """The text of every func in order, separated by blank lines, ending in a newline."""
    funcs = [print_func(f, locs) for f in module]
    return "\n\n".join(funcs) + "\n" if funcs else ""


def print_op(op: Op, locs: bool = False, namer: ValueNamer | None = None) -> str:
    """The text of one op (with its regions), named as in its enclosing func."""
    if namer is None:
        namer = ValueNamer(_enclosing_func(op))
    p = FuncPrinter(namer, locs)
    p.op(op, 0)
    return "\n".join(p.lines)


def print_type_list(types: Iterable[TensorType]) -> str:
    return ", ".join(str(t) for t in types)
