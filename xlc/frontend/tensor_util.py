"""Graph-build-time values: what a tensor is known to be before anything runs.

The op functions need static attributes (a reshape's target shape, a reduction's axes)
while users hand them tensors (``tf.reshape(x, tf.shape(y))``).  :func:`constant_value`
evaluates the small subgraph behind such a tensor with the ops' numpy references, and
the ``static_*`` helpers turn Python values, numpy arrays or such tensors into the plain
ints and floats that IR attributes hold, raising a ValueError that names the argument
when a value is only known at run time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xlc.errors import ShapeError
import xlc.ops  # noqa: F401  (constant_value evaluates through the registered op set)
from xlc.ir.opdef import NO_FOLD, RANDOM, SIDE_EFFECT, get_opdef, has_opdef
from xlc.frontend.graph import Tensor
from xlc.frontend.tensor_shape import Dimension, TensorShape

__all__ = ["constant_value"]

# Deeper chains than this are not "simple subgraphs"; give up instead of recursing.
_MAX_DEPTH = 64
# Evaluating at build time is for small shape/index arithmetic, not for real data.
_MAX_ELEMENTS = 1 << 16


def _op_ir_name(op: Any) -> str | None:
    """The IR op an Operation lowers to (None for placeholders, variables, ...)."""
    for field in ("ir_op", "ir_name"):
        name = getattr(op, field, None)
        if isinstance(name, str):
            return name
    return None


def _op_attrs(op: Any) -> dict[str, Any]:
    attrs = getattr(op, "attrs", None)
    return dict(attrs) if attrs else {}


def constant_value(tensor: Any) -> np.ndarray | None:
    """The value of ``tensor`` if it can be computed while building the graph, else None.

    Handles constants, ``shape``/``size``/``rank`` of tensors whose shape is static, and
    any subgraph of pure ops (no randomness, no side effects, no placeholders or
    variables) over those, evaluated with the ops' numpy references.  Non-tensors are
    returned as numpy arrays.
    """
    if not isinstance(tensor, Tensor):
        if tensor is None:
            return None
        if isinstance(tensor, (list, tuple)) and any(isinstance(v, Tensor) for v in tensor):
            items = [constant_value(v) for v in tensor]
            return None if any(v is None for v in items) else np.asarray(items)
        try:
            return np.asarray(tensor)
        except Exception:  # a Variable or another object we cannot see into
            return None
    if tensor.is_eager:  # an eager tensor's value is always known
        return np.asarray(tensor.numpy())
    return _evaluate(tensor, {}, 0)


def _evaluate(tensor: Tensor, memo: dict[int, list[np.ndarray] | None], depth: int) -> np.ndarray | None:
    op = tensor.op
    index = getattr(tensor, "value_index", 0)
    key = id(op)
    if key not in memo:
        memo[key] = _evaluate_op(op, memo, depth) if depth < _MAX_DEPTH else None
    outs = memo[key]
    if outs is None or index >= len(outs):
        return None
    return outs[index]


def _evaluate_op(op: Any, memo: dict[int, list[np.ndarray] | None], depth: int) -> list[np.ndarray] | None:
    ir_name = _op_ir_name(op)
    if ir_name is None or not has_opdef(ir_name):
        return None
    attrs = _op_attrs(op)
    inputs = list(getattr(op, "inputs", ()))
    if ir_name == "constant":
        return [np.asarray(attrs["value"])]
    # Shape facts are known whenever the input's static shape is, whatever its value.
    if ir_name in ("shape", "size", "rank") and len(inputs) == 1:
        dims = static_shape(inputs[0])
        if ir_name == "rank":
            return None if dims is None else [np.asarray(len(dims), dtype=np.int32)]
        if dims is None or None in dims:
            return None
        out_type = attrs.get("out_type")
        np_dtype = out_type.np_dtype if out_type is not None else np.int32
        if ir_name == "shape":
            return [np.asarray(dims, dtype=np_dtype)]
        return [np.asarray(int(np.prod(dims)), dtype=np_dtype)]
    opdef = get_opdef(ir_name)
    if ir_name in ("strided_slice", "gather", "slice") and inputs and _op_ir_name(inputs[0].op) == "shape":
        return _slice_of_partial_shape(opdef, inputs, attrs, memo, depth)
    if opdef.has(RANDOM) or opdef.has(SIDE_EFFECT) or opdef.has(NO_FOLD) or getattr(op, "regions", None):
        return None
    args = []
    for t in inputs:
        v = _evaluate(t, memo, depth + 1)
        if v is None or v.size > _MAX_ELEMENTS:
            return None
        args.append(v)
    try:
        return opdef.evaluate(args, opdef.complete_attrs({k: v for k, v in attrs.items() if k in opdef.attrs}))
    except Exception:  # a failing reference means "not known now"; running reports it
        return None


def _slice_of_partial_shape(opdef: Any, inputs: list[Tensor], attrs: dict[str, Any],
                            memo: dict[int, list[np.ndarray] | None], depth: int) -> list[np.ndarray] | None:
    """``tf.shape(x)[i]`` when dim i of x is known even though others are not.

    The shape is evaluated with -1 standing for unknown dims (real dims are >= 0); the
    slice is known when none of the -1s reaches the result.
    """
    source = inputs[0].op.inputs[0]
    dims = static_shape(source)
    if dims is None:
        return None
    np_dtype = inputs[0].dtype.np_dtype
    shape_value = np.asarray([-1 if d is None else d for d in dims], dtype=np_dtype)
    rest = [_evaluate(t, memo, depth + 1) for t in inputs[1:]]
    if any(v is None for v in rest):
        return None
    try:
        outs = opdef.evaluate([shape_value, *rest], opdef.complete_attrs({k: v for k, v in attrs.items()
                                                                           if k in opdef.attrs}))
    except Exception:  # a failing reference means "not known now"; running reports it
        return None
    return None if any(np.any(o < 0) for o in outs) else outs


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"tensor '{value.name}' (shape {value.shape}, dtype {value.dtype.name})"
    return repr(value)


def _unknown_source(tensor: Tensor) -> Tensor:
    """The tensor to blame for ``tensor`` being unknown: a placeholder, variable, or dynamic shape."""
    for _ in range(_MAX_DEPTH):
        op = tensor.op
        inputs = list(getattr(op, "inputs", ()))
        if _op_ir_name(op) in ("shape", "size") and inputs:
            return inputs[0]
        unknown = [t for t in inputs if constant_value(t) is None]
        if not unknown:
            return tensor
        tensor = unknown[0]
    return tensor


def static_value(value: Any, what: str) -> np.ndarray:
    """``value`` as a numpy array, evaluating tensors; ValueError naming ``what`` if unknown.

    A Python list may mix numbers and scalar tensors (``[-1, tf.shape(x)[1]]``); a
    TensorShape or Dimension counts when fully known.
    """
    if isinstance(value, TensorShape):
        if value.ndims is None:
            raise ShapeError(f"{what} is a shape of unknown rank")
        value = list(value.dims or [])
    if isinstance(value, Dimension):
        if value.value is None:
            raise ShapeError(f"{what} holds an unknown dimension (?), known only at run time")
        return np.asarray(value.value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Tensor, Dimension)) for v in value):
        items = [static_value(v, what) for v in value]
        for v, item in zip(value, items):
            if item.size != 1:
                raise ShapeError(f"{what}: each entry of a list must be a scalar, got {_describe(v)}")
        return np.asarray([item.reshape(-1)[0] for item in items])
    v = constant_value(value)
    if v is None:
        cause = _unknown_source(value) if isinstance(value, Tensor) else value
        because = "" if cause is value else f", through {_describe(cause)}"
        raise ShapeError(
            f"{what} must be known while the graph is built (xlc compiles static attributes), "
            f"but {_describe(value)} depends on values known only at run time{because}"
        )
    return v


def static_ints(value: Any, what: str) -> tuple[int, ...]:
    """A 0-d or 1-d integer ``value`` as a tuple of Python ints."""
    arr = static_value(value, what)
    if arr.ndim > 1:
        raise ShapeError(f"{what} must be a scalar or a vector, got shape {list(arr.shape)}")
    if arr.size and arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(arr == np.floor(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ShapeError(f"{what} must hold integers, got {arr.tolist()}")
    return tuple(int(v) for v in np.atleast_1d(arr))


def static_int(value: Any, what: str) -> int:
    """A scalar integer ``value`` as a Python int."""
    ints = static_ints(value, what)
    if len(ints) != 1 or np.ndim(static_value(value, what)) > 1:
        raise ShapeError(f"{what} must be a single integer, got {list(ints)}")
    return ints[0]


def static_scalar(value: Any, what: str) -> float | int | bool:
    """A scalar number as a Python int/float/bool (its kind preserved)."""
    arr = static_value(value, what)
    if arr.size != 1:
        raise ShapeError(f"{what} must be a scalar, got shape {list(arr.shape)}")
    return arr.reshape(()).item()


def static_shape(tensor: Tensor) -> list[int | None] | None:
    """The tensor's static dims (None where unknown until run time), or None for an unknown rank."""
    return None if tensor.shape.ndims is None else tensor.shape.as_list()


def rank_of(tensor: Tensor) -> int | None:
    """The tensor's static rank, or None when even that is unknown (a placeholder of shape None)."""
    return tensor.shape.ndims


def known_rank(tensor: Tensor, what: str) -> int:
    """The tensor's rank; a ValueError naming ``what`` when it is unknown."""
    rank = tensor.shape.ndims
    if rank is None:
        raise ShapeError(f"{what} needs the rank of '{tensor.name}', which is unknown; give the placeholder a shape")
    return rank


def normalize_axis(axis: Any, rank: int | None, what: str, extra: int = 0) -> int:
    """One axis in [-(rank+extra), rank+extra) mapped to [0, rank+extra).

    ``extra = 1`` is for ops that insert a dim (expand_dims, stack, one_hot).  With an
    unknown rank only non-negative axes can be stored; a negative one is a ValueError.
    """
    a = static_int(axis, what)
    if rank is None:
        if a < 0:
            raise ShapeError(f"{what} {a} is negative, and the tensor's rank is unknown; use a non-negative axis")
        return a
    n = rank + extra
    if not -n <= a < n:
        raise ShapeError(f"{what} {a} is out of range [{-n}, {n}) for a tensor of rank {rank}")
    return a % n


def normalize_axes(axes: Any, rank: int | None, what: str) -> tuple[int, ...]:
    """Axes (None: all) as sorted unique non-negative ints; ValueError on out-of-range or duplicates."""
    if axes is None:
        if rank is None:
            raise ShapeError(f"{what} is None (every axis), but the tensor's rank is unknown")
        return tuple(range(rank))
    raw = static_ints(axes, what)
    out = [normalize_axis(a, rank, what) for a in raw]
    if len(set(out)) != len(out):
        raise ShapeError(f"{what} {list(raw)} names an axis twice")
    return tuple(sorted(out))


def pick(what: str, default: Any, **aliases: Any) -> Any:
    """The one of several alias arguments (``axis``/``reduction_indices``) that was given."""
    given = {k: v for k, v in aliases.items() if v is not None}
    if len(given) > 1:
        raise ShapeError(f"cannot specify both {' and '.join(repr(k) for k in given)} for {what}")
    return next(iter(given.values())) if given else default
