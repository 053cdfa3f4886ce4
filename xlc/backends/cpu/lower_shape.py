"""Per-element lowerings of shape and indexing ops: each maps a result index to operand indices.

None of these moves data by itself: a transpose or a slice of a fused expression reads the
expression at remapped indices, so it costs index arithmetic only.
"""

from __future__ import annotations

from llvmlite import ir

from xlc.backends.cpu.emitter import ERR_GATHER_INDEX, ONE, ZERO, ElemLowering, Emitter, i64
from xlc.backends.cpu.llvmtypes import I1, I64, const
from xlc.errors import CompileError
from xlc.ir.core import Op
from xlc.ir.types import as_dtype
from xlc.ops.indexing import NEW_AXIS, SHRINK_AXIS, strided_slice_plan


def _reshape(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x, out = op.operands[0], op.results[0]
    lin = em.linear_index(out, idx)
    return em.value_at(x, em.delinearize(x, lin))


def _transpose(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    perm = op.attrs["perm"]
    src: list[ir.Value] = [ZERO] * len(perm)
    for k, p in enumerate(perm):
        src[p] = idx[k]
    return em.value_at(op.operands[0], src)


def _expand_dims(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    axis = int(op.attrs["axis"])
    return em.value_at(op.operands[0], idx[:axis] + idx[axis + 1:])


def _squeeze(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x = op.operands[0]
    axes = set(op.attrs["axes"]) or {a for a, d in enumerate(x.type.shape) if d == 1}
    it = iter(idx)
    return em.value_at(x, [ZERO if a in axes else next(it) for a in range(x.type.rank)])


def _concat_like(em: Emitter, op: Op, idx: list[ir.Value], axis: int, stacked: bool) -> ir.Value:
    """Pick the operand whose range along ``axis`` holds idx[axis] (branches: only one is read)."""
    operands = list(op.operands)
    b = em.b

    def piece(k: int, offset: ir.Value) -> ir.Value:
        v = operands[k]
        local = b.sub(idx[axis], offset)
        sub = idx[:axis] + idx[axis + 1:] if stacked else idx[:axis] + [local] + idx[axis + 1:]
        if k == len(operands) - 1:
            return em.value_at(v, sub)
        width = ONE if stacked else em.dim(v, axis)
        end = b.add(offset, width)
        return em.if_else(b.icmp_signed("<", idx[axis], end), lambda: em.value_at(v, sub), lambda: piece(k + 1, end))

    return piece(0, ZERO)


def _concat(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return _concat_like(em, op, idx, int(op.attrs["axis"]), stacked=False)


def _stack(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return _concat_like(em, op, idx, int(op.attrs["axis"]), stacked=True)


def _unstack(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    axis = int(op.attrs["axis"])
    return em.value_at(op.operands[0], idx[:axis] + [i64(r)] + idx[axis:])


def _split(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    axis = int(op.attrs["axis"])
    offset: ir.Value = ZERO
    for k in range(r):
        offset = em.b.add(offset, em.dim(op.results[k], axis))
    src = list(idx)
    src[axis] = em.b.add(idx[axis], offset)
    return em.value_at(op.operands[0], src)


def _slice(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    begin = op.attrs["begin"]
    return em.value_at(op.operands[0], [em.b.add(i, i64(int(b))) if b else i for i, b in zip(idx, begin)])


_BIG = 1 << 40  # stands for an unknown dim when canonicalising a slice spec


def _strided_slice(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    """Canonicalise the spec once; unknown dims are stood in by a huge size, which leaves
    forward slices with non-negative (or masked) begins exact; others need the dim."""
    x = op.operands[0]
    a = op.attrs
    masks = {k: int(a[k]) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
    shape = tuple(_BIG if d is None else d for d in x.type.shape)
    plan = strided_slice_plan(shape, a["begin"], a["end"], a["strides"], **masks)
    raw = strided_slice_plan(x.type.shape, a["begin"], a["end"], a["strides"], **masks)
    b = em.b
    src: list[ir.Value] = [ZERO] * x.type.rank
    out_axis = 0
    for g in plan.gather:
        if g == NEW_AXIS:
            out_axis += 1
        elif g != SHRINK_AXIS:
            begin, stride = plan.begin[g], plan.strides[g]
            if x.type.shape[g] is None and (stride < 0 or begin >= _BIG // 2):
                raise CompileError(f"strided_slice counting from the end of unknown dim {g} is not supported by "
                                   f"the CPU backend yet (op at {op.loc})")
            src[g] = b.add(i64(begin), b.mul(idx[out_axis], i64(stride)))
            out_axis += 1
    for dim, shrink in enumerate(plan.shrink):
        if shrink:
            begin = raw.begin[dim]
            src[dim] = b.add(em.dim(x, dim), i64(begin)) if x.type.shape[dim] is None and begin < 0 else i64(
                plan.begin[dim] if x.type.shape[dim] is not None else begin)
    return em.value_at(x, src)


def _gather(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    params, indices = op.operands
    axis = int(op.attrs["axis"])
    k = indices.type.rank
    b = em.b
    raw = em.value_at(indices, idx[axis:axis + k])
    j = b.sext(raw, I64) if raw.type.width < 64 else raw
    bound = em.dim(params, axis)
    bad = b.icmp_unsigned(">=", j, bound)  # negative indices are huge unsigned: one compare
    pos = em.linear_index(indices, idx[axis:axis + k]) if k else ZERO
    em.fail_if(bad, ERR_GATHER_INDEX, op, [j, bound, pos, i64(int(k == 0))])
    return em.value_at(params, idx[:axis] + [j] + idx[axis + k:])


def _tile(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x = op.operands[0]
    src = [i if m == 1 else em.b.urem(i, em.dim(x, a)) for a, (i, m) in enumerate(zip(idx, op.attrs["multiples"]))]
    return em.value_at(x, src)


def _pad(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x = op.operands[0]
    p = op.attrs["paddings"]
    mode = str(op.attrs["mode"]).upper()
    b = em.b
    src: list[ir.Value] = []
    inside: ir.Value = ir.Constant(I1, 1)
    for a, i in enumerate(idx):
        before = int(p[2 * a])
        d = em.dim(x, a)
        j = b.sub(i, i64(before)) if before else i
        if mode == "CONSTANT":
            ok = b.and_(b.icmp_signed(">=", j, ZERO), b.icmp_signed("<", j, d))
            inside = b.and_(inside, ok)
            src.append(b.select(ok, j, ZERO))  # a safe index; the value is discarded outside
        else:
            src.append(_mirror(em, j, d, reflect=mode == "REFLECT"))
    val = em.value_at(x, src)
    if mode != "CONSTANT":
        return val
    return b.select(inside, val, const(x.dtype, op.attrs["constant_value"]))


def _mirror(em: Emitter, j: ir.Value, d: ir.Value, reflect: bool) -> ir.Value:
    """Index j (possibly outside [0, d)) mirrored into range; padding is at most d (or d-1) wide."""
    b = em.b
    if reflect:  # ... 2 1 | 0 1 2 | 1 0 ...
        neg = b.sub(ZERO, j)
        over = b.sub(b.mul(i64(2), b.sub(d, ONE)), j)
    else:  # symmetric: ... 1 0 | 0 1 2 | 2 1 ...
        neg = b.sub(i64(-1), j)
        over = b.sub(b.sub(b.mul(i64(2), d), ONE), j)
    return b.select(b.icmp_signed("<", j, ZERO), neg, b.select(b.icmp_signed(">=", j, d), over, j))


def _one_hot(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    indices = op.operands[0]
    out = op.results[0]
    axis = int(op.attrs["axis"])
    axis = axis % out.type.rank if axis < 0 else axis
    b = em.b
    raw = em.value_at(indices, idx[:axis] + idx[axis + 1:])
    j = b.sext(raw, I64) if raw.type.width < 64 else raw
    dt = as_dtype(op.attrs["dtype"])
    return b.select(b.icmp_signed("==", j, idx[axis]), const(dt, op.attrs["on_value"]),
                    const(dt, op.attrs["off_value"]))


def _broadcast_to(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return em.operand_at(op, 0, idx)


ELEM: dict[str, ElemLowering] = {
    "reshape": _reshape,
    "transpose": _transpose,
    "expand_dims": _expand_dims,
    "squeeze": _squeeze,
    "concat": _concat,
    "stack": _stack,
    "unstack": _unstack,
    "split": _split,
    "slice": _slice,
    "strided_slice": _strided_slice,
    "gather": _gather,
    "tile": _tile,
    "pad": _pad,
    "one_hot": _one_hot,
    "broadcast_to": _broadcast_to,
}
