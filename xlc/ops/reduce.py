"""Reductions: reduce_sum/mean/max/min/prod/any/all over ``axes``, and argmax/argmin.

Semantics are TensorFlow's: an empty ``axes`` reduces nothing, the mean of integers
truncates toward zero, max/min of an empty set are the dtype's lowest/highest value,
argmax/argmin return the first index on ties.  16-bit floats accumulate in float32.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import Attr, OpDef, register
from xlc.ir.types import NUMERIC_DTYPES, TensorType, as_dtype, bool_, int32, int64
from xlc.ops.rules import check_dtype, input_shapes, normalize_axes, normalize_axis

Attrs = Mapping[str, Any]
Types = Sequence[TensorType]


def reduced_shape(shape: Sequence[int | None], axes: Sequence[int], keepdims: bool) -> tuple[int | None, ...]:
    """The shape after reducing the (normalised) ``axes``."""
    drop = set(axes)
    if keepdims:
        return tuple(1 if i in drop else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in drop)


def _axes(op: str, axes: Any, rank: int) -> tuple[int, ...]:
    # None is accepted as "every axis" for convenience; the frontend normally spells them out
    return normalize_axes(op, axes, rank)


def _widen(x: np.ndarray) -> np.ndarray:
    """16-bit floats are accumulated in float32 (as TF's CPU kernels do)."""
    narrow = as_dtype(x.dtype).is_floating and x.dtype.itemsize < 4
    return x.astype(np.float32) if narrow else x


def _is_float(x: np.ndarray) -> bool:
    return as_dtype(x.dtype).is_floating


def _sum(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    if _is_float(x):
        return np.sum(_widen(x), axis=axes, keepdims=keepdims)
    return np.sum(x, axis=axes, keepdims=keepdims, dtype=x.dtype)  # wraps in the dtype, as TF


def _prod(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    if _is_float(x):
        return np.prod(_widen(x), axis=axes, keepdims=keepdims)
    return np.prod(x, axis=axes, keepdims=keepdims, dtype=x.dtype)


def _mean(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    count = 1
    for a in axes:
        count *= x.shape[a]
    s = _sum(x, axes, keepdims)
    if _is_float(x):
        with np.errstate(all="ignore"):
            return s / s.dtype.type(count)
    if count == 0:
        return np.zeros_like(s)
    s64 = s.astype(np.int64)
    q = s64 // count
    q = q + ((s64 % count != 0) & (s64 < 0))  # floor -> truncation toward zero
    return q


def _extreme(fn: Callable[..., Any], use_max: bool) -> Callable[..., np.ndarray]:
    def reduce(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
        y = _widen(x) if _is_float(x) else x
        if _is_float(x):
            initial = -np.inf if use_max else np.inf
        else:
            info = np.iinfo(x.dtype)
            initial = info.min if use_max else info.max
        return fn(y, axis=axes, keepdims=keepdims, initial=initial)

    return reduce


def reduction(name: str, fn: Callable[[np.ndarray, tuple[int, ...], bool], np.ndarray],
              dtypes: Sequence[Any], doc: str = "") -> OpDef:
    """Register a reduction ``fn(x, axes, keepdims)``; the result keeps x's dtype."""
    def rule(types: Types, attrs: Attrs) -> list[TensorType]:
        t = types[0]
        check_dtype(name, t, dtypes)
        axes = _axes(name, attrs["axes"], t.rank)
        return [t.with_shape(reduced_shape(t.shape, axes, bool(attrs["keepdims"])))]

    def reference(x: np.ndarray, axes: Any, keepdims: bool = False) -> np.ndarray:
        out = fn(x, _axes(name, axes, x.ndim), bool(keepdims))
        return np.asarray(out).astype(x.dtype, copy=False)

    return register(OpDef(name, 1, rule, reference,
                          attrs={"axes": Attr("ints"), "keepdims": Attr("bool", False)}, doc=doc))


reduction("reduce_sum", _sum, NUMERIC_DTYPES)
reduction("reduce_mean", _mean, NUMERIC_DTYPES, doc="the mean of integers truncates toward zero, as TF")
reduction("reduce_max", _extreme(np.max, True), NUMERIC_DTYPES, doc="-inf / the lowest int for an empty set")
reduction("reduce_min", _extreme(np.min, False), NUMERIC_DTYPES, doc="+inf / the highest int for an empty set")
reduction("reduce_prod", _prod, NUMERIC_DTYPES)
reduction("reduce_any", lambda x, axes, keep: np.any(x, axis=axes, keepdims=keep), (bool_,))
reduction("reduce_all", lambda x, axes, keep: np.all(x, axis=axes, keepdims=keep), (bool_,))


def arg_reduction(name: str, fn: Callable[..., np.ndarray]) -> OpDef:
    """Register argmax/argmin: the index of the first extreme element along ``axis``."""
    def rule(types: Types, attrs: Attrs) -> list[TensorType]:
        t = types[0]
        check_dtype(name, t, NUMERIC_DTYPES)
        out = as_dtype(attrs["output_type"])
        if out not in (int32, int64):
            raise ShapeError(f"'{name}' output_type must be int32 or int64, got {out.name}")
        if t.rank == 0:
            raise ShapeError(f"'{name}' needs a tensor of rank >= 1{input_shapes(name, types)}")
        axis = normalize_axis(name, int(attrs["axis"]), t.rank)
        if t.shape[axis] == 0:
            raise ShapeError(f"Reduction axis {axis} is empty in shape {list(t.shape)}{input_shapes(name, types)}")
        return [TensorType(reduced_shape(t.shape, (axis,), False), out)]

    def reference(x: np.ndarray, axis: int, output_type: Any = int64) -> np.ndarray:
        t = TensorType(x.shape, as_dtype(x.dtype))
        (res,) = rule([t], {"axis": axis, "output_type": output_type})
        y = _widen(x) if _is_float(x) else x
        return fn(y, axis=normalize_axis(name, int(axis), x.ndim)).astype(res.dtype.np_dtype)

    return register(OpDef(name, 1, rule, reference,
                          attrs={"axis": Attr("int"), "output_type": Attr("dtype", int64)},
                          doc="index of the first extreme element along axis"))


arg_reduction("argmax", np.argmax)
arg_reduction("argmin", np.argmin)
