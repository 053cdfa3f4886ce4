"""The start of ``xlc.nn``: activation functions (``relu``, ``relu6``, ``softplus``, ...).

Functions without an IR op of their own are composed from elementwise ops in a form
that is exact and never overflows.
"""

from __future__ import annotations

from typing import Any

from xlc.frontend.graph import Tensor, apply_op, convert_to_tensor
from xlc.frontend import math_ops

__all__ = ["relu", "relu6", "sigmoid", "tanh", "softplus"]


def relu(features: Any, name: str | None = None) -> Tensor:
    """max(features, 0)."""
    return apply_op("Relu", "relu", [convert_to_tensor(features)], name=name).outputs[0]


def relu6(features: Any, name: str | None = None) -> Tensor:
    """min(max(features, 0), 6)."""
    x = convert_to_tensor(features)
    return math_ops.minimum(relu(x), 6, name=name or "Relu6")


def softplus(features: Any, name: str | None = None) -> Tensor:
    """log(1 + exp(features)), as max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|."""
    x = convert_to_tensor(features)
    tail = math_ops.log1p(math_ops.exp(math_ops.negative(math_ops.abs(x))))
    return math_ops.add(relu(x), tail, name=name or "Softplus")


sigmoid = math_ops.sigmoid
tanh = math_ops.tanh
