"""Building ops: converting Python values to tensors, :func:`apply_op`, constants and placeholders.

Every op a user builds goes through :func:`apply_op`, which names it (TF's uniquifying
rules under the current name scope), records its device scope, control dependencies and
the user's source line, and infers its output types with the op's IR type rule (or runs
it at once when eager execution is on: see :class:`xlc.frontend.graph.EagerHooks`).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

import xlc.ops  # noqa: F401  (defines the IR ops that apply_op looks up)
from xlc.errors import ShapeError
from xlc.ir.opdef import get_opdef
from xlc.ir.types import DType, TensorType, as_dtype, string
from xlc.frontend.context import executing_eagerly
from xlc.frontend.graph import (
    EagerHooks,
    Operation,
    Tensor,
    _conversion_for,
    _user_location,
    control_dependencies,
    get_default_graph,
)
from xlc.frontend.tensor_shape import TensorShape, as_shape

def _contains_tensor(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_contains_tensor(v) for v in value)
    return isinstance(value, Tensor) or _conversion_for(value) is not None


def _encode_strings(value: Any) -> np.ndarray:
    arr = np.array(value, dtype=object)
    flat = [v.encode() if isinstance(v, str) else v for v in arr.ravel().tolist()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(arr.shape)


def to_numpy(value: Any, dtype: DType | None = None) -> np.ndarray:
    """A Python value as a numpy array by TF's rules: ints -> int32, floats -> float32.

    With ``dtype``, a value that does not fit (1.5 as int32) raises TypeError.
    """
    if dtype is string or isinstance(value, (str, bytes)) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "OSU"):
        return _encode_strings(value)
    if isinstance(value, (Tensor, Operation)):
        raise TypeError(f"Expected a Python or numpy value, got {value!r}")
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
    else:
        try:
            arr = np.array(value)
        except ValueError as e:
            raise ValueError(f"Can't convert non-rectangular Python sequence to Tensor: {e}") from None
        if arr.dtype.kind == "i":
            fits = arr.size == 0 or (arr.min() >= -(2**31) and arr.max() < 2**31)
            arr = arr.astype(np.int32 if fits else np.int64)
        elif arr.dtype.kind == "f":
            arr = arr.astype(np.float32) if dtype is None else arr
        elif arr.dtype.kind in "OSU":
            if any(isinstance(v, (str, bytes)) for v in arr.ravel().tolist()):
                return _encode_strings(value)
            raise TypeError(f"Failed to convert object of type {type(value).__name__} to Tensor. Contents: {value}.")
    if dtype is None:
        as_dtype(arr.dtype)  # rejects unsupported numpy dtypes with a clear message
        return arr
    if arr.dtype.kind in "fc" and (dtype.is_integer or dtype.is_bool):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.trunc(arr)):
            raise TypeError(f"Expected {dtype.name}, got {value!r} of type '{type(value).__name__}' instead.")
    if arr.dtype.kind == "b" and not dtype.is_bool and not isinstance(value, np.ndarray):
        raise TypeError(f"Expected {dtype.name}, got {value!r} of type '{type(value).__name__}' instead.")
    return arr.astype(dtype.np_dtype)


def _const_op(arr: np.ndarray, name: str | None) -> Tensor:
    if executing_eagerly():
        return EagerHooks.constant(arr)  # type: ignore[misc]
    dt = as_dtype(arr.dtype) if arr.dtype != object else string
    g = get_default_graph()
    op = g.create_op("Const", "constant", [], {"value": arr},
                     [(dt, TensorShape(arr.shape))], name or "Const", _user_location())
    return op.outputs[0]


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None, preferred_dtype: Any = None) -> Tensor:
    """A Tensor from a Tensor (dtype-checked), a Variable, or a Python/numpy value (a Const op)."""
    dt = None if dtype is None else as_dtype(dtype)
    if isinstance(value, Tensor):
        if value.is_eager and not executing_eagerly():  # an eager value used in a graph: a constant
            value = _const_op(np.asarray(value.numpy()), name)  # numpy() of a 0-d tensor is a scalar
        if dt is not None and value.dtype is not dt:
            raise ValueError(f"Tensor conversion requested dtype {dt.name} for Tensor with dtype "
                             f"{value.dtype.name}: {value!r}")
        return value
    conv = _conversion_for(value)
    if conv is not None:
        return convert_to_tensor(conv(value, dt, name), dt)
    if isinstance(value, (list, tuple)) and _contains_tensor(value):
        items = [convert_to_tensor(v, dt) for v in value]
        return apply_op("Pack", "stack", items, {"axis": 0}, name=name or "stack").outputs[0]
    if dt is None and preferred_dtype is not None:
        try:
            return _const_op(to_numpy(value, as_dtype(preferred_dtype)), name)
        except (TypeError, ValueError):
            pass
    return _const_op(to_numpy(value, dt), name)


def _infer(ir_op: str, inputs: Sequence[Tensor], attrs: Mapping[str, Any]) -> list[tuple[DType, TensorShape]]:
    """Output (dtype, shape) pairs from the IR type rule.

    The IR has no unknown rank; an input of unknown rank is inferred as a scalar to get
    the dtypes, and the outputs get unknown rank (their shapes are known at run time).
    """
    opdef = get_opdef(ir_op)
    full = opdef.complete_attrs(attrs)
    unknown_rank = any(t.shape.ndims is None for t in inputs)
    types = [TensorType((), t.dtype) if t.shape.ndims is None else t.type for t in inputs]
    if not unknown_rank:
        return [(r.dtype, TensorShape(r.shape)) for r in opdef.infer(types, full)]
    try:
        results = opdef.infer(types, full)
    except ShapeError:
        return [(inputs[0].dtype, TensorShape(None))]
    return [(r.dtype, TensorShape(None)) for r in results]


def apply_op(op_type: str, ir_op: str, inputs: Sequence[Any], attrs: Mapping[str, Any] | None = None,
             name: str | None = None) -> Operation:
    """Create an Operation in the default graph; output types come from ``ir_op``'s type rule.

    ``op_type`` is the TF name ("Add"), used for naming; ``ir_op`` the IR op ("add").
    A bad combination of inputs raises ShapeError (a ValueError) before anything is added.
    When executing eagerly the op runs now instead (:mod:`xlc.frontend.eager.execute`).
    """
    if executing_eagerly():
        return EagerHooks.execute(op_type, ir_op, inputs, attrs, name)  # type: ignore[misc]
    g = get_default_graph()
    tensors = [x if type(x) is Tensor else convert_to_tensor(x) for x in inputs]
    attrs = dict(attrs or {})
    outputs = _infer(ir_op, tensors, attrs)
    return g.create_op(op_type, ir_op, tensors, attrs, outputs, name, _user_location())


# --- constants and placeholders ---------------------------------------------------------------
def constant(value: Any, dtype: Any = None, shape: Any = None, name: str = "Const", verify_shape: bool = False
             ) -> Tensor:
    """A Const op; with ``shape``, a scalar (or one-element) value is broadcast, and a value
    with as many elements is reshaped, as TF1 does."""
    dt = None if dtype is None else as_dtype(dtype)
    arr = to_numpy(value, dt)
    if shape is not None:
        shape = tuple(int(d) for d in as_shape(shape).as_list())
        n = int(np.prod(shape)) if shape else 1
        if arr.shape == shape:
            pass
        elif verify_shape:
            raise TypeError(f"Expected Tensor's shape: {shape}, got {arr.shape}.")
        elif arr.size == 1:
            arr = np.full(shape, arr.reshape(()), dtype=arr.dtype)
        elif arr.size == n:
            arr = arr.reshape(shape)
        elif arr.ndim <= 1 and arr.size < n:  # TF1 pads a short list with its last element
            flat = np.concatenate([arr.ravel(), np.repeat(arr.ravel()[-1:], n - arr.size)])
            arr = flat.reshape(shape)
        else:
            raise TypeError(f"Too many elements provided. Needed at most {n}, but received {arr.size}")
    return _const_op(arr, name)


def placeholder(dtype: Any, shape: Any = None, name: str | None = None) -> Tensor:
    """A value fed at run time; ``shape`` None means any shape, a None dim any size."""
    if executing_eagerly():
        raise RuntimeError("tf.placeholder() is not compatible with eager execution.")
    dt = as_dtype(dtype)
    sh = as_shape(shape)
    op = get_default_graph().create_op("Placeholder", None, [], {"dtype": dt, "shape": sh}, [(dt, sh)],
                                       name or "Placeholder", _user_location())
    return op.outputs[0]


def placeholder_with_default(input: Any, shape: Any, name: str | None = None) -> Tensor:
    """A tensor that is ``input`` unless fed (lowered as identity of its input)."""
    x = convert_to_tensor(input)
    sh = as_shape(shape)
    op = get_default_graph().create_op("PlaceholderWithDefault", None, [x], {"dtype": x.dtype, "shape": sh},
                                       [(x.dtype, sh)], name or "PlaceholderWithDefault", _user_location())
    return op.outputs[0]


def no_op(name: str | None = None) -> Operation | None:
    if executing_eagerly():  # nothing to run; TF returns None too
        return None
    return get_default_graph().create_op("NoOp", None, [], {}, [], name or "NoOp", _user_location())


def group(*inputs: Any, name: str | None = None) -> Operation:
    """A NoOp that runs after all of ``inputs`` (ops or tensors, possibly nested in lists)."""
    flat: list[Any] = []

    def walk(x: Any) -> None:
        if isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif x is not None:
            flat.append(x)

    walk(inputs)
    if executing_eagerly():  # every op has already run
        return None  # type: ignore[return-value]
    with control_dependencies(flat):
        return no_op(name or "group_deps")


__all__ = ["apply_op", "constant", "convert_to_tensor", "group", "no_op", "placeholder", "placeholder_with_default",
           "to_numpy"]
