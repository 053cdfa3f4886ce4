"""conv2d and its two backward ops as kernels: direct convolutions with register-blocked tiles.

Every kernel reads its source through ``T``, a zero-filled copy of one image in which every
tap of every output reads inside (see ``conv_source``; the source itself when no padding is
needed), so the element that output position ``m`` reads for filter row ``k = (kh, kw, c)``
is ``T[pos(m) + koff(k)]``.  The tiles of ``conv_tiles`` broadcast those
elements straight from T (no patch matrix is built or packed) against vectors of output
channels:

* conv2d: ``y[m, :] = sum_k T[pos(m) + koff(k)] * filter[k, :]``, tiles of MR positions;
* conv2d_backprop_input: the transposed convolution is a stride-1 convolution of dy, with
  ``stride - 1`` zeros inserted between its elements and padded, by the flipped, transposed
  filter ``Wt[kh,kw,o,c] = filter[KH-1-kh, KW-1-kw, c, o]``;
* conv2d_backprop_filter: ``dfilter[k, :] = sum_m T[pos(m) + koff(k)] * dy[m, :]``, tiles of
  MR filter rows, the positions taken in chunks so that their dy rows stay in cache.

Tiles skip the filter rows (and the filter gradient the output lines) whose taps read only
padding.  Threads (see codegen): conv2d and the input gradient split the tiles of positions
over the threads; each thread builds T for its own images, so no thread waits for another.
The filter gradient splits its tiles of filter rows when there are enough, else the
positions (see :func:`_conv2d_backprop_filter`).  Spatial and channel dims must be static;
the batch may be ``?``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from llvmlite import ir

from xlc.backends.cpu.conv_source import (ALIGN, Embedding, ImageSource, const_table, copy_bytes, forward_embedding,
                                          free_scratch, scratch, transposed_embedding, zero_bytes)
from xlc.backends.cpu.conv_tiles import TapWalk, column_blocks, position_tile, rows_per_tile, tap_tile
from xlc.backends.cpu.emitter import ONE, ZERO, Emitter, KernelLowering, i64
from xlc.backends.cpu.llvmtypes import I64
from xlc.backends.cpu.target import host_info
from xlc.errors import CompileError
from xlc.ir.core import Op, Value
from xlc.ops.conv import AxisGeometry, geometries


@dataclass(frozen=True)
class PatchAxis:
    """How one spatial axis of a window maps to its source (the pooling ops use it).

    Tap k of output position o is at ``num = o * p + k * q + r``; the source index is
    ``num / s``, and the tap reads padding unless ``0 <= num``, ``num % s == 0`` and
    ``num / s < src``.
    """

    p: int
    q: int
    r: int
    s: int
    taps: int
    src: int  # source size along this axis
    out: int  # positions along this axis


def forward_axis(g: AxisGeometry) -> PatchAxis:
    """conv2d's taps: num = o * stride + k * dilation - pad."""
    return PatchAxis(g.stride, g.dilation, -g.pad_before, 1, g.taps, g.size, g.out)


def transposed_axis(g: AxisGeometry) -> PatchAxis:
    """The input gradient's taps over dy (flipped filter): num = i + k * dilation + pad - (K-1) * dilation."""
    return PatchAxis(1, g.dilation, g.pad_before - (g.taps - 1) * g.dilation, g.stride, g.taps, g.out, g.size)


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


# ---- shared by the three kernels ----------------------------------------------------------
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


def _tap_walk(t: Embedding, kh: int, kw: int, dh: int, dw: int) -> TapWalk:
    """The filter rows (kh, kw, c) as runs of T: with dilation 1 along w, a filter row's taps are
    one run of kw * c elements."""
    if dw == 1:
        return TapWalk(kh, 1, kw * t.c, dh * t.wp * t.c, 0)
    return TapWalk(kh, kw, t.c, dh * t.wp * t.c, dw * t.c)


def _aligned_rows(em: Emitter, rows: ir.Value, cols: int, st: ir.Type, isz: int,
                  value: Callable[[ir.Value, ir.Value], ir.Value]) -> tuple[ir.Value, ir.Value, int]:
    """(raw buffer to free, copy, its row stride): a 64-byte aligned copy of a rows x cols matrix
    given element by element, rows padded to whole vectors so that every row starts aligned
    (numpy's arrays are only 16-byte aligned: split vector loads cost a second load each)."""
    ld = -(-cols // _lanes(isz)) * _lanes(isz)
    b = em.b
    raw, dst = scratch(em, b.mul(rows, i64(ld)), st, isz)
    em.loop_nest([rows, i64(cols)], lambda idx: b.store(value(idx[0], idx[1]),
                                                        b.gep(dst, [b.add(b.mul(idx[0], i64(ld)), idx[1])])))
    return raw, dst, ld


def _tile_name(em: Emitter, kind: str) -> str:
    return f"xlc_conv_{kind}_{len(em.module.globals)}"


def _lanes(isz: int) -> int:
    return max(1, host_info().simd_bytes // isz)


# ---- the three kernels --------------------------------------------------------------------
def _position_conv(em: Emitter, src: Value, out: Value, t: Embedding, out_h: int, out_w: int, sh: int, sw: int,
                   walk: TapWalk, weight: Callable[[ir.Value, ir.Value], ir.Value]) -> None:
    """out[m, :] = sum_k T[pos(m) + koff(k)] * W[k, :], W[k, j] = weight(k, j).

    Each image's positions are cut into tiles of MR (the last one short); the (image, tile)
    pairs are split over the threads, and each thread works from its own aligned copy of W and
    builds T one image at a time.  A tile skips the filter rows that read only zeros for all
    of its positions (the padding rows above and below the image).
    """
    b = em.b
    dt = out.dtype
    isz = dt.itemsize
    st = em.storage_type(dt)
    n_out = int(out.type.shape[3])  # type: ignore[arg-type]
    blocks = column_blocks(n_out, _lanes(isz))
    mr = rows_per_tile(blocks[0].vectors)
    raw_w, weights, ldw = _aligned_rows(em, i64(walk.rows), n_out, st, isz, weight)
    tiles = [position_tile(em.module, _tile_name(em, "pos"), st, walk, blk, mr, ldw) for blk in blocks]
    image = out_h * out_w
    per_image = -(-image // mr)
    lo, hi = em.thread_range(b.mul(em.dim(out, 0), i64(per_image)))

    def work() -> None:
        source = ImageSource(em, em.buffer_ptr[src], t, isz)
        dh = walk.hstep // (t.wp * t.c)
        kh_lo, kh_hi = (const_table(em, v) for v in source.filter_rows(out_h, sh, dh, walk.kh))
        pos = em.alloca(ir.ArrayType(I64, mr), "conv.pos")
        out_p = em.buffer_ptr[out]

        def one_image(n: ir.Value) -> None:
            tp = source.image(n)
            first = b.mul(n, i64(per_image))
            t_lo = b.sub(b.select(b.icmp_signed(">", lo, first), lo, first), first)
            t_hi = b.sub(b.select(b.icmp_signed("<", hi, b.add(first, i64(per_image))), hi,
                                  b.add(first, i64(per_image))), first)

            def tile(k: ir.Value) -> None:
                m0 = b.mul(k, i64(mr))
                k0: ir.Value = i64(walk.kh)
                k1: ir.Value = ZERO
                for r in range(mr):
                    m = b.add(m0, i64(r))
                    m = b.select(b.icmp_signed("<", m, i64(image)), m, i64(image - 1))  # short tiles repeat the last
                    oh, ow = b.udiv(m, i64(out_w)), b.urem(m, i64(out_w))
                    at = b.mul(b.add(b.mul(b.mul(oh, i64(sh)), i64(t.wp)), b.mul(ow, i64(sw))), i64(t.c))
                    b.store(at, b.gep(pos, [ZERO, i64(r)]))
                    # the filter rows useful to some position of the tile (others read zeros only)
                    lo_r, hi_r = b.load(b.gep(kh_lo, [oh])), b.load(b.gep(kh_hi, [oh]))
                    k0 = b.select(b.icmp_signed("<", lo_r, k0), lo_r, k0)
                    k1 = b.select(b.icmp_signed(">", hi_r, k1), hi_r, k1)
                left = b.sub(i64(image), m0)
                rows = b.select(b.icmp_signed("<", left, i64(mr)), left, i64(mr))
                row0 = b.add(b.mul(n, i64(image)), m0)
                for blk, fn in zip(blocks, tiles):
                    b.call(fn, [tp, b.gep(pos, [ZERO, ZERO]), b.gep(weights, [i64(blk.start)]),
                                b.gep(out_p, [b.add(b.mul(row0, i64(n_out)), i64(blk.start))]), i64(n_out), rows,
                                k0, k1, em.bool_const(False)])

            em.loop(t_hi, tile, start=t_lo, name="tile")

        em.loop(b.add(b.udiv(b.sub(hi, ONE), i64(per_image)), ONE), one_image, start=b.udiv(lo, i64(per_image)),
                name="image")
        source.free()

    when(em, b.icmp_signed("<", lo, hi), work)
    free_scratch(em, raw_w)


def _conv_geometry(op: Op, h: int, w: int, kh: int, kw: int) -> tuple[AxisGeometry, AxisGeometry]:
    return geometries(h, w, kh, kw, op.attrs)


def _conv2d(em: Emitter, op: Op) -> None:
    x, f = op.operands
    y = op.results[0]
    _static(op, [x, f, y])
    kh, kw, c, o = (int(d) for d in f.type.shape)  # type: ignore[arg-type]
    gh, gw = _conv_geometry(op, int(x.type.shape[1]), int(x.type.shape[2]), kh, kw)  # type: ignore[arg-type]
    t = forward_embedding(gh, gw, c)
    fp = em.buffer_ptr[f]
    b = em.b
    _position_conv(em, x, y, t, gh.out, gw.out, gh.stride, gw.stride, _tap_walk(t, kh, kw, gh.dilation, gw.dilation),
                   lambda k, j: b.load(b.gep(fp, [b.add(b.mul(k, i64(o)), j)])))


def _conv2d_backprop_input(em: Emitter, op: Op) -> None:
    """dx = a stride-1 convolution of dy (zeros inserted, padded) with the flipped filter
    Wt[kh', kw', o, c] = filter[KH-1-kh', KW-1-kw', c, o]."""
    f, dy = op.operands
    dx = op.results[0]
    _static(op, [f, dy, dx])
    kh, kw, c, o = (int(d) for d in f.type.shape)  # type: ignore[arg-type]
    gh, gw = _conv_geometry(op, int(dx.type.shape[1]), int(dx.type.shape[2]), kh, kw)  # type: ignore[arg-type]
    b = em.b
    fp = em.buffer_ptr[f]

    def flipped(k: ir.Value, cc: ir.Value) -> ir.Value:
        """Wt[k, cc] with k = (kh', kw', oo): filter[KH-1-kh', KW-1-kw', cc, oo]."""
        tap, oo = b.udiv(k, i64(o)), b.urem(k, i64(o))
        src_t = b.sub(i64(kh * kw - 1), tap)  # (KH-1-kh') * KW + (KW-1-kw') = KH*KW-1 - tap
        return b.load(b.gep(fp, [b.add(b.mul(b.add(b.mul(src_t, i64(c)), cc), i64(o)), oo)]))

    t = transposed_embedding(gh, gw, o)
    _position_conv(em, dy, dx, t, gh.size, gw.size, 1, 1, _tap_walk(t, kh, kw, gh.dilation, gw.dilation), flipped)


_TAP_CHUNK = 256  # output positions per pass over the filter: their dy rows stay in L1/L2


def _conv2d_backprop_filter(em: Emitter, op: Op) -> None:
    """dfilter[k, :] = sum_m T[pos(m) + koff(k)] * dy[m, :].

    The positions are reduced image by image, in chunks of output lines (every tile of filter
    rows passes over a chunk while its dy rows are in cache), each tile only over the lines
    where its taps can read data.  With enough tiles of filter rows for every thread (at least
    four each), the threads split the tiles: each writes its own rows of dfilter.  Otherwise
    they split the lines: thread 0 accumulates into dfilter itself, every other thread into a
    private buffer, and after a barrier the others add theirs into dfilter atomically.
    """
    x, dy = op.operands
    dw = op.results[0]
    _static(op, [x, dy, dw])
    kh, kw, c, o = (int(d) for d in dw.type.shape)  # type: ignore[arg-type]
    gh, gw = _conv_geometry(op, int(x.type.shape[1]), int(x.type.shape[2]), kh, kw)  # type: ignore[arg-type]
    t = forward_embedding(gh, gw, c)
    b = em.b
    dt = dw.dtype
    isz = dt.itemsize
    st = em.storage_type(dt)
    dyp, dwp = em.buffer_ptr[dy], em.buffer_ptr[dw]
    k_all = kh * kw * c
    size = k_all * o
    blocks = column_blocks(o, _lanes(isz))
    mr = rows_per_tile(blocks[0].vectors, k_all)
    tiles = [tap_tile(em.module, _tile_name(em, "tap"), st, blk, mr) for blk in blocks]
    ld = -(-o // _lanes(isz)) * _lanes(isz)
    lines_per_chunk = max(1, _TAP_CHUNK // gw.out)
    k_tiles = -(-k_all // mr)
    # per tile of filter rows, the output lines [lo, hi) of an image where one of its taps reads data
    data = range(t.ph, t.ph + t.h)
    line_lo, line_hi = [], []
    for kt in range(k_tiles):
        khs = {min(k, k_all - 1) // (kw * c) for k in range(kt * mr, kt * mr + mr)}
        useful = [oh for oh in range(gh.out) if any(oh * gh.stride + i * gh.dilation in data for i in khs)]
        line_lo.append(useful[0] if useful else 0)
        line_hi.append(useful[-1] + 1 if useful else 0)
    first_thread = b.icmp_signed("==", em.tid, ZERO)
    split_rows = b.icmp_signed(">=", i64(k_tiles), b.mul(em.nthreads, i64(4)))
    raw_part, part = scratch(em, i64(size), st, isz)
    all_lines = b.mul(em.dim(x, 0), i64(gh.out))
    row_lo, row_hi = em.thread_range(i64(k_tiles))
    line_split = em.thread_range(all_lines)
    kt_lo, kt_hi = b.select(split_rows, row_lo, ZERO), b.select(split_rows, row_hi, i64(k_tiles))
    lo, hi = b.select(split_rows, ZERO, line_split[0]), b.select(split_rows, all_lines, line_split[1])
    mine = b.select(split_rows, dwp, b.select(first_thread, dwp, part))
    k_first = b.select(split_rows, b.mul(kt_lo, i64(mr * o)), ZERO)
    k_end = b.mul(kt_hi, i64(mr * o))
    k_end = b.select(b.icmp_signed("<", k_end, i64(size)), k_end, i64(size))
    when(em, b.icmp_signed("<", k_first, k_end),
         lambda: zero_bytes(em, b.gep(mine, [k_first]), b.mul(b.sub(k_end, k_first), i64(isz))))

    def work() -> None:
        source = ImageSource(em, em.buffer_ptr[x], t, isz)
        lines_lo, lines_hi = const_table(em, line_lo), const_table(em, line_hi)
        raw_tab, postab = scratch(em, i64(lines_per_chunk * gw.out), I64, 8)
        raw_dy, dyc = scratch(em, i64(lines_per_chunk * gw.out * ld), st, isz)
        # koff of every filter row (rows of the last tile past the end repeat the last row)
        raw_koff, koff = scratch(em, i64(k_tiles * mr), I64, 8)

        def tap_offset(k: ir.Value) -> None:
            kk = b.select(b.icmp_signed("<", k, i64(k_all)), k, i64(k_all - 1))
            i, rest = b.udiv(kk, i64(kw * c)), b.urem(kk, i64(kw * c))
            j, cc = b.udiv(rest, i64(c)), b.urem(rest, i64(c))
            off = b.add(b.add(b.mul(i, i64(gh.dilation * t.wp * c)), b.mul(j, i64(gw.dilation * c))), cc)
            b.store(off, b.gep(koff, [k]))

        em.loop(i64(k_tiles * mr), tap_offset, name="koff")
        # dy is read in place when its rows are whole aligned vectors, else a chunk at a time is copied
        in_place = em.bool_const(False)
        if ld == o:
            in_place = b.icmp_unsigned("==", b.and_(b.ptrtoint(dyp, I64), i64(ALIGN - 1)), ZERO)

        def one_image(n: ir.Value) -> None:
            tp = source.image(n)
            first = b.mul(n, i64(gh.out))
            l_lo = b.select(b.icmp_signed(">", lo, first), lo, first)
            l_hi = b.select(b.icmp_signed("<", hi, b.add(first, i64(gh.out))), hi, b.add(first, i64(gh.out)))

            def chunk(first_line: ir.Value, end_line: ir.Value) -> None:
                def line(L: ir.Value) -> None:
                    base = b.mul(b.mul(b.sub(L, first), i64(gh.stride)), i64(t.wp * c))
                    row = b.gep(postab, [b.mul(b.sub(L, first_line), i64(gw.out))])
                    em.loop(i64(gw.out), lambda ow: b.store(b.add(base, b.mul(ow, i64(gw.stride * c))),
                                                            b.gep(row, [ow])), name="ow")

                em.loop(end_line, line, start=first_line, name="line")
                rows_first = b.mul(first_line, i64(gw.out))
                count = b.mul(b.sub(end_line, first_line), i64(gw.out))
                dy_rows = b.gep(dyp, [b.mul(rows_first, i64(o))])
                if ld == o:
                    def copy() -> None:
                        copy_bytes(em, dyc, dy_rows, b.mul(count, i64(o * isz)))
                else:
                    def copy() -> None:
                        em.loop(count, lambda m: copy_bytes(em, b.gep(dyc, [b.mul(m, i64(ld))]),
                                                         b.gep(dy_rows, [b.mul(m, i64(o))]), o * isz), name="dyrow")
                when(em, b.not_(in_place), copy)
                rows_at = b.select(in_place, dy_rows, dyc)

                def rows_tile(kt: ir.Value) -> None:
                    k0 = b.mul(kt, i64(mr))
                    left = b.sub(i64(k_all), k0)
                    rows = b.select(b.icmp_signed("<", left, i64(mr)), left, i64(mr))
                    # the chunk's lines where the tile's taps read data
                    rel0, rel1 = b.sub(first_line, first), b.sub(end_line, first)
                    u0, u1 = b.load(b.gep(lines_lo, [kt])), b.load(b.gep(lines_hi, [kt]))
                    u0 = b.select(b.icmp_signed(">", u0, rel0), u0, rel0)
                    u1 = b.select(b.icmp_signed("<", u1, rel1), u1, rel1)
                    skip = b.mul(b.sub(u0, rel0), i64(gw.out))

                    def call() -> None:
                        for blk, fn in zip(blocks, tiles):
                            dy_at = b.gep(rows_at, [b.add(b.mul(skip, i64(ld)), i64(blk.start))])
                            dw_at = b.gep(mine, [b.add(b.mul(k0, i64(o)), i64(blk.start))])
                            b.call(fn, [tp, b.gep(postab, [skip]), b.mul(b.sub(u1, u0), i64(gw.out)),
                                        b.gep(koff, [k0]), dy_at, i64(ld), dw_at, i64(o), rows])

                    when(em, b.icmp_signed("<", u0, u1), call)

                em.loop(kt_hi, rows_tile, start=kt_lo, name="ktile")

            _for_chunks(em, l_lo, l_hi, lines_per_chunk, chunk)

        em.loop(b.add(b.udiv(b.sub(hi, ONE), i64(gh.out)), ONE), one_image, start=b.udiv(lo, i64(gh.out)), name="image")
        for r in (raw_tab, raw_dy, raw_koff):
            free_scratch(em, r)
        source.free()

    when(em, b.and_(b.icmp_signed("<", lo, hi), b.icmp_signed("<", kt_lo, kt_hi)), work)
    em.barrier()  # split lines: dfilter holds thread 0's sum now; the others add theirs

    def add_mine() -> None:
        em.loop(i64(size), lambda i: b.atomic_rmw("fadd", b.gep(dwp, [i]), b.load(b.gep(part, [i])), "monotonic"),
                name="part")

    when(em, b.and_(b.not_(split_rows), b.not_(first_thread)), add_mine)
    free_scratch(em, raw_part)


def _for_chunks(em: Emitter, lo: ir.Value, hi: ir.Value, per_chunk: int,
                body: Callable[[ir.Value, ir.Value], None]) -> None:
    """body(first, end) over [lo, hi) in chunks of per_chunk."""
    b = em.b
    chunks = b.sdiv(b.add(b.sub(hi, lo), i64(per_chunk - 1)), i64(per_chunk))

    def chunk(k: ir.Value) -> None:
        first = b.add(lo, b.mul(k, i64(per_chunk)))
        end = b.add(first, i64(per_chunk))
        body(first, b.select(b.icmp_signed("<", end, hi), end, hi))

    em.loop(chunks, chunk, name="chunk")


KERNELS: dict[str, KernelLowering] = {
    "conv2d": _conv2d,
    "conv2d_backprop_input": _conv2d_backprop_input,
    "conv2d_backprop_filter": _conv2d_backprop_filter,
}
