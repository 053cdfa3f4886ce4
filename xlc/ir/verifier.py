"""The IR verifier: the invariants every pass takes and leaves.

``verify_func`` checks, in program order:

* SSA: every Value is defined once (as a block argument or op result whose owner and
  index say so), and each operand is defined earlier in its block or in an enclosing
  one, within the same func;
* every op is in the registry; its attributes are exactly the OpDef's, each of the
  declared kind (ints are accepted where floats are expected);
* the op's result types equal what its type rule derives from its operand types;
* terminators (``return``) only end blocks; the func body ends with ``return`` whose
  operand types equal ``func.result_types``.

A failure raises :class:`~xlc.errors.VerificationError` whose message names the func,
says what is wrong, gives the op's location if it has one, and shows the op's printed
text with two lines of IR on each side.
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from xlc.errors import VerificationError, XlcError
from xlc.ir.core import Block, Func, Module, Op, Value
from xlc.ir.opdef import REQUIRED, TERMINATOR, OpDef, get_opdef, has_opdef
from xlc.ir.printer import FuncPrinter, ValueNamer, print_op
from xlc.ir.types import DType, TensorType

CONTEXT_LINES = 2


def verify_module(module: Module) -> None:
    """Verify every func; also that each func is filed under its own name."""
    for name, func in module.funcs.items():
        if func.name != name:
            raise VerificationError(f"module files func @{func.name} under the name @{name}")
        verify_func(func)


def verify_func(func: Func) -> None:
    """Raise VerificationError at the first broken invariant of ``func``."""
    _FuncVerifier(func).run()


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_float(x: Any) -> bool:
    return _is_int(x) or (isinstance(x, (float, np.floating)))


# attribute kind -> (check, what the kind means in a message)
_KIND_CHECKS: dict[str, tuple[Any, str]] = {
    "int": (_is_int, "an int"),
    "float": (_is_float, "a float"),
    "bool": (lambda x: isinstance(x, (bool, np.bool_)), "a bool"),
    "str": (lambda x: isinstance(x, str), "a string"),
    "dtype": (lambda x: isinstance(x, DType), "a dtype"),
    "ints": (lambda x: isinstance(x, tuple) and all(_is_int(e) for e in x), "a list of ints"),
    "floats": (lambda x: isinstance(x, tuple) and all(_is_float(e) for e in x), "a list of floats"),
    "shape": (lambda x: isinstance(x, tuple) and all(_is_int(e) and e >= -1 for e in x),
              "a shape (list of ints >= -1)"),
    "array": (lambda x: isinstance(x, np.ndarray), "a numpy array"),
    "any": (lambda x: True, "anything"),
}


def check_attr_kind(kind: str, value: Any) -> str | None:
    """None if ``value`` is of attribute ``kind``, else what the kind expects."""
    check, what = _KIND_CHECKS.get(kind, (None, ""))
    if check is None:
        return f"a value of the unknown attribute kind '{kind}'"
    return None if check(value) else what


class _FuncVerifier:
    def __init__(self, func: Func) -> None:
        self.func = func
        # every value defined anywhere in the func: tells "not yet visible" from "foreign"
        self.all_defined: set[Value] = set(func.args)
        for op in func.walk():
            self.all_defined.update(op.results)
            for r in op.regions:
                self.all_defined.update(r.args)
        self.seen: set[Value] = set()
        self._namer: ValueNamer | None = None

    # ------------------------------------------------------------------ reporting

    def fail(self, op: Op | None, message: str) -> NoReturn:
        header = f"verification failed in @{self.func.name}: {message}"
        if op is None:
            raise VerificationError(header)
        if op.loc is not None:
            header += f"\n  at {op.loc}"
        raise VerificationError(header + "\n" + self.context(op))

    def context(self, op: Op) -> str:
        """The op's text marked with '>', and CONTEXT_LINES lines of the func around it."""
        try:
            printer = FuncPrinter(self.namer())
            lines = printer.func(self.func)
            start = printer.op_lines[id(op)]
            end = start + len(print_op(op, namer=self.namer()).splitlines())
        except (XlcError, KeyError):  # the IR is too broken to print whole: show the op alone
            return "  > " + repr(op)
        lo, hi = max(0, start - CONTEXT_LINES), min(len(lines), end + CONTEXT_LINES)
        return "\n".join(("  > " if start <= i < end else "    ") + lines[i] for i in range(lo, hi))

    def namer(self) -> ValueNamer:
        if self._namer is None:
            self._namer = ValueNamer(self.func)
        return self._namer

    def name(self, v: Value) -> str:
        try:
            return self.namer().name(v)
        except Exception:  # naming must never hide the real error
            return repr(v)

    # ------------------------------------------------------------------ checks

    def run(self) -> None:
        body = self.func.body
        if body.parent is not self.func:
            self.fail(None, "the func's body does not point back to the func")
        self.block(body, [])
        ret = body.terminator
        if ret is None or ret.name != "return":
            self.fail(ret, "the func body must end with 'return'")
        got = tuple(v.type for v in ret.operands)
        if got != tuple(self.func.result_types):
            self.fail(ret, f"'return' gives ({', '.join(map(str, got))}) but the func's result types are "
                           f"({', '.join(map(str, self.func.result_types))})")

    def define(self, v: Value, op: Op | None, what: str) -> None:
        if v in self.seen:
            self.fail(op, f"{what} {self.name(v)} is defined more than once")
        self.seen.add(v)

    def block(self, block: Block, outer: list[set[Value]]) -> None:
        visible = set()
        scopes = outer + [visible]
        for i, arg in enumerate(block.args):
            if arg.owner is not block or arg.index != i:
                self.fail(block.parent if isinstance(block.parent, Op) else None,
                          f"block argument {self.name(arg)} does not belong to its block")
            self.define(arg, block.parent if isinstance(block.parent, Op) else None, "block argument")
            visible.add(arg)
        for pos, op in enumerate(block.ops):
            if op.parent is not block:
                self.fail(op, f"op '{op.name}' is listed in a block that is not its parent")
            self.operands(op, scopes)
            opdef = self.opdef(op)
            for region in op.regions:
                if region.parent is not op:
                    self.fail(op, f"a region of op '{op.name}' does not point back to it")
                self.block(region, scopes)
            for i, r in enumerate(op.results):
                if r.owner is not op or r.index != i:
                    self.fail(op, f"result #{i} of op '{op.name}' does not belong to it")
                self.define(r, op, "value")
                visible.add(r)
            if opdef.has(TERMINATOR) and pos != len(block.ops) - 1:
                self.fail(op, f"terminator '{op.name}' is not the last op of its block")
            self.attributes(op, opdef)
            self.result_types(op, opdef)

    def operands(self, op: Op, scopes: list[set[Value]]) -> None:
        for i, v in enumerate(op.operands):
            if not isinstance(v, Value):
                self.fail(op, f"operand #{i} of op '{op.name}' is not a Value: {v!r}")
            if any(v in s for s in scopes):
                continue
            if v in self.all_defined:
                self.fail(op, f"operand #{i} ({self.name(v)}) of op '{op.name}' is used before its definition "
                              f"or outside the region that defines it")
            self.fail(op, f"operand #{i} ({self.name(v)}) of op '{op.name}' is not defined in @{self.func.name}")

    def opdef(self, op: Op) -> OpDef:
        if not has_opdef(op.name):
            self.fail(op, f"unknown op '{op.name}'")
        return get_opdef(op.name)

    def attributes(self, op: Op, opdef: OpDef) -> None:
        unknown = sorted(set(op.attrs) - set(opdef.attrs))
        if unknown:
            self.fail(op, f"op '{op.name}' has no attribute {', '.join(repr(k) for k in unknown)} "
                          f"(its attributes: {', '.join(sorted(opdef.attrs)) or 'none'})")
        for key, spec in sorted(opdef.attrs.items()):
            if key not in op.attrs:
                default = "required" if spec.default is REQUIRED else "a default exists, but IR holds every attribute"
                self.fail(op, f"op '{op.name}' lacks attribute '{key}' ({default})")
            wanted = check_attr_kind(spec.kind, op.attrs[key])
            if wanted is not None:
                self.fail(op, f"attribute '{key}' of op '{op.name}' must be {wanted}, got {op.attrs[key]!r}")

    def result_types(self, op: Op, opdef: OpDef) -> None:
        for i, t in enumerate(op.result_types):
            if not isinstance(t, TensorType):
                self.fail(op, f"result #{i} of op '{op.name}' has no tensor type: {t!r}")
        try:
            expected = list(opdef.infer([v.type for v in op.operands], op.attrs))
        except XlcError as e:
            self.fail(op, f"op '{op.name}' rejects its operands: {e}")
        except (TypeError, ValueError, KeyError, IndexError) as e:
            self.fail(op, f"the type rule of op '{op.name}' failed on these operands and attributes: {e!r}")
        got = list(op.result_types)
        if len(got) != len(expected):
            self.fail(op, f"op '{op.name}' has {len(got)} result(s), its type rule gives {len(expected)}")
        for i, (g, e) in enumerate(zip(got, expected)):
            if g != e:
                self.fail(op, f"result #{i} of op '{op.name}' has type {g}, its type rule gives {e}")
