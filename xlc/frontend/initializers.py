"""Variable initializers (TF1's ``tf.zeros_initializer()``, ``tf.glorot_uniform_initializer()``...).

An initializer is called as ``init(shape, dtype=None, partition_info=None)`` and builds
the ops that compute an initial value in the default graph.  Random initializers build
the IR's counter-based random ops (docs/ops.md) with seeds from :func:`graph.get_seed`,
so a graph-level seed makes them reproducible.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from xlc.ir.opdef import has_opdef
from xlc.ir.types import DType, as_dtype, float32
from xlc.frontend.graph import Tensor, get_seed
from xlc.frontend.op_builder import apply_op, constant, convert_to_tensor
from xlc.frontend.tensor_shape import as_shape


def _static_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, Tensor):
        raise TypeError(f"initializers need a static shape, got the tensor {shape.name}")
    dims = as_shape(shape).as_list()
    if any(d is None for d in dims):
        raise ValueError(f"initializers need a fully defined shape, got {as_shape(shape)}")
    return tuple(int(d) for d in dims)


class Initializer:
    """Base class: ``dtype`` is the default when the call gives none."""

    def __init__(self, dtype: Any = float32) -> None:
        self.dtype = as_dtype(dtype)

    def _dtype(self, dtype: Any) -> DType:
        return self.dtype if dtype is None else as_dtype(dtype)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()}


def _filled(shape: tuple[int, ...], value: Any, dtype: DType) -> Tensor:
    # fill keeps a big all-zeros/ones value out of the IR as a literal array
    if has_opdef("fill") and shape:
        scalar = convert_to_tensor(np.asarray(value, dtype.np_dtype))
        return apply_op("Fill", "fill", [scalar], {"shape": shape}).outputs[0]
    return constant(value, dtype=dtype, shape=shape)


class Zeros(Initializer):
    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        return _filled(_static_shape(shape), 0, self._dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        return _filled(_static_shape(shape), 1, self._dtype(dtype))


class Constant(Initializer):
    """A constant value: a scalar broadcast to the shape, or a value of as many elements."""

    def __init__(self, value: Any = 0, dtype: Any = float32, verify_shape: bool = False) -> None:
        super().__init__(dtype)
        self.value = value
        self.verify_shape = verify_shape

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        return constant(self.value, dtype=self._dtype(dtype), shape=_static_shape(shape),
                        verify_shape=self.verify_shape)


class _Random(Initializer):
    def __init__(self, seed: int | None = None, dtype: Any = float32) -> None:
        super().__init__(dtype)
        self.seed = seed

    def _attrs(self, shape: Any, dtype: Any) -> dict[str, Any]:
        seed, seed2 = get_seed(self.seed)
        return {"shape": _static_shape(shape), "dtype": self._dtype(dtype), "seed": seed, "seed2": seed2}


class RandomNormal(_Random):
    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: int | None = None, dtype: Any = float32):
        super().__init__(seed, dtype)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        attrs = self._attrs(shape, dtype) | {"mean": self.mean, "stddev": self.stddev}
        return apply_op("RandomStandardNormal", "random_normal", [], attrs).outputs[0]


class TruncatedNormal(RandomNormal):
    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        attrs = self._attrs(shape, dtype) | {"mean": self.mean, "stddev": self.stddev}
        return apply_op("TruncatedNormal", "truncated_normal", [], attrs).outputs[0]


class RandomUniform(_Random):
    def __init__(self, minval: float = 0.0, maxval: float | None = None, seed: int | None = None,
                 dtype: Any = float32) -> None:
        super().__init__(seed, dtype)
        self.minval = minval
        self.maxval = maxval

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dt = self._dtype(dtype)
        maxval = self.maxval if self.maxval is not None else 1.0
        if dt.is_integer and self.maxval is None:
            raise ValueError(f"Must specify maxval for integer dtype {dt.name}")
        attrs = self._attrs(shape, dt) | {"minval": self.minval, "maxval": maxval}
        return apply_op("RandomUniform", "random_uniform", [], attrs).outputs[0]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) as Keras computes them: conv kernels count their receptive field."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(_Random):
    """Scale / fan: mode "fan_in" | "fan_out" | "fan_avg"; distribution "uniform" | "truncated_normal"
    | "normal" (TF1 calls the truncated one "normal")."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, dtype: Any = float32) -> None:
        super().__init__(seed, dtype)
        if scale <= 0:
            raise ValueError(f"`scale` must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        fan_in, fan_out = _fans(_static_shape(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        dt = self._dtype(dtype)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return RandomUniform(-limit, limit, self.seed, dt)(shape)
        if self.distribution == "untruncated_normal":
            return RandomNormal(0.0, math.sqrt(var), self.seed, dt)(shape)
        # stddev of a normal truncated at 2 sigma is 0.8796...; correct for it as TF does
        return TruncatedNormal(0.0, math.sqrt(var) / 0.87962566103423978, self.seed, dt)(shape)


class GlorotUniform(VarianceScaling):
    def __init__(self, seed: int | None = None, dtype: Any = float32) -> None:
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)


class GlorotNormal(VarianceScaling):
    def __init__(self, seed: int | None = None, dtype: Any = float32) -> None:
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)


zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
truncated_normal_initializer = TruncatedNormal
random_uniform_initializer = RandomUniform
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
variance_scaling_initializer = VarianceScaling

__all__ = [
    "constant_initializer", "glorot_normal_initializer", "glorot_uniform_initializer", "ones_initializer",
    "random_normal_initializer", "random_uniform_initializer", "truncated_normal_initializer",
    "variance_scaling_initializer", "zeros_initializer",
]
