"""matmul as a kernel: a loop over the (broadcast) batch calling the generated packed GEMM."""

from __future__ import annotations

from llvmlite import ir

from xlc.backends.cpu.emitter import ONE, ZERO, Emitter, KernelLowering
from xlc.backends.cpu.gemm import declare_gemm, define_gemm
from xlc.backends.cpu.runtime_lib import ensure_gemm, gemm_simd_width
from xlc.backends.cpu.llvmtypes import I32
from xlc.errors import CompileError
from xlc.ir.core import Op, Value

_GEMM_DTYPES = {"f32", "f64", "i32", "i64", "i8", "u8"}


def _batch_offset(em: Emitter, v: Value, out: Value, batch_idx: list[ir.Value]) -> ir.Value:
    """Element offset of v's matrix for the output's batch index (v's batch dims broadcast)."""
    b = em.b
    nb = v.type.rank - 2
    shift = len(batch_idx) - nb
    off: ir.Value = ZERO
    for a in range(nb):
        i = batch_idx[a + shift]
        d = v.type.shape[a]
        if d == 1:
            i = ZERO
        elif d is None:
            i = b.select(b.icmp_unsigned("==", em.dim(v, a), ONE), ZERO, i)
        off = b.add(b.mul(off, em.dim(v, a)), i)
    matrix = b.mul(em.dim(v, nb), em.dim(v, nb + 1))
    return b.mul(off, matrix)


def _matmul(em: Emitter, op: Op) -> None:
    a, bv = op.operands
    out = op.results[0]
    dt = out.dtype
    if dt.short not in _GEMM_DTYPES:
        raise CompileError(f"matmul on {dt.name} is not supported by the CPU backend yet (at {op.loc})")
    if em.self_contained:  # an object file carries its own GEMM
        gemm = define_gemm(em.module, dt.short, gemm_simd_width(dt.short))
        gemm_cols = em.module.globals[gemm.name + "_cols"]
    else:  # the JIT links the process-wide copy
        ensure_gemm(dt.short)
        gemm, gemm_cols = declare_gemm(em.module, dt.short), declare_gemm(em.module, dt.short, cols=True)
    b = em.b
    ta, tb = bool(op.attrs["transpose_a"]), bool(op.attrs["transpose_b"])
    ra, rb = a.type.rank, bv.type.rank
    m, n = em.dim(out, out.type.rank - 2), em.dim(out, out.type.rank - 1)
    k = em.dim(a, ra - 2) if ta else em.dim(a, ra - 1)
    # strides (in elements) of A[i, k] and B[k, j] within one matrix
    sa0, sa1 = (ONE, em.dim(a, ra - 1)) if ta else (em.dim(a, ra - 1), ONE)
    sb0, sb1 = (ONE, em.dim(bv, rb - 1)) if tb else (em.dim(bv, rb - 1), ONE)
    pa, pb, pc = em.buffer_ptr[a], em.buffer_ptr[bv], em.buffer_ptr[out]

    def one(batch_idx: list[ir.Value], j0: ir.Value | None = None, j1: ir.Value | None = None) -> None:
        off_a = _batch_offset(em, a, out, batch_idx)
        off_b = _batch_offset(em, bv, out, batch_idx)
        off_c = _batch_offset(em, out, out, batch_idx)
        args = [m, n, k, b.gep(pa, [off_a]), sa0, sa1, b.gep(pb, [off_b]), sb0, sb1, b.gep(pc, [off_c]), n,
                ir.Constant(I32, 0)]
        if j0 is None:
            b.call(gemm, args)
        else:  # this thread's columns of C
            b.call(gemm_cols, args + [j0, j1])

    batch = [em.dim(out, ax) for ax in range(out.type.rank - 2)]
    if batch:
        em.loop_nest(batch, one, parallel=True)
    else:
        one([], *em.thread_range(n))


KERNELS: dict[str, KernelLowering] = {"matmul": _matmul}
