"""conv2d and its two backward ops as kernels: patch matrices fed to the generated packed GEMM.

All three are one GEMM over a *patch matrix* P whose row ``m`` holds, for one output
position, the source elements its filter taps read (zeros where a tap falls in the padding):

* conv2d: P[(n,oh,ow), (kh,kw,c)] from x; ``y = P @ filter[KH*KW*C, O]``;
* conv2d_backprop_input: the transposed convolution is a convolution of dy with the flipped,
  transposed filter ``Wt[kh,kw,o,c] = filter[KH-1-kh, KW-1-kw, c, o]``: P[(n,ih,iw), (kh,kw,o)]
  from dy, where a tap reads dy only where ``ih + kh*dil + pad - (KH-1)*dil`` is a multiple of
  the stride; ``dx = P @ Wt``;
* conv2d_backprop_filter: ``dfilter = P^T @ dy`` with P from x as for conv2d.

P is built and consumed in chunks of output lines (a few hundred rows, so a chunk stays in
L2; memory stays bounded for any batch) in a buffer from ``malloc``.  A tap is located by
``num = out_index * p + tap * q + r``; the source index is ``num / s`` and the tap reads
padding unless ``0 <= num``, ``num % s == 0`` and ``num / s < size``.  Where a row of taps is
contiguous in the source (dilation 1, divisor 1) and fully inside, it is one memcpy.

Threads (see codegen): every kernel splits the output lines (rows of P) over the threads; the
filter gradient sums over those rows, so thread 0 accumulates into dfilter and the others into
private buffers that they add atomically after a barrier.  Spatial and channel dims must be
static; the batch may be ``?``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from llvmlite import ir

from xlc.backends.cpu.emitter import ONE, ZERO, Emitter, KernelLowering, i64
from xlc.backends.cpu.lower_linalg import gemm_functions
from xlc.backends.cpu.llvmtypes import I1, I8, I32, I64
from xlc.backends.cpu.target import host_info
from xlc.errors import CompileError
from xlc.ir.core import Op, Value
from xlc.ops.conv import AxisGeometry, geometries

_CHUNK_BYTES = 1 << 19  # patch rows per chunk: about half an L2
_FILTER_CHUNK_BYTES = 1 << 21  # the filter gradient's GEMM reduces over rows: longer chunks
_ALIGN = 64


@dataclass(frozen=True)
class PatchAxis:
    """How one spatial axis of a patch row maps to its source (see the module docstring)."""

    p: int
    q: int
    r: int
    s: int
    taps: int
    src: int  # source size along this axis
    out: int  # positions along this axis (rows of P per line: out of the width axis)


def forward_axis(g: AxisGeometry) -> PatchAxis:
    """conv2d's taps: num = o * stride + k * dilation - pad."""
    return PatchAxis(g.stride, g.dilation, -g.pad_before, 1, g.taps, g.size, g.out)


def transposed_axis(g: AxisGeometry) -> PatchAxis:
    """The input gradient's taps over dy (flipped filter): num = i + k * dilation + pad - (K-1) * dilation."""
    return PatchAxis(1, g.dilation, g.pad_before - (g.taps - 1) * g.dilation, g.stride, g.taps, g.out, g.size)


# ---- small IR helpers ---------------------------------------------------------------------
def _libc(em: Emitter) -> tuple[ir.Function, ir.Function]:
    m = em.module
    malloc = m.globals.get("malloc") or ir.Function(m, ir.FunctionType(I8.as_pointer(), [I64]), "malloc")
    free = m.globals.get("free") or ir.Function(m, ir.FunctionType(ir.VoidType(), [I8.as_pointer()]), "free")
    return malloc, free


def _scratch(em: Emitter, n_elems: ir.Value, t: ir.Type, itemsize: int) -> tuple[ir.Value, ir.Value]:
    """A malloc'd buffer of n_elems, 64-byte aligned: (raw pointer to free, typed pointer)."""
    b = em.b
    malloc, _ = _libc(em)
    raw = b.call(malloc, [b.add(b.mul(n_elems, i64(itemsize)), i64(_ALIGN))])
    addr = b.and_(b.add(b.ptrtoint(raw, I64), i64(_ALIGN - 1)), i64(-_ALIGN))
    return raw, b.inttoptr(addr, t.as_pointer())


def _free(em: Emitter, raw: ir.Value) -> None:
    em.b.call(_libc(em)[1], [raw])


def _memcpy(em: Emitter, dst: ir.Value, src: ir.Value, nbytes: int) -> None:
    i8p = I8.as_pointer()
    b = em.b
    em.call("llvm.memcpy.p0.p0.i64", ir.VoidType(),
            [b.bitcast(dst, i8p), b.bitcast(src, i8p), i64(nbytes), ir.Constant(I1, 0)])


def _memset0(em: Emitter, dst: ir.Value, nbytes: ir.Value) -> None:
    b = em.b
    em.call("llvm.memset.p0.i64", ir.VoidType(),
            [b.bitcast(dst, I8.as_pointer()), ir.Constant(I8, 0), nbytes, ir.Constant(I1, 0)])


def when(em: Emitter, cond: ir.Value, then: Callable[[], None], other: Callable[[], None] | None = None) -> None:
    """if (cond) then() else other(); the builder continues after both."""
    b = em.b
    t_blk = em.fn.append_basic_block("when.then")
    e_blk = em.fn.append_basic_block("when.else") if other else None
    join = em.fn.append_basic_block("when.join")
    b.cbranch(cond, t_blk, e_blk or join)
    b.position_at_end(t_blk)
    then()
    b.branch(join)
    if other is not None and e_blk is not None:
        b.position_at_end(e_blk)
        other()
        b.branch(join)
    b.position_at_end(join)


def _c(k: int | ir.Value) -> ir.Value:
    return i64(k) if isinstance(k, int) else k


def source_index(em: Emitter, ax: PatchAxis, o: ir.Value, k: int | ir.Value) -> tuple[ir.Value, ir.Value]:
    """(source index, is it a real element) of tap k at output position o along one axis."""
    b = em.b
    num = b.add(b.add(b.mul(o, i64(ax.p)), b.mul(_c(k), i64(ax.q))), i64(ax.r))
    ok = b.icmp_signed(">=", num, ZERO)
    if ax.s != 1:
        ok = b.and_(ok, b.icmp_signed("==", b.srem(num, i64(ax.s)), ZERO))
        num = b.sdiv(num, i64(ax.s))
    ok = b.and_(ok, b.icmp_signed("<", num, i64(ax.src)))
    return num, ok


def _gemm(em: Emitter, dt_short: str) -> ir.Function:
    return gemm_functions(em, dt_short)[0]


def _gemm_call(em: Emitter, gemm: ir.Function, m: ir.Value, n: ir.Value, k: ir.Value, a: ir.Value, sa0: ir.Value,
               sa1: ir.Value, bm: ir.Value, sb0: ir.Value, sb1: ir.Value, c: ir.Value, ldc: ir.Value,
               accumulate: bool) -> None:
    em.b.call(gemm, [m, n, k, a, _c(sa0), _c(sa1), bm, _c(sb0), _c(sb1), c, _c(ldc), ir.Constant(I32, int(accumulate))])


# ---- patch matrices -----------------------------------------------------------------------
def _fill_row_all_taps(em: Emitter, src: ir.Value, n: ir.Value, y: ir.Value, x: ir.Value, ah: PatchAxis,
                       aw: PatchAxis, ch: int, dst: ir.Value, isz: int) -> None:
    """Row of P for output (n, y, x) with every tap, written at dst (KH*KW*ch elements)."""
    b = em.b

    def tap_ptr(ih: ir.Value, iw: ir.Value) -> ir.Value:
        return b.gep(src, [b.mul(b.add(b.mul(b.add(b.mul(n, i64(ah.src)), ih), i64(aw.src)), iw), i64(ch))])

    def one_tap(ih: ir.Value, okh: ir.Value, kw: int, at: ir.Value) -> None:
        iw, okw = source_index(em, aw, x, kw)
        when(em, b.and_(okh, okw), lambda: _memcpy(em, at, tap_ptr(ih, iw), ch * isz),
             lambda: _memset0(em, at, i64(ch * isz)))

    def filter_row(kh: ir.Value) -> None:
        ih, okh = source_index(em, ah, y, kh)
        row = b.gep(dst, [b.mul(kh, i64(aw.taps * ch))])

        def slow() -> None:
            for kw in range(aw.taps):
                one_tap(ih, okh, kw, b.gep(row, [i64(kw * ch)]))

        if aw.q == 1 and aw.s == 1:
            # the taps of this filter row are contiguous in the source: one copy when all are inside
            iw0 = b.add(b.mul(x, i64(aw.p)), i64(aw.r))
            inside = b.and_(okh, b.and_(b.icmp_signed(">=", iw0, ZERO),
                                        b.icmp_signed("<=", iw0, i64(aw.src - aw.taps))))
            when(em, inside, lambda: _memcpy(em, row, tap_ptr(ih, iw0), aw.taps * ch * isz), slow)
        else:
            slow()

    em.loop(i64(ah.taps), filter_row, name="kh")


def _for_chunks(em: Emitter, lo: ir.Value, hi: ir.Value, per_chunk: int,
                body: Callable[[ir.Value, ir.Value], None]) -> None:
    """body(first, end) over [lo, hi) in chunks of per_chunk lines."""
    b = em.b
    count = b.sub(hi, lo)
    chunks = b.sdiv(b.add(count, i64(per_chunk - 1)), i64(per_chunk))

    def chunk(c: ir.Value) -> None:
        first = b.add(lo, b.mul(c, i64(per_chunk)))
        end = b.add(first, i64(per_chunk))
        end = b.select(b.icmp_signed("<", end, hi), end, hi)
        body(first, end)

    em.loop(chunks, chunk, name="chunk")


def _fill_lines(em: Emitter, first: ir.Value, end: ir.Value, ah: PatchAxis, aw: PatchAxis,
                row: Callable[[ir.Value, ir.Value, ir.Value, ir.Value], None]) -> None:
    """For each line L in [first, end) (L = n * out_h + y) and x < out_w: row(n, y, x, row index in chunk)."""
    b = em.b

    def line(L: ir.Value) -> None:
        n, y = b.udiv(L, i64(ah.out)), b.urem(L, i64(ah.out))
        base = b.mul(b.sub(L, first), i64(aw.out))
        em.loop(i64(aw.out), lambda x: row(n, y, x, b.add(base, x)), name="x")

    em.loop(end, line, start=first, name="line")


# ---- the three kernels --------------------------------------------------------------------
def _static(op: Op, vals: list[Value]) -> None:
    """Spatial and channel dims of every operand and result known (filters entirely)."""
    for v in vals:
        if any(d is None for d in v.type.shape[1:]) or (v.type.shape[0] is None and v.type.rank == 4 and
                                                        op.name.startswith("conv2d") and v is _filter(op)):
            raise CompileError(f"'{op.name}' on the CPU needs static height, width and channels, got "
                               f"{v.type} (at {op.loc})")
    if vals[0].dtype.short not in ("f32", "f64"):
        raise CompileError(f"'{op.name}' on {vals[0].dtype.name} is not supported by the CPU backend yet (at {op.loc})")


def _filter(op: Op) -> Value:
    return op.results[0] if op.name == "conv2d_backprop_filter" else op.operands[1 if op.name == "conv2d" else 0]


def _lines_per_chunk(row_elems: int, width: int, isz: int, budget: int) -> int:
    return max(1, budget // max(1, row_elems * width * isz))


def _patch_gemm_rows(em: Emitter, op: Op, src: Value, out: Value, ah: PatchAxis, aw: PatchAxis, ch: int,
                     weights: ir.Value, wb0: int, wb1: int, n_out: int) -> None:
    """out[rows, n_out] = P(src) @ B, B[k, j] = weights[k * wb0 + j * wb1]; rows split over threads."""
    b = em.b
    dt = out.dtype
    isz = dt.itemsize
    gemm = _gemm(em, dt.short)
    k_all = ah.taps * aw.taps * ch
    lines = b.mul(em.dim(out, 0), i64(ah.out))
    lo, hi = em.thread_range(lines)
    src_p, out_p = em.buffer_ptr[src], em.buffer_ptr[out]
    if ah.taps == aw.taps == 1 and ah.p == aw.p == 1 and ah.r == aw.r == 0 and ah.s == aw.s == 1:
        # 1x1, stride 1, no padding: the source is already the patch matrix
        rows = b.mul(b.sub(hi, lo), i64(aw.out))
        _gemm_call(em, gemm, rows, i64(n_out), i64(k_all), b.gep(src_p, [b.mul(lo, i64(aw.out * ch))]),
                   k_all, 1, weights, wb0, wb1, b.gep(out_p, [b.mul(lo, i64(aw.out * n_out))]), n_out, False)
        return
    per = _lines_per_chunk(k_all, aw.out, isz, _CHUNK_BYTES)
    raw, patches = _scratch(em, i64(per * aw.out * k_all), em.storage_type(dt), isz)

    def chunk(first: ir.Value, end: ir.Value) -> None:
        def row(n: ir.Value, y: ir.Value, x: ir.Value, r: ir.Value) -> None:
            _fill_row_all_taps(em, src_p, n, y, x, ah, aw, ch, b.gep(patches, [b.mul(r, i64(k_all))]), isz)

        _fill_lines(em, first, end, ah, aw, row)
        rows = b.mul(b.sub(end, first), i64(aw.out))
        _gemm_call(em, gemm, rows, i64(n_out), i64(k_all), patches, k_all, 1, weights, wb0, wb1,
                   b.gep(out_p, [b.mul(first, i64(aw.out * n_out))]), n_out, False)

    _for_chunks(em, lo, hi, per, chunk)
    _free(em, raw)


def _conv_geometry(op: Op, h: int, w: int, kh: int, kw: int) -> tuple[AxisGeometry, AxisGeometry]:
    return geometries(h, w, kh, kw, op.attrs)


def _conv2d(em: Emitter, op: Op) -> None:
    x, f = op.operands
    y = op.results[0]
    _static(op, [x, f, y])
    kh, kw, c, o = (int(d) for d in f.type.shape)  # type: ignore[arg-type]
    gh, gw = _conv_geometry(op, int(x.type.shape[1]), int(x.type.shape[2]), kh, kw)  # type: ignore[arg-type]
    _patch_gemm_rows(em, op, x, y, forward_axis(gh), forward_axis(gw), c, em.buffer_ptr[f], o, 1, o)


def _conv2d_backprop_input(em: Emitter, op: Op) -> None:
    f, dy = op.operands
    dx = op.results[0]
    _static(op, [f, dy, dx])
    kh, kw, c, o = (int(d) for d in f.type.shape)  # type: ignore[arg-type]
    gh, gw = _conv_geometry(op, int(dx.type.shape[1]), int(dx.type.shape[2]), kh, kw)  # type: ignore[arg-type]
    b = em.b
    fp = em.buffer_ptr[f]
    if kh == kw == 1 and gh.stride == gw.stride == 1:
        # 1x1 stride 1: dx = dy @ filter^T
        _patch_gemm_rows(em, op, dy, dx, transposed_axis(gh), transposed_axis(gw), o, fp, 1, o, c)
        return
    # Wt[kh', kw', o, c] = filter[KH-1-kh', KW-1-kw', c, o]: every thread builds its own copy (small)
    dt = dx.dtype
    raw, wt = _scratch(em, i64(kh * kw * o * c), em.storage_type(dt), dt.itemsize)

    def flip(idx: list[ir.Value]) -> None:
        t, oo, cc = idx
        src_t = b.sub(i64(kh * kw - 1), t)  # (KH-1-kh') * KW + (KW-1-kw') = KH*KW-1 - t
        v = b.load(b.gep(fp, [b.add(b.mul(b.add(b.mul(src_t, i64(c)), cc), i64(o)), oo)]))
        b.store(v, b.gep(wt, [b.add(b.mul(b.add(b.mul(t, i64(o)), oo), i64(c)), cc)]))

    em.loop_nest([i64(kh * kw), i64(o), i64(c)], flip)
    _patch_gemm_rows(em, op, dy, dx, transposed_axis(gh), transposed_axis(gw), o, wt, c, 1, c)
    _free(em, raw)


def _conv2d_backprop_filter(em: Emitter, op: Op) -> None:
    """dfilter = P^T @ dy with P's rows (output positions) split over the threads.

    Thread 0 accumulates into dfilter itself, every other thread into a private buffer; after a
    barrier the others add theirs into dfilter atomically (dfilter is small: KH*KW*C*O).
    """
    x, dy = op.operands
    dw = op.results[0]
    _static(op, [x, dy, dw])
    kh, kw, c, o = (int(d) for d in dw.type.shape)  # type: ignore[arg-type]
    gh, gw = _conv_geometry(op, int(x.type.shape[1]), int(x.type.shape[2]), kh, kw)  # type: ignore[arg-type]
    ah, aw = forward_axis(gh), forward_axis(gw)
    b = em.b
    dt = dw.dtype
    isz = dt.itemsize
    st = em.storage_type(dt)
    gemm = _gemm(em, dt.short)
    xp, dyp, dwp = em.buffer_ptr[x], em.buffer_ptr[dy], em.buffer_ptr[dw]
    k_all = kh * kw * c
    size = k_all * o
    first_thread = b.icmp_signed("==", em.tid, ZERO)
    raw_part, part = _scratch(em, i64(size), st, isz)
    mine = b.select(first_thread, dwp, part)
    _memset0(em, mine, i64(size * isz))
    lines = b.mul(em.dim(x, 0), i64(gh.out))
    lo, hi = em.thread_range(lines)
    per = _lines_per_chunk(k_all, gw.out, isz, _FILTER_CHUNK_BYTES)
    raw, patches = _scratch(em, i64(per * gw.out * k_all), st, isz)

    def chunk(first: ir.Value, end: ir.Value) -> None:
        def row(n: ir.Value, yy: ir.Value, xx: ir.Value, r: ir.Value) -> None:
            _fill_row_all_taps(em, xp, n, yy, xx, ah, aw, c, b.gep(patches, [b.mul(r, i64(k_all))]), isz)

        _fill_lines(em, first, end, ah, aw, row)
        rows = b.mul(b.sub(end, first), i64(gw.out))
        _gemm_call(em, gemm, i64(k_all), i64(o), rows, patches, 1, k_all,
                   b.gep(dyp, [b.mul(first, i64(gw.out * o))]), o, 1, mine, o, True)

    _for_chunks(em, lo, hi, per, chunk)
    _free(em, raw)
    em.barrier()  # dfilter holds thread 0's sum now; the others add theirs

    def add_mine() -> None:
        em.loop(i64(size), lambda i: b.atomic_rmw("fadd", b.gep(dwp, [i]), b.load(b.gep(part, [i])), "monotonic"),
                name="part")

    when(em, b.not_(first_thread), add_mine)
    _free(em, raw_part)


KERNELS: dict[str, KernelLowering] = {
    "conv2d": _conv2d,
    "conv2d_backprop_input": _conv2d_backprop_input,
    "conv2d_backprop_filter": _conv2d_backprop_filter,
}
