"""Random ops, drawn from Philox4x32-10 (xlc.ops.philox) so every backend gives the same bits.

The numbers depend only on (seed, seed2), the shape and the dtype: element i of the
row-major output uses counter (i mod 2^32, i >> 32, draw, 0).  The exact recipe is the
spec at the end of docs/ops.md.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import RANDOM, Attr, OpDef, register
from xlc.ir.types import FLOAT_DTYPES, TensorType, as_dtype, float32, int32, int64
from xlc.ops import philox
from xlc.ops.rules import fmt_shape, input_shapes

Attrs = Mapping[str, Any]
Types = Sequence[TensorType]
UNIFORM_DTYPES = FLOAT_DTYPES + (int32, int64)


def _num_elements(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _random_type(op: str, attrs: Attrs, dtypes: Sequence[Any]) -> TensorType:
    shape = tuple(int(d) for d in attrs["shape"])
    if any(d < 0 for d in shape):
        raise ShapeError(f"'{op}' needs a static shape of non-negative dims, got {fmt_shape(shape)}")
    dt = as_dtype(attrs["dtype"])
    if dt not in dtypes:
        raise ShapeError(f"'{op}' does not produce {dt.name} (accepted: {', '.join(d.name for d in dtypes)})")
    return TensorType(shape, dt)


def _uniform_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    t = _random_type("random_uniform", attrs, UNIFORM_DTYPES)
    if t.dtype.is_integer and not int(attrs["minval"]) < int(attrs["maxval"]):
        raise ShapeError(f"Need minval < maxval: {attrs['minval']} >= {attrs['maxval']}")
    return [t]


def _uniform_ref(shape: Sequence[int], seed: int, seed2: int, dtype: Any = float32,
                 minval: Any = 0, maxval: Any = 1) -> np.ndarray:
    (t,) = _uniform_rule((), {"shape": shape, "dtype": dtype, "minval": minval, "maxval": maxval})
    n = _num_elements(t.shape)
    words = philox.philox4x32(philox.element_counters(n), philox.key_from_seeds(seed, seed2))
    if t.dtype.is_integer:
        out = philox.uniform_ints(words, int(minval), int(maxval))
    else:
        out = float(minval) + philox.uniform_f64(words) * (float(maxval) - float(minval))
    return out.astype(t.dtype.np_dtype).reshape(t.shape)


def _normal_values(op: str, shape: Sequence[int], seed: int, seed2: int, dtype: Any, mean: float, stddev: float,
                   truncated: bool) -> np.ndarray:
    t = _random_type(op, {"shape": shape, "dtype": dtype}, FLOAT_DTYPES)
    n = _num_elements(t.shape)
    key = philox.key_from_seeds(seed, seed2)
    z = philox.truncated_normal_stream(n, key) if truncated else philox.normal_stream(n, key)
    return (float(mean) + float(stddev) * z).astype(t.dtype.np_dtype).reshape(t.shape)


def _normal_ref(shape: Sequence[int], seed: int, seed2: int, dtype: Any = float32,
                mean: float = 0.0, stddev: float = 1.0) -> np.ndarray:
    return _normal_values("random_normal", shape, seed, seed2, dtype, mean, stddev, truncated=False)


def _truncated_ref(shape: Sequence[int], seed: int, seed2: int, dtype: Any = float32,
                   mean: float = 0.0, stddev: float = 1.0) -> np.ndarray:
    return _normal_values("truncated_normal", shape, seed, seed2, dtype, mean, stddev, truncated=True)


_SEEDS = {"seed": Attr("int"), "seed2": Attr("int")}
_TRAITS = frozenset({RANDOM})

register(OpDef("random_uniform", 0, _uniform_rule, _uniform_ref,
               attrs={"shape": Attr("ints"), "dtype": Attr("dtype", float32), **_SEEDS,
                      "minval": Attr("any", 0), "maxval": Attr("any", 1)},
               traits=_TRAITS, doc="floats in [minval, maxval); integers in [minval, maxval) by modulo"))

_NORMAL_ATTRS = {"shape": Attr("ints"), "dtype": Attr("dtype", float32), **_SEEDS,
                 "mean": Attr("float", 0.0), "stddev": Attr("float", 1.0)}

register(OpDef("random_normal", 0, lambda types, attrs: [_random_type("random_normal", attrs, FLOAT_DTYPES)],
               _normal_ref, attrs=_NORMAL_ATTRS, traits=_TRAITS, doc="mean + stddev * N(0, 1) by Box-Muller"))

register(OpDef("truncated_normal", 0,
               lambda types, attrs: [_random_type("truncated_normal", attrs, FLOAT_DTYPES)],
               _truncated_ref, attrs=dict(_NORMAL_ATTRS), traits=_TRAITS,
               doc="mean + stddev * z with |z| < 2 (redrawn up to 64 times)"))


def _shuffle_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    if types[0].rank == 0:
        raise ShapeError(f"'random_shuffle' needs a tensor of rank >= 1{input_shapes('random_shuffle', types)}")
    return [types[0]]


def _shuffle_ref(x: np.ndarray, seed: int, seed2: int) -> np.ndarray:
    if x.ndim == 0:
        raise ShapeError("'random_shuffle' needs a tensor of rank >= 1")
    return x[philox.shuffle_permutation(x.shape[0], philox.key_from_seeds(seed, seed2))]


register(OpDef("random_shuffle", 1, _shuffle_rule, _shuffle_ref, attrs=dict(_SEEDS), traits=_TRAITS,
               doc="x's rows (dim 0) in a Fisher-Yates order drawn from the seeds"))
