"""Ops that gradient rules need and users rarely write: shape-following helpers, scatters.

Most take a ``like`` operand whose *run-time* shape they follow, so that a gradient can be
written once for static and unknown (``?``) dims alike:

* ``zeros_like(x)``, ``ones_like(x)``: x's type, filled with 0 / 1;
* ``stop_gradient(x)``: x unchanged; its gradient rule gives None (tf.stop_gradient);
* ``reshape_like(x, like)``: x's elements in row-major order, in like's shape;
* ``broadcast_like(x, like)``: x broadcast (numpy rules) to like's shape;
* ``reduce_to_like(x, like)``: x summed over the axes along which ``like`` was broadcast to
  x's shape (x's extra leading axes, and axes where like has size 1), in like's shape;
* ``gather_grad(g, indices, like) {axis}``: zeros of like's shape with ``g`` scatter-added
  at ``indices`` along ``axis`` (the gradient of ``gather``; repeated indices accumulate);
* ``strided_slice_grad(g, like) {strided_slice attrs}``: zeros of like's shape with ``g``
  written where ``strided_slice(like, attrs)`` reads.

Every result has x's (or g's) dtype and like's shape; ``like``'s values are never read.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import ELEMENTWISE, Attr, OpDef, register
from xlc.ir.types import ALL_DTYPES, TensorType, as_dtype, string
from xlc.ops.indexing import INDEX_DTYPES, check_gather_indices, strided_slice_plan
from xlc.ops.rules import check_dtype, fmt_shape, input_shapes, known_product, normalize_axis

Attrs = Mapping[str, Any]
Types = Sequence[TensorType]
_NOT_STRING = tuple(d for d in ALL_DTYPES if d is not string)
SS_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _same_type(name: str) -> Any:
    def rule(types: Types, attrs: Attrs) -> list[TensorType]:
        check_dtype(name, types[0], _NOT_STRING)
        return [types[0]]

    return rule


register(OpDef("zeros_like", 1, _same_type("zeros_like"), np.zeros_like, traits=frozenset({ELEMENTWISE}),
               doc="zeros of x's type (x's values are not read)"))
register(OpDef("ones_like", 1, _same_type("ones_like"), np.ones_like, traits=frozenset({ELEMENTWISE}),
               doc="ones of x's type (x's values are not read)"))
register(OpDef("stop_gradient", 1, _same_type("stop_gradient"), lambda x: x, traits=frozenset({ELEMENTWISE}),
               doc="x unchanged; no gradient flows through it"))


# --- reshape_like -----------------------------------------------------------------------

def _reshape_like_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    x, like = types
    n, m = known_product(x.shape), known_product(like.shape)
    if n is not None and m is not None and n != m:
        raise ShapeError(f"Cannot reshape a tensor with {n} elements to shape {fmt_shape(like.shape)} "
                         f"({m} elements){input_shapes('reshape_like', types)}")
    return [like.with_dtype(x.dtype)]


def _reshape_like_ref(x: np.ndarray, like: np.ndarray) -> np.ndarray:
    _reshape_like_rule([_type_of(x), _type_of(like)], {})
    return np.asarray(x.reshape(like.shape), order="C")


def _type_of(x: np.ndarray) -> TensorType:
    return TensorType(x.shape, as_dtype(x.dtype))


register(OpDef("reshape_like", 2, _reshape_like_rule, _reshape_like_ref,
               doc="x's elements in row-major order, in like's (run-time) shape"))


# --- broadcast_like / reduce_to_like ----------------------------------------------------

def _check_broadcastable(op: str, small: TensorType, big: TensorType, types: Types) -> None:
    """``small`` must broadcast to ``big``: no more dims, each equal or 1 (unknown dims pass)."""
    bad = small.rank > big.rank
    for s, b in zip(reversed(small.shape), reversed(big.shape)):
        bad = bad or (s is not None and b is not None and s != 1 and s != b)
    if bad:
        raise ShapeError(f"Incompatible shapes: {fmt_shape(small.shape)} does not broadcast to "
                         f"{fmt_shape(big.shape)}{input_shapes(op, types)}")


def _broadcast_like_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    x, like = types
    _check_broadcastable("broadcast_like", x, like, types)
    return [like.with_dtype(x.dtype)]


def _broadcast_like_ref(x: np.ndarray, like: np.ndarray) -> np.ndarray:
    _broadcast_like_rule([_type_of(x), _type_of(like)], {})
    return np.asarray(np.broadcast_to(x, like.shape), order="C")


register(OpDef("broadcast_like", 2, _broadcast_like_rule, _broadcast_like_ref,
               doc="x broadcast (numpy rules) to like's run-time shape"))


def reduce_to_axes(x_shape: Sequence[int], like_shape: Sequence[int]) -> tuple[int, ...]:
    """The axes of x that ``reduce_to_like`` sums over, for concrete shapes."""
    shift = len(x_shape) - len(like_shape)
    return tuple(range(shift)) + tuple(a + shift for a, d in enumerate(like_shape)
                                       if d == 1 and x_shape[a + shift] != 1)


def _reduce_to_like_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    x, like = types
    _check_broadcastable("reduce_to_like", like, x, types)
    return [like.with_dtype(x.dtype)]


def _reduce_to_like_ref(x: np.ndarray, like: np.ndarray) -> np.ndarray:
    _reduce_to_like_rule([_type_of(x), _type_of(like)], {})
    axes = reduce_to_axes(x.shape, like.shape)
    wide = x.astype(np.float32) if x.dtype.kind == "f" and x.dtype.itemsize < 4 else x
    out = np.sum(wide, axis=axes, dtype=wide.dtype) if axes else x
    return np.asarray(out, order="C").reshape(like.shape).astype(x.dtype, copy=False)


register(OpDef("reduce_to_like", 2, _reduce_to_like_rule, _reduce_to_like_ref,
               doc="x summed over the axes along which like broadcasts to x, in like's shape"))


# --- gather_grad ------------------------------------------------------------------------

def _gather_grad_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    g, indices, like = types
    check_dtype("gather_grad", indices, INDEX_DTYPES, "indices")
    if like.rank == 0:
        raise ShapeError(f"Shape must be at least rank 1 but is rank 0{input_shapes('gather_grad', types)}")
    axis = normalize_axis("gather_grad", int(attrs["axis"]), like.rank)
    expect = like.shape[:axis] + indices.shape + like.shape[axis + 1:]
    ok = g.rank == len(expect) and all(a is None or b is None or a == b for a, b in zip(g.shape, expect))
    if not ok:
        raise ShapeError(f"'gather_grad' needs a gradient of shape {fmt_shape(expect)}, got "
                         f"{fmt_shape(g.shape)}{input_shapes('gather_grad', types)}")
    return [like.with_dtype(g.dtype)]


def _gather_grad_ref(g: np.ndarray, indices: np.ndarray, like: np.ndarray, axis: int = 0) -> np.ndarray:
    axis = normalize_axis("gather_grad", int(axis), like.ndim)
    check_gather_indices(indices, like.shape[axis])
    acc = np.float32 if g.dtype.kind == "f" and g.dtype.itemsize < 4 else g.dtype
    out = np.zeros(like.shape, acc)
    flat = indices.reshape(-1).astype(np.int64)
    values = g.reshape(like.shape[:axis] + (flat.size,) + like.shape[axis + 1:])
    np.add.at(out, (slice(None),) * axis + (flat,), values)
    return out.astype(g.dtype, copy=False)


register(OpDef("gather_grad", 3, _gather_grad_rule, _gather_grad_ref, attrs={"axis": Attr("int", 0)},
               doc="zeros of like's shape with g scatter-added at indices along axis (gather's gradient)"))


# --- strided_slice_grad -----------------------------------------------------------------

def ss_plan_of(shape: Sequence[int | None], attrs: Attrs, types: Types = ()) -> Any:
    """The strided_slice plan of ``attrs`` (strided_slice's attributes) over ``shape``."""
    masks = {k: int(attrs.get(k, 0)) for k in SS_MASKS}
    return strided_slice_plan(shape, attrs["begin"], attrs["end"], attrs["strides"], types=types, **masks)


def _ss_grad_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    g, like = types
    plan = ss_plan_of(like.shape, attrs, types)
    expect = plan.final_shape
    ok = g.rank == len(expect) and all(a is None or b is None or a == b for a, b in zip(g.shape, expect))
    if not ok:
        raise ShapeError(f"'strided_slice_grad' needs a gradient of shape {fmt_shape(expect)}, got "
                         f"{fmt_shape(g.shape)}{input_shapes('strided_slice_grad', types)}")
    return [like.with_dtype(g.dtype)]


def _ss_grad_ref(g: np.ndarray, like: np.ndarray, **attrs: Any) -> np.ndarray:
    _ss_grad_rule([_type_of(g), _type_of(like)], attrs)
    plan = ss_plan_of(like.shape, attrs)
    out = np.zeros(like.shape, g.dtype)
    index = []
    for b, e, s, size in zip(plan.begin, plan.end, plan.strides, plan.processing_shape):
        index.append(slice(0, 0) if size == 0 else slice(b, None if e < 0 else e, s))
    out[tuple(index)] = g.reshape(plan.processing_shape)
    return out


register(OpDef("strided_slice_grad", 2, _ss_grad_rule, _ss_grad_ref,
               attrs={"begin": Attr("ints"), "end": Attr("ints"), "strides": Attr("ints"),
                      **{k: Attr("int", 0) for k in SS_MASKS}},
               doc="zeros of like's shape with g written where strided_slice(like, attrs) reads"))
