"""Reductions that keep the innermost axis, computed by streaming the input once.

The per-element form of a reduction walks, for each output element, the reduced axes of the
input: fine when the innermost axis is reduced (contiguous), but a column walk when it is
kept (``reduce_sum(x, axis=0)``, the bias gradient of every layer).  Here the input is read
in memory order instead and each element is combined into its output element, which stays
in cache; the inner loop over the kept innermost axis vectorises.

Threads split the input's first axis.  When that axis is kept, each thread owns whole
output rows.  When it is reduced, each thread accumulates a private partial result, thread 0
stores its partial, and after a barrier the others combine theirs into it atomically (a
compare-and-swap loop, so max/min keep numpy's nan semantics).
"""

from __future__ import annotations

from llvmlite import ir

from xlc.backends.cpu.emitter import ONE, ZERO, Emitter, i64
from xlc.backends.cpu.llvmtypes import I64, compute_type
from xlc.backends.cpu.lower_elementwise import convert
from xlc.backends.cpu.lower_reduce import _combine, _init
from xlc.ir.core import Op
from xlc.ir.types import int64

_KINDS = {"reduce_sum": "sum", "reduce_mean": "mean", "reduce_max": "max", "reduce_min": "min"}
_DTYPES = {"f32", "f64", "i32", "i64"}


def wants_streaming(op: Op) -> bool:
    x = op.operands[0]
    axes = {int(a) for a in op.attrs["axes"]}
    return (op.name in _KINDS and x.dtype.short in _DTYPES and x.type.rank >= 2 and axes
            and (x.type.rank - 1) not in axes)


def _out_index(op: Op, idx: list[ir.Value]) -> list[ir.Value]:
    axes = {int(a) for a in op.attrs["axes"]}
    keep = bool(op.attrs["keepdims"])
    return [ZERO if a in axes else i for a, i in enumerate(idx) if keep or a not in axes]


def store_if_streaming(em: Emitter, op: Op) -> bool:
    """Compute op's result into its buffer when streaming suits it; False to use the per-element form."""
    if not wants_streaming(op):
        return False
    _store_streaming(em, op)
    return True


def _store_streaming(em: Emitter, op: Op) -> None:
    x, out = op.operands[0], op.results[0]
    kind = _KINDS[op.name]
    dt = x.dtype
    b = em.b
    axes = {int(a) for a in op.attrs["axes"]}
    dims = em.dims(x)
    if 0 not in axes:
        # threads own disjoint output rows: initialise and accumulate in place
        em.loop_nest(em.dims(out), lambda o: em.store(out, o, _init(kind, dt)), parallel=True)

        def acc(idx: list[ir.Value]) -> None:
            o = _out_index(op, idx)
            em.store(out, o, _combine(kind, em, dt, em.load(out, o), em.value_at(x, idx)))

        em.loop_nest(dims, acc, parallel=True)
    else:
        n_out = em.num_elements(out)
        t = compute_type(dt)
        raw = b.call(_malloc(em), [b.mul(b.add(n_out, ONE), i64(8))])
        part = b.bitcast(raw, t.as_pointer())
        em.loop(n_out, lambda i: b.store(_init(kind, dt), b.gep(part, [i])), name="pinit")

        def acc_part(idx: list[ir.Value]) -> None:
            p = b.gep(part, [em.linear_index(out, _out_index(op, idx))])
            b.store(_combine(kind, em, dt, b.load(p), em.value_at(x, idx)), p)

        lo, hi = em.thread_range(dims[0])
        em.loop(hi, lambda i0: em.loop_nest(dims[1:], lambda rest: acc_part([i0] + rest)), start=lo, name="rows")
        out_ptr = em.buffer_ptr[out]
        is_first = b.icmp_signed("==", em.tid, ZERO)
        with b.if_then(is_first):
            em.loop(n_out, lambda i: b.store(b.load(b.gep(part, [i])), b.gep(out_ptr, [i])), name="p0")
        em.barrier()
        with b.if_then(b.not_(is_first)):
            em.loop(n_out, lambda i: _atomic_combine(em, kind, dt, b.gep(out_ptr, [i]), b.load(b.gep(part, [i]))),
                    name="pk")
        b.call(_free(em), [raw])
    if kind == "mean":
        em.barrier()
        count: ir.Value = i64(1)
        for a in axes:
            count = b.mul(count, em.dim(x, a))
        if dt.is_floating:
            scale = convert(em, int64, dt, count)
            em.loop_nest(em.dims(out), lambda o: em.store(out, o, b.fdiv(em.load(out, o), scale)), parallel=True)
        else:
            n = convert(em, int64, dt, b.select(b.icmp_signed("==", count, ZERO), ONE, count))
            em.loop_nest(em.dims(out), lambda o: em.store(out, o, b.sdiv(em.load(out, o), n)), parallel=True)


def _atomic_combine(em: Emitter, kind: str, dt: object, ptr: ir.Value, value: ir.Value) -> None:
    """*ptr = combine(*ptr, value), atomically, by compare-and-swap on the bits."""
    b = em.b
    t = ptr.type.pointee
    bits = ir.IntType(t.width if isinstance(t, ir.IntType) else (32 if t == ir.FloatType() else 64))
    iptr = b.bitcast(ptr, bits.as_pointer())
    loop = em.fn.append_basic_block("cas.loop")
    done = em.fn.append_basic_block("cas.done")
    b.branch(loop)
    b.position_at_end(loop)
    old_bits = b.load_atomic(iptr, "monotonic", bits.width // 8)
    old = b.bitcast(old_bits, t) if not isinstance(t, ir.IntType) else old_bits
    new = _combine(kind, em, dt, old, value)  # type: ignore[arg-type]
    new_bits = b.bitcast(new, bits) if not isinstance(t, ir.IntType) else new
    pair = b.cmpxchg(iptr, old_bits, new_bits, "acq_rel", "monotonic")
    b.cbranch(b.extract_value(pair, 1), done, loop)
    b.position_at_end(done)


def _malloc(em: Emitter) -> ir.Function:
    fn = em.module.globals.get("malloc")
    return fn if fn is not None else ir.Function(em.module, ir.FunctionType(ir.IntType(8).as_pointer(), [I64]),
                                                 name="malloc")


def _free(em: Emitter) -> ir.Function:
    fn = em.module.globals.get("free")
    return fn if fn is not None else ir.Function(em.module, ir.FunctionType(
        ir.VoidType(), [ir.IntType(8).as_pointer()]), name="free")




STORES = {name: store_if_streaming for name in _KINDS}
