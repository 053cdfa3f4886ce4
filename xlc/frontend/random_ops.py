"""TF1's random tensors: ``random_normal``, ``truncated_normal``, ``random_uniform``, ``random_shuffle``.

Each op records ``(seed, seed2)`` from the graph's seed rules (:func:`graph.get_seed`),
and the IR's counter-based generator (docs/ops.md) turns them into the same numbers on
every run and every backend.  Shapes, means, bounds are static attributes.
"""

from __future__ import annotations

from typing import Any

from xlc.errors import ShapeError
from xlc.ir import types as dtypes
from xlc.ir.types import DType, as_dtype
from xlc.frontend.graph import Tensor, get_seed
from xlc.frontend.op_builder import apply_op, convert_to_tensor
from xlc.frontend.tensor_util import static_ints, static_scalar, static_value

__all__ = ["random_normal", "truncated_normal", "random_uniform", "random_shuffle"]


def _shape_attr(shape: Any, what: str) -> tuple[int, ...]:
    if static_value(shape, f"{what}: shape").ndim == 0:
        return (static_ints(shape, f"{what}: shape")[0],)  # TF accepts a bare int for a vector's length
    dims = static_ints(shape, f"{what}: shape")
    if any(d < 0 for d in dims):
        raise ShapeError(f"{what}: shape {list(dims)} has a negative dim")
    return dims


def _seeds(seed: Any) -> dict[str, int]:
    s1, s2 = get_seed(None if seed is None else int(seed))
    return {"seed": int(s1), "seed2": int(s2)}


def _float_dtype(dtype: Any, what: str) -> DType:
    dt = as_dtype(dtype)
    if not dt.is_floating:
        raise ShapeError(f"{what}: dtype must be a floating point type, got {dt.name}")
    return dt


def _normal(op_type: str, ir_op: str, shape: Any, mean: Any, stddev: Any, dtype: Any, seed: Any,
            name: str | None) -> Tensor:
    dt = _float_dtype(dtype, ir_op)
    attrs = {"shape": _shape_attr(shape, ir_op), "dtype": dt,
             "mean": float(static_scalar(mean, f"{ir_op}: mean")),
             "stddev": float(static_scalar(stddev, f"{ir_op}: stddev")), **_seeds(seed)}
    return apply_op(op_type, ir_op, [], attrs, name=name).outputs[0]


def random_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = dtypes.float32, seed: Any = None,
                  name: str | None = None) -> Tensor:
    """Normal samples with the given ``mean`` and ``stddev``."""
    return _normal("RandomStandardNormal", "random_normal", shape, mean, stddev, dtype, seed, name)


def truncated_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = dtypes.float32,
                     seed: Any = None, name: str | None = None) -> Tensor:
    """Normal samples redrawn until within two standard deviations of the mean."""
    return _normal("TruncatedNormal", "truncated_normal", shape, mean, stddev, dtype, seed, name)


def random_uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = dtypes.float32, seed: Any = None,
                   name: str | None = None) -> Tensor:
    """Uniform samples in [minval, maxval); integer dtypes need ``maxval``."""
    dt = as_dtype(dtype)
    if dt.is_integer:
        if maxval is None:
            raise ShapeError(f"Must specify maxval for integer dtype {dt.name}")
        lo = int(static_scalar(minval, "random_uniform: minval"))
        hi = int(static_scalar(maxval, "random_uniform: maxval"))
        if hi <= lo:
            raise ShapeError(f"random_uniform: need minval < maxval, got [{lo}, {hi})")
        op_type = "RandomUniformInt"
        bounds: dict[str, Any] = {"minval": lo, "maxval": hi}
    elif dt.is_floating:
        hi_f = 1.0 if maxval is None else float(static_scalar(maxval, "random_uniform: maxval"))
        bounds = {"minval": float(static_scalar(minval, "random_uniform: minval")), "maxval": hi_f}
        op_type = "RandomUniform"
    else:
        raise ShapeError(f"random_uniform: dtype must be a float or an integer type, got {dt.name}")
    attrs = {"shape": _shape_attr(shape, "random_uniform"), "dtype": dt, **bounds, **_seeds(seed)}
    return apply_op(op_type, "random_uniform", [], attrs, name=name).outputs[0]


def random_shuffle(value: Any, seed: Any = None, name: str | None = None) -> Tensor:
    """``value`` with its first dim randomly permuted."""
    x = convert_to_tensor(value)
    if x.shape.ndims == 0:
        raise ShapeError(f"random_shuffle: '{x.name}' is a scalar; it needs at least one dim")
    return apply_op("RandomShuffle", "random_shuffle", [x], _seeds(seed), name=name).outputs[0]
