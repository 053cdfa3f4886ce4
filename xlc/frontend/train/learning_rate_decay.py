"""Learning-rate schedules of ``tf.train`` (TF1 semantics): tensors computed from the global step.

They are ordinary graph ops, so a schedule is evaluated inside the compiled train step.
"""

from __future__ import annotations

from typing import Any, Sequence

from xlc.ir.types import float32
from xlc.frontend import math_ops
from xlc.frontend.graph import Tensor, name_scope
from xlc.frontend.op_builder import convert_to_tensor


def _float_lr(learning_rate: Any) -> Tensor:
    lr = convert_to_tensor(learning_rate, preferred_dtype=float32, name="learning_rate")
    if not lr.dtype.is_floating:
        lr = math_ops.cast(lr, float32)
    return lr


def exponential_decay(learning_rate: Any, global_step: Any, decay_steps: Any, decay_rate: Any,
                      staircase: bool = False, name: str | None = None) -> Tensor:
    """``learning_rate * decay_rate ** (global_step / decay_steps)`` (the exponent floored if ``staircase``)."""
    if global_step is None:
        raise ValueError("global_step is required for exponential_decay.")
    with name_scope(name or "ExponentialDecay"):
        lr = _float_lr(learning_rate)
        dt = lr.dtype
        step = math_ops.cast(global_step, dt)
        p = step / convert_to_tensor(decay_steps, dtype=dt) if not isinstance(decay_steps, (int, float)) \
            else step / float(decay_steps)
        if staircase:
            p = math_ops.floor(p)
        return lr * math_ops.pow(convert_to_tensor(decay_rate, dtype=dt), p)


def piecewise_constant(x: Any, boundaries: Sequence[Any], values: Sequence[Any], name: str | None = None) -> Tensor:
    """``values[0]`` while ``x <= boundaries[0]``, ``values[i]`` while ``boundaries[i-1] < x <= boundaries[i]``,
    ``values[-1]`` after the last boundary (TF's contract)."""
    if len(values) != len(boundaries) + 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    with name_scope(name or "PiecewiseConstant"):
        x = convert_to_tensor(x)
        vals = [convert_to_tensor(v, preferred_dtype=float32) for v in values]
        out = vals[-1]
        # built from the last interval down, so the first matching interval wins
        for b, v in zip(reversed(boundaries), reversed(vals[:-1])):
            out = math_ops.where(math_ops.less_equal(x, convert_to_tensor(b, dtype=x.dtype)), v, out)
        return out


__all__ = ["exponential_decay", "piecewise_constant"]
