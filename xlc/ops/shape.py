"""Ops that rearrange a tensor's shape without computing: identity, reshape, transpose,
expand_dims, squeeze, concat, stack, unstack, split, tile, broadcast_to, shape, size, rank.

Type rules accept ``None`` dims wherever the result is still well defined and follow
TensorFlow's shape functions (and their error sentences).  The same rules run at run time
on concrete shapes, so they are exact and cheap.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import Attr, OpDef, register
from xlc.ir.types import TensorType, as_dtype, int32, int64
from xlc.ops.rules import (
    check_rank,
    fmt_shape,
    input_shapes,
    known_product,
    merge_dim,
    normalize_axis,
)

Attrs = Mapping[str, Any]
Types = Sequence[TensorType]


def _ints(v: Any) -> tuple[int, ...]:
    return tuple(int(x) for x in v)


def _type_of(x: np.ndarray) -> TensorType:
    return TensorType(x.shape, as_dtype(x.dtype))


def _contiguous(x: np.ndarray) -> np.ndarray:
    # references hand back C-contiguous arrays so that callers may pass them to native code
    return np.asarray(x, order="C")  # np.ascontiguousarray would turn a 0-d array into 1-d


# --- identity ---------------------------------------------------------------------------

register(OpDef("identity", 1, lambda types, attrs: [types[0]], lambda x: x,
               doc="x unchanged (tf.identity)"))


# --- reshape ----------------------------------------------------------------------------

def reshape_result(op: str, in_shape: Sequence[int | None], shape: Sequence[int],
                   types: Types = ()) -> tuple[int | None, ...]:
    """The shape reshape gives: ``shape`` with its one -1 resolved when the input is static."""
    shape = _ints(shape)
    tail = input_shapes(op, types) if types else "."
    holes = [i for i, d in enumerate(shape) if d == -1]
    if len(holes) > 1:
        raise ShapeError(f"Cannot infer multiple unknown dimensions in shape {fmt_shape(shape)}{tail}")
    if any(d < -1 for d in shape):
        raise ShapeError(f"Size {min(shape)} must be non-negative, not in shape {fmt_shape(shape)}{tail}")
    known_out = 1
    for d in shape:
        if d != -1:
            known_out *= d
    total = known_product(in_shape)
    if not holes:
        part = known_product([d for d in in_shape if d is not None])
        if total is None and part and known_out % part:
            # unknown input dims only multiply the known ones: known_out must be a multiple of them
            raise ShapeError(f"Cannot reshape a tensor with a multiple of {part} elements to shape "
                             f"{fmt_shape(shape)} ({known_out} elements){tail}")
        if total is not None and total != known_out:
            raise ShapeError(f"Cannot reshape a tensor with {total} elements to shape {fmt_shape(shape)} "
                             f"({known_out} elements){tail}")
        return shape
    if total is None:
        return tuple(None if d == -1 else d for d in shape)
    if known_out == 0:
        if total != 0:
            raise ShapeError(f"Cannot reshape a tensor with {total} elements to shape {fmt_shape(shape)}{tail}")
        raise ShapeError(f"Reshape cannot infer the missing input size for an empty tensor unless all "
                         f"specified input sizes are non-zero{tail}")
    if total % known_out:
        raise ShapeError(f"Cannot reshape a tensor with {total} elements to shape {fmt_shape(shape)}: "
                         f"{total} is not a multiple of {known_out}{tail}")
    return tuple(total // known_out if d == -1 else d for d in shape)


def _reshape_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    return [types[0].with_shape(reshape_result("reshape", types[0].shape, attrs["shape"], types))]


def _reshape_ref(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    return np.reshape(x, reshape_result("reshape", x.shape, shape))


register(OpDef("reshape", 1, _reshape_rule, _reshape_ref, attrs={"shape": Attr("shape")},
               doc="same elements in row-major order, new shape; one -1 dim is inferred"))


# --- transpose --------------------------------------------------------------------------

def _check_perm(perm: tuple[int, ...], t: TensorType, types: Types) -> None:
    if len(perm) != t.rank:
        raise ShapeError(f"transpose expects a vector of size {t.rank}. But input(1) is a vector of size "
                         f"{len(perm)}{input_shapes('transpose', types)}")
    if sorted(perm) != list(range(t.rank)):
        raise ShapeError(f"perm {fmt_shape(perm)} is not a permutation of 0..{t.rank - 1}"
                         f"{input_shapes('transpose', types)}")


def _transpose_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    perm = _ints(attrs["perm"])
    _check_perm(perm, types[0], types)
    return [types[0].with_shape(types[0].shape[p] for p in perm)]


register(OpDef("transpose", 1, _transpose_rule, lambda x, perm: _contiguous(np.transpose(x, _ints(perm))),
               attrs={"perm": Attr("ints")}, doc="result dim i is input dim perm[i]"))


# --- expand_dims / squeeze --------------------------------------------------------------

def _expand_axis(axis: int, rank: int, types: Types) -> int:
    if not -rank - 1 <= axis <= rank:
        raise ShapeError(f"Tried to expand dim index {axis} for tensor with {rank} dimensions"
                         f"{input_shapes('expand_dims', types)}")
    return axis % (rank + 1)


def _expand_dims_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    t = types[0]
    axis = _expand_axis(int(attrs["axis"]), t.rank, types)
    return [t.with_shape(t.shape[:axis] + (1,) + t.shape[axis:])]


register(OpDef("expand_dims", 1, _expand_dims_rule,
               lambda x, axis: np.expand_dims(x, _expand_axis(int(axis), x.ndim, (_type_of(x),))),
               attrs={"axis": Attr("int")}, doc="inserts a dim of size 1 at axis (in [0, rank])"))


def _squeeze_axes(t: TensorType, axes: Sequence[int], types: Types) -> tuple[int, ...]:
    """The dims squeeze removes; unknown dims can be removed only when named."""
    if not axes:
        if any(d is None for d in t.shape):
            raise ShapeError(f"squeeze with no axes needs every dim known, to know the result's rank"
                             f"{input_shapes('squeeze', types)}")
        return tuple(i for i, d in enumerate(t.shape) if d == 1)
    out = sorted({normalize_axis("squeeze", int(a), t.rank) for a in axes})
    for a in out:
        if t.shape[a] is not None and t.shape[a] != 1:
            raise ShapeError(f"Can not squeeze dim[{a}], expected a dimension of 1, got {t.shape[a]}"
                             f"{input_shapes('squeeze', types)}")
    return tuple(out)


def _squeeze_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    t = types[0]
    drop = set(_squeeze_axes(t, _ints(attrs["axes"]), types))
    return [t.with_shape(d for i, d in enumerate(t.shape) if i not in drop)]


def _squeeze_ref(x: np.ndarray, axes: Sequence[int] = ()) -> np.ndarray:
    t = _type_of(x)
    return np.squeeze(x, axis=_squeeze_axes(t, _ints(axes), (t,)))


register(OpDef("squeeze", 1, _squeeze_rule, _squeeze_ref, attrs={"axes": Attr("ints", ())},
               doc="removes size-1 dims: those in axes, or every one when axes is empty"))


# --- concat / stack / unstack / split ---------------------------------------------------

def _concat_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    if not types:
        raise ShapeError("'concat' needs at least one operand")
    first = types[0]
    for t in types[1:]:
        check_rank("concat", t, first.rank, types)
        if t.dtype is not first.dtype:
            raise ShapeError(f"'concat' needs operands of one dtype, got "
                             f"{', '.join(x.dtype.name for x in types)}")
    if first.rank == 0:
        raise ShapeError(f"Can't concatenate scalars (use stack instead){input_shapes('concat', types)}")
    axis = normalize_axis("concat", int(attrs["axis"]), first.rank)
    out = list(first.shape)
    total: int | None = 0
    for t in types:
        for i, d in enumerate(t.shape):
            if i == axis:
                total = None if total is None or d is None else total + d
                continue
            try:
                out[i] = merge_dim(out[i], d)
            except ValueError:
                raise ShapeError(f"Dimension {i} in both shapes must be equal, but are {out[i]} and {d}. "
                                 f"Shapes are {fmt_shape(first.shape)} and {fmt_shape(t.shape)}."
                                 f"{input_shapes('concat', types)}") from None
    out[axis] = total
    return [TensorType(tuple(out), first.dtype)]


register(OpDef("concat", None, _concat_rule, lambda *xs, axis: np.concatenate(xs, axis=int(axis)),
               attrs={"axis": Attr("int")}, doc="joins operands along an existing axis"))


def _same_shapes(op: str, types: Types) -> tuple[int | None, ...]:
    """The merged shape of operands that must all have one shape and dtype."""
    if not types:
        raise ShapeError(f"'{op}' needs at least one operand")
    shape = list(types[0].shape)
    for k, t in enumerate(types[1:], 1):
        if t.dtype is not types[0].dtype:
            raise ShapeError(f"'{op}' needs operands of one dtype, got {', '.join(x.dtype.name for x in types)}")
        try:
            if t.rank != len(shape):
                raise ValueError
            shape = [merge_dim(a, b) for a, b in zip(shape, t.shape)]
        except ValueError:
            raise ShapeError(f"Shapes of all inputs must match: values[0].shape = {fmt_shape(types[0].shape)} "
                             f"!= values[{k}].shape = {fmt_shape(t.shape)}{input_shapes(op, types)}") from None
    return tuple(shape)


def _stack_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    shape = _same_shapes("stack", types)
    axis = _expand_axis_for("stack", int(attrs["axis"]), len(shape), types)
    return [TensorType(shape[:axis] + (len(types),) + shape[axis:], types[0].dtype)]


def _expand_axis_for(op: str, axis: int, rank: int, types: Types) -> int:
    if not -rank - 1 <= axis <= rank:
        raise ShapeError(f"'{op}': axis {axis} is out of range [{-rank - 1}, {rank + 1}){input_shapes(op, types)}")
    return axis % (rank + 1)


register(OpDef("stack", None, _stack_rule, lambda *xs, axis: np.stack(xs, axis=int(axis)),
               attrs={"axis": Attr("int")}, doc="joins equal-shaped operands along a new axis"))


def _unstack_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    t = types[0]
    if t.rank == 0:
        raise ShapeError(f"Cannot unstack a scalar{input_shapes('unstack', types)}")
    axis = normalize_axis("unstack", int(attrs["axis"]), t.rank)
    num = int(attrs["num"])
    if t.shape[axis] is not None and t.shape[axis] != num:
        raise ShapeError(f"Dimension must be {t.shape[axis]} but is {num} for 'unstack' (num) "
                         f"with input shapes: {fmt_shape(t.shape)}.")
    if num < 0:
        raise ShapeError(f"'unstack': num must be >= 0, got {num}")
    rest = t.shape[:axis] + t.shape[axis + 1:]
    return [t.with_shape(rest)] * num


def _unstack_ref(x: np.ndarray, axis: int, num: int) -> tuple[np.ndarray, ...]:
    _unstack_rule([_type_of(x)], {"axis": axis, "num": num})
    moved = np.moveaxis(x, int(axis), 0)
    return tuple(_contiguous(moved[i]) for i in range(int(num)))


register(OpDef("unstack", 1, _unstack_rule, _unstack_ref, attrs={"axis": Attr("int"), "num": Attr("int")},
               doc="num results: the slices of x along axis"))


def split_sizes(op: str, dim: int | None, sizes: Sequence[int], types: Types = ()) -> tuple[int | None, ...]:
    """The sizes of split's pieces, with one -1 resolved when the split dim is known."""
    sizes = _ints(sizes)
    tail = input_shapes(op, types) if types else "."
    holes = [i for i, s in enumerate(sizes) if s == -1]
    if len(holes) > 1 or any(s < -1 for s in sizes):
        raise ShapeError(f"'split' sizes must be >= 0 with at most one -1, got {fmt_shape(sizes)}{tail}")
    known = sum(s for s in sizes if s != -1)
    if dim is None:
        return tuple(None if s == -1 else s for s in sizes)
    if holes:
        if known > dim:
            raise ShapeError(f"Determined shape must either match input shape along split_dim exactly if "
                             f"fully specified, or be less than the size of the input along split_dim if not "
                             f"fully specified.  Got: {known}{tail}")
        return tuple(dim - known if s == -1 else s for s in sizes)
    if known != dim:
        raise ShapeError(f"Determined shape must either match input shape along split_dim exactly if fully "
                         f"specified, or be less than the size of the input along split_dim if not fully "
                         f"specified.  Got: {known}{tail}")
    return sizes


def _split_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    t = types[0]
    if t.rank == 0:
        raise ShapeError(f"Cannot split a scalar{input_shapes('split', types)}")
    axis = normalize_axis("split", int(attrs["axis"]), t.rank)
    pieces = split_sizes("split", t.shape[axis], attrs["sizes"], types)
    return [t.with_shape(t.shape[:axis] + (s,) + t.shape[axis + 1:]) for s in pieces]


def _split_ref(x: np.ndarray, axis: int, sizes: Sequence[int]) -> tuple[np.ndarray, ...]:
    axis = normalize_axis("split", int(axis), x.ndim)
    pieces = split_sizes("split", x.shape[axis], sizes)
    bounds = np.cumsum(pieces)[:-1]
    return tuple(_contiguous(p) for p in np.split(x, bounds, axis=axis))


register(OpDef("split", 1, _split_rule, _split_ref, attrs={"axis": Attr("int"), "sizes": Attr("ints")},
               doc="len(sizes) results: consecutive pieces of x along axis (one size may be -1)"))


# --- tile / broadcast_to ----------------------------------------------------------------

def _tile_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    t = types[0]
    mult = _ints(attrs["multiples"])
    if len(mult) != t.rank:
        raise ShapeError(f"Expected multiples argument to be a vector of length {t.rank} but got length "
                         f"{len(mult)}{input_shapes('tile', types)}")
    if any(m < 0 for m in mult):
        raise ShapeError(f"Expected multiples to be non-negative, got {fmt_shape(mult)}{input_shapes('tile', types)}")
    return [t.with_shape(0 if m == 0 else None if d is None else d * m for d, m in zip(t.shape, mult))]


register(OpDef("tile", 1, _tile_rule, lambda x, multiples: np.tile(x, _ints(multiples)),
               attrs={"multiples": Attr("ints")}, doc="x repeated multiples[i] times along dim i"))


def _broadcast_to_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    t = types[0]
    shape = _ints(attrs["shape"])
    if any(d < 0 for d in shape):
        raise ShapeError(f"'broadcast_to' needs a static shape, got {fmt_shape(shape)}")
    bad = t.rank > len(shape)
    for d, s in zip(reversed(t.shape), reversed(shape)):
        bad = bad or (d is not None and d != 1 and d != s)
    if bad:
        raise ShapeError(f"Incompatible shapes: {fmt_shape(t.shape)} vs. {fmt_shape(shape)}"
                         f"{input_shapes('broadcast_to', types)}")
    return [t.with_shape(shape)]


register(OpDef("broadcast_to", 1, _broadcast_to_rule,
               lambda x, shape: _contiguous(np.broadcast_to(x, _ints(shape))),
               attrs={"shape": Attr("ints")}, doc="numpy broadcasting of x to a static shape"))


# --- shape / size / rank ----------------------------------------------------------------

def _index_dtype(op: str, attrs: Attrs) -> Any:
    dt = as_dtype(attrs["out_type"])
    if dt not in (int32, int64):
        raise ShapeError(f"'{op}' out_type must be int32 or int64, got {dt.name}")
    return dt


register(OpDef("shape", 1, lambda types, attrs: [TensorType((types[0].rank,), _index_dtype("shape", attrs))],
               lambda x, out_type=int32: np.array(x.shape, dtype=as_dtype(out_type).np_dtype),
               attrs={"out_type": Attr("dtype", int32)}, doc="x's dims as a rank-1 tensor"))

register(OpDef("size", 1, lambda types, attrs: [TensorType((), _index_dtype("size", attrs))],
               lambda x, out_type=int32: np.array(x.size, dtype=as_dtype(out_type).np_dtype),
               attrs={"out_type": Attr("dtype", int32)}, doc="x's element count as a scalar"))

register(OpDef("rank", 1, lambda types, attrs: [TensorType((), int32)],
               lambda x: np.array(x.ndim, dtype=np.int32), doc="x's rank as an int32 scalar"))
