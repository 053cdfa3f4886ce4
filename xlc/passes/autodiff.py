"""Reverse-mode automatic differentiation over the IR: the ``autodiff`` pass.

:func:`differentiate` builds, from a Func whose first result is a float scalar ``y``, a new
Func ``<name>_grad`` with the same arguments that returns the original results followed by
``dy/darg`` for each differentiated argument.  It copies the body, then walks the ops that
lie between the arguments and ``y`` in reverse program order, calling each op's gradient
rule (:mod:`xlc.ops.gradients`) through an IR :class:`GradContext`; gradients of a value
used several times are added.  Integer and bool values carry no gradient.  An argument no
gradient reaches gets zeros.  The result is ordinary IR: fold, fuse and compile it like any
other, or differentiate it again.
"""

from __future__ import annotations

from typing import Any, Sequence

from xlc.errors import ShapeError
from xlc.ir.builder import Builder
from xlc.ir.core import Func, Module, Op, Value
from xlc.ir.opdef import get_opdef
from xlc.ir.types import TensorType
from xlc.ops.grad_api import NoGradientError, as_array
from xlc.passes.manager import register_pass
from xlc.passes.rewrite import Rewriter, rewrite_func


class IRGradContext:
    """The GradContext of the autodiff pass: handles are IR Values, ops are appended by a Builder."""

    def __init__(self, builder: Builder) -> None:
        self.builder = builder

    def emit(self, name: str, *operands: Value, **attrs: Any) -> Value:
        return self.builder.emit(name, *operands, **attrs)

    def emit_multi(self, name: str, *operands: Value, **attrs: Any) -> list[Value]:
        return list(self.builder.create(name, operands, attrs).results)

    def constant(self, value: Any, dtype: Any) -> Value:
        return self.builder.emit("constant", value=as_array(value, dtype))

    def type(self, h: Value) -> TensorType:
        return h.type


class _IRGradOp:
    """An Op seen through the GradOp protocol."""

    def __init__(self, op: Op) -> None:
        self.name = op.name
        self.attrs = op.attrs
        self.inputs = op.operands
        self.outputs = op.results


def carries_gradient(v: Value) -> bool:
    return v.type.dtype.is_floating


def _between(ops: Sequence[Op], sources: set[Value], target: Value) -> list[Op]:
    """The ops on some path from ``sources`` to ``target``, in program order."""
    reached = set(sources)
    forward = []
    for op in ops:
        if any(v in reached and carries_gradient(v) for v in op.operands):
            reached.update(op.results)
            forward.append(op)
    needed = {target}
    out = []
    for op in reversed(forward):
        if any(r in needed for r in op.results):
            needed.update(op.operands)
            out.append(op)
    return out[::-1]


def backprop(ctx: IRGradContext, ops: Sequence[Op], y: Value, seed: Value, wrt: Sequence[Value]) -> list[Value | None]:
    """Gradients of ``y`` (seeded with ``seed``) with respect to ``wrt``, built with ``ctx``.

    None for a value that no gradient reaches.
    """
    grads: dict[Value, Value] = {y: seed}
    for op in reversed(_between(ops, set(wrt), y)):
        out_grads = [grads.get(r) if carries_gradient(r) else None for r in op.results]
        if all(d is None for d in out_grads):
            continue
        opdef = get_opdef(op.name)
        if opdef.grad is None:
            where = f" at {op.loc}" if op.loc else ""
            raise NoGradientError(f"No gradient defined for op '{op.name}'{where}")
        in_grads = opdef.grad(ctx, _IRGradOp(op), out_grads)
        if len(in_grads) != len(op.operands):
            raise ShapeError(f"the gradient rule of '{op.name}' gave {len(in_grads)} gradients for "
                             f"{len(op.operands)} operands")
        for v, d in zip(op.operands, in_grads):
            if d is None or not carries_gradient(v):
                continue
            if d.type.dtype is not v.type.dtype:
                raise ShapeError(f"the gradient rule of '{op.name}' gave a {d.type} gradient for a {v.type} operand")
            prev = grads.get(v)
            grads[v] = d if prev is None else ctx.emit("add", prev, d)
    return [grads.get(x) for x in wrt]


def differentiate(func: Func, wrt: Sequence[int] | None = None, name: str | None = None) -> Func:
    """A new Func ``<name>_grad``: func's arguments -> (func's results..., d result0 / d arg...).

    ``wrt`` lists the argument positions to differentiate (default: every float argument);
    ``func``'s first result must be a float scalar.  ``func`` is not modified.
    """
    outs = func.outputs
    if not outs or outs[0].type.rank != 0 or not outs[0].type.dtype.is_floating:
        first = outs[0].type if outs else "nothing"
        raise ShapeError(f"@{func.name} must return a float scalar first to be differentiated, it returns {first}")
    positions = [i for i, a in enumerate(func.args) if carries_gradient(a)] if wrt is None else list(wrt)
    for i in positions:
        if not carries_gradient(func.args[i]):
            raise ShapeError(f"argument {i} of @{func.name} is {func.args[i].type}, not a float tensor")

    def keep(op: Op, operands: list[Value], rw: Rewriter) -> None:
        return None

    new = rewrite_func(func, keep)
    new.name = name or f"{func.name}_grad"
    ret = new.body.ops.pop()  # the cloned return: gradient ops go before a new one
    results = list(ret.operands)
    b = Builder(new.body)
    ctx = IRGradContext(b)
    y = results[0]
    seed = ctx.constant(1.0, y.type.dtype)
    wrt_values = [new.args[i] for i in positions]
    grads = backprop(ctx, list(new.body.ops), y, seed, wrt_values)
    for x, d in zip(wrt_values, grads):
        results.append(b.emit("zeros_like", x) if d is None else d)
    b.ret(*results)
    return new


def autodiff(module: Module) -> Module:
    """The ``autodiff`` pass: adds ``<name>_grad`` for each func whose first result is a float scalar."""
    out = Module()
    grads = []
    for f in module:
        out.add(rewrite_func(f, lambda op, operands, rw: None))
        outs = f.outputs
        if outs and outs[0].type.rank == 0 and outs[0].type.dtype.is_floating:
            grads.append(f)
    for f in grads:
        if f"{f.name}_grad" not in out.funcs:
            out.add(differentiate(f))
    return out


register_pass("autodiff", autodiff, "add <name>_grad: the results and d result0 / d float args, by reverse mode")
