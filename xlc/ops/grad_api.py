"""The interface gradient rules are written against, so one rule serves the IR and the graph.

A rule is registered on its op's OpDef (``get_opdef("mul").grad = rule``) and called as::

    rule(g: GradContext, op: GradOp, out_grads: list[H | None]) -> list[H | None]

``out_grads[k]`` is the gradient flowing into result k (None: no gradient reaches it); the
rule returns one gradient per operand (None: no gradient; integer and bool operands always
get None).  ``H`` is an opaque handle: an IR Value when the autodiff pass differentiates a
Func, a frontend Tensor when ``xlc.gradients`` builds gradient ops into a Graph.  Rules only
create ops through ``g.emit`` and inspect types through ``g.type``; they never touch IR
classes or frontend classes directly.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

import numpy as np

from xlc.errors import XlcError
from xlc.ir.types import TensorType


class GradContext(Protocol):
    def emit(self, name: str, *operands: Any, **attrs: Any) -> Any:
        """Create op ``name`` (an IR op of docs/ops.md) on these handles; its single result."""

    def emit_multi(self, name: str, *operands: Any, **attrs: Any) -> list[Any]:
        """Create a multi-result op; all its results."""

    def constant(self, value: Any, dtype: Any) -> Any:
        """A constant handle (value: scalar or numpy array; dtype: xlc DType)."""

    def type(self, h: Any) -> TensorType:
        """The static type of a handle (dims may be None)."""


class GradOp(Protocol):
    name: str
    attrs: dict[str, Any]
    inputs: Sequence[Any]  # handles of the op's operands
    outputs: Sequence[Any]  # handles of the op's results


GradRule = Callable[[GradContext, GradOp, list[Any]], list[Any]]


def as_array(value: Any, dtype: Any) -> np.ndarray:
    return np.asarray(value, dtype=dtype.np_dtype)


class NoGradientError(XlcError, LookupError):
    """A differentiable path runs through an op whose OpDef has no gradient rule (TF raises LookupError)."""


def no_gradient(g: GradContext, op: GradOp, out_grads: list[Any]) -> list[Any]:
    """The rule of an op that is not differentiable: no gradient reaches any operand.

    Registering it (``get_opdef(name).grad = no_gradient``) is the "not differentiable"
    marker: differentiating through the op gives None, not an error (TF's NotDifferentiable).
    """
    return [None] * len(op.inputs)
