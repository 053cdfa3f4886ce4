"""``custom_gradient``: a function whose gradient is given by the user, in eager and graph mode.

The decorated ``f(*xs)`` returns ``(y, grad_fn)`` where ``grad_fn(*dys)`` returns the
gradient for each x (one tensor, or a list with one entry per x).

* Eager: ``f`` runs with recording stopped; each recording tape that watches an x
  records one entry whose backward function is ``grad_fn``.
* Graph: ``f``'s ops are built as usual; each of its outputs passes through an
  ``Identity`` op carrying a :class:`gradients.CustomGradient`, which ``xlc.gradients``
  uses instead of differentiating ``f``'s ops.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from xlc.frontend.context import executing_eagerly
from xlc.frontend.gradients import CustomGradient
from xlc.frontend.graph import Tensor
from xlc.frontend.op_builder import apply_op, convert_to_tensor
from xlc.frontend.eager.execute import ACTIVE_TAPES
from xlc.frontend.eager.tape import stop_recording
from xlc.frontend.eager.tensor import EagerTensor


def custom_gradient(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate ``f(*xs) -> (y, grad_fn)`` so that differentiating ``y`` calls ``grad_fn`` (``tf.custom_gradient``)."""

    @functools.wraps(f)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        if executing_eagerly():
            return _eager_call(f, args, kwargs)
        return _graph_call(f, args, kwargs)

    return decorated


def _split(result: Any, name: str) -> tuple[Any, Callable[..., Any]]:
    if not (isinstance(result, (tuple, list)) and len(result) == 2 and callable(result[1])):
        raise TypeError(f"custom_gradient: {name} must return (outputs, grad_fn), got {result!r}")
    return result[0], result[1]


def _as_list(grads: Any, n: int, name: str) -> list[Any]:
    out = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    if len(out) != n:
        raise ValueError(f"custom_gradient: the grad_fn of {name} returned {len(out)} gradients for {n} inputs")
    return out


def _eager_call(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    inputs = [convert_to_tensor(a) for a in args]
    with stop_recording():
        result, grad_fn = _split(f(*inputs, **kwargs), f.__name__)
    many = isinstance(result, (list, tuple))
    # fresh tensors (same values), so that the tape's entry has outputs of its own
    outs = [EagerTensor(t._value, t._dtype, t._device) for t in map(convert_to_tensor, result if many else [result])]

    def backward(out_grads: list[Any]) -> list[Any]:
        dys = [g if g is not None else EagerTensor(np.zeros_like(o._value), o._dtype) for g, o in zip(out_grads, outs)]
        return _as_list(grad_fn(*dys), len(inputs), f.__name__)

    for tape in list(ACTIVE_TAPES):
        tape.record("custom_gradient", None, inputs, outs, backward)
    return type(result)(outs) if many else outs[0]


def _graph_call(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    inputs = [convert_to_tensor(a) for a in args]
    result, grad_fn = _split(f(*inputs, **kwargs), f.__name__)
    many = isinstance(result, (list, tuple))
    ys: list[Tensor] = [convert_to_tensor(y) for y in (result if many else [result])]
    outs = [apply_op("Identity", "identity", [y], name="CustomGradient").outputs[0] for y in ys]
    override = CustomGradient(inputs, outs, lambda *dys: _as_list(grad_fn(*dys), len(inputs), f.__name__))
    for t in outs:
        t.op._custom_gradient = override
    return type(result)(outs) if many else outs[0]


__all__ = ["custom_gradient"]
