"""Gradient rules for the core ops (elementwise, reductions, matmul; shapes in gradients_shape.py).

Each rule follows :mod:`xlc.ops.grad_api`: ``rule(g, op, out_grads) -> operand grads``, written
against the abstract :class:`GradContext`, so one rule serves the IR autodiff pass and
``xlc.gradients``.  Rules only emit ops that have rules themselves, so gradients of
gradients work.  Drivers pass None for operands that are not floats, whatever a rule says.

Choices worth knowing:

* broadcasting: an operand's gradient is summed over the axes it was broadcast along
  (statically when the types decide it, else with ``reduce_to_like``);
* ``reduce_max``/``reduce_min`` split the gradient equally among tied extremes (TF's rule);
* ``reduce_prod`` uses ``g * prod / x``: inputs holding zeros give nan there;
* ``floor``, ``ceil``, ``round``, ``floordiv`` have no gradient (None, as TF); ``sign`` has zeros;
* ``maximum``/``minimum``/``clip_by_value``: ties send the gradient to x (TF's masks);
* ``pad`` in REFLECT/SYMMETRIC mode and ``tile`` need static dims (one unknown dim for tile).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from xlc.ir.opdef import get_opdef
from xlc.ir.types import TensorType, int64
# importing the definitions first guarantees the OpDefs exist
from xlc.ops import creation, elementwise, grad_ops, indexing, linalg  # noqa: F401
from xlc.ops import random, reduce, shape, structural  # noqa: F401
from xlc.ops.grad_api import GradContext, GradOp, no_gradient

H = Any  # an opaque handle (IR Value or frontend Tensor)
Grads = list[Any]

NOT_DIFFERENTIABLE = frozenset({
    "constant", "return", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "is_nan", "is_finite", "reduce_any", "reduce_all",
    "argmax", "argmin", "shape", "size", "rank", "one_hot", "range", "lin_space", "random_uniform",
    "random_normal", "truncated_normal", "random_shuffle", "zeros_like", "ones_like", "stop_gradient",
})
"""Ops through which no gradient flows (TF's NotDifferentiable): their rule is ``no_gradient``."""


# --- helpers -----------------------------------------------------------------------------

def _c(g: GradContext, value: float, like: H) -> H:
    """A scalar constant of like's dtype (it broadcasts in elementwise ops)."""
    return g.constant(value, g.type(like).dtype)


def _zero_where_false(g: GradContext, cond: H, x: H) -> H:
    return g.emit("select", cond, x, _c(g, 0.0, x))


def _static_sum_axes(gshape: Sequence[int | None], target: TensorType,
                     others: Sequence[TensorType] | None) -> tuple[int, ...] | None:
    """Axes of the gradient to sum so it fits ``target``, or None if only run time can tell.

    ``others`` are the types of the operands target was broadcast against (elementwise ops):
    an unknown dim of the target is not broadcast when no other operand can be larger along
    that axis.  None: the result's shape came from elsewhere (broadcast_to), so any unknown
    target dim may have been broadcast.
    """
    shift = len(gshape) - target.rank
    axes = list(range(shift))
    for a, td in enumerate(target.shape):
        gd = gshape[a + shift]
        if td == 1:
            if gd != 1:
                axes.append(a + shift)
        elif td is None and gd != 1:
            if others is None:
                return None
            for o in others:
                k = a + shift - (len(gshape) - o.rank)
                if k >= 0 and o.shape[k] != 1:
                    return None
    return tuple(axes)


def unbroadcast(g: GradContext, grad: H, target: H, others: Sequence[TensorType] | None = None) -> H:
    """``grad`` (of a broadcast result's shape) summed down to ``target``'s shape.

    ``others``: the types of the op's other operands, for elementwise ops (see _static_sum_axes).
    """
    gt, tt = g.type(grad), g.type(target)
    axes = _static_sum_axes(gt.shape, tt, others)
    if axes is None:
        return g.emit("reduce_to_like", grad, target)
    if not axes:
        return grad
    summed = g.emit("reduce_sum", grad, axes=axes, keepdims=True)
    shift = gt.rank - tt.rank
    if shift == 0:
        return summed
    if tt.is_static:
        return g.emit("reshape", summed, shape=tt.shape)
    return g.emit("squeeze", summed, axes=tuple(range(shift)))


def _binary(fn: Callable[[GradContext, GradOp, H], tuple[H | None, H | None]]) -> Callable[..., Grads]:
    """A rule for a broadcasting binary op from its unreduced operand gradients."""
    def rule(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
        x, y = op.inputs
        gx, gy = fn(g, op, out_grads[0])
        tx, ty = g.type(x), g.type(y)
        return [None if gx is None else unbroadcast(g, gx, x, [ty]),
                None if gy is None else unbroadcast(g, gy, y, [tx])]
    return rule


def _unary(fn: Callable[[GradContext, H, H, H], H]) -> Callable[..., Grads]:
    """A rule ``fn(g, x, y, dy) -> dx`` for a unary op y = f(x)."""
    def rule(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
        return [fn(g, op.inputs[0], op.outputs[0], out_grads[0])]
    return rule


def _set(names: str | Sequence[str], rule: Callable[..., Grads]) -> None:
    for name in [names] if isinstance(names, str) else names:
        get_opdef(name).grad = rule


# --- elementwise -------------------------------------------------------------------------

def _mul(g: GradContext, a: H, b: H) -> H:
    return g.emit("mul", a, b)


def _div(g: GradContext, a: H, b: H) -> H:
    return g.emit("div", a, b)


_UNARY: dict[str, Callable[[GradContext, H, H, H], H]] = {
    "neg": lambda g, x, y, d: g.emit("neg", d),
    "abs": lambda g, x, y, d: _mul(g, d, g.emit("sign", x)),
    "sign": lambda g, x, y, d: g.emit("zeros_like", x),
    "exp": lambda g, x, y, d: _mul(g, d, y),
    "log": lambda g, x, y, d: _div(g, d, x),
    "log1p": lambda g, x, y, d: _div(g, d, g.emit("add", x, _c(g, 1.0, x))),
    "expm1": lambda g, x, y, d: _mul(g, d, g.emit("add", y, _c(g, 1.0, y))),
    "sqrt": lambda g, x, y, d: _div(g, _mul(g, d, _c(g, 0.5, d)), y),
    "rsqrt": lambda g, x, y, d: _mul(g, _mul(g, d, _c(g, -0.5, d)), _mul(g, y, g.emit("square", y))),
    "square": lambda g, x, y, d: _mul(g, d, _mul(g, x, _c(g, 2.0, x))),
    "reciprocal": lambda g, x, y, d: g.emit("neg", _mul(g, d, g.emit("square", y))),
    "sin": lambda g, x, y, d: _mul(g, d, g.emit("cos", x)),
    "cos": lambda g, x, y, d: g.emit("neg", _mul(g, d, g.emit("sin", x))),
    "tan": lambda g, x, y, d: _mul(g, d, g.emit("add", g.emit("square", y), _c(g, 1.0, y))),
    "tanh": lambda g, x, y, d: _mul(g, d, g.emit("sub", _c(g, 1.0, y), g.emit("square", y))),
    "sigmoid": lambda g, x, y, d: _mul(g, d, _mul(g, y, g.emit("sub", _c(g, 1.0, y), y))),
    "relu": lambda g, x, y, d: _zero_where_false(g, g.emit("greater", x, _c(g, 0.0, x)), d),
    "identity": lambda g, x, y, d: d,
}
for _name, _fn in _UNARY.items():
    _set(_name, _unary(_fn))
_set(("floor", "ceil", "round", "floordiv"), no_gradient)
_set(NOT_DIFFERENTIABLE, no_gradient)

_set("add", _binary(lambda g, op, d: (d, d)))
_set("sub", _binary(lambda g, op, d: (d, g.emit("neg", d))))
_set("mul", _binary(lambda g, op, d: (_mul(g, d, op.inputs[1]), _mul(g, d, op.inputs[0]))))


def _div_grads(g: GradContext, op: GradOp, d: H) -> tuple[H, H]:
    x, y = op.inputs
    gx = _div(g, d, y)
    return gx, g.emit("neg", _mul(g, gx, _div(g, x, y)))


def _mod_grads(g: GradContext, op: GradOp, d: H) -> tuple[H, H]:
    x, y = op.inputs  # x mod y = x - floor(x / y) * y
    return d, g.emit("neg", _mul(g, d, g.emit("floordiv", x, y)))


def _pow_grads(g: GradContext, op: GradOp, d: H) -> tuple[H, H]:
    x, y = op.inputs
    z = op.outputs[0]
    gx = _mul(g, d, _mul(g, y, g.emit("pow", x, g.emit("sub", y, _c(g, 1.0, y)))))
    # d/dy x^y = x^y log x, taken as 0 where x <= 0 (TF's convention; the real power is undefined there)
    positive = g.emit("greater", x, _c(g, 0.0, x))
    safe_x = g.emit("select", positive, x, _c(g, 1.0, x))
    gy = _mul(g, d, _mul(g, z, _zero_where_false(g, positive, g.emit("log", safe_x))))
    return gx, gy


def _extreme_grads(pick_x: str) -> Callable[[GradContext, GradOp, H], tuple[H, H]]:
    def fn(g: GradContext, op: GradOp, d: H) -> tuple[H, H]:
        x, y = op.inputs
        mask = g.emit(pick_x, x, y)
        return _zero_where_false(g, mask, d), g.emit("select", mask, _c(g, 0.0, d), d)
    return fn


def _squared_difference_grads(g: GradContext, op: GradOp, d: H) -> tuple[H, H]:
    x, y = op.inputs
    gx = _mul(g, _mul(g, d, _c(g, 2.0, d)), g.emit("sub", x, y))
    return gx, g.emit("neg", gx)


_set("div", _binary(_div_grads))
_set("mod", _binary(_mod_grads))
_set("pow", _binary(_pow_grads))
_set("maximum", _binary(_extreme_grads("greater_equal")))
_set("minimum", _binary(_extreme_grads("less_equal")))
_set("squared_difference", _binary(_squared_difference_grads))


def _select_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    c, x, y = op.inputs
    d = out_grads[0]
    gx = _zero_where_false(g, c, d)
    gy = g.emit("select", c, _c(g, 0.0, d), d)
    tc, tx, ty = g.type(c), g.type(x), g.type(y)
    return [None, unbroadcast(g, gx, x, [tc, ty]), unbroadcast(g, gy, y, [tc, tx])]


def _clip_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    x, lo, hi = op.inputs
    d = out_grads[0]
    # y = min(max(x, lo), hi), differentiated as written (so lo > hi is right too)
    below = g.emit("less", x, lo)
    above = g.emit("greater", g.emit("maximum", x, lo), hi)
    not_above = g.emit("logical_not", above)
    inside = g.emit("logical_and", not_above, g.emit("logical_not", below))
    tx, tlo, thi = g.type(x), g.type(lo), g.type(hi)
    return [unbroadcast(g, _zero_where_false(g, inside, d), x, [tlo, thi]),
            unbroadcast(g, _zero_where_false(g, g.emit("logical_and", not_above, below), d), lo, [tx, thi]),
            unbroadcast(g, _zero_where_false(g, above, d), hi, [tx, tlo])]


def _cast_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    src = g.type(op.inputs[0]).dtype
    if not (src.is_floating and g.type(op.outputs[0]).dtype.is_floating):
        return [None]
    return [g.emit("cast", out_grads[0], dtype=src)]


_set("select", _select_grad)
_set("clip_by_value", _clip_grad)
_set("cast", _cast_grad)


# --- reductions --------------------------------------------------------------------------

def _keepdims_grad(g: GradContext, op: GradOp, d: H) -> H:
    """The result gradient with the reduced axes put back as size-1 dims."""
    if op.attrs.get("keepdims"):
        return d
    for a in sorted(int(a) for a in op.attrs["axes"]):
        d = g.emit("expand_dims", d, axis=a)
    return d


def broadcast_to_like(g: GradContext, d: H, like: H) -> H:
    """``d`` broadcast to like's shape: ``broadcast_to`` when the shape is static."""
    t = g.type(like)
    if g.type(d).shape == t.shape:
        return d
    if t.is_static:
        return g.emit("broadcast_to", d, shape=t.shape)
    return g.emit("broadcast_like", d, like)


def _count(g: GradContext, op: GradOp) -> H:
    """How many elements each result element of a reduction summarises, as x's dtype."""
    x = op.inputs[0]
    t = g.type(x)
    dims = [t.shape[int(a)] for a in op.attrs["axes"]]
    if all(dim is not None for dim in dims):
        return _c(g, float(np.prod(dims, dtype=np.int64)), x)
    out_size = g.emit("maximum", g.emit("size", op.outputs[0], out_type=int64), g.constant(1, int64))  # empty x
    ratio = g.emit("floordiv", g.emit("size", x, out_type=int64), out_size)
    return g.emit("cast", ratio, dtype=t.dtype)


def _sum_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    return [broadcast_to_like(g, _keepdims_grad(g, op, out_grads[0]), op.inputs[0])]


def _mean_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    d = _div(g, out_grads[0], _count(g, op))
    return [broadcast_to_like(g, _keepdims_grad(g, op, d), op.inputs[0])]


def _extreme_reduce_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    x = op.inputs[0]  # the kept-dims forms broadcast against x in equal, div and mul
    hits = g.emit("cast", g.emit("equal", x, _keepdims_grad(g, op, op.outputs[0])), dtype=g.type(x).dtype)
    ties = g.emit("reduce_sum", hits, axes=op.attrs["axes"], keepdims=True)
    return [_mul(g, hits, _div(g, _keepdims_grad(g, op, out_grads[0]), ties))]


def _prod_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    x = op.inputs[0]
    d = _mul(g, out_grads[0], op.outputs[0])
    return [broadcast_to_like(g, _div(g, _keepdims_grad(g, op, d), x), x)]


_set("reduce_sum", _sum_grad)
_set("reduce_mean", _mean_grad)
_set(("reduce_max", "reduce_min"), _extreme_reduce_grad)
_set("reduce_prod", _prod_grad)


# --- matmul -------------------------------------------------------------------------------

def _matmul_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    a, b = op.inputs
    d = out_grads[0]
    ta, tb = bool(op.attrs.get("transpose_a")), bool(op.attrs.get("transpose_b"))

    def mm(p: H, q: H, tp: bool, tq: bool) -> H:
        return g.emit("matmul", p, q, transpose_a=tp, transpose_b=tq)

    if not ta and not tb:
        ga, gb = mm(d, b, False, True), mm(a, d, True, False)
    elif not ta and tb:
        ga, gb = mm(d, b, False, False), mm(d, a, True, False)
    elif ta and not tb:
        ga, gb = mm(b, d, False, True), mm(a, d, False, False)
    else:
        ga, gb = mm(b, d, True, True), mm(d, a, True, True)
    # batch dims broadcast like elementwise operands: sum the gradient over them
    return [_unbroadcast_batch(g, ga, a, b), _unbroadcast_batch(g, gb, b, a)]


def _unbroadcast_batch(g: GradContext, grad: H, target: H, other: H) -> H:
    """Sum a matmul operand's gradient over the batch dims it was broadcast along."""
    if g.type(target).rank == 2 and g.type(grad).rank == 2:
        return grad
    t = g.type(other)  # its matrix dims never broadcast against target's: stand in 1s for them
    return unbroadcast(g, grad, target, [t.with_shape(t.shape[:-2] + (1, 1))])


_set("matmul", _matmul_grad)
