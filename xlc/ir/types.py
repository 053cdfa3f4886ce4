"""Element types and tensor types of the IR.

A :class:`DType` is interned: compare with ``is`` or ``==``.  A :class:`TensorType`
is an immutable (shape, dtype) pair whose dims are ints or ``None`` (printed ``?``),
meaning "known only at run time".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import ml_dtypes
import numpy as np


@dataclass(frozen=True, eq=False)
class DType:
    """One element type: its TF name, its IR text name and its numpy dtype."""

    name: str  # TensorFlow's name: "float32"
    short: str  # the IR text form: "f32"
    np_dtype: Any  # numpy dtype object (object dtype for strings)
    kind: str  # "bool" | "int" | "uint" | "float" | "string"
    bits: int

    @property
    def is_floating(self) -> bool:
        return self.kind == "float"

    @property
    def is_integer(self) -> bool:
        return self.kind in ("int", "uint")

    @property
    def is_signed(self) -> bool:
        return self.kind in ("int", "float")

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("int", "uint", "float")

    @property
    def itemsize(self) -> int:
        return max(1, self.bits // 8)

    @property
    def as_numpy_dtype(self) -> Any:  # TF's DType API
        return self.np_dtype.type

    @property
    def base_dtype(self) -> DType:  # TF's DType API
        return self

    @property
    def min(self) -> Any:
        return np.finfo(self.np_dtype).min if self.is_floating else np.iinfo(self.np_dtype).min

    @property
    def max(self) -> Any:
        return np.finfo(self.np_dtype).max if self.is_floating else np.iinfo(self.np_dtype).max

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __str__(self) -> str:
        return f"<dtype: '{self.name}'>"

    def __reduce__(self) -> Any:
        return (as_dtype, (self.name,))


bool_ = DType("bool", "bool", np.dtype(np.bool_), "bool", 8)
int8 = DType("int8", "i8", np.dtype(np.int8), "int", 8)
uint8 = DType("uint8", "u8", np.dtype(np.uint8), "uint", 8)
int32 = DType("int32", "i32", np.dtype(np.int32), "int", 32)
int64 = DType("int64", "i64", np.dtype(np.int64), "int", 64)
float16 = DType("float16", "f16", np.dtype(np.float16), "float", 16)
bfloat16 = DType("bfloat16", "bf16", np.dtype(ml_dtypes.bfloat16), "float", 16)
float32 = DType("float32", "f32", np.dtype(np.float32), "float", 32)
float64 = DType("float64", "f64", np.dtype(np.float64), "float", 64)
string = DType("string", "str", np.dtype(object), "string", 0)

ALL_DTYPES: tuple[DType, ...] = (bool_, int8, uint8, int32, int64, float16, bfloat16, float32, float64, string)
NUMERIC_DTYPES = tuple(d for d in ALL_DTYPES if d.is_numeric)
FLOAT_DTYPES = tuple(d for d in ALL_DTYPES if d.is_floating)
INT_DTYPES = tuple(d for d in ALL_DTYPES if d.is_integer)

_BY_NAME: dict[str, DType] = {}
for _d in ALL_DTYPES:
    _BY_NAME[_d.name] = _d
    _BY_NAME[_d.short] = _d
_BY_NAME["bool_"] = bool_
_BY_NAME["half"] = float16
_BY_NAME["float"] = float32
_BY_NAME["double"] = float64


def as_dtype(x: Any) -> DType:
    """A DType from a DType, a name ("float32", "f32"), a numpy dtype or a Python type."""
    if isinstance(x, DType):
        return x
    if isinstance(x, str) and x in _BY_NAME:
        return _BY_NAME[x]
    if x is bool:
        return bool_
    if x is int:
        return int32
    if x is float:
        return float32
    if x is str or x is bytes:
        return string
    try:
        npd = np.dtype(x)
    except TypeError:
        raise TypeError(f"cannot convert {x!r} to a dtype") from None
    for d in ALL_DTYPES:
        if d.np_dtype == npd and d is not string:
            return d
    if npd.kind in "OSU":
        return string
    raise TypeError(f"dtype {npd} is not supported by xlc (supported: {', '.join(d.name for d in ALL_DTYPES)})")


Dim = "int | None"


@dataclass(frozen=True)
class TensorType:
    """A tensor's static type: ``shape`` is a tuple of ints (>= 0) or ``None`` for unknown."""

    shape: tuple[int | None, ...]
    dtype: DType

    def __post_init__(self) -> None:
        shape = tuple(None if d is None or d == -1 else int(d) for d in self.shape)
        for d in shape:
            if d is not None and d < 0:
                raise ValueError(f"negative dimension in shape {self.shape}")
        object.__setattr__(self, "shape", shape)

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(d is not None for d in self.shape)

    @property
    def num_elements(self) -> int | None:
        """The element count, or None when some dim is unknown."""
        if not self.is_static:
            return None
        n = 1
        for d in self.shape:
            n *= d  # type: ignore[operator]
        return n

    def with_shape(self, shape: Iterable[int | None]) -> TensorType:
        return TensorType(tuple(shape), self.dtype)

    def with_dtype(self, dtype: DType) -> TensorType:
        return TensorType(self.shape, dtype)

    def is_compatible_with(self, shape: Iterable[int]) -> bool:
        """Whether a concrete shape fits this type (same rank, equal known dims)."""
        shape = tuple(shape)
        return len(shape) == self.rank and all(s is None or s == d for s, d in zip(self.shape, shape))

    def __str__(self) -> str:
        dims = "".join(("?" if d is None else str(d)) + "x" for d in self.shape)
        return f"tensor<{dims}{self.dtype.short}>"

    def __repr__(self) -> str:
        return f"TensorType({self})"


def scalar(dtype: DType) -> TensorType:
    return TensorType((), dtype)
