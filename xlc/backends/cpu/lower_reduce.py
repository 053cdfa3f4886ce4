"""Per-element lowerings of reductions: an output element loops over the reduced axes.

The producer of the reduced operand fuses into that loop (``sum(x * y)`` reads x and y once
and never stores the product).  Float sums allow reassociation so that LLVM vectorises them;
the result differs from numpy's pairwise summation by rounding only.
"""

from __future__ import annotations


from llvmlite import ir

from xlc.backends.cpu.emitter import ElemLowering, Emitter, i64
from xlc.backends.cpu.llvmtypes import I1, I64, compute_type
from xlc.backends.cpu.lower_elementwise import SCALAR, convert
from xlc.ir.core import Op
from xlc.ir.types import DType, as_dtype, int64

REASSOC = ("reassoc", "contract", "nsz")


def _source_index(op: Op, idx: list[ir.Value], inner: list[ir.Value]) -> list[ir.Value]:
    """The operand index for output index ``idx`` and reduced-axis indices ``inner``."""
    x = op.operands[0]
    axes = [int(a) for a in op.attrs.get("axes", (op.attrs.get("axis"),))]
    keep = bool(op.attrs.get("keepdims", False))
    src: list[ir.Value] = []
    it_inner = iter(inner)
    out_axis = 0
    for a in range(x.type.rank):
        if a in axes:
            src.append(next(it_inner))
            if keep:
                out_axis += 1
        else:
            src.append(idx[out_axis])
            out_axis += 1
    return src


def _init(kind: str, dt: DType) -> ir.Constant:
    t = compute_type(dt)
    if dt.is_bool:
        return ir.Constant(I1, int(kind == "all"))
    if kind in ("sum", "mean"):
        return ir.Constant(t, 0.0 if dt.is_floating else 0)
    if kind == "prod":
        return ir.Constant(t, 1.0 if dt.is_floating else 1)
    if dt.is_floating:
        return ir.Constant(t, float("-inf") if kind == "max" else float("inf"))
    return ir.Constant(t, int(dt.min) if kind == "max" else int(dt.max))


def _combine(kind: str, em: Emitter, dt: DType, acc: ir.Value, x: ir.Value) -> ir.Value:
    b = em.b
    if kind in ("sum", "mean"):
        return b.fadd(acc, x, flags=REASSOC) if dt.is_floating else b.add(acc, x)
    if kind == "prod":
        return b.fmul(acc, x, flags=REASSOC) if dt.is_floating else b.mul(acc, x)
    if kind == "any":
        return b.or_(acc, x)
    if kind == "all":
        return b.and_(acc, x)
    return SCALAR["maximum" if kind == "max" else "minimum"](em, dt, [acc, x])


def _reduction(kind: str) -> ElemLowering:
    def lower(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
        x = op.operands[0]
        dt = x.dtype
        axes = [int(a) for a in op.attrs["axes"]]
        acc = em.alloca(compute_type(dt), f"{kind}.acc")
        em.b.store(_init(kind, dt), acc)

        def body(inner: list[ir.Value]) -> None:
            v = em.value_at(x, _source_index(op, idx, inner))
            em.b.store(_combine(kind, em, dt, em.b.load(acc), v), acc)

        em.loop_nest([em.dim(x, a) for a in axes], body)
        total = em.b.load(acc)
        if kind != "mean":
            return total
        count: ir.Value = i64(1)
        for a in axes:
            count = em.b.mul(count, em.dim(x, a))
        if dt.is_floating:
            return em.b.fdiv(total, convert(em, int64, dt, count))
        # integer mean truncates toward zero (TF); an empty reduction gives 0 rather than trapping
        n = convert(em, int64, dt, em.b.select(em.b.icmp_signed("==", count, i64(0)), i64(1), count))
        return em.b.udiv(total, n) if dt.kind == "uint" else em.b.sdiv(total, n)

    return lower


def _arg_extreme(is_max: bool) -> ElemLowering:
    def lower(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
        x = op.operands[0]
        dt = x.dtype
        axis = int(op.attrs["axis"])
        b = em.b
        best = em.alloca(compute_type(dt), "arg.best")
        where = em.alloca(I64, "arg.index")
        b.store(_init("max" if is_max else "min", dt), best)
        b.store(i64(0), where)
        pred = ">" if is_max else "<"

        def body(inner: list[ir.Value]) -> None:
            src = list(idx)
            src.insert(axis, inner[0])
            v = em.value_at(x, src)
            cur = b.load(best)
            if dt.is_floating:  # the first nan wins, as numpy
                better = b.or_(b.fcmp_ordered(pred, v, cur),
                               b.and_(b.fcmp_unordered("uno", v, v), b.fcmp_ordered("ord", cur, cur)))
            elif dt.kind in ("uint", "bool"):
                better = b.icmp_unsigned(pred, v, cur)
            else:
                better = b.icmp_signed(pred, v, cur)
            b.store(b.select(better, v, cur), best)
            b.store(b.select(better, inner[0], b.load(where)), where)

        em.loop_nest([em.dim(x, axis)], body)
        return convert(em, int64, as_dtype(op.attrs["output_type"]), b.load(where))

    return lower


ELEM: dict[str, ElemLowering] = {f"reduce_{k}": _reduction(k) for k in ("sum", "mean", "max", "min", "prod", "any",
                                                                           "all")}
ELEM["argmax"] = _arg_extreme(True)
ELEM["argmin"] = _arg_extreme(False)
