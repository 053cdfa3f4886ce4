"""Algebraic simplification: identities that are exact in IEEE arithmetic.

Every rule keeps the result's type (shape *and* dtype): a rewrite to a value of another
type is refused, so ``x + zeros(shape bigger than x)`` stays (it broadcasts) and
``select(true, x, y)`` only becomes ``x`` when ``x`` already has the result's shape.

Rules (``c`` a constant whose every element is the given value):

* ``x + (-0.0)``, ``(-0.0) + x``, ``x - (+0.0)``; on integers ``x + 0``, ``0 + x``, ``x - 0``;
* ``x * 1``, ``1 * x``, ``x / 1``, ``pow(x, 1)``;
* ``neg(neg x)``, ``logical_not(logical_not x)``; idempotent ``f(f x) -> f x`` for abs,
  relu, sign, floor, ceil, round;
* ``identity(x)``, ``cast(x)`` to x's dtype, ``reshape``/``broadcast_to``/``tile``/``pad``/
  ``slice`` that keep the type and move no element, ``reshape(reshape x)``,
  ``transpose(transpose x)`` (perms composed), identity-perm ``transpose``,
  ``squeeze(expand_dims x)`` on the same axis;
* ``select`` with an all-true or all-false constant condition, ``select(c, x, x)``;
* ``maximum(x, x)``, ``minimum(x, x)``, ``logical_and(x, x)``, ``logical_or(x, x)``,
  ``logical_and(x, true)``, ``logical_or(x, false)``.

Signed zeros: ``x + 0.0`` is *not* ``x`` in IEEE arithmetic (``-0.0 + 0.0 == +0.0``), so by
default only ``x + (-0.0)`` (the exact additive identity) and ``x - 0.0`` are removed on
floats.  The option ``signed-zeros=false`` also removes ``x + 0.0`` and ``x - (-0.0)``, as
XLA does; that can only flip the sign of a zero result.  ``x * 0`` is never ``0``
(``nan * 0`` and ``inf * 0`` are nan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.core import Func, Module, Op, Value
from xlc.ir.opdef import get_opdef
from xlc.ir.types import TensorType
from xlc.passes.manager import register_pass
from xlc.passes.rewrite import Rewriter, const_value, map_funcs, rewrite_func


@dataclass
class Context:
    """What a rule sees besides the op: the rewriter and the pass options."""

    rw: Rewriter
    signed_zeros: bool = True

    def make(self, name: str, operands: list[Value], attrs: dict[str, Any], want: TensorType) -> Value | None:
        """Build a single-result op only if its inferred type is ``want``; else None, building nothing."""
        try:
            opdef = get_opdef(name)
            full = opdef.complete_attrs(attrs)
            types = opdef.infer([v.type for v in operands], full)
        except ShapeError:
            return None
        if types != [want]:
            return None
        return self.rw.create(name, operands, full, types).result


Rule = Callable[[Op, list[Value], Context], "Value | None"]
RULES: dict[str, list[Rule]] = {}


def rule(*names: str) -> Callable[[Rule], Rule]:
    """Register a rule for the ops ``names``; rules run in registration order, first match wins."""

    def deco(fn: Rule) -> Rule:
        for n in names:
            RULES.setdefault(n, []).append(fn)
        return fn

    return deco


# -- predicates on constants -------------------------------------------------------------


def _all(v: Value, pred: Callable[[np.ndarray], np.ndarray]) -> bool:
    c = const_value(v)
    if c is None or c.dtype == object:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(pred(c)))


def is_ones(v: Value) -> bool:
    return _all(v, lambda c: c == 1)


def is_zeros(v: Value, sign: str) -> bool:
    """All zeros; for floats ``sign`` picks "+" (+0.0), "-" (-0.0) or "any"."""
    if not v.dtype.is_floating or sign == "any":
        return _all(v, lambda c: c == 0)
    negative = sign == "-"
    return _all(v, lambda c: (c == 0) & (np.signbit(c) == negative))


def is_bool(v: Value, value: bool) -> bool:
    return v.dtype.is_bool and _all(v, lambda c: c == value)


def _producer(v: Value, name: str) -> Op | None:
    op = v.defining_op
    return op if op is not None and op.name == name else None


# -- rules --------------------------------------------------------------------------------


@rule("add")
def _add_zero(op: Op, x: list[Value], ctx: Context) -> Value | None:
    sign = "-" if ctx.signed_zeros else "any"  # x + (-0.0) is exact; x + (+0.0) turns -0.0 into +0.0
    if is_zeros(x[1], sign):
        return x[0]
    if is_zeros(x[0], sign):
        return x[1]
    return None


@rule("sub")
def _sub_zero(op: Op, x: list[Value], ctx: Context) -> Value | None:
    return x[0] if is_zeros(x[1], "+" if ctx.signed_zeros else "any") else None


@rule("mul")
def _mul_one(op: Op, x: list[Value], ctx: Context) -> Value | None:
    if is_ones(x[1]):
        return x[0]
    if is_ones(x[0]):
        return x[1]
    return None


@rule("div", "pow")
def _by_one(op: Op, x: list[Value], ctx: Context) -> Value | None:
    return x[0] if is_ones(x[1]) else None


@rule("neg", "logical_not")
def _involution(op: Op, x: list[Value], ctx: Context) -> Value | None:
    inner = _producer(x[0], op.name)
    return inner.operands[0] if inner is not None else None


@rule("abs", "relu", "sign", "floor", "ceil", "round")
def _idempotent(op: Op, x: list[Value], ctx: Context) -> Value | None:
    return x[0] if _producer(x[0], op.name) is not None else None


@rule("identity")
def _identity(op: Op, x: list[Value], ctx: Context) -> Value | None:
    return x[0]


@rule("cast", "reshape", "broadcast_to", "tile")
def _same_type_no_op(op: Op, x: list[Value], ctx: Context) -> Value | None:
    # A cast to the same dtype, a reshape to the same shape (at most one dim may be
    # unknown, so equal types mean equal run-time shapes), a broadcast or tile that
    # adds nothing: the type rule guarantees the values are x's own.
    if op.name == "tile" and not all(m == 1 for m in op.attrs.get("multiples", ())):
        return None
    return x[0] if x[0].type == op.result.type else None


@rule("pad")
def _pad_nothing(op: Op, x: list[Value], ctx: Context) -> Value | None:
    if all(p == 0 for p in op.attrs.get("paddings", (1,))) and x[0].type == op.result.type:
        return x[0]
    return None


@rule("slice")
def _slice_everything(op: Op, x: list[Value], ctx: Context) -> Value | None:
    begin, size = op.attrs.get("begin", ()), op.attrs.get("size", ())
    if len(begin) != x[0].type.rank or any(b != 0 for b in begin):
        return None
    # An unknown dim is only covered by size -1 ("to the end").
    if all(s == -1 or (d is not None and s == d) for s, d in zip(size, x[0].shape)):
        return x[0] if x[0].type == op.result.type else None
    return None


@rule("reshape")
def _reshape_reshape(op: Op, x: list[Value], ctx: Context) -> Value | None:
    inner = _producer(x[0], "reshape")
    if inner is None:
        return None
    return ctx.make("reshape", [inner.operands[0]], dict(op.attrs), op.result.type)


@rule("transpose")
def _transpose(op: Op, x: list[Value], ctx: Context) -> Value | None:
    perm = tuple(op.attrs["perm"])
    src = x[0]
    inner = _producer(src, "transpose")
    if inner is not None:
        # y = transpose(src, p1) has dim i = src dim p1[i]; transpose(y, p2) has dim i = src dim p1[p2[i]].
        p1 = tuple(inner.attrs["perm"])
        perm = tuple(p1[i] for i in perm)
        src = inner.operands[0]
    if perm == tuple(range(len(perm))):
        return src if src.type == op.result.type else None
    if inner is None:
        return None
    return ctx.make("transpose", [src], {**op.attrs, "perm": perm}, op.result.type)


@rule("squeeze")
def _squeeze_expand(op: Op, x: list[Value], ctx: Context) -> Value | None:
    inner = _producer(x[0], "expand_dims")
    if inner is None or tuple(op.attrs.get("axes", ())) != (inner.attrs.get("axis"),):
        return None
    src = inner.operands[0]
    return src if src.type == op.result.type else None


@rule("select")
def _select(op: Op, x: list[Value], ctx: Context) -> Value | None:
    cond, a, b = x
    pick = a if is_bool(cond, True) else b if is_bool(cond, False) else a if a is b else None
    return pick if pick is not None and pick.type == op.result.type else None


@rule("maximum", "minimum", "logical_and", "logical_or")
def _same_operands(op: Op, x: list[Value], ctx: Context) -> Value | None:
    return x[0] if x[0] is x[1] else None


@rule("logical_and", "logical_or")
def _bool_identity(op: Op, x: list[Value], ctx: Context) -> Value | None:
    unit = op.name == "logical_and"  # x and true == x; x or false == x
    for keep, other in ((x[0], x[1]), (x[1], x[0])):
        if is_bool(other, unit) and keep.type == op.result.type:
            return keep
    return None


# -- the pass -----------------------------------------------------------------------------


def simplify_func(func: Func, *, signed_zeros: bool = True) -> Func:
    """``func`` with the rules of this module applied, in one forward walk."""

    def visit(op: Op, operands: list[Value], rw: Rewriter) -> list[Value] | None:
        if len(op.results) != 1:
            return None
        ctx = Context(rw, signed_zeros)
        for fn in RULES.get(op.name, ()):
            out = fn(op, operands, ctx)
            if out is not None and out.type == op.result.type:
                return [out]
        return None

    return rewrite_func(func, visit)


def simplify(module: Module, *, signed_zeros: bool = True) -> Module:
    """The ``simplify`` pass (see the module docstring)."""
    return map_funcs(module, lambda f: simplify_func(f, signed_zeros=signed_zeros))


register_pass("simplify", simplify, "exact algebraic identities (x*1, neg(neg x), transpose of transpose, ...)")
