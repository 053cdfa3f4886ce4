"""Gradient rules of the NN ops (softmax family, conv2d, pooling), against :mod:`xlc.ops.grad_api`.

Every rule emits IR ops only, so second derivatives work: the backward ops of conv2d and
pooling are linear in their gradient operand and have rules of their own here.  The
derivative of a max-pool gradient with respect to the pooled input is zero almost
everywhere (the routing is piecewise constant), so those rules return None for it.
"""

from __future__ import annotations

from typing import Any

from xlc.errors import UnimplementedError
from xlc.ir.opdef import get_opdef
from xlc.ops.grad_api import GradContext, GradOp

# importing the definitions first guarantees the OpDefs exist
from xlc.ops import conv as _conv  # noqa: F401
from xlc.ops import nn as _nn  # noqa: F401


def _axis(g: GradContext, op: GradOp) -> int:
    rank = g.type(op.inputs[0]).rank
    return int(op.attrs["axis"]) % rank


def _softmax_grad(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    # dx = y * (dy - sum(dy * y))
    dy, y = dys[0], op.outputs[0]
    if dy is None:
        return [None]
    dot = g.emit("reduce_sum", g.emit("mul", dy, y), axes=(_axis(g, op),), keepdims=True)
    return [g.emit("mul", y, g.emit("sub", dy, dot))]


def _log_softmax_grad(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    # dx = dy - softmax(x) * sum(dy)
    dy, y = dys[0], op.outputs[0]
    if dy is None:
        return [None]
    total = g.emit("reduce_sum", dy, axes=(_axis(g, op),), keepdims=True)
    return [g.emit("sub", dy, g.emit("mul", g.emit("exp", y), total))]


def _xent_grad(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    # d/dlogits = dy * (softmax(logits) * sum(labels) - labels): TF's (softmax - labels) when the
    # labels sum to 1, and exact otherwise;  d/dlabels = -dy * log_softmax(logits)
    dy = dys[0]
    if dy is None:
        return [None, None]
    labels, logits = op.inputs
    last = g.type(logits).rank - 1
    dyx = g.emit("expand_dims", dy, axis=last)
    total = g.emit("reduce_sum", labels, axes=(last,), keepdims=True)
    sm = g.emit("softmax", logits, axis=last)
    dlogits = g.emit("mul", dyx, g.emit("sub", g.emit("mul", sm, total), labels))
    dlabels = g.emit("mul", g.emit("neg", dyx), g.emit("log_softmax", logits, axis=last))
    return [dlabels, dlogits]


def _conv_attrs(op: GradOp) -> dict[str, Any]:
    return {k: op.attrs[k] for k in ("strides", "padding", "dilations")}


def _pool_attrs(op: GradOp) -> dict[str, Any]:
    return {k: op.attrs[k] for k in ("ksize", "strides", "padding")}


def _spatial(g: GradContext, h: Any, op: GradOp, what: str) -> tuple[int, int]:
    """The static (H, W) of handle ``h``: the backward ops carry it as an attribute."""
    shape = g.type(h).shape
    if shape[1] is None or shape[2] is None:
        raise UnimplementedError(f"the gradient of '{op.name}' needs the {what}'s height and width known "
                                 f"statically, got shape {list(shape)}")
    return int(shape[1]), int(shape[2])


def _conv2d_grad(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    dy = dys[0]
    if dy is None:
        return [None, None]
    x, w = op.inputs
    kh, kw = (int(d) for d in g.type(w).shape[:2])
    dx = g.emit("conv2d_backprop_input", w, dy, input_size=_spatial(g, x, op, "input"), **_conv_attrs(op))
    dw = g.emit("conv2d_backprop_filter", x, dy, filter_size=(kh, kw), **_conv_attrs(op))
    return [dx, dw]


def _conv2d_backprop_input_grad(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    # dx = B(w, dy) is bilinear; <ddx, B(w, dy)> = <conv2d(ddx, w), dy>
    ddx = dys[0]
    if ddx is None:
        return [None, None]
    w, dy = op.inputs
    kh, kw = (int(d) for d in g.type(w).shape[:2])
    dw = g.emit("conv2d_backprop_filter", ddx, dy, filter_size=(kh, kw), **_conv_attrs(op))
    ddy = g.emit("conv2d", ddx, w, **_conv_attrs(op))
    return [dw, ddy]


def _conv2d_backprop_filter_grad(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    # dw = F(x, dy) is bilinear; <ddw, F(x, dy)> = <conv2d(x, ddw), dy>
    ddw = dys[0]
    if ddw is None:
        return [None, None]
    x, dy = op.inputs
    dx = g.emit("conv2d_backprop_input", ddw, dy, input_size=_spatial(g, x, op, "input"), **_conv_attrs(op))
    ddy = g.emit("conv2d", x, ddw, **_conv_attrs(op))
    return [dx, ddy]


def _max_pool_grad_rule(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    dy = dys[0]
    if dy is None:
        return [None]
    return [g.emit("max_pool_grad", op.inputs[0], dy, **_pool_attrs(op))]


def _max_pool_grad_grad_rule(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    ddx = dys[0]
    if ddx is None:
        return [None, None]
    return [None, g.emit("max_pool_grad_grad", op.inputs[0], ddx, **_pool_attrs(op))]


def _max_pool_grad_grad_grad(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    dddy = dys[0]
    if dddy is None:
        return [None, None]
    return [None, g.emit("max_pool_grad", op.inputs[0], dddy, **_pool_attrs(op))]


def _avg_pool_grad_rule(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    dy = dys[0]
    if dy is None:
        return [None]
    size = _spatial(g, op.inputs[0], op, "input")
    return [g.emit("avg_pool_grad", dy, input_size=size, **_pool_attrs(op))]


def _avg_pool_grad_grad(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    ddx = dys[0]
    if ddx is None:
        return [None]
    return [g.emit("avg_pool", ddx, **_pool_attrs(op))]


def _dropout_grad(g: GradContext, op: GradOp, dys: list[Any]) -> list[Any]:
    # y = x * mask / keep: dx = dy * mask / keep, the same op with the same seeds on dy
    dy = dys[0]
    if dy is None:
        return [None, None]
    seeds = {"seed": op.attrs["seed"], "seed2": op.attrs["seed2"]}
    return [g.emit("dropout", dy, op.inputs[1], **seeds), None]


RULES = {
    "dropout": _dropout_grad,
    "softmax": _softmax_grad,
    "log_softmax": _log_softmax_grad,
    "softmax_cross_entropy": _xent_grad,
    "conv2d": _conv2d_grad,
    "conv2d_backprop_input": _conv2d_backprop_input_grad,
    "conv2d_backprop_filter": _conv2d_backprop_filter_grad,
    "max_pool": _max_pool_grad_rule,
    "max_pool_grad": _max_pool_grad_grad_rule,
    "max_pool_grad_grad": _max_pool_grad_grad_grad,
    "avg_pool": _avg_pool_grad_rule,
    "avg_pool_grad": _avg_pool_grad_grad,
}

for _name, _rule in RULES.items():
    get_opdef(_name).grad = _rule
