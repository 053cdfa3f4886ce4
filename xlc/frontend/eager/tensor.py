"""``EagerTensor``: a Tensor that holds its value, as eager execution returns them.

An EagerTensor is a :class:`graph.Tensor` (so every op function, operator and
``isinstance`` check that takes a Tensor takes it) whose value is a numpy array computed
when the op ran.  Its shape and dtype are the array's.  Python conversions (``int``,
``float``, ``bool``, ``len``, iteration, ``numpy.asarray``) read the value, so plain
Python control flow over tensors works, as in TensorFlow's eager mode.

Invariant: the array is never written after the tensor is made (ops return new arrays;
variables replace theirs on assignment), so a tensor recorded by a GradientTape keeps
the value it had.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from xlc.ir.types import DType, TensorType, as_dtype, string
from xlc.frontend.graph import Tensor
from xlc.frontend.tensor_shape import TensorShape

CPU_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"


class EagerTensor(Tensor):
    """A tensor with a value: ``.numpy()``, Python conversions, TF's printed form.

    Equality and hashing are by identity (TF 1.x's rule for every tensor); compare
    values with ``tf.equal`` or on ``.numpy()``.
    """

    __slots__ = ("_value", "_dtype", "_shape_cache", "_device")
    is_eager = True

    def __init__(self, value: np.ndarray, dtype: DType | None = None, device: str | None = None) -> None:
        # no super().__init__: an eager tensor has no op, graph or consumers
        self._value = value
        self._dtype = dtype if dtype is not None else _dtype_of(value)
        self._shape_cache: TensorShape | None = None
        self._device = device

    # --- what a Tensor is --------------------------------------------------------------------
    @property
    def dtype(self) -> DType:
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        if self._shape_cache is None:
            self._shape_cache = TensorShape(self._value.shape)
        return self._shape_cache

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def type(self) -> TensorType:
        return TensorType(self._value.shape, self._dtype)

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def device(self) -> str:
        """The device the op was placed on by ``xlc.device`` scopes (every op runs on the CPU for now)."""
        return self._device or CPU_DEVICE

    @property
    def name(self) -> str:  # TF: "Tensor.name is meaningless when eager execution is enabled."
        return f"<eager tensor shape={self.shape} dtype={self._dtype.name}>"

    @property
    def op(self) -> Any:
        raise AttributeError("Tensor.op is meaningless when eager execution is enabled.")

    @property
    def graph(self) -> Any:
        raise AttributeError("Tensor.graph is meaningless when eager execution is enabled.")

    @property
    def value_index(self) -> int:
        return 0

    def set_shape(self, shape: Any) -> None:
        if not self.shape.is_compatible_with(TensorShape(shape)):
            raise ValueError(f"Tensor's shape {self.shape} is not compatible with supplied shape {TensorShape(shape)}")

    def consumers(self) -> list[Any]:
        return []

    # --- the value -------------------------------------------------------------------------
    def numpy(self) -> Any:
        """The value as a numpy array (a numpy scalar for a 0-d tensor); it may share memory."""
        v = self._value
        return v[()] if v.ndim == 0 else v

    def eval(self, feed_dict: Any = None, session: Any = None) -> Any:
        return self.numpy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._value if dtype is None else self._value.astype(dtype)

    def _scalar(self, what: str) -> Any:
        if self._value.size != 1:
            raise TypeError(f"only size-1 tensors can be converted to Python {what}s, got shape {self.shape}")
        return self._value.reshape(()).item()

    def __bool__(self) -> bool:
        return bool(self._scalar("bool"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __index__(self) -> int:
        if not (self._dtype.is_integer or self._dtype.is_bool):
            raise TypeError(f"only integer tensors can be used as an index, got dtype {self._dtype.name}")
        return int(self._scalar("int"))

    def __complex__(self) -> complex:
        return complex(self._scalar("complex"))

    def __format__(self, spec: str) -> str:
        if self._value.ndim == 0:
            return format(self._value.item(), spec)
        return format(str(self), spec)

    def __len__(self) -> int:
        if self._value.ndim == 0:
            raise TypeError("Scalar tensor has no `len()`")
        return self._value.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        """The slices along the first axis (as ``x[i]``, so that a tape sees them)."""
        if self._value.ndim == 0:
            raise TypeError("Cannot iterate over a scalar tensor.")
        for i in range(self._value.shape[0]):
            yield self[i]

    # --- printing (TF's forms) --------------------------------------------------------------
    def _numpy_text(self, is_repr: bool = False) -> str:
        v = self._value
        if self._dtype is string:
            v = np.vectorize(lambda b: b.decode() if isinstance(b, bytes) else b, otypes=[object])(v)
        if is_repr:
            return repr(v.item()) if v.ndim == 0 and v.dtype != object else repr(v)
        return str(v)

    def __str__(self) -> str:
        return f"tf.Tensor({self._numpy_text()}, shape={self.shape}, dtype={self._dtype.name})"

    def __repr__(self) -> str:
        return f"<tf.Tensor: shape={self.shape}, dtype={self._dtype.name}, numpy={self._numpy_text(True)}>"

    def __reduce__(self) -> Any:
        return (EagerTensor, (self._value, self._dtype, self._device))

    def __copy__(self) -> EagerTensor:
        return self

    def __deepcopy__(self, memo: Any) -> EagerTensor:
        return EagerTensor(self._value.copy(), self._dtype, self._device)


def _dtype_of(value: np.ndarray) -> DType:
    return string if value.dtype == object else as_dtype(value.dtype)


def eager_constant(value: np.ndarray) -> EagerTensor:
    """A numpy value (already converted by TF's rules) as an EagerTensor."""
    return EagerTensor(value if value.flags.c_contiguous else value.copy())


__all__ = ["CPU_DEVICE", "EagerTensor", "eager_constant"]
