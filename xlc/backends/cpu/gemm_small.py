"""A few rows of A times a transposed B (``x @ W^T`` at batch 1-4): dot products, no packing.

Packing B costs a pass over all of B, which a product with 1-4 rows of A uses only 1-4
times. With A's rows and B's columns both contiguous along k (``sa1 == 1``, ``sb0 == 1``),
every C element is a dot product of two contiguous vectors: this kernel reads each column
of B once, for all the rows of A together, and reduces W-lane accumulators at the end.
"""

from __future__ import annotations

import llvmlite.ir as ir

from xlc.backends.cpu.gemm_ir import (
    BYTES,
    I1,
    I32,
    I64,
    counted_loop,
    lane_mask,
    masked_load_intrinsic,
    new_function,
    shuffle,
    vector_ptr,
)

SMALL_ROWS = 4  # at most this many rows of A, handled together
_ACCS = 4  # vector accumulators: rows x k unroll
_FLAGS = ("contract",)


def _horizontal_sum(b: ir.IRBuilder, v: ir.Value) -> ir.Value:
    """Sum of the lanes of ``v``: halves added log2(w) times."""
    h = v.type.count // 2
    while h >= 1:
        v = b.fadd(v, shuffle(b, v, None, [i + h if i < h else None for i in range(v.type.count)]))
        h //= 2
    return b.extract_element(v, I32(0))


def define_small_rows_nt(module: ir.Module, dtype: str, t: ir.Type, w: int) -> ir.Function:
    """rows_nt(m, k, a, sa0, b, sb1, c, ldc, beta, j0, j1), for 1 <= m <= SMALL_ROWS:

    ``C[i*ldc + j] = (beta ? C[i*ldc + j] : 0) + sum_k a[i*sa0 + k] * b[j*sb1 + k]`` for j0 <= j < j1.
    """
    p = t.as_pointer()
    fnty = ir.FunctionType(ir.VoidType(), [I64, I64, p, I64, p, I64, p, I64, I1, I64, I64])
    fn = new_function(module, f"xlc_gemm_{dtype}_rows_nt", fnty, internal=True)
    fn.attributes.add("noinline")
    m, k, a, sa0, bp, sb1, c, ldc, beta, j0, j1 = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    esz = BYTES[dtype]
    vty = ir.VectorType(t, w)
    zero = ir.Constant(vty, None)
    load = masked_load_intrinsic(module, vty)
    accs = [b.alloca(vty, name=f"acc{i}") for i in range(_ACCS)]

    def variant(n_rows: int) -> None:
        """n_rows rows of A at once, k unrolled so that _ACCS accumulators hide the FMA latency."""
        unroll = _ACCS // n_rows
        # rows past m read row 0 (their sums are dropped)
        rows = [b.gep(a, [b.select(b.icmp_signed(">", m, I64(r)), b.mul(I64(r), sa0), I64(0))])
                for r in range(n_rows)]
        k_full = b.mul(b.sdiv(k, I64(w * unroll)), I64(w * unroll))

        def step(col: ir.Value, k0: ir.Value, u: int, mask: ir.Value | None) -> None:
            def vload(ptr: ir.Value) -> ir.Value:
                if mask is None:
                    return b.load(vector_ptr(b, ptr, w), align=esz)
                return b.call(load, [vector_ptr(b, ptr, w), I32(esz), mask, zero])

            kk = b.add(k0, I64(u * w))
            bv = vload(b.gep(col, [kk]))
            for r in range(n_rows):
                acc = accs[r * unroll + u]
                prod = b.fmul(vload(b.gep(rows[r], [kk])), bv, flags=_FLAGS)
                b.store(b.fadd(b.load(acc), prod, flags=_FLAGS), acc)

        with counted_loop(b, j0, j1, name="j") as j:
            col = b.gep(bp, [b.mul(j, sb1)])
            for acc in accs:
                b.store(zero, acc)
            with counted_loop(b, I64(0), k_full, I64(w * unroll), name="k") as k0:
                for u in range(unroll):
                    step(col, k0, u, None)
            with counted_loop(b, k_full, k, I64(w), name="kt") as k0:  # the last < unroll vectors, masked
                step(col, k0, 0, lane_mask(b, b.sub(k, k0), w))
            for r in range(n_rows):
                with b.if_then(b.icmp_signed(">", m, I64(r))):
                    ptr = b.gep(c, [b.add(b.mul(I64(r), ldc), j)])
                    vsum = accs[r * unroll]
                    total = b.load(vsum)
                    for u in range(1, unroll):
                        total = b.fadd(total, b.load(accs[r * unroll + u]))
                    total = _horizontal_sum(b, total)
                    b.store(b.select(beta, b.fadd(b.load(ptr), total), total), ptr)

    with b.if_else(b.icmp_signed("==", m, I64(1))) as (one, more):
        with one:
            variant(1)
        with more:
            with b.if_else(b.icmp_signed("==", m, I64(2))) as (two, many):
                with two:
                    variant(2)
                with many:
                    variant(SMALL_ROWS)
    b.ret_void()
    return fn
