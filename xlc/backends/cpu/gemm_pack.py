"""Packing routines of the GEMM (see gemm.py): copy blocks of A and B into the panel layouts
the micro-kernel streams, whatever the operands' strides.

Each layout gets its own vectorised path:

* B row-major (``sb1 == 1``): vector copies of NR-wide rows (masked for a partial panel).
* B transposed (``sb0 == 1``): w x w blocks, w contiguous k from each of w columns, transposed
  in registers (``transpose_square``); columns past a partial panel's width are masked off.
* A row-major (``sa1 == 1``): MR rows x w k, regrouped k-major in registers (``gather_lanes``).
* A transposed (``sa0 == 1``): an MR-vector of contiguous rows per k, all panels together in
  blocks of k (a panel's k rows are a power-of-two stride apart: one at a time they thrash L1).

Anything else (and A's partial panel, whose missing rows are zero) is copied element by
element. Vector paths run over k in steps of w with masked loads, so the last step may store up to
w - 1 rows of k past ``kc``: into the next panel, which is packed afterwards, or into the slack
(``pack_slack``) that the caller allocates past the last panel."""

from __future__ import annotations

import llvmlite.ir as ir

from xlc.backends.cpu.gemm_ir import (
    ALIGN,
    BYTES,
    I1,
    I32,
    I64,
    counted_loop,
    gather_lanes,
    imin,
    lane_mask,
    masked_load_intrinsic,
    new_function,
    prefetch_intrinsic,
    splat,
    transpose_square,
    vector_ptr,
)

_KB = 8  # k rows per block of the transposed-A copy
_PREFETCH_ROWS = 8  # rows of B fetched ahead by the row-major B copy
_PREFETCH_COLS = 2  # k blocks fetched ahead by the transposed B copy


def _vector_packing(w: int) -> bool:
    """Vector paths need a power-of-two width >= 2 (the in-register transpose)."""
    return w >= 2 and w & (w - 1) == 0


def pack_slack(w: int, mr: int, nr: int) -> tuple[int, int]:
    """Elements the A and B packing may write past their last panel: (A's, B's)."""
    return (w * mr, w * nr) if _vector_packing(w) else (0, 0)


def _masked_rows(b: ir.IRBuilder, load, ptrs: list[ir.Value], mask: ir.Value, w: int, esz: int) -> list[ir.Value]:
    vty = ir.VectorType(ptrs[0].type.pointee, w)
    zero = ir.Constant(vty, None)
    return [b.call(load, [vector_ptr(b, p, w), I32(esz), mask, zero]) for p in ptrs]


def define_pack_b(module: ir.Module, dtype: str, t: ir.Type, w: int, nr_full: int) -> ir.Function:
    """pack_b(kc, nc, src, sb0, sb1, dst): dst[jr*kc + k*NR + j] = src[k*sb0 + (jr+j)*sb1].

    Panels of NR columns; columns past ``nc`` are zero so the micro-kernel never needs a column mask.
    """
    p = t.as_pointer()
    fnty = ir.FunctionType(ir.VoidType(), [I64, I64, p, I64, I64, p])
    fn = new_function(module, f"xlc_gemm_{dtype}_pack_b", fnty, internal=True)
    fn.attributes.add("noinline")  # inlined into the driver, it only costs compile time
    kc, nc, src, sb0, sb1, dst = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    esz = BYTES[dtype]
    vec = _vector_packing(w)
    load = masked_load_intrinsic(module, ir.VectorType(t, w)) if vec else None
    prefetch = prefetch_intrinsic(module)
    with counted_loop(b, I64(0), nc, I64(nr_full), name="jr") as jr:
        nr = imin(b, I64(nr_full), b.sub(nc, jr))
        panel = b.gep(dst, [b.mul(jr, kc)])
        s = b.gep(src, [b.mul(jr, sb1)])
        full = b.icmp_signed("==", nr, I64(nr_full))
        # Partial panels (the last of a block) take the vector paths too, with masked loads.
        rows_fast = b.and_(b.or_(full, ir.Constant(I1, vec)), b.icmp_signed("==", sb1, I64(1)))
        cols_fast = b.and_(ir.Constant(I1, vec), b.icmp_signed("==", sb0, I64(1)))
        done = b.append_basic_block("panel.done")
        row_bb = b.append_basic_block("rows")
        test_bb = b.append_basic_block("cols.test")
        col_bb = b.append_basic_block("cols")
        slow_bb = b.append_basic_block("slow")
        b.cbranch(rows_fast, row_bb, test_bb)
        b.position_at_end(test_bb)
        b.cbranch(cols_fast, col_bb, slow_bb)

        b.position_at_end(row_bb)  # row-major B: copy rows
        with b.if_else(full, likely=True) as (whole, part):
            with whole:
                with counted_loop(b, I64(0), kc, name="k") as k:
                    row = b.gep(s, [b.mul(k, sb0)])
                    out = b.gep(panel, [b.mul(k, I64(nr_full))])
                    # rows are sb0 apart: fetch a few ahead (never faults past the end)
                    ahead = b.gep(row, [b.mul(I64(_PREFETCH_ROWS), sb0)])
                    for off in range(0, nr_full, max(1, 64 // esz)):
                        addr = b.bitcast(b.gep(ahead, [I64(off)]), ir.IntType(8).as_pointer())
                        b.call(prefetch, [addr, I32(0), I32(3), I32(1)])
                    for v in range(nr_full // w):
                        val = b.load(vector_ptr(b, b.gep(row, [I64(v * w)]), w), align=esz)
                        b.store(val, vector_ptr(b, b.gep(out, [I64(v * w)]), w), align=ALIGN)
            with part:
                if vec:  # columns past nr read as zeros
                    masks = [lane_mask(b, b.sub(nr, I64(v * w)), w) for v in range(nr_full // w)]
                    with counted_loop(b, I64(0), kc, name="k") as k:
                        row = b.gep(s, [b.mul(k, sb0)])
                        out = b.gep(panel, [b.mul(k, I64(nr_full))])
                        for v in range(nr_full // w):
                            [val] = _masked_rows(b, load, [b.gep(row, [I64(v * w)])], masks[v], w, esz)
                            b.store(val, vector_ptr(b, b.gep(out, [I64(v * w)]), w), align=ALIGN)
        b.branch(done)

        b.position_at_end(col_bb)  # transposed B: w columns x w k, transposed in registers
        if vec:
            with counted_loop(b, I64(0), kc, I64(w), name="kb") as k0:
                mask = lane_mask(b, b.sub(kc, k0), w)
                base = b.gep(s, [k0])
                out = b.gep(panel, [b.mul(k0, I64(nr_full))])
                with counted_loop(b, I64(0), I64(nr_full), I64(w), name="v") as v:  # one w x w block each
                    col0 = b.gep(base, [b.mul(v, sb1)])
                    ptrs = [b.gep(col0, [b.mul(I64(j), sb1)]) for j in range(w)]
                    for p_ in ptrs:  # the next blocks' lines of each column
                        addr = b.bitcast(b.gep(p_, [I64(_PREFETCH_COLS * w)]), ir.IntType(8).as_pointer())
                        b.call(prefetch, [addr, I32(0), I32(3), I32(1)])
                    live = b.sub(nr, v)  # columns past nr read as zeros
                    masks = [b.and_(mask, splat(b, b.icmp_signed(">", live, I64(j)), w)) for j in range(w)]
                    cols = transpose_square(b, [_masked_rows(b, load, [p_], m_, w, esz)[0]
                                                for p_, m_ in zip(ptrs, masks)])
                    dst_v = b.gep(out, [v])
                    for kk in range(w):
                        b.store(cols[kk], vector_ptr(b, b.gep(dst_v, [I64(kk * nr_full)]), w), align=ALIGN)
        b.branch(done)

        b.position_at_end(slow_bb)
        with counted_loop(b, I64(0), kc, name="k") as k:
            row = b.gep(s, [b.mul(k, sb0)])
            out = b.gep(panel, [b.mul(k, I64(nr_full))])
            with counted_loop(b, I64(0), nr, name="j") as j:
                b.store(b.load(b.gep(row, [b.mul(j, sb1)])), b.gep(out, [j]))
            with counted_loop(b, nr, I64(nr_full), name="jz") as j:
                b.store(ir.Constant(t, 0.0), b.gep(out, [j]))
        b.branch(done)
        b.position_at_end(done)
    b.ret_void()
    return fn


def define_pack_a(module: ir.Module, dtype: str, t: ir.Type, w: int, mr_full: int) -> ir.Function:
    """pack_a(kc, mc, src, sa0, sa1, dst): dst[ir*kc + k*MR + r] = src[(ir+r)*sa0 + k*sa1].

    Panels of MR rows, k-major inside a panel; rows past ``mc`` are zero.
    """
    p = t.as_pointer()
    fnty = ir.FunctionType(ir.VoidType(), [I64, I64, p, I64, I64, p])
    fn = new_function(module, f"xlc_gemm_{dtype}_pack_a", fnty, internal=True)
    fn.attributes.add("noinline")  # inlined into the driver, it only costs compile time
    kc, mc, src, sa0, sa1, dst = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    esz = BYTES[dtype]
    vec = _vector_packing(w)
    load = masked_load_intrinsic(module, ir.VectorType(t, w)) if vec else None
    # Transposed A: each panel's MR rows are contiguous for every k. All full panels are copied
    # together, k in blocks of _KB: every line of A (a row of A^T) is then used whole by the few
    # consecutive panels it feeds while it is in L1; panel by panel, the kc lines of a panel
    # (a power-of-two stride apart, so in one or two L1 sets) were fetched again for the next.
    by_cols = b.icmp_signed("==", sa0, I64(1))
    n_full = b.select(by_cols, b.sdiv(mc, I64(mr_full)), I64(0))
    with counted_loop(b, I64(0), kc, I64(_KB), name="kb") as k0:
        kn = imin(b, I64(_KB), b.sub(kc, k0))
        with counted_loop(b, I64(0), n_full, name="p") as pnl:
            s = b.gep(src, [b.add(b.mul(pnl, I64(mr_full)), b.mul(k0, sa1))])
            out = b.gep(dst, [b.add(b.mul(b.mul(pnl, I64(mr_full)), kc), b.mul(k0, I64(mr_full)))])
            with counted_loop(b, I64(0), kn, name="kk") as kk:
                val = b.load(vector_ptr(b, b.gep(s, [b.mul(kk, sa1)]), mr_full), align=esz)
                b.store(val, vector_ptr(b, b.gep(out, [b.mul(kk, I64(mr_full))]), mr_full), align=esz)

    with counted_loop(b, b.mul(n_full, I64(mr_full)), mc, I64(mr_full), name="ir") as ir_:
        mr = imin(b, I64(mr_full), b.sub(mc, ir_))
        panel = b.gep(dst, [b.mul(ir_, kc)])
        s = b.gep(src, [b.mul(ir_, sa0)])
        full = b.icmp_signed("==", mr, I64(mr_full))
        rows_fast = b.and_(full, b.icmp_signed("==", sa1, I64(1)))
        cols_fast = b.and_(full, b.icmp_signed("==", sa0, I64(1)))
        done = b.append_basic_block("panel.done")
        row_bb = b.append_basic_block("rows")
        test_bb = b.append_basic_block("cols.test")
        col_bb = b.append_basic_block("cols")
        slow_bb = b.append_basic_block("slow")
        b.cbranch(rows_fast, row_bb if vec else test_bb, test_bb)
        b.position_at_end(test_bb)
        b.cbranch(cols_fast, col_bb, slow_bb)

        b.position_at_end(row_bb)  # row-major A: MR rows x w k regrouped k-major in registers
        if vec:
            rows = [b.gep(s, [b.mul(I64(r), sa0)]) for r in range(mr_full)]
            picks = [(f % mr_full, f // mr_full) for f in range(mr_full * w)]
            with counted_loop(b, I64(0), kc, I64(w), name="kb") as k0:
                mask = lane_mask(b, b.sub(kc, k0), w)
                vals = _masked_rows(b, load, [b.gep(r, [k0]) for r in rows], mask, w, esz)
                out = b.gep(panel, [b.mul(k0, I64(mr_full))])
                for q in range(mr_full):
                    vq = gather_lanes(b, vals, picks[q * w:(q + 1) * w])
                    b.store(vq, vector_ptr(b, b.gep(out, [I64(q * w)]), w), align=esz)
        b.branch(done)

        b.position_at_end(col_bb)  # transposed A (unreached: all full panels are copied above)
        with counted_loop(b, I64(0), kc, name="k") as k:
            val = b.load(vector_ptr(b, b.gep(s, [b.mul(k, sa1)]), mr_full), align=esz)
            b.store(val, vector_ptr(b, b.gep(panel, [b.mul(k, I64(mr_full))]), mr_full), align=esz)
        b.branch(done)

        b.position_at_end(slow_bb)
        with counted_loop(b, I64(0), kc, name="k") as k:
            out = b.gep(panel, [b.mul(k, I64(mr_full))])
            with counted_loop(b, I64(0), mr, name="r") as r:
                val = b.load(b.gep(s, [b.add(b.mul(r, sa0), b.mul(k, sa1))]))
                b.store(val, b.gep(out, [r]))
            with counted_loop(b, mr, I64(mr_full), name="rz") as r:
                b.store(ir.Constant(t, 0.0), b.gep(out, [r]))
        b.branch(done)
        b.position_at_end(done)
    b.ret_void()
    return fn
