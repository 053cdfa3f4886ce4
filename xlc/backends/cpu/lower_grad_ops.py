"""CPU lowerings of the gradient helper ops (xlc.ops.grad_ops).

All but ``gather_grad`` are per-element and fuse with their neighbours; ``gather_grad`` is a
kernel (a scatter-add cannot be computed one output element at a time without a search):
it zero-fills its result, then adds every gradient element at its index.
"""

from __future__ import annotations

from llvmlite import ir

from xlc.backends.cpu.emitter import ERR_GATHER_INDEX, ONE, ZERO, ElemLowering, Emitter, KernelLowering, i64
from xlc.backends.cpu.llvmtypes import I1, I64, const
from xlc.backends.cpu.lower_reduce import REASSOC
from xlc.errors import CompileError
from xlc.ir.core import Op
from xlc.ops.grad_ops import ss_plan_of
from xlc.ops.indexing import NEW_AXIS, SHRINK_AXIS

_BIG = 1 << 40  # stands for an unknown dim when canonicalising a slice spec


def _zeros_like(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return const(op.results[0].dtype, 0)


def _ones_like(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return const(op.results[0].dtype, 1)


def _stop_gradient(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return em.value_at(op.operands[0], idx)


def _reshape_like(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x, out = op.operands[0], op.results[0]
    return em.value_at(x, em.delinearize(x, em.linear_index(out, idx)))


def _broadcast_like(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return em.operand_at(op, 0, idx)


def _reduce_to_like(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    """Sum x over its leading axes and the axes where like is 1 (decided at run time for '?')."""
    x, like = op.operands
    out = op.results[0]
    shift = x.type.rank - like.type.rank
    b = em.b
    extents: list[ir.Value] = []
    offsets: list[ir.Value] = []  # x's index along each looped axis is offset + inner
    looped: list[int] = []
    for a in range(x.type.rank):
        if a < shift:
            looped.append(a)
            extents.append(em.dim(x, a))
            offsets.append(ZERO)
            continue
        ld = like.type.shape[a - shift]
        if ld is not None and ld != 1:
            continue
        looped.append(a)
        if ld == 1:
            extents.append(em.dim(x, a))
        else:
            is_one = b.icmp_unsigned("==", em.dim(out, a - shift), ONE)
            extents.append(b.select(is_one, em.dim(x, a), ONE))
        offsets.append(idx[a - shift])
    dt = out.dtype
    acc = em.alloca(em.compute_type(dt), "rtl.acc")
    b.store(const(dt, 0), acc)

    def body(inner: list[ir.Value]) -> None:
        src = [ZERO] * x.type.rank
        for a in range(shift, x.type.rank):
            src[a] = idx[a - shift]
        for a, off, i in zip(looped, offsets, inner):
            src[a] = em.b.add(off, i) if off is not ZERO else i
        v = em.value_at(x, src)
        cur = em.b.load(acc)
        em.b.store(em.b.fadd(cur, v, flags=REASSOC) if dt.is_floating else em.b.add(cur, v), acc)

    em.loop_nest(extents, body)
    return em.b.load(acc)


def _strided_slice_grad(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    """The gradient element at input index idx: the slice element that read it, else 0."""
    g, like = op.operands
    dt = op.results[0].dtype
    shape = like.type.shape
    # unknown dims stand in as a huge size (as the forward lowering does): exact for forward
    # slices from a non-negative or masked begin; the rest needs the dim, read at run time
    plan = ss_plan_of(tuple(_BIG if d is None else d for d in shape), op.attrs)
    raw = ss_plan_of(shape, op.attrs)
    b = em.b
    hit: ir.Value = ir.Constant(I1, 1)
    q: list[ir.Value] = [ZERO] * like.type.rank  # the slice's position along each input dim
    for dim in range(like.type.rank):
        begin, stride = plan.begin[dim], plan.strides[dim]
        if plan.shrink[dim]:
            at: ir.Value = i64(begin)
            if shape[dim] is None and raw.begin[dim] < 0:
                at = b.add(em.dim(like, dim), i64(raw.begin[dim]))
            hit = b.and_(hit, b.icmp_signed("==", idx[dim], at))
            continue
        if shape[dim] is None and (stride < 0 or begin >= _BIG // 2):
            raise CompileError(f"the gradient of a strided_slice counting from the end of unknown dim {dim} is "
                               f"not supported by the CPU backend yet (op at {op.loc})")
        rel = b.sub(idx[dim], i64(begin)) if stride > 0 else b.sub(i64(begin), idx[dim])
        step = abs(stride)
        g_axis = _g_axis(plan.gather, dim)
        count = em.dim(g, g_axis)
        ok = b.and_(b.icmp_signed(">=", rel, ZERO), b.icmp_signed("<", rel, b.mul(count, i64(step))))
        if step != 1:
            ok = b.and_(ok, b.icmp_signed("==", b.srem(rel, i64(step)), ZERO))
            rel = b.sdiv(rel, i64(step))
        hit = b.and_(hit, ok)
        q[dim] = rel
    gidx: list[ir.Value] = []
    for src in plan.gather:
        if src == NEW_AXIS:
            gidx.append(ZERO)
        elif src != SHRINK_AXIS:
            gidx.append(q[src])
    return em.if_else(hit, lambda: em.value_at(g, gidx), lambda: const(dt, 0))


def _g_axis(gather: tuple[int, ...], dim: int) -> int:
    """The axis of the slice's result that input dim ``dim`` becomes."""
    axis = 0
    for src in gather:
        if src == dim:
            return axis
        if src != SHRINK_AXIS:
            axis += 1
    raise CompileError(f"input dim {dim} is not in the strided slice's result")


def _gather_grad(em: Emitter, op: Op) -> None:
    g, indices, like = op.operands
    out = op.results[0]
    axis = int(op.attrs["axis"])
    k = indices.type.rank
    dt = out.dtype
    em.loop_nest(em.dims(out), lambda i: em.store(out, i, const(dt, 0)))
    bound = em.dim(like, axis)

    def add_one(i: list[ir.Value]) -> None:
        b = em.b
        raw = em.value_at(indices, i[axis:axis + k])
        j = b.sext(raw, I64) if raw.type.width < 64 else raw
        pos = em.linear_index(indices, i[axis:axis + k]) if k else ZERO
        em.fail_if(b.icmp_unsigned(">=", j, bound), ERR_GATHER_INDEX, op, [j, bound, pos, i64(int(k == 0))])
        dst = i[:axis] + [j] + i[axis + k:]
        v = em.value_at(g, i)
        cur = em.load(out, dst)
        em.store(out, dst, em.b.fadd(cur, v) if dt.is_floating else em.b.add(cur, v))

    em.loop_nest(em.dims(g), add_one)


ELEM: dict[str, ElemLowering] = {
    "zeros_like": _zeros_like,
    "ones_like": _ones_like,
    "stop_gradient": _stop_gradient,
    "reshape_like": _reshape_like,
    "broadcast_like": _broadcast_like,
    "reduce_to_like": _reduce_to_like,
    "strided_slice_grad": _strided_slice_grad,
}
KERNELS: dict[str, KernelLowering] = {"gather_grad": _gather_grad}
