"""The eager API of TensorFlow 1.4-1.7's ``tf.contrib.eager`` ("tfe"), over :class:`GradientTape`.

* ``gradients_function(f, params=None)``: a function returning the list of gradients of
  ``f`` with respect to each argument (or those in ``params``); it nests, so the
  gradient of a gradient works.
* ``value_and_gradients_function(f)``: the same, returning ``(f's value, gradients)``.
* ``implicit_gradients(f)``: a function returning ``[(gradient, variable)]`` for the
  trainable variables ``f`` read, ready for ``optimizer.apply_gradients``.
* ``implicit_value_and_gradients(f)``: ``(f's value, [(gradient, variable)])``.

A function's gradient is of the sum of its output, seeded with ``dy`` when given.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

from xlc.errors import ShapeError
from xlc.frontend.context import enable_eager_execution, executing_eagerly
from xlc.frontend.graph import device
from xlc.frontend.op_builder import convert_to_tensor
from xlc.frontend.variables import Variable
from xlc.frontend.eager.custom_gradient import custom_gradient
from xlc.frontend.eager.tape import GradientTape
from xlc.frontend.eager.tensor import EagerTensor


def _check_eager(what: str) -> None:
    if not executing_eagerly():
        raise ValueError(f"{what} can only be used when eager execution is enabled "
                         "(call xlc.enable_eager_execution() at program start-up)")


def _param_indices(f: Callable[..., Any], params: Sequence[Any] | None, nargs: int) -> list[int]:
    if params is None:
        return list(range(nargs))
    names: list[str] = []
    try:
        names = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        pass
    out = []
    for p in params:
        if isinstance(p, int):
            out.append(p)
        elif p in names:
            out.append(names.index(p))
        else:
            raise ValueError(f"gradients_function: {p!r} is not a parameter of {getattr(f, '__name__', f)}")
    return out


def _value_and_grads(f: Callable[..., Any], params: Sequence[Any] | None, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> tuple[Any, list[Any]]:
    dy = kwargs.pop("dy", None)
    indices = _param_indices(f, params, len(args))
    args_t = list(args)
    with GradientTape(persistent=False, watch_accessed_variables=False) as tape:
        for i in indices:
            if not isinstance(args_t[i], Variable):
                args_t[i] = convert_to_tensor(args_t[i])
                if not isinstance(args_t[i], EagerTensor):
                    raise ValueError(f"argument {i} is not an eager value: {args[i]!r}")
            tape.watch(args_t[i])
        value = f(*args_t, **kwargs)
    grads = tape.gradient(value, [args_t[i] for i in indices], output_gradients=None if dy is None else [dy])
    return value, grads


def gradients_function(f: Callable[..., Any], params: Sequence[Any] | None = None) -> Callable[..., list[Any]]:
    """``f``'s gradient as a function: a list with one gradient per argument (or per ``params`` entry)."""

    @functools.wraps(f)
    def decorated(*args: Any, **kwargs: Any) -> list[Any]:
        _check_eager("gradients_function")
        return _value_and_grads(f, params, args, kwargs)[1]

    return decorated


def value_and_gradients_function(f: Callable[..., Any], params: Sequence[Any] | None = None
                                 ) -> Callable[..., tuple[Any, list[Any]]]:
    """Like gradients_function, returning ``(value, gradients)``."""

    @functools.wraps(f)
    def decorated(*args: Any, **kwargs: Any) -> tuple[Any, list[Any]]:
        _check_eager("value_and_gradients_function")
        return _value_and_grads(f, params, args, kwargs)

    return decorated


val_and_grad_function = value_and_gradients_function  # tfe's short names
grad_function = gradients_function


def implicit_value_and_gradients(f: Callable[..., Any]) -> Callable[..., tuple[Any, list[tuple[Any, Variable]]]]:
    """``f``'s value and ``[(gradient, variable)]`` for every trainable variable ``f`` read."""

    @functools.wraps(f)
    def decorated(*args: Any, **kwargs: Any) -> tuple[Any, list[tuple[Any, Variable]]]:
        _check_eager("implicit_gradients")
        with GradientTape() as tape:
            value = f(*args, **kwargs)
        variables = tape.watched_variables()
        if not variables:
            raise ShapeError(f"No trainable variables were accessed while the function "
                             f"{getattr(f, '__name__', f)} was being computed.")
        grads = tape.gradient(value, variables)
        return value, list(zip(grads, variables))

    return decorated


def implicit_gradients(f: Callable[..., Any]) -> Callable[..., list[tuple[Any, Variable]]]:
    """``[(gradient, variable)]`` for every trainable variable ``f`` read (feed it to ``apply_gradients``)."""
    vg = implicit_value_and_gradients(f)

    @functools.wraps(f)
    def decorated(*args: Any, **kwargs: Any) -> list[tuple[Any, Variable]]:
        return vg(*args, **kwargs)[1]

    return decorated


def in_eager_mode() -> bool:
    return executing_eagerly()


def in_graph_mode() -> bool:
    return not executing_eagerly()


def num_gpus() -> int:
    """GPUs eager ops can run on: none yet (the GPU backend does not exist; device scopes are recorded)."""
    return 0


__all__ = [
    "GradientTape", "Variable", "custom_gradient", "device", "enable_eager_execution", "executing_eagerly",
    "grad_function", "gradients_function", "implicit_gradients", "implicit_value_and_gradients", "in_eager_mode",
    "in_graph_mode", "num_gpus", "val_and_grad_function", "value_and_gradients_function",
]
