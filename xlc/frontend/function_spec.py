"""Input signatures of ``@xlc.function``: :class:`TensorSpec`, and the cache key of a call.

A call's arguments are a tree (lists, tuples, namedtuples, dicts) whose leaves are
either *tensor-like* (numpy arrays and scalars, eager tensors) or Python values.  The
key of a call is the tree's structure with each tensor leaf replaced by its dtype and
shape and each Python leaf by its value (by identity when it is not hashable), so that
equal keys mean the traced program is the same.  With an ``input_signature`` the tensor
leaves are checked against TensorSpecs instead, and their shapes leave the key: a
``None`` dim of a spec is a ``?`` dim of the IR function, so one trace serves every size.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from xlc.errors import InvalidArgumentError
from xlc.ir.types import DType, as_dtype, float32
from xlc.frontend.graph import Tensor
from xlc.frontend.tensor_shape import TensorShape, as_shape


class TensorSpec:
    """The dtype and (possibly partial) shape of a function's tensor argument (TF's ``tf.TensorSpec``).

    ``shape`` may have ``None`` dims (any size) or be ``None`` (any shape; the rank is then
    taken from the first call and is part of the trace key).
    """

    __slots__ = ("_shape", "_dtype", "_name")

    def __init__(self, shape: Any, dtype: Any = float32, name: str | None = None) -> None:
        self._shape = as_shape(shape)
        self._dtype: DType = as_dtype(dtype)
        self._name = name

    @classmethod
    def from_tensor(cls, tensor: Any, name: str | None = None) -> TensorSpec:
        """The spec of a graph Tensor or an array."""
        if isinstance(tensor, Tensor):
            return cls(tensor.shape, tensor.dtype, name or tensor.op.name)
        arr = np.asarray(tensor)
        return cls(arr.shape, as_dtype(arr.dtype), name)

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def dtype(self) -> DType:
        return self._dtype

    @property
    def name(self) -> str | None:
        return self._name

    def is_compatible_with(self, value: Any) -> bool:
        """Whether an array (or spec) has this dtype and a shape this spec admits."""
        if isinstance(value, TensorSpec):
            return value.dtype is self._dtype and self._shape.is_compatible_with(value.shape)
        arr = np.asarray(value)
        return arr.dtype == self._dtype.np_dtype and self._shape.is_compatible_with(arr.shape)

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, TensorSpec) and self._dtype is other._dtype and self._shape == other._shape
                and self._name == other._name)

    def __hash__(self) -> int:
        return hash((self._dtype, tuple(self._shape.as_list()) if self._shape.ndims is not None else None,
                     self._name))

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self._shape}, dtype=tf.{self._dtype.name}, name={self._name!r})"


# --- call keys ------------------------------------------------------------------------------------
# A tensor leaf's key is (np.dtype, shape): never equal to a Python leaf's key, which starts with a type.
class GraphTensorArgument(Exception):
    """Raised while keying a call that passes graph Tensors: the function is then inlined, not compiled."""


def _tensor_value(x: Tensor) -> np.ndarray:
    """An eager tensor's value; a graph Tensor raises GraphTensorArgument."""
    if getattr(x, "is_eager", False):
        return np.asarray(x)  # its array, not a copy
    raise GraphTensorArgument


def call_key(x: Any, tensors: list[np.ndarray], pinned: list[Any]) -> Any:
    """The key of argument tree ``x``; appends its tensor leaves (as arrays) to ``tensors``.

    Unhashable Python leaves are keyed by identity and appended to ``pinned`` (the caller
    keeps them alive so that their ids stay unique).
    """
    t = type(x)
    if t is np.ndarray:
        tensors.append(x)
        return (x.dtype, x.shape)
    if t is tuple or t is list:
        return (t, tuple([call_key(v, tensors, pinned) for v in x]))
    if t is dict:
        return (dict, tuple([(k, call_key(x[k], tensors, pinned)) for k in _sorted_keys(x)]))
    if isinstance(x, np.generic):
        arr = np.asarray(x)
        tensors.append(arr)
        return (arr.dtype, ())
    if isinstance(x, Tensor):
        arr = _tensor_value(x)
        tensors.append(arr)
        return (arr.dtype, arr.shape)
    if t is TensorSpec:  # get_concrete_function(TensorSpec(...)): a trace for that spec
        tensors.append(x)
        return (x.dtype.np_dtype, None if x.shape.ndims is None else tuple(x.shape.as_list()))
    if isinstance(x, tuple) and hasattr(x, "_fields"):  # namedtuple
        return (t, tuple([call_key(v, tensors, pinned) for v in x]))
    try:
        hash(x)
    except TypeError:
        pinned.append(x)
        return ("id", t, id(x))
    return (t, x)


def _sorted_keys(d: dict[Any, Any]) -> list[Any]:
    try:
        return sorted(d)
    except TypeError:  # keys of mixed types: insertion order
        return list(d)


def substitute(x: Any, leaves: Iterator[Any]) -> Any:
    """``x`` with its tensor leaves replaced, in :func:`call_key`'s order, by ``next(leaves)``."""
    t = type(x)
    if t is np.ndarray or isinstance(x, (np.generic, Tensor, TensorSpec)):
        return next(leaves)
    if t is tuple or t is list:
        return t(substitute(v, leaves) for v in x)
    if t is dict:
        out = dict(x)
        for k in _sorted_keys(x):
            out[k] = substitute(x[k], leaves)
        return out
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return t(*[substitute(v, leaves) for v in x])
    return x


def leaf_paths(x: Any, prefix: str, out: list[str]) -> None:
    """Names of ``x``'s tensor leaves in :func:`call_key`'s order: ``x``, ``xs_1``, ``d_a``."""
    t = type(x)
    if t is np.ndarray or isinstance(x, (np.generic, Tensor, TensorSpec)):
        out.append(prefix)
    elif t is tuple or t is list or (isinstance(x, tuple) and hasattr(x, "_fields")):
        for i, v in enumerate(x):
            leaf_paths(v, f"{prefix}_{i}", out)
    elif t is dict:
        for k in _sorted_keys(x):
            leaf_paths(x[k], f"{prefix}_{k}", out)


def match_signature(args: Sequence[Any], specs: Sequence[Any], where: str) -> tuple[list[np.ndarray],
                                                                                     list[TensorSpec]]:
    """The arrays of ``args`` checked against ``specs`` (a tree of TensorSpecs), in leaf order.

    Values are converted to the spec's dtype (Python numbers and lists are accepted); a
    value that does not fit raises InvalidArgumentError naming the argument and the spec.
    """
    arrays: list[np.ndarray] = []
    flat_specs: list[TensorSpec] = []

    def walk(x: Any, spec: Any, path: str) -> None:
        if isinstance(spec, TensorSpec):
            if isinstance(x, Tensor):
                arr = _tensor_value(x)
            else:
                try:
                    arr = np.asarray(x)
                except (TypeError, ValueError) as e:
                    raise InvalidArgumentError(None, None, f"{where}: argument {path} ({x!r}) is not a tensor: "
                                                           f"{e}") from None
            want = spec.dtype.np_dtype
            if arr.dtype != want:
                # Python values convert (TF's rule); arrays only within their kind (float64 -> float32)
                python_value = isinstance(x, (bool, int, float, list, tuple))
                same_kind = arr.dtype.kind == want.kind or {arr.dtype.kind, want.kind} <= {"i", "u"}
                if not (python_value or same_kind) or (arr.dtype.kind == "f" and want.kind != "f"):
                    raise InvalidArgumentError(None, None, f"{where}: argument {path} has dtype {arr.dtype}, "
                                                           f"which does not match {spec}")
                arr = arr.astype(want)
            if not spec.shape.is_compatible_with(arr.shape):
                raise InvalidArgumentError(None, None, f"{where}: argument {path} has shape {arr.shape}, which "
                                                       f"does not match {spec}")
            arrays.append(arr)
            flat_specs.append(spec)
        elif isinstance(spec, (list, tuple)):
            if not isinstance(x, (list, tuple)) or len(x) != len(spec):
                raise InvalidArgumentError(None, None, f"{where}: argument {path} should be a sequence of "
                                                       f"{len(spec)} tensors to match the input_signature, got "
                                                       f"{x!r}")
            for i, (v, s) in enumerate(zip(x, spec)):
                walk(v, s, f"{path}[{i}]")
        elif isinstance(spec, dict):
            if not isinstance(x, dict) or set(x) != set(spec):
                raise InvalidArgumentError(None, None, f"{where}: argument {path} should be a dict with keys "
                                                       f"{sorted(spec)} to match the input_signature")
            for k in _sorted_keys(spec):
                walk(x[k], spec[k], f"{path}[{k!r}]")
        else:
            raise TypeError(f"{where}: input_signature must hold TensorSpecs (possibly in lists, tuples and "
                            f"dicts), got {spec!r}")

    if len(args) != len(specs):
        raise InvalidArgumentError(None, None, f"{where}: takes {len(specs)} arguments by its input_signature, "
                                               f"got {len(args)}")
    for i, (x, spec) in enumerate(zip(args, specs)):
        walk(x, spec, f"#{i}")
    return arrays, flat_specs


def describe_key(key: Any) -> str:
    """A call key as people read it: ``float32[128,784], 0.5``."""
    t = key[0] if isinstance(key, tuple) and key else None
    if isinstance(t, np.dtype):
        dims = "*" if key[1] is None else ",".join("?" if d is None else str(d) for d in key[1])
        return f"{as_dtype(t).name}[{dims}]"
    if t is dict:
        return "{" + ", ".join(f"{k!r}: {describe_key(v)}" for k, v in key[1]) + "}"
    if isinstance(t, str):  # ("id", type, id)
        return f"<{key[1].__name__} at {key[2]:#x}>"
    if t is list or (isinstance(t, type) and issubclass(t, tuple)):
        open_, close = ("[", "]") if t is list else ("(", ")")
        return open_ + ", ".join(describe_key(k) for k in key[1]) + close
    return repr(key[1])


def describe_spec(spec: TensorSpec) -> str:
    dims = "*" if spec.shape.ndims is None else ",".join("?" if d is None else str(d) for d in spec.shape.as_list())
    return f"{spec.dtype.name}[{dims}]"


__all__ = ["GraphTensorArgument", "TensorSpec", "call_key", "describe_key", "describe_spec", "leaf_paths",
           "match_signature", "substitute"]
