"""Indexing ops: slice, strided_slice, gather, pad, one_hot.

strided_slice follows TensorFlow's ValidateStridedSliceOp to the letter: the sparse
spec (begin/end/strides plus masks) is expanded into a dense spec with one entry per
input dim, then each entry is canonicalised against the dim.  :func:`strided_slice_plan`
exposes the result so that backends lower the op from the same canonical numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from xlc.errors import InvalidArgumentError, ShapeError
from xlc.ir.opdef import Attr, OpDef, register
from xlc.ir.types import TensorType, as_dtype, float32, int8, int32, int64, uint8
from xlc.ops.rules import check_dtype, input_shapes, normalize_axis

Attrs = Mapping[str, Any]
Types = Sequence[TensorType]
INDEX_DTYPES = (int32, int64)


def _ints(v: Any) -> tuple[int, ...]:
    return tuple(int(x) for x in v)


def _type_of(x: np.ndarray) -> TensorType:
    return TensorType(x.shape, as_dtype(x.dtype))


# --- slice ------------------------------------------------------------------------------

def slice_result(shape: Sequence[int | None], begin: Sequence[int], size: Sequence[int],
                 types: Types = ()) -> tuple[int | None, ...]:
    """The shape ``slice`` gives (size -1 means "to the end of the dim")."""
    begin, size = _ints(begin), _ints(size)
    tail = input_shapes("slice", types) if types else "."
    if len(begin) != len(shape) or len(size) != len(shape):
        raise ShapeError(f"Expected begin and size arguments to be 1-D tensors of size {len(shape)}, but got "
                         f"shapes [{len(begin)}] and [{len(size)}] instead{tail}")
    out: list[int | None] = []
    for i, (d, b, s) in enumerate(zip(shape, begin, size)):
        if b < 0 or (d is not None and b > d):
            raise ShapeError(f"Expected begin[{i}] in [0, {'?' if d is None else d}], but got {b}{tail}")
        if s == -1:
            out.append(None if d is None else d - b)
            continue
        if s < 0 or (d is not None and b + s > d):
            limit = "?" if d is None else d - b
            raise ShapeError(f"Expected size[{i}] in [0, {limit}], but got {s}{tail}")
        out.append(s)
    return tuple(out)


def _slice_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    return [types[0].with_shape(slice_result(types[0].shape, attrs["begin"], attrs["size"], types))]


def _slice_ref(x: np.ndarray, begin: Sequence[int], size: Sequence[int]) -> np.ndarray:
    out = slice_result(x.shape, begin, size)
    index = tuple(slice(b, b + s) for b, s in zip(_ints(begin), out))  # type: ignore[operator]
    return np.asarray(x[index], order="C")


register(OpDef("slice", 1, _slice_rule, _slice_ref, attrs={"begin": Attr("ints"), "size": Attr("ints")},
               doc="x[begin[i] : begin[i] + size[i]] per dim; size -1 runs to the end"))


# --- strided_slice ----------------------------------------------------------------------

NEW_AXIS = -1  # markers in StridedSlicePlan.gather
SHRINK_AXIS = -2


@dataclass(frozen=True)
class StridedSlicePlan:
    """A strided_slice canonicalised against an input shape.

    Per input dim i: ``begin[i]``, ``end[i]``, ``strides[i]`` (already clamped; an end of
    -1 with a negative stride means "through index 0"), ``shrink[i]``, and
    ``processing_shape[i]`` (the number of elements taken; None if the dim is unknown).
    ``gather`` lists, per result dim source: an input dim index, NEW_AXIS or SHRINK_AXIS
    (SHRINK_AXIS entries produce no result dim).  ``final_shape`` is the result's shape.
    Entries for unknown dims hold the raw (uncanonicalised) numbers.
    """

    begin: tuple[int, ...]
    end: tuple[int, ...]
    strides: tuple[int, ...]
    shrink: tuple[bool, ...]
    processing_shape: tuple[int | None, ...]
    gather: tuple[int, ...]
    final_shape: tuple[int | None, ...]


def strided_slice_plan(shape: Sequence[int | None], begin: Sequence[int], end: Sequence[int],
                       strides: Sequence[int], begin_mask: int = 0, end_mask: int = 0, ellipsis_mask: int = 0,
                       new_axis_mask: int = 0, shrink_axis_mask: int = 0, types: Types = ()) -> StridedSlicePlan:
    """Expand TF's sparse slice spec over ``shape`` and canonicalise it (see the module doc)."""
    begin, end, strides = _ints(begin), _ints(end), _ints(strides)
    tail = input_shapes("strided_slice", types) if types else "."
    n = len(begin)
    if len(end) != n or len(strides) != n:
        raise ShapeError(f"Expected begin, end, and strides to be 1D equal size tensors, but got shapes "
                         f"[{n}], [{len(end)}], and [{len(strides)}] instead{tail}")
    ellipses = [i for i in range(n) if ellipsis_mask >> i & 1]
    if len(ellipses) > 1:
        raise ShapeError(f"Multiple ellipses in slice spec not allowed{tail}")
    sparse_dims = n
    if not ellipses:  # an implicit trailing ellipsis keeps the remaining dims whole
        ellipsis_mask |= 1 << n
        sparse_dims += 1
    first_ellipsis = ellipses[0] if ellipses else n
    new_after_ellipsis = sum(1 for i in range(first_ellipsis + 1, n) if new_axis_mask >> i & 1)

    rank = len(shape)
    # dense spec: (begin, end, stride, begin masked, end masked, shrink) per input dim
    dense: list[tuple[int, int, int, bool, bool, bool]] = []
    gather: list[int] = []
    for i in range(sparse_dims):
        if ellipsis_mask >> i & 1:
            stop = min(rank - (sparse_dims - i) + 1 + new_after_ellipsis, rank)
            while len(dense) < stop:
                gather.append(len(dense))
                dense.append((0, 0, 1, True, True, False))
        elif new_axis_mask >> i & 1:
            gather.append(NEW_AXIS)
        else:
            if len(dense) >= rank:
                raise ShapeError(f"Index out of range using input dim {len(dense)}; input has only {rank} dims"
                                 f"{tail}")
            shrink = bool(shrink_axis_mask >> i & 1)
            gather.append(SHRINK_AXIS if shrink else len(dense))
            dense.append((begin[i], end[i], strides[i], bool(begin_mask >> i & 1), bool(end_mask >> i & 1), shrink))

    out_b, out_e, out_s, out_shrink, proc = [], [], [], [], []
    for i, (b, e, s, b_masked, e_masked, shrink) in enumerate(dense):
        d = shape[i]
        if s == 0:
            raise ShapeError(f"strides[{i}] must be non-zero{tail}")
        if shrink and s <= 0:
            raise ShapeError(f"only stride 1 allowed on non-range indexing{tail}")
        size: int | None
        if d is None:
            size = 1 if shrink else None
        elif shrink:
            b = b + d if b < 0 else b
            if not 0 <= b < d:
                raise ShapeError(f"slice index {dense[i][0]} of dimension {i} out of bounds{tail}")
            e, s, size = b + 1, 1, 1
        else:
            lo, hi = (0, d) if s > 0 else (-1, d - 1)
            b = (lo if s > 0 else hi) if b_masked else min(max(b + d if b < 0 else b, lo), hi)
            e = (hi if s > 0 else lo) if e_masked else min(max(e + d if e < 0 else e, lo), hi)
            length = e - b
            if length == 0 or (length < 0) != (s < 0):
                size = 0
            else:
                size = -(-length // s)  # ceil(length / s) for either sign of s
        out_b.append(b)
        out_e.append(e)
        out_s.append(s)
        out_shrink.append(shrink)
        proc.append(size)
    final = tuple(1 if g == NEW_AXIS else proc[g] for g in gather if g != SHRINK_AXIS)
    return StridedSlicePlan(tuple(out_b), tuple(out_e), tuple(out_s), tuple(out_shrink), tuple(proc),
                            tuple(gather), final)


_SS_ATTRS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _ss_plan(shape: Sequence[int | None], attrs: Attrs, types: Types = ()) -> StridedSlicePlan:
    masks = {k: int(attrs.get(k, 0)) for k in _SS_ATTRS}
    return strided_slice_plan(shape, attrs["begin"], attrs["end"], attrs["strides"], types=types, **masks)


def _strided_slice_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    return [types[0].with_shape(_ss_plan(types[0].shape, attrs, types).final_shape)]


def _strided_slice_ref(x: np.ndarray, **attrs: Any) -> np.ndarray:
    plan = _ss_plan(x.shape, attrs)
    index = []
    for b, e, s, size in zip(plan.begin, plan.end, plan.strides, plan.processing_shape):
        if size == 0:
            index.append(slice(0, 0))
        else:  # an end of -1 with a negative stride means "through index 0", which numpy spells None
            index.append(slice(b, None if e < 0 else e, s))
    return np.asarray(x[tuple(index)].reshape(plan.final_shape), order="C")


register(OpDef("strided_slice", 1, _strided_slice_rule, _strided_slice_ref,
               attrs={"begin": Attr("ints"), "end": Attr("ints"), "strides": Attr("ints"),
                      **{k: Attr("int", 0) for k in _SS_ATTRS}},
               doc="TensorFlow's strided slice (x[b:e:s, ..., tf.newaxis, i]) with its five masks"))


# --- gather -----------------------------------------------------------------------------

def _gather_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    params, indices = types
    check_dtype("gather", indices, INDEX_DTYPES, "indices")
    if params.rank == 0:
        raise ShapeError(f"Shape must be at least rank 1 but is rank 0{input_shapes('gather', types)}")
    axis = normalize_axis("gather", int(attrs["axis"]), params.rank)
    return [params.with_shape(params.shape[:axis] + indices.shape + params.shape[axis + 1:])]


def check_gather_indices(indices: np.ndarray, limit: int) -> None:
    """Raise TF's InvalidArgumentError for the first index outside [0, limit)."""
    bad = (indices < 0) | (indices >= limit)
    if not np.any(bad):
        return
    where = np.unravel_index(int(np.argmax(bad)), indices.shape) if indices.ndim else ()
    value = int(indices[where])
    name = "indices" + (f"[{','.join(str(int(w)) for w in where)}]" if indices.ndim else "")
    raise InvalidArgumentError(None, None, f"{name} = {value} is not in [0, {limit})")


def _gather_ref(params: np.ndarray, indices: np.ndarray, axis: int = 0) -> np.ndarray:
    axis = normalize_axis("gather", int(axis), params.ndim)
    check_gather_indices(indices, params.shape[axis])
    return np.take(params, indices, axis=axis)


register(OpDef("gather", 2, _gather_rule, _gather_ref, attrs={"axis": Attr("int", 0)},
               doc="params[..., indices, ...] along axis; out-of-range indices are an InvalidArgumentError"))


# --- pad --------------------------------------------------------------------------------

PAD_MODES = ("CONSTANT", "REFLECT", "SYMMETRIC")


def _pad_pairs(t: TensorType, attrs: Attrs, types: Types) -> tuple[str, list[tuple[int, int]]]:
    tail = input_shapes("pad", types)
    flat = _ints(attrs["paddings"])
    mode = str(attrs["mode"]).upper()
    if mode not in PAD_MODES:
        raise ShapeError(f"'pad' mode must be one of {', '.join(PAD_MODES)}, got {attrs['mode']!r}")
    if len(flat) != 2 * t.rank:
        raise ShapeError(f"The first dimension of paddings must be the rank of inputs [{t.rank},2], "
                         f"got {len(flat)} padding values{tail}")
    pairs = [(flat[2 * i], flat[2 * i + 1]) for i in range(t.rank)]
    for i, ((before, after), d) in enumerate(zip(pairs, t.shape)):
        if before < 0 or after < 0:
            raise ShapeError(f"Paddings must be non-negative: {before} {after}{tail}")
        if d is None:
            continue
        if mode == "REFLECT" and (before >= d or after >= d):
            raise ShapeError(f"paddings must be less than the dimension size: {before}, {after} not less "
                             f"than {d}{tail}")
        if mode == "SYMMETRIC" and (before > d or after > d):
            raise ShapeError(f"paddings must be no greater than the dimension size: {before}, {after} greater "
                             f"than {d}{tail}")
    return mode, pairs


def _pad_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    t = types[0]
    _, pairs = _pad_pairs(t, attrs, types)
    return [t.with_shape(None if d is None else d + b + a for d, (b, a) in zip(t.shape, pairs))]


def _pad_ref(x: np.ndarray, paddings: Sequence[int], mode: str = "CONSTANT",
             constant_value: float = 0.0) -> np.ndarray:
    t = _type_of(x)
    mode, pairs = _pad_pairs(t, {"paddings": paddings, "mode": mode}, (t,))
    if mode == "CONSTANT":
        fill = np.array(constant_value).astype(x.dtype)
        return np.pad(x, pairs, mode="constant", constant_values=fill)
    return np.pad(x, pairs, mode=mode.lower())


register(OpDef("pad", 1, _pad_rule, _pad_ref,
               attrs={"paddings": Attr("ints"), "mode": Attr("str", "CONSTANT"),
                      "constant_value": Attr("float", 0.0)},
               doc="paddings flattened as (before0, after0, before1, ...); REFLECT excludes the edge, "
                   "SYMMETRIC repeats it"))


# --- one_hot ----------------------------------------------------------------------------

ONE_HOT_INDEX_DTYPES = (uint8, int8, int32, int64)


def _one_hot_axis(rank: int, axis: int, types: Types) -> int:
    if axis != -1 and not 0 <= axis <= rank:
        raise ShapeError(f"Expected axis to be -1 or between [0, {rank}].  But received: {axis}"
                         f"{input_shapes('one_hot', types)}")
    return rank if axis == -1 else axis


def _one_hot_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    t = types[0]
    check_dtype("one_hot", t, ONE_HOT_INDEX_DTYPES, "indices")
    depth = int(attrs["depth"])
    if depth < 0:
        raise ShapeError(f"depth must be non-negative, got: {depth}{input_shapes('one_hot', types)}")
    axis = _one_hot_axis(t.rank, int(attrs["axis"]), types)
    return [TensorType(t.shape[:axis] + (depth,) + t.shape[axis:], as_dtype(attrs["dtype"]))]


def _one_hot_ref(indices: np.ndarray, depth: int, on_value: float = 1.0, off_value: float = 0.0,
                 axis: int = -1, dtype: Any = float32) -> np.ndarray:
    dt = as_dtype(dtype).np_dtype
    hot = indices.astype(np.int64)[..., None] == np.arange(int(depth))
    out = np.where(hot, np.array(on_value).astype(dt), np.array(off_value).astype(dt))
    axis = _one_hot_axis(indices.ndim, int(axis), (_type_of(indices),))
    return np.asarray(np.moveaxis(out, -1, axis), order="C")


register(OpDef("one_hot", 1, _one_hot_rule, _one_hot_ref,
               attrs={"depth": Attr("int"), "on_value": Attr("float", 1.0), "off_value": Attr("float", 0.0),
                      "axis": Attr("int", -1), "dtype": Attr("dtype", float32)},
               doc="a new axis of length depth: on_value where it equals the index; out-of-range rows are off"))
