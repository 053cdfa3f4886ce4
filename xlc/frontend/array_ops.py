"""TF1's array functions (``tf.reshape``, ``tf.concat``, ``tf.gather``, ``tf.range``, ...) and ``Tensor[...]``.

Every shape-like argument (target shapes, axes, paddings, slice bounds) becomes a static
IR attribute: Python ints and lists, numpy arrays, and tensors whose value is known
while the graph is built (``tf.shape(y)`` for a ``y`` of static shape) are accepted;
a value known only at run time is a ValueError naming the argument.

Importing this module installs ``Tensor.__getitem__`` (Python indexing lowered to
``strided_slice`` with TensorFlow's masks).
"""

from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from xlc.errors import ShapeError, UnimplementedError
from xlc.ir import types as dtypes
from xlc.ir.types import DType, as_dtype
from xlc.frontend.graph import Tensor
from xlc.frontend.op_builder import apply_op, convert_to_tensor, to_numpy
from xlc.frontend.tensor_util import (
    constant_value,
    known_rank,
    normalize_axes,
    normalize_axis,
    pick,
    rank_of,
    static_int,
    static_ints,
    static_scalar,
    static_shape,
    static_value,
)

__all__ = [
    "reshape", "transpose", "expand_dims", "squeeze", "concat", "stack", "pack", "unstack", "unpack",
    "split", "slice", "strided_slice", "gather", "tile", "pad", "one_hot", "broadcast_to", "shape", "size",
    "rank", "identity", "zeros", "ones", "fill", "zeros_like", "ones_like", "range", "lin_space", "linspace",
    "newaxis",
]

newaxis = None


def _apply1(op_type: str, ir_op: str, inputs: Sequence[Tensor], attrs: dict[str, Any] | None = None,
            name: str | None = None) -> Tensor:
    return apply_op(op_type, ir_op, list(inputs), attrs, name=name).outputs[0]


def _convert_list(values: Any, what: str) -> list[Tensor]:
    """A list of values as tensors of one dtype: the first tensor's (numbers follow it)."""
    if isinstance(values, Tensor) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{what} expects a list of tensors, got {type(values).__name__}")
    if not values:
        raise ShapeError(f"{what} needs at least one tensor")
    anchor = next((v for v in values if isinstance(v, Tensor)), None)
    first = convert_to_tensor(anchor if anchor is not None else values[0])
    return [convert_to_tensor(v, dtype=first.dtype) for v in values]


# --- reshaping ---------------------------------------------------------------------

def reshape(tensor: Any, shape: Any, name: str | None = None) -> Tensor:
    """``tensor`` with a new static ``shape`` (one dim may be -1: inferred from the size)."""
    x = convert_to_tensor(tensor)
    dims = static_ints(shape, "reshape: shape")
    if np.ndim(static_value(shape, "reshape: shape")) == 0:
        raise ShapeError(f"reshape: shape must be a list of dims, got {dims[0]}")
    if sum(d == -1 for d in dims) > 1:
        raise ShapeError(f"reshape: shape {list(dims)} has more than one -1")
    if any(d < -1 for d in dims):
        raise ShapeError(f"reshape: shape {list(dims)} has a negative dim")
    return _apply1("Reshape", "reshape", [x], {"shape": dims}, name=name)


def transpose(a: Any, perm: Any = None, name: str = "transpose", conjugate: bool = False) -> Tensor:
    """Permute dims: result dim i is input dim perm[i]; the default reverses all dims."""
    x = convert_to_tensor(a)
    r = known_rank(x, "transpose")
    if perm is None:
        p = tuple(builtins.range(r - 1, -1, -1))
    else:
        p = tuple(normalize_axis(v, r, "transpose: perm entry") for v in static_ints(perm, "transpose: perm"))
        if sorted(p) != list(builtins.range(r)):
            raise ShapeError(f"transpose: perm {list(p)} is not a permutation of the {r} dims of '{x.name}'")
    return _apply1("Transpose", "transpose", [x], {"perm": p}, name=name)


def expand_dims(input: Any, axis: Any = None, name: str | None = None, dim: Any = None) -> Tensor:  # noqa: A002
    """Insert a dim of size 1 at ``axis`` (in [-rank-1, rank]); ``dim`` is the old name."""
    x = convert_to_tensor(input)
    axis = pick("expand_dims", None, axis=axis, dim=dim)
    if axis is None:
        raise ShapeError("expand_dims needs an axis")
    a = normalize_axis(axis, rank_of(x), "expand_dims: axis", extra=1)
    return _apply1("ExpandDims", "expand_dims", [x], {"axis": a}, name=name)


def squeeze(input: Any, axis: Any = None, name: str | None = None, squeeze_dims: Any = None) -> Tensor:  # noqa: A002
    """Remove size-1 dims: those in ``axis``, or every one (``squeeze_dims`` is the old name)."""
    x = convert_to_tensor(input)
    axis = pick("squeeze", None, axis=axis, squeeze_dims=squeeze_dims)
    axes = () if axis is None else normalize_axes(axis, rank_of(x), "squeeze: axis")
    dims = static_shape(x)
    for a in axes:
        if dims is not None and dims[a] is not None and dims[a] != 1:
            raise ShapeError(f"Can not squeeze dim[{a}], expected a dimension of 1, got {dims[a]} "
                             f"for '{x.name}' with shape {x.shape}")
    return _apply1("Squeeze", "squeeze", [x], {"axes": axes}, name=name)


def broadcast_to(input: Any, shape: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """``input`` broadcast (numpy rules) to a static ``shape``."""
    x = convert_to_tensor(input)
    return _apply1("BroadcastTo", "broadcast_to", [x], {"shape": static_ints(shape, "broadcast_to: shape")},
                   name=name)


def tile(input: Any, multiples: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """``input`` repeated ``multiples[i]`` times along dim i."""
    x = convert_to_tensor(input)
    m = static_ints(multiples, "tile: multiples")
    r = rank_of(x)
    if r is not None and len(m) != r:
        raise ShapeError(f"tile: multiples {list(m)} must have one entry per dim of '{x.name}' (rank {r})")
    return _apply1("Tile", "tile", [x], {"multiples": m}, name=name)


# --- joining and splitting ---------------------------------------------------------

def concat(values: Any, axis: Any, name: str = "concat") -> Tensor:
    """Join tensors along an existing ``axis``."""
    tensors = _convert_list(values, "concat")
    if len(tensors) == 1:
        return identity(tensors[0], name=name)
    r = next((rank_of(t) for t in tensors if rank_of(t) is not None), None)
    a = normalize_axis(axis, r, "concat: axis")
    return _apply1("ConcatV2", "concat", tensors, {"axis": a}, name=name)


def stack(values: Any, axis: Any = 0, name: str = "stack") -> Tensor:
    """Join tensors of one shape along a new ``axis`` (in [-rank-1, rank])."""
    tensors = _convert_list(values, "stack")
    r = next((rank_of(t) for t in tensors if rank_of(t) is not None), None)
    a = normalize_axis(axis, r, "stack: axis", extra=1)
    return _apply1("Pack", "stack", tensors, {"axis": a}, name=name)


def unstack(value: Any, num: Any = None, axis: Any = 0, name: str = "unstack") -> list[Tensor]:
    """Split along ``axis`` into a list of ``num`` tensors without that dim (num inferred if static)."""
    x = convert_to_tensor(value)
    r = known_rank(x, "unstack")
    a = normalize_axis(axis, r, "unstack: axis")
    dim = static_shape(x)[a]  # type: ignore[index]
    if num is None:
        if dim is None:
            raise ShapeError(f"Cannot infer num from shape {x.shape} of '{x.name}': give unstack a num")
        num = dim
    n = static_int(num, "unstack: num")
    if dim is not None and dim != n:
        raise ShapeError(f"unstack: num {n} does not match dim {a} of '{x.name}' (shape {x.shape})")
    return list(apply_op("Unpack", "unstack", [x], {"axis": a, "num": n}, name=name).outputs)


def split(value: Any, num_or_size_splits: Any, axis: Any = 0, num: Any = None, name: str = "split") -> list[Tensor]:
    """Split along ``axis`` into equal parts (an int) or parts of the given sizes (one may be -1)."""
    x = convert_to_tensor(value)
    r = known_rank(x, "split")
    a = normalize_axis(axis, r, "split: axis")
    dim = static_shape(x)[a]  # type: ignore[index]
    spec = static_value(num_or_size_splits, "split: num_or_size_splits")
    if spec.ndim == 0:
        n = int(spec)
        if n <= 0:
            raise ShapeError(f"split: the number of splits must be positive, got {n}")
        if dim is None:
            raise ShapeError(f"split: dim {a} of '{x.name}' is unknown, so it cannot be split into {n} parts")
        if dim % n:
            raise ShapeError(f"split: dim {a} of '{x.name}' has size {dim}, not divisible by {n}")
        sizes, op_type = (dim // n,) * n, "Split"
    else:
        sizes = static_ints(spec, "split: num_or_size_splits")
        op_type = "SplitV"
        if sum(s == -1 for s in sizes) > 1 or any(s < -1 for s in sizes):
            raise ShapeError(f"split: sizes {list(sizes)} may hold at most one -1 and no other negative")
        if -1 in sizes:
            if dim is None:
                raise ShapeError(f"split: sizes {list(sizes)} hold -1 but dim {a} of '{x.name}' is unknown")
            rest = dim - (sum(sizes) + 1)
            if rest < 0:
                raise ShapeError(f"split: sizes {list(sizes)} exceed dim {a} of '{x.name}' ({dim})")
            sizes = tuple(rest if s == -1 else s for s in sizes)
        if dim is not None and sum(sizes) != dim:
            raise ShapeError(f"split: sizes {list(sizes)} do not add up to dim {a} of '{x.name}' ({dim})")
    return list(apply_op(op_type, "split", [x], {"axis": a, "sizes": sizes}, name=name).outputs)


# --- slicing and gathering ---------------------------------------------------------

def slice(input_: Any, begin: Any, size: Any, name: str | None = None) -> Tensor:  # noqa: A001
    """The block starting at ``begin`` of extent ``size`` (-1: to the end of that dim)."""
    x = convert_to_tensor(input_)
    b = static_ints(begin, "slice: begin")
    s = static_ints(size, "slice: size")
    r = rank_of(x)
    if len(b) != len(s) or (r is not None and len(b) != r):
        raise ShapeError(f"slice: begin {list(b)} and size {list(s)} need one entry per dim of '{x.name}' "
                         f"(shape {x.shape})")
    return _apply1("Slice", "slice", [x], {"begin": b, "size": s}, name=name)


def strided_slice(input_: Any, begin: Any, end: Any, strides: Any = None, begin_mask: int = 0, end_mask: int = 0,
                  ellipsis_mask: int = 0, new_axis_mask: int = 0, shrink_axis_mask: int = 0, var: Any = None,
                  name: str | None = None) -> Tensor:
    """TensorFlow's strided slice; ``x[...]`` builds one of these."""
    x = convert_to_tensor(input_)
    b = static_ints(begin, "strided_slice: begin")
    e = static_ints(end, "strided_slice: end")
    s = static_ints(strides, "strided_slice: strides") if strides is not None else (1,) * len(b)
    if not len(b) == len(e) == len(s):
        raise ShapeError(f"strided_slice: begin {list(b)}, end {list(e)} and strides {list(s)} differ in length")
    if 0 in s:
        raise ShapeError("strided_slice: strides must be non-zero")
    attrs = {"begin": b, "end": e, "strides": s, "begin_mask": int(begin_mask), "end_mask": int(end_mask),
             "ellipsis_mask": int(ellipsis_mask), "new_axis_mask": int(new_axis_mask),
             "shrink_axis_mask": int(shrink_axis_mask)}
    return _apply1("StridedSlice", "strided_slice", [x], attrs, name=name)


def gather(params: Any, indices: Any, validate_indices: Any = None, name: str | None = None, axis: Any = None,
           batch_dims: int = 0) -> Tensor:
    """Slices of ``params`` along ``axis`` (default 0) at ``indices`` (int32/int64)."""
    if batch_dims:
        raise UnimplementedError(None, None, "gather with batch_dims != 0 is not supported by xlc yet")
    p = convert_to_tensor(params)
    i = convert_to_tensor(indices)
    if i.dtype not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"gather: indices '{i.name}' must be int32 or int64, got {i.dtype.name}")
    a = normalize_axis(0 if axis is None else axis, rank_of(p), "gather: axis")
    return _apply1("GatherV2", "gather", [p, i], {"axis": a}, name=name)


def _index_value(value: Any) -> int:
    """One Python index (int, numpy int, or int scalar tensor known now) as an int."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"bool {value!r} is not a valid index")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, Tensor):
        if value.dtype not in (dtypes.int32, dtypes.int64) or value.shape.ndims != 0:
            raise TypeError(f"only scalar int32/int64 tensors are valid indices, got '{value.name}' "
                            f"(shape {value.shape}, dtype {value.dtype.name})")
        known = constant_value(value)
        if known is None:
            raise ShapeError(f"index tensor '{value.name}' is known only at run time; xlc needs indices "
                             "known while the graph is built (use tf.gather for run-time indices)")
        return int(known)
    raise TypeError(
        "Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar tf.int32/tf.int64 "
        f"tensors are valid indices, got {value!r}"
    )


def _getitem(tensor: Tensor, slice_spec: Any) -> Tensor:
    """``tensor[slice_spec]`` as one strided_slice with TensorFlow's masks."""
    spec = slice_spec if isinstance(slice_spec, tuple) else (slice_spec,)
    begin: list[int] = []
    end: list[int] = []
    strides: list[int] = []
    masks = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}
    for i, s in enumerate(spec):
        bit = 1 << i
        if isinstance(s, builtins.slice):
            step = 1 if s.step is None else _index_value(s.step)
            if step == 0:
                raise ShapeError("slice step cannot be zero")
            if s.start is None:
                masks["begin_mask"] |= bit
            if s.stop is None:
                masks["end_mask"] |= bit
            begin.append(0 if s.start is None else _index_value(s.start))
            end.append(0 if s.stop is None else _index_value(s.stop))
            strides.append(step)
        elif s is Ellipsis:
            if masks["ellipsis_mask"]:
                raise ShapeError("an index can only have a single ellipsis ('...')")
            masks["ellipsis_mask"] |= bit
            begin.append(0), end.append(0), strides.append(1)
        elif s is None:
            masks["new_axis_mask"] |= bit
            begin.append(0), end.append(0), strides.append(1)
        else:
            idx = _index_value(s)
            masks["shrink_axis_mask"] |= bit
            begin.append(idx), end.append(idx + 1), strides.append(1)
    return strided_slice(tensor, begin, end, strides, name="strided_slice", **masks)


# --- padding and one-hot -----------------------------------------------------------

_PAD_MODES = {"CONSTANT": "Pad", "REFLECT": "MirrorPad", "SYMMETRIC": "MirrorPad"}


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", name: str | None = None,
        constant_values: Any = 0) -> Tensor:
    """Pad dim i with ``paddings[i] = [before, after]`` elements (constant, reflected or symmetric)."""
    x = convert_to_tensor(tensor)
    m = str(mode).upper()
    if m not in _PAD_MODES:
        raise ShapeError(f"pad: unknown mode {mode!r} (CONSTANT, REFLECT or SYMMETRIC)")
    p = static_value(paddings, "pad: paddings")
    r = rank_of(x)
    if p.ndim != 2 or p.shape[1] != 2 or (r is not None and p.shape[0] != r):
        raise ShapeError(f"pad: paddings must have shape [{r if r is not None else 'rank'}, 2] for '{x.name}' "
                         f"(shape {x.shape}), got {p.tolist()}")
    flat = static_ints(p.reshape(-1), "pad: paddings")
    if any(v < 0 for v in flat):
        raise ShapeError(f"pad: paddings must be non-negative, got {p.tolist()}")
    value = static_scalar(constant_values, "pad: constant_values")
    op_type = "PadV2" if m == "CONSTANT" and value != 0 else _PAD_MODES[m]
    return _apply1(op_type, "pad", [x], {"paddings": flat, "mode": m, "constant_value": float(value)}, name=name)


def _value_dtype(value: Any) -> DType:
    return value.dtype if isinstance(value, Tensor) else as_dtype(to_numpy(value).dtype)


def one_hot(indices: Any, depth: Any, on_value: Any = None, off_value: Any = None, axis: Any = None,
            dtype: Any = None, name: str | None = None) -> Tensor:
    """A one-hot tensor: a new dim of size ``depth`` at ``axis`` (default last) holding on/off values.

    The dtype is ``dtype``, else that of ``on_value`` or ``off_value``, else float32.
    """
    idx = convert_to_tensor(indices)
    if not idx.dtype.is_integer:
        raise TypeError(f"one_hot: indices '{idx.name}' must be integers, got {idx.dtype.name}")
    given = [v for v in (on_value, off_value) if v is not None]
    dt = as_dtype(dtype) if dtype is not None else (_value_dtype(given[0]) if given else dtypes.float32)
    for v in given:
        if _value_dtype(v) is not dt and (isinstance(v, Tensor) or dtype is None):
            raise TypeError(f"one_hot: dtype {_value_dtype(v).name} of on_value/off_value does not match {dt.name}")
    on = 1.0 if on_value is None else float(static_scalar(on_value, "one_hot: on_value"))
    off = 0.0 if off_value is None else float(static_scalar(off_value, "one_hot: off_value"))
    a = normalize_axis(-1 if axis is None else axis, rank_of(idx), "one_hot: axis", extra=1)
    attrs = {"depth": static_int(depth, "one_hot: depth"), "on_value": on, "off_value": off, "axis": a, "dtype": dt}
    return _apply1("OneHot", "one_hot", [idx], attrs, name=name)


# --- shape facts -------------------------------------------------------------------

def shape(input: Any, name: str | None = None, out_type: Any = dtypes.int32) -> Tensor:  # noqa: A002
    """The shape of ``input`` as a 1-d tensor."""
    return _apply1("Shape", "shape", [convert_to_tensor(input)], {"out_type": as_dtype(out_type)}, name=name)


def size(input: Any, name: str | None = None, out_type: Any = dtypes.int32) -> Tensor:  # noqa: A002
    """The number of elements of ``input``, a scalar."""
    return _apply1("Size", "size", [convert_to_tensor(input)], {"out_type": as_dtype(out_type)}, name=name)


def rank(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The number of dims of ``input``, an int32 scalar."""
    return _apply1("Rank", "rank", [convert_to_tensor(input)], name=name)


def identity(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    return _apply1("Identity", "identity", [convert_to_tensor(input)], name=name)


# --- creation ----------------------------------------------------------------------

def fill(dims: Any, value: Any, name: str | None = None) -> Tensor:
    """A tensor of static shape ``dims`` filled with the scalar ``value``."""
    v = convert_to_tensor(value)
    if v.shape.ndims != 0:
        raise ShapeError(f"fill: value must be a scalar, got shape {v.shape}")
    return _apply1("Fill", "fill", [v], {"shape": static_ints(dims, "fill: dims")}, name=name)


def _filled(shape_arg: Any, number: int, dtype: Any, name: str) -> Tensor:
    dt = as_dtype(dtype)
    dims = static_ints(shape_arg, f"{name}: shape")  # a bare int n means [n], as in TF
    return fill(dims, convert_to_tensor(np.asarray(number, dt.np_dtype), dtype=dt), name=name)


def zeros(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> Tensor:
    return _filled(shape, 0, dtype, name or "zeros")


def ones(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> Tensor:
    return _filled(shape, 1, dtype, name or "ones")


def _filled_like(tensor: Any, number: int, dtype: Any, name: str) -> Tensor:
    x = convert_to_tensor(tensor)
    dt = x.dtype if dtype is None else as_dtype(dtype)
    dims = static_shape(x)
    if dims is not None and None not in dims:
        return _filled(dims, number, dt, name)
    # Shape known only at run time: a select over a condition of x's shape broadcasts
    # the scalar to it, whatever x holds (equal(x, x) is false for NaN, but both
    # branches are the same number).
    v = convert_to_tensor(np.asarray(number, dt.np_dtype), dtype=dt)
    cond = _apply1("Equal", "equal", [x, x])
    return _apply1("Select", "select", [cond, v, v], name=name)


def zeros_like(tensor: Any, dtype: Any = None, name: str | None = None, optimize: bool = True) -> Tensor:
    return _filled_like(tensor, 0, dtype, name or "zeros_like")


def ones_like(tensor: Any, dtype: Any = None, name: str | None = None, optimize: bool = True) -> Tensor:
    return _filled_like(tensor, 1, dtype, name or "ones_like")


_RANGE_ORDER = (dtypes.int32, dtypes.int64, dtypes.float32, dtypes.float64)


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str = "range") -> Tensor:  # noqa: A001
    """[start, start + delta, ...) up to ``limit``; ``range(n)`` counts from 0.

    Without ``dtype`` the widest of the arguments' dtypes wins (int32 < int64 < float32 < float64).
    """
    if limit is None:
        start, limit = 0, start
    args = (start, limit, delta)
    if dtype is None:
        kinds = [_value_dtype(a) for a in args]
        for k in kinds:
            if k not in _RANGE_ORDER:
                raise TypeError(f"range: arguments must be int32, int64, float32 or float64, got {k.name}")
        dt = max(kinds, key=_RANGE_ORDER.index)
    else:
        dt = as_dtype(dtype)
    values = [static_scalar(a, f"range: {w}") for a, w in zip(args, ("start", "limit", "delta"))]
    if values[2] == 0:
        raise ShapeError("range: delta must not be zero")
    conv = int if dt.is_integer else float
    attrs = {"start": conv(values[0]), "limit": conv(values[1]), "delta": conv(values[2]), "dtype": dt}
    return _apply1("Range", "range", [], attrs, name=name)


def lin_space(start: Any, stop: Any, num: Any, name: str | None = None) -> Tensor:
    """``num`` evenly spaced floats from ``start`` to ``stop`` inclusive, in ``start``'s dtype."""
    dt = _value_dtype(start)
    if not dt.is_floating:
        raise TypeError(f"lin_space: start must be a float (bfloat16, float32, float64), got {dt.name}")
    attrs = {"start": float(static_scalar(start, "lin_space: start")),
             "stop": float(static_scalar(stop, "lin_space: stop")),
             "num": static_int(num, "lin_space: num"), "dtype": dt}
    if attrs["num"] <= 0:
        raise ShapeError(f"lin_space: num must be positive, got {attrs['num']}")
    return _apply1("LinSpace", "lin_space", [], attrs, name=name)


pack = stack
unpack = unstack
linspace = lin_space

Tensor.__getitem__ = _getitem  # type: ignore[method-assign]
