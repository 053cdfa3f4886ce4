"""A packed, register-tiled GEMM generated as LLVM IR with llvmlite.

``define_gemm(module, dtype, simd_width)`` adds two external functions::

    void xlc_gemm_<dt>(i64 M, i64 N, i64 K, T* A, i64 sa0, i64 sa1,
                       T* B, i64 sb0, i64 sb1, T* C, i64 ldc, i32 accumulate)
    void xlc_gemm_<dt>_cols(<same arguments>, i64 j0, i64 j1)

computing, for i < M and j < N (resp. j0 <= j < j1 for ``_cols``)::

    C[i*ldc + j] = (accumulate ? C[i*ldc + j] : 0) + sum_k A[i*sa0 + k*sa1] * B[k*sb0 + j*sb1]

Strides are in elements, so transposed operands are only strides. C must not
overlap A or B (the pointers are ``noalias``). ``_cols`` lets several threads
each own a disjoint range of columns of C; each call packs its own panels.

Floating dtypes (f32, f64) get the Goto/BLIS scheme: B is packed in KC x NR
panels, A in MC x KC blocks of MR-row panels, and a micro-kernel keeps an
MR x NR tile of C in MR * NR/W vector registers, doing one FMA per accumulator per
k step (``contract`` fmul/fadd; no other fast-math flag, so results are those of
a plain FMA loop in a different summation order). The code is vectorised by
hand, so the module needs neither LLVM's loop vectoriser nor its unroller (its loops
carry metadata turning both off, whatever pipeline compiles the module).

Packing (gemm_pack.py) is vectorised for row-major and transposed operands alike
(transposed panels are transposed in registers), so ``A^T @ B`` and ``A @ B^T`` run
as fast as ``A @ B``. B's panels are packed just before their first use. Panels at
most W columns wide (N = 10) use a one-vector micro-kernel, which reads A in place
when A is used only once. Edge tiles are stored with masked vector stores.
Integer dtypes (i32, i64, i8, u8) get an i-k-j loop nest with a hand-vectorised
inner loop over contiguous columns; arithmetic wraps like numpy's.

Packing buffers come from libc ``malloc``/``free`` (resolvable in the JIT and in
AOT objects); nothing calls back into Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import llvmlite.ir as ir

from xlc.backends.cpu.gemm_ir import (
    ALIGN,
    BYTES,
    I1,
    I8,
    I32,
    I64,
    ceil_div,
    counted_loop,
    imin,
    lane_mask,
    masked_load_intrinsic,
    masked_store_intrinsic,
    new_function,
    prefetch_intrinsic,
    round_up,
    splat,
    vector_ptr,
)
from xlc.backends.cpu.gemm_pack import define_pack_a, define_pack_b, pack_slack
from xlc.backends.cpu.gemm_small import SMALL_ROWS, define_small_rows_nt

_SCALARS: dict[str, ir.Type] = {
    "f32": ir.FloatType(),
    "f64": ir.DoubleType(),
    "i32": ir.IntType(32),
    "i64": ir.IntType(64),
    "i8": ir.IntType(8),
    "u8": ir.IntType(8),
}
_FMA_FLAGS = ("contract",)


@dataclass(frozen=True)
class GemmBlocking:
    """Tile and cache-block sizes of the packed kernel.

    ``mr`` x ``nr`` is the register tile (``nr`` a multiple of the vector
    width ``w``); ``kc``, ``mc``, ``nc`` bound the packed A block (mc x kc, kept
    in L2) and B panel (kc x nc); ``unroll`` is the k unroll of the micro-kernel.
    """

    w: int
    mr: int
    nr: int
    kc: int
    mc: int
    nc: int
    unroll: int = 4

    def __post_init__(self) -> None:
        if min(self.w, self.mr, self.nr, self.kc, self.mc, self.nc, self.unroll) < 1 or self.nr % self.w:
            raise ValueError(f"GemmBlocking: sizes must be positive and nr a multiple of w, got {self}")


def choose_blocking(dtype: str, simd_width: int) -> GemmBlocking:
    """Blocking for ``dtype`` on a machine with ``simd_width`` f32 lanes per register.

    A 6 x 2W tile uses 12 accumulators + 2 B vectors + 1 broadcast: it fits the 16
    registers of AVX2 and leaves AVX-512's 32 without spills (measured on Zen 5).
    """
    if dtype not in ("f32", "f64"):
        raise ValueError(f"choose_blocking: no packed kernel for dtype {dtype!r}")
    w = simd_width if dtype == "f32" else max(1, simd_width // 2)
    # f64 keeps f32's bytes per block: the same KC (the NR panel is half as wide)
    # and half the MC rows; measured best of KC 256-512, MC 96-192 on Zen 4.
    mc = 192 if dtype == "f32" else 96
    return GemmBlocking(w=w, mr=6, nr=2 * w, kc=512, mc=mc, nc=4096)


def gemm_name(dtype: str) -> str:
    """Symbol of the whole-matrix GEMM for ``dtype``."""
    return f"xlc_gemm_{dtype}"


def gemm_cols_name(dtype: str) -> str:
    """Symbol of the column-range GEMM for ``dtype`` (extra args ``i64 j0, i64 j1``)."""
    return f"xlc_gemm_{dtype}_cols"


def define_gemm(
    module: ir.Module, dtype: str, simd_width: int, blocking: GemmBlocking | None = None
) -> ir.Function:
    """Add ``xlc_gemm_<dtype>`` (and its ``_cols`` variant) to ``module``; return the former.

    Idempotent: if the function already exists in ``module`` it is returned as is.
    ``blocking`` overrides ``choose_blocking`` (for tuning; floats only).
    """
    if dtype not in _SCALARS:
        raise ValueError(f"define_gemm: unsupported dtype {dtype!r}; expected one of {sorted(_SCALARS)}")
    if simd_width < 1:
        raise ValueError(f"define_gemm: simd_width must be >= 1, got {simd_width}")
    existing = module.globals.get(gemm_name(dtype))
    if existing is not None:
        return existing
    t = _SCALARS[dtype]
    if dtype in ("f32", "f64"):
        cols = _define_packed_cols(module, dtype, t, blocking or choose_blocking(dtype, simd_width))
    else:
        lanes = max(1, simd_width * 4 // BYTES[dtype])
        cols = _define_int_cols(module, dtype, t, lanes)
    return _define_whole(module, dtype, t, cols)


def declare_gemm(module: ir.Module, dtype: str, cols: bool = False) -> ir.Function:
    """Declare (without a body) ``xlc_gemm_<dtype>`` or its ``_cols`` variant, to link against a
    definition compiled elsewhere (the process-wide runtime library of the JIT)."""
    name = gemm_cols_name(dtype) if cols else gemm_name(dtype)
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    fn = ir.Function(module, _gemm_type(_SCALARS[dtype], cols), name)
    fn.attributes.add("nounwind")
    return fn


def _gemm_type(t: ir.Type, with_cols: bool) -> ir.FunctionType:
    p = t.as_pointer()
    args = [I64, I64, I64, p, I64, I64, p, I64, I64, p, I64, I32]
    return ir.FunctionType(ir.VoidType(), args + ([I64, I64] if with_cols else []))


def _define_whole(module: ir.Module, dtype: str, t: ir.Type, cols: ir.Function) -> ir.Function:
    fn = new_function(module, gemm_name(dtype), _gemm_type(t, False), internal=False)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    b.call(cols, list(fn.args) + [I64(0), fn.args[1]])
    b.ret_void()
    return fn


def _libc(module: ir.Module) -> tuple[ir.Function, ir.Function]:
    """``malloc`` and ``free``, declared once per module."""
    malloc = module.globals.get("malloc")
    if malloc is None:
        malloc = ir.Function(module, ir.FunctionType(I8.as_pointer(), [I64]), "malloc")
    free = module.globals.get("free")
    if free is None:
        free = ir.Function(module, ir.FunctionType(ir.VoidType(), [I8.as_pointer()]), "free")
    return malloc, free


def _aligned(b: ir.IRBuilder, raw: ir.Value, t: ir.Type) -> ir.Value:
    """``raw`` rounded up to ``ALIGN`` bytes, as a ``T*`` (malloc gives only 16)."""
    addr = b.ptrtoint(raw, I64)
    addr = b.and_(b.add(addr, I64(ALIGN - 1)), I64(-ALIGN))
    return b.inttoptr(addr, t.as_pointer())


# --------------------------------------------------------------------------- packed float path


def _define_packed_cols(module: ir.Module, dtype: str, t: ir.Type, blk: GemmBlocking) -> ir.Function:
    """The blocked driver: loops jc / pc / ic around packing and the micro-kernel."""
    tile = _define_microkernel(module, dtype, t, blk, blk.nr // blk.w)
    # Panels at most one vector wide (N = 10 in a classifier layer) skip the zero columns' FMAs.
    # Its A operand is strided: packed panels, or A itself where each A element is used once
    # (N <= NR: a single panel), which saves packing A.
    narrow = _define_microkernel(module, dtype, t, blk, 1, strided_a=True)
    pack_a = define_pack_a(module, dtype, t, blk.w, blk.mr)
    pack_b = define_pack_b(module, dtype, t, blk.w, blk.nr)
    rows_nt = define_small_rows_nt(module, dtype, t, blk.w)
    malloc, free = _libc(module)
    fn = new_function(module, gemm_cols_name(dtype), _gemm_type(t, True), internal=False)
    m, n, k, a, sa0, sa1, bp, sb0, sb1, c, ldc, acc, j0, j1 = fn.args
    for arg, nm in zip(fn.args, "M N K A sa0 sa1 B sb0 sb1 C ldc accumulate j0 j1".split()):
        arg.name = nm
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    zero = ir.Constant(t, 0.0)
    accumulate = b.icmp_signed("!=", acc, I32(0))

    empty = b.or_(b.icmp_signed("<=", m, I64(0)), b.icmp_signed("<=", j1, j0))
    with b.if_then(empty, likely=False):
        b.ret_void()
    with b.if_then(b.icmp_signed("<=", k, I64(0)), likely=False):
        # No k terms: C is left alone or zeroed; no packing buffers needed.
        with b.if_then(b.not_(accumulate)):
            with counted_loop(b, I64(0), m, name="zi") as i:
                row = b.gep(c, [b.mul(i, ldc)])
                with counted_loop(b, j0, j1, name="zj") as j:
                    b.store(zero, b.gep(row, [j]))
        b.ret_void()

    # 1-4 rows times a transposed B (x @ W^T at batch 1): dot products, nothing packed.
    small_nt = b.and_(b.icmp_signed("<=", m, I64(SMALL_ROWS)),
                      b.and_(b.icmp_signed("==", sa1, I64(1)), b.icmp_signed("==", sb0, I64(1))))
    with b.if_then(small_nt, likely=False):
        b.call(rows_nt, [m, k, a, sa0, bp, sb1, c, ldc, accumulate, j0, j1])
        b.ret_void()

    # Balanced blocks: K = 513 with KC = 512 would otherwise cost a whole extra
    # pass over C for one k; M blocks stay multiples of MR so only the last is ragged.
    kstep = ceil_div(b, k, ceil_div(b, k, I64(blk.kc)))
    mstep = round_up(b, ceil_div(b, m, ceil_div(b, m, I64(blk.mc))), blk.mr)
    # Buffers sized to this call, not to the block maxima: small products should
    # not touch megabytes of fresh pages. Panels are whole (mc rows -> round_up(mc, MR)).
    # B's panels are packed just before their first use (in the first row block), while the
    # micro-kernel is about to read them from L1/L2; with a single row block nothing reads a
    # panel twice, so all panels share one buffer that stays in L2 instead of streaming the whole
    # packed block to memory and back.
    one_block = b.icmp_signed(">=", mstep, m)
    ncols = b.sub(j1, j0)
    kcb = kstep
    ncb = b.select(one_block, I64(blk.nr), round_up(b, imin(b, I64(blk.nc), ncols), blk.nr))
    mcb = round_up(b, imin(b, mstep, m), blk.mr)
    esz = BYTES[dtype]
    slack_a, slack_b = pack_slack(blk.w, blk.mr, blk.nr)
    raw_b = b.call(malloc, [b.mul(b.add(b.mul(kcb, ncb), I64(slack_b + ALIGN)), I64(esz))])
    raw_a = b.call(malloc, [b.mul(b.add(b.mul(kcb, mcb), I64(slack_a + ALIGN)), I64(esz))])
    buf_b = _aligned(b, raw_b, t)
    buf_a = _aligned(b, raw_a, t)
    panel_step = b.select(one_block, I64(0), I64(1))

    with counted_loop(b, j0, j1, I64(blk.nc), name="jc") as jc:
        nc = imin(b, I64(blk.nc), b.sub(j1, jc))
        with counted_loop(b, I64(0), k, kstep, name="pc") as pc:
            kc = imin(b, kstep, b.sub(k, pc))
            # After the first k block C holds partial sums, so later blocks add.
            beta = b.or_(accumulate, b.icmp_signed(">", pc, I64(0)))
            b_src = b.gep(bp, [b.add(b.mul(pc, sb0), b.mul(jc, sb1))])
            # A single column panel uses each element of A once: the narrow kernel reads A in place
            # (one call per vector of columns) instead of packing it.
            direct_a = b.icmp_signed("<=", nc, I64(blk.nr))
            with counted_loop(b, I64(0), m, mstep, name="ic") as ic:
                mc = imin(b, mstep, b.sub(m, ic))
                a_src = b.gep(a, [b.add(b.mul(ic, sa0), b.mul(pc, sa1))])
                with b.if_then(b.not_(direct_a)):
                    b.call(pack_a, [kc, mc, a_src, sa0, sa1, buf_a])
                c_blk = b.gep(c, [b.add(b.mul(ic, ldc), jc)])
                with counted_loop(b, I64(0), nc, I64(blk.nr), name="jr") as jr:
                    nr = imin(b, I64(blk.nr), b.sub(nc, jr))
                    b_panel = b.gep(buf_b, [b.mul(b.mul(jr, panel_step), kc)])
                    with b.if_then(b.icmp_signed("==", ic, I64(0))):
                        b.call(pack_b, [kc, nr, b.gep(b_src, [b.mul(jr, sb1)]), sb0, sb1, b_panel])
                    c_col = b.gep(c_blk, [jr])
                    with counted_loop(b, I64(0), mc, I64(blk.mr), name="ir") as ir_:
                        mr = imin(b, I64(blk.mr), b.sub(mc, ir_))
                        a_panel = b.gep(buf_a, [b.mul(ir_, kc)])
                        c_tile = b.gep(c_col, [b.mul(ir_, ldc)])
                        thin = b.or_(direct_a, b.icmp_signed("<=", nr, I64(blk.w)))
                        with b.if_else(thin, likely=False) as (narrow_bb, wide_bb):
                            with narrow_bb:
                                a_in_place = b.gep(a_src, [b.mul(ir_, sa0)])
                                a_strided = [b.select(direct_a, a_in_place, a_panel), b.select(direct_a, sa0, I64(1)),
                                             b.select(direct_a, sa1, I64(blk.mr))]  # fmt: skip
                                # one vector of columns per call (the panel's rows stay NR apart)
                                with counted_loop(b, I64(0), nr, I64(blk.w), name="jv") as jv:
                                    b.call(narrow, [kc, *a_strided, b.gep(b_panel, [jv]), b.gep(c_tile, [jv]),
                                                    ldc, beta, mr, imin(b, I64(blk.w), b.sub(nr, jv))])
                            with wide_bb:
                                b.call(tile, [kc, a_panel, b_panel, c_tile, ldc, beta, mr, nr])
    b.call(free, [raw_a])
    b.call(free, [raw_b])
    b.ret_void()
    return fn


def _define_microkernel(module: ir.Module, dtype: str, t: ir.Type, blk: GemmBlocking, nv: int,
                        strided_a: bool = False) -> ir.Function:
    """tile(kc, a, b, c, ldc, beta, mr, nr): the MR x (nv * W) register tile (nv * W <= NR).

    For r < mr, j < nr: ``C[r*ldc + j] = (beta ? C[r*ldc + j] : 0) + sum_k a[k*MR + r] * b[k*NR + j]``,
    with ``a``/``b`` packed panels (``b`` aligned to ``ALIGN``; ``nr <= nv * W``). Full tiles
    are stored straight from the registers, edge tiles with masked loads and stores.
    Kept out of line so its accumulators are allocated in isolation.

    ``strided_a``: tile(kc, a, ars, aks, b, ...) reads ``a[r*ars + k*aks]`` instead, so A can be
    used in place (rows r >= mr read row 0: they are never stored).
    """
    p = t.as_pointer()
    a_args = [p, I64, I64] if strided_a else [p]
    fnty = ir.FunctionType(ir.VoidType(), [I64, *a_args, p, p, I64, I1, I64, I64])
    suffix = ("" if nv * blk.w == blk.nr else f"_n{nv}") + ("_sa" if strided_a else "")
    fn = new_function(module, f"xlc_gemm_{dtype}_tile{suffix}", fnty, internal=True)
    fn.attributes.add("noinline")
    if strided_a:
        kc, pa, ars, aks, pb, c, ldc, beta, mr, nr = fn.args
    else:
        kc, pa, pb, c, ldc, beta, mr, nr = fn.args
    w, mr_full, nr_full, unroll = blk.w, blk.mr, blk.nr, blk.unroll
    vty = ir.VectorType(t, w)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    if strided_a:
        # a_ptr below is the k offset (elements); rows are separate base pointers
        a_rows = [b.gep(pa, [b.select(b.icmp_signed(">", mr, I64(r)), b.mul(I64(r), ars), I64(0))])
                  for r in range(mr_full)]
        k_offs = [b.mul(I64(u), aks) for u in range(unroll + 1)]

    def a_elem(a_ptr: ir.Value, u: int, r: int) -> ir.Value:
        if strided_a:
            return b.gep(a_rows[r], [b.add(a_ptr, k_offs[u])])
        return b.gep(a_ptr, [I64(u * mr_full + r)])

    def a_next(a_ptr: ir.Value, steps: int) -> ir.Value:
        return b.add(a_ptr, k_offs[steps]) if strided_a else b.gep(a_ptr, [I64(steps * mr_full)])

    def k_step(accs: list[ir.Value], a_ptr: ir.Value, b_ptr: ir.Value, u: int) -> list[ir.Value]:
        bvec = [
            b.load(vector_ptr(b, b.gep(b_ptr, [I64(u * nr_full + v * w)]), w), align=ALIGN)
            for v in range(nv)
        ]
        out = list(accs)
        for r in range(mr_full):
            avec = splat(b, b.load(a_elem(a_ptr, u, r)), w)
            for v in range(nv):
                prod = b.fmul(avec, bvec[v], flags=_FMA_FLAGS)
                out[r * nv + v] = b.fadd(out[r * nv + v], prod, flags=_FMA_FLAGS)
        return out

    def k_loop(trips: ir.Value, state: list[ir.Value], steps: int, name: str) -> list[ir.Value]:
        """Run ``trips`` iterations of ``steps`` k steps; ``state`` = [a_ptr, b_ptr, *accs]."""
        pre = b.block
        body = b.append_basic_block(f"{name}.body")
        done = b.append_basic_block(f"{name}.done")
        b.cbranch(b.icmp_signed(">", trips, I64(0)), body, done)
        b.position_at_end(body)
        it = b.phi(I64, f"{name}.it")
        phis = [b.phi(v.type) for v in state]
        it.add_incoming(I64(0), pre)
        for ph, v in zip(phis, state):
            ph.add_incoming(v, pre)
        a_ptr, b_ptr, accs = phis[0], phis[1], list(phis[2:])
        for u in range(steps):
            accs = k_step(accs, a_ptr, b_ptr, u)
        new = [a_next(a_ptr, steps), b.gep(b_ptr, [I64(steps * nr_full)])] + accs
        it_next = b.add(it, I64(1))
        latch = b.block
        it.add_incoming(it_next, latch)
        for ph, v in zip(phis, new):
            ph.add_incoming(v, latch)
        b.cbranch(b.icmp_signed("<", it_next, trips), body, done)
        b.position_at_end(done)
        merged = []
        for v_in, v_out in zip(state, new):
            ph = b.phi(v_in.type)
            ph.add_incoming(v_in, pre)
            ph.add_incoming(v_out, latch)
            merged.append(ph)
        return merged

    # Fetch the C tile while the k loop runs: its rows are ldc apart, so neither the
    # hardware prefetcher nor the TLB has them ready when the stores come.
    prefetch = prefetch_intrinsic(module)
    line = max(1, 64 // BYTES[dtype])
    for r in range(mr_full):
        row = b.gep(c, [b.mul(I64(r), ldc)])
        for off in range(0, nv * w, line):
            addr = b.bitcast(b.gep(row, [I64(off)]), I8.as_pointer())
            b.call(prefetch, [addr, I32(1), I32(3), I32(1)])

    zero = ir.Constant(vty, None)
    state = [I64(0) if strided_a else pa, pb] + [zero] * (mr_full * nv)
    trips = b.sdiv(kc, I64(unroll))
    state = k_loop(trips, state, unroll, "ku")
    state = k_loop(b.sub(kc, b.mul(trips, I64(unroll))), state, 1, "kr")
    accs = state[2:]

    full = b.and_(b.icmp_signed("==", mr, I64(mr_full)), b.icmp_signed("==", nr, I64(nv * w)))
    with b.if_else(full, likely=True) as (then, otherwise):
        with then:
            for r in range(mr_full):
                row = b.gep(c, [b.mul(I64(r), ldc)])
                for v in range(nv):
                    ptr = vector_ptr(b, b.gep(row, [I64(v * w)]), w)
                    acc = accs[r * nv + v]
                    # C is read even when beta is false (it is about to be written, so
                    # the line is fetched anyway) and the sum discarded: no branch.
                    summed = b.fadd(acc, b.load(ptr, align=BYTES[dtype]))
                    b.store(b.select(beta, summed, acc), ptr, align=BYTES[dtype])
        with otherwise:
            # Lanes past nr and rows past mr are masked off: never read, never written.
            mload, mstore = masked_load_intrinsic(module, vty), masked_store_intrinsic(module, vty)
            zero_v = ir.Constant(vty, None)
            col_masks = [lane_mask(b, b.sub(nr, I64(v * w)), w) for v in range(nv)]
            for r in range(mr_full):
                row = b.gep(c, [b.mul(I64(r), ldc)])
                live = splat(b, b.icmp_signed(">", mr, I64(r)), w)
                for v in range(nv):
                    ptr = vector_ptr(b, b.gep(row, [I64(v * w)]), w)
                    mask = b.and_(col_masks[v], live)
                    acc = accs[r * nv + v]
                    old = b.call(mload, [ptr, I32(BYTES[dtype]), mask, zero_v])
                    val = b.select(beta, b.fadd(acc, old), acc)
                    b.call(mstore, [val, ptr, I32(BYTES[dtype]), mask])
    b.ret_void()
    return fn


# --------------------------------------------------------------------------- integer path


def _define_int_cols(module: ir.Module, dtype: str, t: ir.Type, lanes: int) -> ir.Function:
    """i-k-j loop nest; the j loop is vectorised by hand when B's rows are contiguous.

    Row i of C (columns j0..j1) stays in L1 while k runs, so this is bound by
    B traffic: fine for the integer matmuls models have, not a fast GEMM.
    """
    fn = new_function(module, gemm_cols_name(dtype), _gemm_type(t, True), internal=False)
    m, n, k, a, sa0, sa1, bp, sb0, sb1, c, ldc, acc, j0, j1 = fn.args
    for arg, nm in zip(fn.args, "M N K A sa0 sa1 B sb0 sb1 C ldc accumulate j0 j1".split()):
        arg.name = nm
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    esz = BYTES[dtype]
    with b.if_then(b.icmp_signed("<=", j1, j0), likely=False):
        b.ret_void()
    accumulate = b.icmp_signed("!=", acc, I32(0))
    contiguous = b.icmp_signed("==", sb1, I64(1))
    vec_end = b.add(j0, b.mul(b.sdiv(b.sub(j1, j0), I64(lanes)), I64(lanes)))
    with counted_loop(b, I64(0), m, name="i") as i:
        crow = b.gep(c, [b.mul(i, ldc)])
        arow = b.gep(a, [b.mul(i, sa0)])
        with b.if_then(b.not_(accumulate)):
            with counted_loop(b, j0, j1, name="zj") as j:
                b.store(ir.Constant(t, 0), b.gep(crow, [j]))
        with counted_loop(b, I64(0), k, name="k") as kk:
            av = b.load(b.gep(arow, [b.mul(kk, sa1)]))
            brow = b.gep(bp, [b.mul(kk, sb0)])
            with b.if_else(contiguous, likely=True) as (then, otherwise):
                with then:
                    avec = splat(b, av, lanes)
                    with counted_loop(b, j0, vec_end, I64(lanes), name="vj") as j:
                        cptr = vector_ptr(b, b.gep(crow, [j]), lanes)
                        bvec = b.load(vector_ptr(b, b.gep(brow, [j]), lanes), align=esz)
                        b.store(b.add(b.load(cptr, align=esz), b.mul(avec, bvec)), cptr, align=esz)
                    with counted_loop(b, vec_end, j1, name="tj") as j:
                        cptr = b.gep(crow, [j])
                        b.store(b.add(b.load(cptr), b.mul(av, b.load(b.gep(brow, [j])))), cptr)
                with otherwise:
                    with counted_loop(b, j0, j1, name="sj") as j:
                        cptr = b.gep(crow, [j])
                        bval = b.load(b.gep(brow, [b.mul(j, sb1)]))
                        b.store(b.add(b.load(cptr), b.mul(av, bval)), cptr)
    b.ret_void()
    return fn
