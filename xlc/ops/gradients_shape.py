"""Gradient rules for shape, indexing and creation ops, and for the gradient helper ops.

Same conventions as :mod:`xlc.ops.gradients` (whose helpers these rules share).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ops.grad_api import GradContext, GradOp
from xlc.ops.gradients import (
    Grads,
    H,
    _set,
    broadcast_to_like,
    unbroadcast,
)

# --- shapes --------------------------------------------------------------------------------

def _zeros_for(g: GradContext, grads: Grads, outputs: Sequence[H]) -> list[H]:
    """Missing result gradients of a multi-result op as zeros (concat/stack need every piece)."""
    return [g.emit("zeros_like", o) if d is None else d for d, o in zip(grads, outputs)]


def reshape_back(g: GradContext, d: H, like: H) -> H:
    """``d`` reshaped to like's shape (static ``reshape`` when it can be)."""
    t = g.type(like)
    if g.type(d).shape == t.shape and t.is_static:
        return d
    return g.emit("reshape", d, shape=t.shape) if t.is_static else g.emit("reshape_like", d, like)


def _transpose_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    perm = [int(p) for p in op.attrs["perm"]]
    return [g.emit("transpose", out_grads[0], perm=tuple(int(i) for i in np.argsort(perm)))]


def _squeeze_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    x = op.inputs[0]
    t = g.type(x)
    axes = sorted(int(a) for a in op.attrs["axes"]) or [a for a, d in enumerate(t.shape) if d == 1]
    d = out_grads[0]
    for a in axes:  # ascending, so each axis lands where it was
        d = g.emit("expand_dims", d, axis=a)
    return [d]


def _concat_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    axis = int(op.attrs["axis"])
    sizes = [g.type(x).shape[axis] for x in op.inputs]
    if sum(s is None for s in sizes) > 1:
        raise ShapeError(f"the gradient of 'concat' needs the sizes along axis {axis} known statically "
                         f"(all but one), got {sizes}")
    if len(sizes) == 1:
        return [out_grads[0]]
    return g.emit_multi("split", out_grads[0], axis=axis, sizes=tuple(-1 if s is None else s for s in sizes))


def _split_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    pieces = _zeros_for(g, out_grads, op.outputs)
    return [pieces[0] if len(pieces) == 1 else g.emit("concat", *pieces, axis=int(op.attrs["axis"]))]


def _unstack_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    if not op.outputs:
        return [g.emit("zeros_like", op.inputs[0])]
    return [g.emit("stack", *_zeros_for(g, out_grads, op.outputs), axis=int(op.attrs["axis"]))]


def _stack_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    return g.emit_multi("unstack", out_grads[0], axis=int(op.attrs["axis"]), num=len(op.inputs))


def _slice_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    x = op.inputs[0]
    t = g.type(x)
    d = out_grads[0]
    begin = [int(b) for b in op.attrs["begin"]]
    sizes = g.type(op.outputs[0]).shape
    if t.is_static and all(s is not None for s in sizes):
        pads: list[int] = []
        for dim, b, s in zip(t.shape, begin, sizes):
            pads += [b, dim - b - s]  # type: ignore[operator]
        return [g.emit("pad", d, paddings=tuple(pads))]
    raw = [int(s) for s in op.attrs["size"]]
    end = tuple(0 if s == -1 else b + s for b, s in zip(begin, raw))
    end_mask = sum(1 << i for i, s in enumerate(raw) if s == -1)
    return [g.emit("strided_slice_grad", d, x, begin=tuple(begin), end=end, strides=(1,) * len(begin),
                   end_mask=end_mask)]


def _strided_slice_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    return [g.emit("strided_slice_grad", out_grads[0], op.inputs[0], **dict(op.attrs))]


def _strided_slice_grad_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    return [g.emit("strided_slice", out_grads[0], **dict(op.attrs)), None]


def _gather_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    params, indices = op.inputs
    return [g.emit("gather_grad", out_grads[0], indices, params, axis=int(op.attrs["axis"])), None]


def _gather_grad_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    _, indices, _ = op.inputs
    return [g.emit("gather", out_grads[0], indices, axis=int(op.attrs["axis"])), None, None]


def _tile_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    x = op.inputs[0]
    t = g.type(x)
    mult = [int(m) for m in op.attrs["multiples"]]
    if sum(d is None for d in t.shape) > 1:
        raise ShapeError(f"the gradient of 'tile' needs all dims but one of its input known statically, got "
                         f"{list(t.shape)}")
    # the result viewed as [m0, d0, m1, d1, ...]: sum over the m axes
    split: list[int] = []
    for m, dim in zip(mult, t.shape):
        split += [m, -1 if dim is None else dim]
    folded = g.emit("reshape", out_grads[0], shape=tuple(split))
    summed = g.emit("reduce_sum", folded, axes=tuple(range(0, 2 * len(mult), 2)))
    return [summed if g.type(summed).shape == t.shape else reshape_back(g, summed, x)]


def _pad_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    x = op.inputs[0]
    t = g.type(x)
    flat = [int(p) for p in op.attrs["paddings"]]
    mode = str(op.attrs["mode"]).upper()
    d = out_grads[0]
    if mode == "CONSTANT":
        end = tuple(-after for after in flat[1::2])
        end_mask = sum(1 << i for i, after in enumerate(flat[1::2]) if after == 0)
        return [g.emit("strided_slice", d, begin=tuple(flat[0::2]), end=end, strides=(1,) * t.rank,
                       end_mask=end_mask)]
    for axis in range(t.rank):
        d = _mirror_pad_axis_grad(g, d, axis, flat[2 * axis], flat[2 * axis + 1], t.shape[axis], mode)
    return [d]


def _mirror_pad_axis_grad(g: GradContext, d: H, axis: int, before: int, after: int, size: int | None,
                          mode: str) -> H:
    """Fold the mirrored margins of one axis back onto the elements they copy."""
    if before == 0 and after == 0:
        return d
    if size is None:
        raise ShapeError(f"the gradient of a {mode} pad needs dim {axis} known statically")
    rank = g.type(d).rank
    shift = 1 if mode == "REFLECT" else 0

    def part(begin: int, end: int, stride: int) -> H:
        b, e, s = [0] * rank, [0] * rank, [1] * rank
        b[axis], e[axis], s[axis] = begin, end, stride
        mask = ((1 << rank) - 1) & ~(1 << axis)
        return g.emit("strided_slice", d, begin=tuple(b), end=tuple(e), strides=tuple(s), begin_mask=mask,
                      end_mask=mask)

    def place(v: H, lo: int) -> H:
        """v (n long on axis) at offset lo of a size-long axis, zeros elsewhere."""
        n = g.type(v).shape[axis]
        pads = [0] * (2 * rank)
        pads[2 * axis], pads[2 * axis + 1] = lo, size - lo - n  # type: ignore[operator]
        return g.emit("pad", v, paddings=tuple(pads))

    out = part(before, before + size, 1)
    if before:  # margin j (0-based from the left edge) copies x[before - j - 1 + shift]
        out = g.emit("add", out, place(_reverse(g, part(0, before, 1), axis), shift))
    if after:  # margin j copies x[size - 1 - shift - j]
        tail = _reverse(g, part(before + size, before + size + after, 1), axis)
        out = g.emit("add", out, place(tail, size - shift - after))
    return out


def _reverse(g: GradContext, v: H, axis: int) -> H:
    rank = g.type(v).rank
    b, e, s = [0] * rank, [0] * rank, [1] * rank
    s[axis] = -1
    return g.emit("strided_slice", v, begin=tuple(b), end=tuple(e), strides=tuple(s),
                  begin_mask=(1 << rank) - 1, end_mask=(1 << rank) - 1)


def _broadcast_to_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    return [unbroadcast(g, out_grads[0], op.inputs[0])]


def _fill_grad(g: GradContext, op: GradOp, out_grads: Grads) -> Grads:
    d = out_grads[0]
    return [g.emit("reduce_sum", d, axes=tuple(range(g.type(d).rank)))]


_set("reshape", lambda g, op, d: [reshape_back(g, d[0], op.inputs[0])])
_set("transpose", _transpose_grad)
_set("expand_dims", lambda g, op, d: [g.emit("squeeze", d[0], axes=(int(op.attrs["axis"]),))])
_set("squeeze", _squeeze_grad)
_set("concat", _concat_grad)
_set("split", _split_grad)
_set("stack", _stack_grad)
_set("unstack", _unstack_grad)
_set("slice", _slice_grad)
_set("strided_slice", _strided_slice_grad)
_set("gather", _gather_grad)
_set("tile", _tile_grad)
_set("pad", _pad_grad)
_set("broadcast_to", _broadcast_to_grad)
_set("fill", _fill_grad)

# the helper ops of xlc.ops.grad_ops
_set("reshape_like", lambda g, op, d: [reshape_back(g, d[0], op.inputs[0]), None])
_set("broadcast_like", lambda g, op, d: [unbroadcast(g, d[0], op.inputs[0]), None])
_set("reduce_to_like", lambda g, op, d: [broadcast_to_like(g, d[0], op.inputs[0]), None])
_set("strided_slice_grad", _strided_slice_grad_grad)
_set("gather_grad", _gather_grad_grad)
