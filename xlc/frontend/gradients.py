"""``tf.gradients`` and ``tf.stop_gradient``: reverse-mode differentiation of a TF1 graph.

:func:`gradients` adds ordinary ops to the graph (under the name scope ``gradients/``, one
``<op name>_grad`` scope per differentiated op, as TF does), built by the same gradient rules
the IR autodiff pass uses (:mod:`xlc.ops.gradients`), here through a GradContext whose handles
are Tensors.  So gradient code is folded, fused and compiled by ``Session.run`` like any
other, and gradients of gradients work.

Between the xs and the ys, ops are visited in reverse creation order (creation order is a
topological order); gradients of a tensor used several times are added; integer and bool
tensors carry none.  Frontend-only ops: ``PlaceholderWithDefault`` passes the gradient to
its input; variables, placeholders and assigns stop it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import get_opdef
from xlc.ir.types import TensorType
from xlc.ops.grad_api import NoGradientError, as_array
from xlc.frontend.context import executing_eagerly
from xlc.frontend.graph import Operation, Tensor, get_default_graph
from xlc.frontend.op_builder import apply_op, constant, convert_to_tensor

# TF's op type names for the IR ops gradient rules emit (others are CamelCased: reduce_to_like ->
# ReduceToLike); they name the gradient ops the way TF's graphs do.
_TF_TYPES = {
    "add": "Add", "sub": "Sub", "mul": "Mul", "div": "RealDiv", "neg": "Neg", "floordiv": "FloorDiv",
    "reduce_sum": "Sum", "reduce_mean": "Mean", "reduce_max": "Max", "reduce_min": "Min", "reduce_prod": "Prod",
    "matmul": "MatMul", "reshape": "Reshape", "transpose": "Transpose", "expand_dims": "ExpandDims",
    "squeeze": "Squeeze", "concat": "ConcatV2", "stack": "Pack", "unstack": "Unpack", "split": "SplitV",
    "select": "Select", "constant": "Const", "cast": "Cast", "broadcast_to": "BroadcastTo", "pad": "Pad",
    "gather": "GatherV2", "strided_slice": "StridedSlice", "greater": "Greater", "greater_equal": "GreaterEqual",
    "less": "Less", "less_equal": "LessEqual", "equal": "Equal", "logical_or": "LogicalOr",
    "logical_not": "LogicalNot", "square": "Square", "sqrt": "Sqrt", "zeros_like": "ZerosLike",
    "ones_like": "OnesLike", "size": "Size", "shape": "Shape", "stop_gradient": "StopGradient",
    "identity": "Identity", "reciprocal": "Reciprocal", "sign": "Sign", "log": "Log", "exp": "Exp",
    "pow": "Pow", "tile": "Tile", "slice": "Slice",
}
# frontend-only op types through which the gradient passes unchanged to input 0
_PASS_THROUGH = frozenset({"PlaceholderWithDefault"})


def tf_op_type(ir_op: str) -> str:
    """The TF op type a gradient op of IR op ``ir_op`` is given."""
    return _TF_TYPES.get(ir_op) or "".join(part.capitalize() for part in ir_op.split("_"))


class GraphGradContext:
    """The GradContext of ``tf.gradients``: handles are Tensors, ops go into the default graph."""

    def emit(self, name: str, *operands: Tensor, **attrs: Any) -> Tensor:
        return apply_op(tf_op_type(name), name, list(operands), attrs).outputs[0]

    def emit_multi(self, name: str, *operands: Tensor, **attrs: Any) -> list[Tensor]:
        return list(apply_op(tf_op_type(name), name, list(operands), attrs).outputs)

    def constant(self, value: Any, dtype: Any) -> Tensor:
        return constant(as_array(value, dtype), dtype=dtype)

    def type(self, h: Tensor) -> TensorType:
        if h.shape.ndims is None:
            raise ShapeError(f"the gradient needs the rank of {h.name} (its shape is unknown); give it a "
                             f"shape (set_shape, or a placeholder shape)")
        return h.type


class _GraphGradOp:
    """An Operation seen through the GradOp protocol (IR op name, complete attributes)."""

    def __init__(self, op: Operation) -> None:
        assert op.ir_op is not None
        self.name = op.ir_op
        self.attrs = get_opdef(op.ir_op).complete_attrs(op.attrs)
        self.inputs = op.inputs
        self.outputs = op.outputs


class CustomGradient:
    """A per-call gradient override (``xlc.custom_gradient`` in graph mode).

    ``outputs`` are Identity tensors whose ops carry this object (``op._custom_gradient``);
    differentiating through them calls ``grad_fn(*d_outputs)`` for the gradients of
    ``inputs``, and nothing flows into the ops between the inputs and the outputs.
    """

    def __init__(self, inputs: Sequence[Tensor], outputs: Sequence[Tensor], grad_fn: Any) -> None:
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.grad_fn = grad_fn


def _carries(t: Tensor) -> bool:
    return t.dtype.is_floating


def _flatten(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _between(ys: Sequence[Tensor], xs: Sequence[Tensor], stops: set[Tensor]) -> list[Operation]:
    """The ops on a path from some x to some y (not through ``stops``), in creation order."""
    reached: set[Tensor] = set(xs)
    reached_ops: set[Operation] = set()
    stack = list(reached)
    while stack:
        t = stack.pop()
        for op in t.consumers():
            if op in reached_ops:
                continue
            reached_ops.add(op)
            for out in op.outputs:
                if out not in stops and out not in reached:
                    reached.add(out)
                    stack.append(out)
    needed: set[Operation] = set()
    stack2 = [y.op for y in ys if y in reached]
    while stack2:
        op = stack2.pop()
        if op in needed or op not in reached_ops:
            continue
        needed.add(op)
        stack2.extend(t.op for t in op.inputs if t in reached)
    return sorted(needed, key=lambda o: o._id)


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients", colocate_gradients_with_ops: bool = False,
              gate_gradients: bool = False, aggregation_method: Any = None,
              stop_gradients: Any = None) -> list[Tensor | None]:
    """Symbolic ``sum(ys)`` derivatives with respect to each of ``xs`` (TF1's ``tf.gradients``).

    ``ys``, ``xs``: a Tensor (or Variable) or a list of them; ``grad_ys``: the gradients
    flowing into each y (default: ones of y's shape); ``stop_gradients``: tensors treated
    as constants.  Returns one Tensor per x, or None where no path from x reaches ys.
    Raises ``LookupError`` (:class:`NoGradientError`) naming an op on such a path that has
    no gradient rule.
    """
    if executing_eagerly():
        raise RuntimeError("tf.gradients is not supported when eager execution is enabled. Use tf.GradientTape "
                           "instead.")
    ys_t = [convert_to_tensor(y) for y in _flatten(ys)]
    xs_t = [convert_to_tensor(x) for x in _flatten(xs)]
    gys = [None] * len(ys_t) if grad_ys is None else _flatten(grad_ys)
    if len(gys) != len(ys_t):
        raise ValueError(f"Passed {len(gys)} grad_ys for {len(ys_t)} ys")
    stops = {convert_to_tensor(s) for s in _flatten(stop_gradients)} if stop_gradients is not None else set()
    g = get_default_graph()
    ctx = GraphGradContext()
    with g.name_scope(name):
        grads: dict[Tensor, list[Tensor]] = {}
        for y, gy in zip(ys_t, gys):
            if not _carries(y):
                continue
            if gy is None:
                seed = _ones_like(ctx, y)
            else:
                seed = convert_to_tensor(gy, dtype=y.dtype)
            grads.setdefault(y, []).append(seed)
        done: set[int] = set()  # custom gradients applied (one call covers all its outputs)
        for op in reversed(_between(ys_t, xs_t, stops)):
            custom = getattr(op, "_custom_gradient", None)
            inputs = op.inputs
            if custom is not None:
                if id(custom) in done:
                    continue
                done.add(id(custom))
                out_grads = [_sum(ctx, grads.get(t)) if t not in stops else None for t in custom.outputs]
                if all(d is None for d in out_grads):
                    continue
                with g.name_scope(f"{op.name}_grad"):
                    dys = [d if d is not None else ctx.emit("zeros_like", t) for d, t in zip(out_grads, custom.outputs)]
                    in_grads = [None if d is None else convert_to_tensor(d) for d in custom.grad_fn(*dys)]
                inputs = tuple(custom.inputs)
            else:
                # a stop tensor's gradient is kept (it may be an x) but not passed on to its producer
                out_grads = [_sum(ctx, grads.get(t)) if _carries(t) and t not in stops else None for t in op.outputs]
                if all(d is None for d in out_grads):
                    continue
                in_grads = _op_grads(ctx, g, op, out_grads)
            for t, d in zip(inputs, in_grads):
                if d is not None and _carries(t):
                    grads.setdefault(t, []).append(d)
        return [_sum(ctx, grads.get(x)) for x in xs_t]


def _op_grads(ctx: GraphGradContext, g: Any, op: Operation, out_grads: list[Any]) -> list[Any]:
    if op.ir_op is None:
        if op.type in _PASS_THROUGH:
            return [out_grads[0]] + [None] * (len(op.inputs) - 1)
        return [None] * len(op.inputs)
    rule = get_opdef(op.ir_op).grad
    if rule is None:
        raise NoGradientError(f"No gradient defined for operation '{op.name}' (op type: {op.type})")
    with g.name_scope(f"{op.name}_grad"):
        in_grads = rule(ctx, _GraphGradOp(op), out_grads)
    if len(in_grads) != len(op.inputs):
        raise ShapeError(f"the gradient rule of '{op.ir_op}' gave {len(in_grads)} gradients for "
                         f"{len(op.inputs)} inputs (operation '{op.name}')")
    return in_grads


def _sum(ctx: GraphGradContext, parts: list[Tensor] | None) -> Tensor | None:
    """The total of the gradients reaching one tensor (TF's AddN, as a chain of adds)."""
    if not parts:
        return None
    total = parts[0]
    for p in parts[1:]:
        total = ctx.emit("add", total, p)
    if len(parts) > 1:
        parts[:] = [total]  # a tensor's total is built once
    return total


def _ones_like(ctx: GraphGradContext, y: Tensor) -> Tensor:
    if y.shape.is_fully_defined():
        return constant(np.ones(y.shape.as_list(), y.dtype.np_dtype), name="grad_ys")
    return ctx.emit("ones_like", y)


def stop_gradient(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """``input`` unchanged, but no gradient flows through it (tf.stop_gradient)."""
    x = convert_to_tensor(input)
    return apply_op("StopGradient", "stop_gradient", [x], name=name or "StopGradient").outputs[0]


__all__ = ["CustomGradient", "gradients", "stop_gradient"]
