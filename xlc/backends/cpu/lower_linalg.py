"""matmul as a kernel: a loop over the (broadcast) batch calling the generated packed GEMM."""

from __future__ import annotations

from llvmlite import ir

from xlc.backends.cpu.emitter import ONE, ZERO, Emitter, KernelLowering
from xlc.backends.cpu.gemm import declare_gemm, define_gemm
from xlc.backends.cpu.runtime_lib import ensure_gemm, gemm_simd_width
from xlc.backends.cpu.llvmtypes import F32, I32, I64, to_compute, to_storage
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


def gemm_functions(em: Emitter, dtype: str) -> tuple[ir.Function, ir.Function]:
    """The GEMM and its column-range variant: defined in the module for AOT, else linked from the runtime."""
    if em.self_contained:  # an object file carries its own GEMM
        gemm = define_gemm(em.module, dtype, gemm_simd_width(dtype))
        return gemm, em.module.globals[gemm.name + "_cols"]
    ensure_gemm(dtype)  # the JIT links the process-wide copy
    return declare_gemm(em.module, dtype), declare_gemm(em.module, dtype, cols=True)


def _matmul(em: Emitter, op: Op) -> None:
    dt = op.results[0].dtype
    if dt.short in ("f16", "bf16"):
        # half-width floats: widen both operands to float32, multiply there, round once at the end
        em.single_thread(lambda: _matmul_widened(em, op))
        return
    if dt.short not in _GEMM_DTYPES:
        raise CompileError(f"matmul on {dt.name} is not supported by the CPU backend (at {op.loc})")
    a, bv = op.operands
    _gemm_calls(em, op, dt.short, em.buffer_ptr[a], em.buffer_ptr[bv], em.buffer_ptr[op.results[0]], parallel=True)


def _gemm_calls(em: Emitter, op: Op, dtype: str, pa: ir.Value, pb: ir.Value, pc: ir.Value, parallel: bool) -> None:
    """C = A @ B for every (broadcast) batch index, through the generated GEMM."""
    a, bv = op.operands
    out = op.results[0]
    _, gemm_cols = gemm_functions(em, dtype)
    b = em.b
    ta, tb = bool(op.attrs["transpose_a"]), bool(op.attrs["transpose_b"])
    ra, rb = a.type.rank, bv.type.rank
    m, n = em.dim(out, out.type.rank - 2), em.dim(out, out.type.rank - 1)
    k = em.dim(a, ra - 2) if ta else em.dim(a, ra - 1)
    # strides (in elements) of A[i, k] and B[k, j] within one matrix
    sa0, sa1 = (ONE, em.dim(a, ra - 1)) if ta else (em.dim(a, ra - 1), ONE)
    sb0, sb1 = (ONE, em.dim(bv, rb - 1)) if tb else (em.dim(bv, rb - 1), ONE)

    def one(batch_idx: list[ir.Value], part: tuple[ir.Value, ...] | None = None) -> None:
        """One product; ``part`` = (i0, i1, j0, j1): only C[i0:i1, j0:j1] (a thread's share)."""
        off_a = _batch_offset(em, a, out, batch_idx)
        off_b = _batch_offset(em, bv, out, batch_idx)
        off_c = _batch_offset(em, out, out, batch_idx)
        i0, i1, lo, hi = part if part is not None else (ZERO, m, ZERO, n)
        rows = b.sub(i1, i0)
        a0, b0 = b.gep(pa, [b.add(off_a, b.mul(i0, sa0))]), b.gep(pb, [off_b])
        c0 = b.gep(pc, [b.add(off_c, b.mul(i0, n))])
        args = [rows, n, k, a0, sa0, sa1, b0, sb0, sb1, c0, n, ir.Constant(I32, 0)]
        if dtype not in ("f32", "f64") or tb:
            b.call(gemm_cols, args + [lo, hi])
            return
        # a few rows (a matrix-vector product, an MLP at batch 1): packing B would cost more than
        # the product itself, so stream B's rows once and accumulate C's rows in cache instead
        small = b.icmp_signed("<=", rows, ir.Constant(I64, SMALL_M))
        with b.if_else(small) as (then, otherwise):
            with then:
                _rows_times_matrix(em, rows, k, a0, sa0, sa1, b0, sb0, c0, n, lo, hi)
            with otherwise:
                b.call(gemm_cols, args + [lo, hi])

    batch = [em.dim(out, ax) for ax in range(out.type.rank - 2)]
    if batch:
        em.loop_nest(batch, one, parallel=parallel)
    elif parallel:
        # Threads share C by columns, or by rows when C is taller than wide (N = 10 in a classifier
        # layer): each thread packs the whole of the operand the split does not cut, so cut the
        # bigger one.
        by_rows = b.icmp_signed("<", n, m)
        r0, r1 = em.thread_range(m)
        c0_, c1_ = em.thread_range(n)
        one([], (b.select(by_rows, r0, ZERO), b.select(by_rows, r1, m),
                 b.select(by_rows, ZERO, c0_), b.select(by_rows, n, c1_)))
    else:
        one([])


SMALL_M = 4


def _rows_times_matrix(em: Emitter, m: ir.Value, k: ir.Value, pa: ir.Value, sa0: ir.Value, sa1: ir.Value,
                       pb: ir.Value, sb0: ir.Value, pc: ir.Value, ldc: ir.Value, j0: ir.Value, j1: ir.Value) -> None:
    """C[i, j0:j1] = sum_k A[i, k] * B[k, j0:j1] with B's rows contiguous: the inner j loop vectorises."""
    b = em.b
    t = pc.type.pointee
    zero = ir.Constant(t, 0.0)

    def row(i: ir.Value) -> None:
        c_row = b.gep(pc, [b.mul(i, ldc)])
        em.loop(j1, lambda j: b.store(zero, b.gep(c_row, [j])), start=j0, name="zc")

        def step(kk: ir.Value) -> None:
            aik = b.load(b.gep(pa, [b.add(b.mul(i, sa0), b.mul(kk, sa1))]))
            b_row = b.gep(pb, [b.mul(kk, sb0)])

            def col(j: ir.Value) -> None:
                cp = b.gep(c_row, [j])
                b.store(b.fadd(b.load(cp), b.fmul(aik, b.load(b.gep(b_row, [j])), flags=("contract",)),
                               flags=("contract",)), cp)

            em.loop(j1, col, start=j0, name="j")

        em.loop(k, step, name="k")

    em.loop(m, row, name="row")


def _matmul_widened(em: Emitter, op: Op) -> None:
    b = em.b
    values = (*op.operands, op.results[0])
    wide = {}
    for v in values:  # float32 copies in malloc'd scratch
        count = em.num_elements(v)
        raw = b.call(_libc(em, "malloc"), [b.mul(b.add(count, ONE), ir.Constant(I64, 4))])
        wide[v] = b.bitcast(raw, F32.as_pointer())
    for v in op.operands:
        src = em.buffer_ptr[v]
        em.loop(em.num_elements(v), lambda i, v=v, src=src: b.store(
            to_compute(b, v.dtype, b.load(b.gep(src, [i]))), b.gep(wide[v], [i])))
    a, bv = op.operands
    out = op.results[0]
    _gemm_calls(em, op, "f32", wide[a], wide[bv], wide[out], parallel=False)
    dst = em.buffer_ptr[out]
    em.loop(em.num_elements(out), lambda i: b.store(to_storage(b, out.dtype, b.load(b.gep(wide[out], [i]))),
                                                    b.gep(dst, [i])))
    for v in values:
        b.call(_libc(em, "free"), [b.bitcast(wide[v], ir.IntType(8).as_pointer())])


def _libc(em: Emitter, name: str) -> ir.Function:
    fn = em.module.globals.get(name)
    if fn is None:
        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(i8p, [I64]) if name == "malloc" else ir.FunctionType(ir.VoidType(), [i8p])
        fn = ir.Function(em.module, fnty, name=name)
    return fn


KERNELS: dict[str, KernelLowering] = {"matmul": _matmul}
