"""Variables in eager mode: ``xlc.Variable(...)`` made while executing eagerly is an EagerVariable.

An EagerVariable holds its value (a numpy array) in Python.  Reading it (``value()``,
operators, passing it to an op) gives an EagerTensor of the current value, and tells the
recording tapes (so ``GradientTape`` and ``implicit_gradients`` see which variables a
computation used).  ``assign``/``assign_add``/``assign_sub`` update it at once by
replacing the array, never writing into it: tensors read earlier keep their values.

Eager variables are not added to graph collections (as in TF's eager mode): layers and
``implicit_gradients`` find them by use, not by collection.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from xlc.ir.types import DType, as_dtype
from xlc.frontend.graph import get_default_graph
from xlc.frontend.op_builder import convert_to_tensor
from xlc.frontend.tensor_shape import TensorShape
from xlc.frontend.context import executing_eagerly
from xlc.frontend.variables import Variable, _assign_op
from xlc.frontend.eager.execute import ACTIVE_TAPES, run_op
from xlc.frontend.eager.tape import record_variable_read
from xlc.frontend.eager.tensor import EagerTensor


class _VariableHandle:
    """Stands in for a graph variable's ``VariableV2`` op (its name keys optimizer slots)."""

    __slots__ = ("name", "_variable")

    def __init__(self, name: str, variable: EagerVariable) -> None:
        self.name = name
        self._variable = variable

    @property
    def graph(self) -> Any:
        return get_default_graph()

    def __repr__(self) -> str:
        return f"<eager variable handle '{self.name}'>"


class EagerVariable(Variable):
    """A variable whose value lives here and changes at once (``tf.Variable`` under eager execution)."""

    def __init__(self, initial_value: Any = None, trainable: bool = True, collections: Sequence[str] | None = None,
                 validate_shape: bool = True, caching_device: Any = None, name: str | None = None,
                 variable_def: Any = None, dtype: Any = None, expected_shape: Any = None,
                 import_scope: Any = None, constraint: Any = None, use_resource: Any = None) -> None:
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        g = get_default_graph()
        if name is not None and name.endswith("/"):
            op_name = name[:-1]  # get_variable's full name, used as is
        else:
            op_name = g.unique_name(name or "Variable")
        value = initial_value() if callable(initial_value) else initial_value
        t = convert_to_tensor(value, dtype=None if dtype is None else as_dtype(dtype))
        if not isinstance(t, EagerTensor):
            raise ValueError(f"the initial value of eager variable {op_name} is not an eager value: {value!r}")
        self._array: np.ndarray = t._value
        self._dtype: DType = t._dtype
        self._shape = TensorShape(self._array.shape)
        self._trainable = trainable
        self._op = _VariableHandle(op_name, self)  # type: ignore[assignment]
        self._device_name = t._device
        self._constraint = constraint

    # --- identity ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return f"{self._op.name}:0"

    @property
    def graph(self) -> Any:
        return get_default_graph()

    @property
    def shape(self) -> TensorShape:
        return self._shape

    def get_shape(self) -> TensorShape:
        return self._shape

    @property
    def device(self) -> str:
        return self._device_name or ""

    @property
    def initializer(self) -> None:
        return None  # already initialized

    @property
    def initial_value(self) -> EagerTensor:
        raise RuntimeError("initial_value is not available for eager variables")

    def initialized_value(self) -> EagerTensor:
        return self.value()

    # --- reads ------------------------------------------------------------------------------------
    def _traced(self) -> Any:
        """In graph mode inside an ``@xlc.function`` trace, the variable as the traced graph sees it (a
        ``VariableV2`` output, from ``graph.capture_variable``; see :mod:`xlc.frontend.function`), else None."""
        capture = getattr(get_default_graph(), "capture_variable", None)
        return None if capture is None else capture(self)

    def _eager_read(self) -> EagerTensor:
        traced = None if executing_eagerly() else self._traced()
        if traced is not None:  # inside a trace: a graph read
            return traced
        t = EagerTensor(self._array, self._dtype)
        if ACTIVE_TAPES:
            record_variable_read(self, t)
        return t

    value = _eager_read
    read_value = _eager_read

    @property
    def _variable(self) -> EagerTensor:  # type: ignore[override]  (Variable's operators forward to this)
        return self._eager_read()

    def _as_graph_element(self) -> EagerTensor:
        return self._eager_read()

    def numpy(self) -> Any:
        return self._array[()] if self._array.ndim == 0 else self._array

    def eval(self, session: Any = None) -> Any:
        return self.numpy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._array if dtype is None else self._array.astype(dtype)

    def __int__(self) -> int:
        return int(self._eager_read())

    def __float__(self) -> float:
        return float(self._eager_read())

    def __index__(self) -> int:
        return self._eager_read().__index__()

    def __len__(self) -> int:
        return len(self._eager_read())

    def __iter__(self) -> Any:
        return iter(self._eager_read())

    # --- writes -----------------------------------------------------------------------------------
    def _set(self, t: Any, what: str) -> EagerTensor:
        t = convert_to_tensor(t, dtype=self._dtype)
        if t._value.shape != self._array.shape:
            raise ValueError(f"Shapes must be equal: cannot {what} a value of shape {t.shape} to variable "
                             f"'{self._op.name}' of shape {self._shape}")
        arr = t._value
        if self._constraint is not None:
            arr = convert_to_tensor(self._constraint(t))._value
        self._array = arr
        return EagerTensor(arr, self._dtype)

    def assign(self, value: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True) -> Any:
        """Set the value now; returns the new value (or None with ``read_value=False``)."""
        traced = None if executing_eagerly() else self._traced()
        if traced is not None:  # inside a trace: a graph op
            t = _assign_op("Assign", traced, value, name or "Assign")
            return t if read_value else t.op
        t = self._set(value, "assign")
        return t if read_value else None

    def assign_add(self, delta: Any, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True) -> Any:
        traced = None if executing_eagerly() else self._traced()
        if traced is not None:  # inside a trace: a graph op
            t = _assign_op("AssignAdd", traced, delta, name or "AssignAdd")
            return t if read_value else t.op
        t = self._set(run_op("add", [EagerTensor(self._array, self._dtype), _like(delta, self._dtype)])[0],
                      "assign_add")
        return t if read_value else None

    def assign_sub(self, delta: Any, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True) -> Any:
        traced = None if executing_eagerly() else self._traced()
        if traced is not None:  # inside a trace: a graph op
            t = _assign_op("AssignSub", traced, delta, name or "AssignSub")
            return t if read_value else t.op
        t = self._set(run_op("sub", [EagerTensor(self._array, self._dtype), _like(delta, self._dtype)])[0],
                      "assign_sub")
        return t if read_value else None

    def load(self, value: Any, session: Any = None) -> None:
        self.assign(np.asarray(value, dtype=self._dtype.np_dtype))

    def __repr__(self) -> str:
        return (f"<tf.Variable '{self.name}' shape={self._shape} dtype={self._dtype.name}, "
                f"numpy={np.array_repr(self._array)}>")

    def __str__(self) -> str:
        return repr(self)


def _like(value: Any, dtype: DType) -> EagerTensor:
    return convert_to_tensor(value, dtype=dtype)  # type: ignore[return-value]


Variable._eager_class = EagerVariable

__all__ = ["EagerVariable"]
