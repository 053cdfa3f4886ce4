"""Ops that create tensors from attributes: fill, range, lin_space.

Values are computed in float64 (or int64) and cast once to the result dtype, so that
every backend can reproduce them exactly: ``range`` gives ``start + i * delta``,
``lin_space`` gives ``start + i * step`` with the last element exactly ``stop``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import Attr, OpDef, register
from xlc.ir.types import FLOAT_DTYPES, NUMERIC_DTYPES, TensorType, as_dtype, float32
from xlc.ops.rules import fmt_shape, input_shapes

Attrs = Mapping[str, Any]
Types = Sequence[TensorType]


def _static_shape(op: str, shape: Any) -> tuple[int, ...]:
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims):
        raise ShapeError(f"'{op}' needs a static shape of non-negative dims, got {fmt_shape(dims)}")
    return dims


# --- fill -------------------------------------------------------------------------------

def _fill_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    if types[0].rank != 0:
        raise ShapeError(f"value must be a scalar{input_shapes('fill', types)}")
    return [TensorType(_static_shape("fill", attrs["shape"]), types[0].dtype)]


def _fill_ref(value: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    return np.full(_static_shape("fill", shape), value, dtype=value.dtype)


register(OpDef("fill", 1, _fill_rule, _fill_ref, attrs={"shape": Attr("ints")},
               doc="a tensor of the given shape, every element the scalar operand"))


# --- range ------------------------------------------------------------------------------

def range_length(start: float, limit: float, delta: float) -> int:
    """How many elements range(start, limit, delta) has; TF's errors for impossible ranges."""
    if delta == 0:
        raise ShapeError(f"Requires delta != 0: {delta}")
    if delta > 0 and start > limit:
        raise ShapeError(f"Requires start <= limit when delta > 0: {start}/{limit}")
    if delta < 0 and start < limit:
        raise ShapeError(f"Requires start >= limit when delta < 0: {start}/{limit}")
    if all(isinstance(v, (int, np.integer)) for v in (start, limit, delta)):
        return (abs(int(limit) - int(start)) + abs(int(delta)) - 1) // abs(int(delta))
    return int(math.ceil(abs((limit - start) / delta)))


def _range_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    dt = as_dtype(attrs["dtype"])
    if dt not in NUMERIC_DTYPES:
        raise ShapeError(f"'range' needs a numeric dtype, got {dt.name}")
    return [TensorType((range_length(attrs["start"], attrs["limit"], attrs["delta"]),), dt)]


def _range_ref(start: float, limit: float, delta: float = 1, dtype: Any = None) -> np.ndarray:
    n = range_length(start, limit, delta)
    dt = as_dtype(dtype).np_dtype
    i = np.arange(n)
    if dt.kind in "iu" and all(isinstance(v, (int, np.integer)) for v in (start, delta)):
        return (int(start) + i.astype(np.int64) * int(delta)).astype(dt)
    return (float(start) + i.astype(np.float64) * float(delta)).astype(dt)


register(OpDef("range", 0, _range_rule, _range_ref,
               attrs={"start": Attr("any"), "limit": Attr("any"), "delta": Attr("any", 1), "dtype": Attr("dtype")},
               doc="start + i * delta for i while short of limit (computed in float64/int64, then cast)"))


# --- lin_space --------------------------------------------------------------------------

def _lin_space_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    dt = as_dtype(attrs["dtype"])
    if dt not in FLOAT_DTYPES:
        raise ShapeError(f"'lin_space' needs a floating dtype, got {dt.name}")
    num = int(attrs["num"])
    if num <= 0:
        raise ShapeError(f"Requires num > 0: {num}")
    return [TensorType((num,), dt)]


def _lin_space_ref(start: float, stop: float, num: int, dtype: Any = float32) -> np.ndarray:
    num = int(num)
    if num <= 0:
        raise ShapeError(f"Requires num > 0: {num}")
    out = np.empty(num, dtype=np.float64)
    if num > 1:
        step = (float(stop) - float(start)) / (num - 1)
        out[:] = float(start) + np.arange(num) * step
    out[-1] = float(stop) if num > 1 else float(start)
    return out.astype(as_dtype(dtype).np_dtype)


register(OpDef("lin_space", 0, _lin_space_rule, _lin_space_ref,
               attrs={"start": Attr("float"), "stop": Attr("float"), "num": Attr("int"),
                      "dtype": Attr("dtype", float32)},
               doc="num evenly spaced values from start to stop inclusive"))
