"""Softmax-family kernels and per-element pooling lowerings.

softmax, log_softmax and softmax_cross_entropy are kernels that make passes over each row
(the max, then the sum of exp(x - max), then the results), so a row of logits of 1000 is
exact, and the work is linear in the row length.  Rows are split over the threads.

Pooling ops lower per element, so their producers and consumers fuse into them (a
``max_pool(relu(conv + b))`` reads the conv's output once per tap, and never stores the
activation unless something else needs it):

* max_pool / max_pool_grad_grad: scan the window (padding never wins), keep the first max;
* max_pool_grad is a kernel: each window writes dy at its first max and zeros at its other
  taps, vectorised over channels (windows that overlap: zero dx, then scatter-add);
* avg_pool / avg_pool_grad: sums over the real elements divided by their count.
"""

from __future__ import annotations

from llvmlite import ir

from xlc.backends.cpu.emitter import ZERO, ElemLowering, Emitter, KernelLowering, i64
from xlc.backends.cpu.lower_conv import PatchAxis, forward_axis, source_index, transposed_axis, when
from xlc.backends.cpu.lower_elementwise import SCALAR, convert
from xlc.backends.cpu.lower_random import philox_words
from xlc.backends.cpu.llvmtypes import F64, I1, I8, I32, I64, compute_type, const, to_compute, to_storage
from xlc.errors import CompileError
from xlc.ir.core import Op, Value
from xlc.ir.types import float64, int64
from xlc.ops.conv import geometries

REASSOC = ("reassoc", "contract", "nsz")


# ---- softmax family -----------------------------------------------------------------------
def _rows(em: Emitter, x: Value, axis: int) -> tuple[ir.Value, ir.Value, ir.Value]:
    """(outer, length, inner) of x viewed as [outer, length, inner] around ``axis``."""
    b = em.b
    outer: ir.Value = i64(1)
    inner: ir.Value = i64(1)
    for a in range(axis):
        outer = b.mul(outer, em.dim(x, a))
    for a in range(axis + 1, x.type.rank):
        inner = b.mul(inner, em.dim(x, a))
    return outer, em.dim(x, axis), inner


def _row_max_and_sum(em: Emitter, x: Value, base: ir.Value, length: ir.Value, stride: ir.Value,
                     store_exp: Value | None = None) -> tuple[ir.Value, ir.Value]:
    """max over the row, and sum of exp(x - max); with store_exp, exp(x - max) is stored there too."""
    b = em.b
    dt = x.dtype
    ct = compute_type(dt)
    px = em.buffer_ptr[x]

    def at(j: ir.Value) -> ir.Value:
        return b.add(base, b.mul(j, stride))

    def load(j: ir.Value) -> ir.Value:
        return to_compute(b, dt, b.load(b.gep(px, [at(j)])))

    best = em.alloca(ct, "row.max")
    b.store(ir.Constant(ct, float("-inf")), best)
    em.loop(length, lambda j: b.store(SCALAR["maximum"](em, dt, [b.load(best), load(j)]), best), name="j")
    m = b.load(best)
    acc = em.alloca(ct, "row.sum")
    b.store(ir.Constant(ct, 0.0), acc)

    def add(j: ir.Value) -> None:
        e = SCALAR["exp"](em, dt, [b.fsub(load(j), m)])
        if store_exp is not None:
            b.store(to_storage(b, dt, e), b.gep(em.buffer_ptr[store_exp], [at(j)]))
        b.store(b.fadd(b.load(acc), e, flags=REASSOC), acc)

    em.loop(length, add, name="j")
    return m, b.load(acc)


def _softmax_kernel(log: bool) -> KernelLowering:
    def lower(em: Emitter, op: Op) -> None:
        x, y = op.operands[0], op.results[0]
        axis = int(op.attrs["axis"]) % x.type.rank
        b = em.b
        dt = x.dtype
        outer, length, inner = _rows(em, x, axis)
        lo, hi = em.thread_range(b.mul(outer, inner))
        py = em.buffer_ptr[y]

        def row(r: ir.Value) -> None:
            base = b.add(b.mul(b.mul(b.udiv(r, inner), length), inner), b.urem(r, inner))
            m, s = _row_max_and_sum(em, x, base, length, inner, None if log else y)
            lse = SCALAR["log"](em, dt, [s]) if log else None
            inv = None if log else b.fdiv(ir.Constant(s.type, 1.0), s)

            def fin(j: ir.Value) -> None:
                ptr = b.gep(py, [b.add(base, b.mul(j, inner))])
                if log:
                    v = to_compute(b, dt, b.load(b.gep(em.buffer_ptr[x], [b.add(base, b.mul(j, inner))])))
                    out = b.fsub(b.fsub(v, m), lse)
                else:
                    out = b.fmul(to_compute(b, dt, b.load(ptr)), inv)
                b.store(to_storage(b, dt, out), ptr)

            em.loop(length, fin, name="j")

        em.loop(hi, row, start=lo, name="row")

    return lower


def _xent(em: Emitter, op: Op) -> None:
    labels, logits = op.operands
    loss = op.results[0]
    b = em.b
    dt = logits.dtype
    rank = logits.type.rank
    outer, length, _ = _rows(em, logits, rank - 1)
    lo, hi = em.thread_range(outer)
    pl = em.buffer_ptr[labels]

    def row(r: ir.Value) -> None:
        base = b.mul(r, length)
        m, s = _row_max_and_sum(em, logits, base, length, i64(1))
        log_s = SCALAR["log"](em, dt, [s])  # -log_softmax = log(s) - (z - m): exact where z - m is
        acc = em.alloca(compute_type(dt), "xent.acc")
        b.store(ir.Constant(compute_type(dt), 0.0), acc)

        def add(j: ir.Value) -> None:
            at = b.add(base, j)
            z = to_compute(b, dt, b.load(b.gep(em.buffer_ptr[logits], [at])))
            lab = to_compute(b, dt, b.load(b.gep(pl, [at])))
            b.store(b.fadd(b.load(acc), b.fmul(lab, b.fsub(log_s, b.fsub(z, m))), flags=REASSOC), acc)

        em.loop(length, add, name="j")
        b.store(to_storage(b, dt, b.load(acc)), b.gep(em.buffer_ptr[loss], [r]))

    em.loop(hi, row, start=lo, name="row")


# ---- pooling ------------------------------------------------------------------------------
def _pool_axes(op: Op, x: Value) -> tuple[PatchAxis, PatchAxis]:
    """Forward tap geometry over x (NHWC, static H and W)."""
    h, w = x.type.shape[1], x.type.shape[2]
    if h is None or w is None:
        raise CompileError(f"'{op.name}' on the CPU needs a static height and width, got {x.type} (at {op.loc})")
    kh, kw = (int(k) for k in op.attrs["ksize"])
    gh, gw = geometries(h, w, kh, kw, op.attrs)
    return forward_axis(gh), forward_axis(gw)


def _window_argmax(em: Emitter, x: Value, n: ir.Value, oh: ir.Value, ow: ir.Value, c: ir.Value, ah: PatchAxis,
                   aw: PatchAxis) -> tuple[ir.Value, ir.Value, ir.Value, ir.Value]:
    """(max, flat tap of the first max, its ih, its iw) of the window of output (n, oh, ow, c)."""
    b = em.b
    dt = x.dtype
    ct = compute_type(dt)
    best: ir.Value = ir.Constant(ct, float("-inf"))
    arg: ir.Value = ZERO
    bh, bw = ZERO, ZERO
    for kh in range(ah.taps):
        ih, okh = source_index(em, ah, oh, kh)
        for kw in range(aw.taps):
            iw, okw = source_index(em, aw, ow, kw)
            ok = b.and_(okh, okw)
            v = em.value_at(x, [n, b.select(okh, ih, ZERO), b.select(okw, iw, ZERO), c])
            better = b.and_(ok, b.fcmp_ordered(">", v, best))
            best = b.select(better, v, best)
            arg = b.select(better, i64(kh * aw.taps + kw), arg)
            bh = b.select(better, ih, bh)
            bw = b.select(better, iw, bw)
    # a window whose maximum never beats -inf keeps tap 0, as the reference does
    return best, arg, bh, bw


def _max_pool(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x = op.operands[0]
    ah, aw = _pool_axes(op, x)
    return _window_argmax(em, x, idx[0], idx[1], idx[2], idx[3], ah, aw)[0]


def _chosen(em: Emitter, x: Value, n: ir.Value, oh: ir.Value, ow: ir.Value, c: ir.Value, ah: PatchAxis,
            aw: PatchAxis) -> tuple[ir.Value, ir.Value, ir.Value]:
    """(ih, iw, is it a real element) of the first maximum of a window; tap 0 if nothing beat -inf."""
    b = em.b
    best, _, bh, bw = _window_argmax(em, x, n, oh, ow, c, ah, aw)
    ih0, okh0 = source_index(em, ah, oh, 0)
    iw0, okw0 = source_index(em, aw, ow, 0)
    chose = b.fcmp_ordered(">", best, ir.Constant(best.type, float("-inf")))
    h = b.select(chose, bh, b.select(okh0, ih0, ZERO))
    w = b.select(chose, bw, b.select(okw0, iw0, ZERO))
    return h, w, b.or_(chose, b.and_(okh0, okw0))


def _max_pool_grad_grad(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x, ddx = op.operands
    ah, aw = _pool_axes(op, x)
    n, c = idx[0], idx[3]
    h, w, real = _chosen(em, x, n, idx[1], idx[2], c, ah, aw)
    return em.b.select(real, em.value_at(ddx, [n, h, w, c]), const(x.dtype, 0.0))


def _max_pool_grad(em: Emitter, op: Op) -> None:
    """Kernel: dx holds each dy at its window's first maximum, zeros elsewhere.

    Windows that never overlap (stride >= window on both axes, the usual pooling) each own
    their elements: every window writes all of its real taps (dy or 0) in one pass vectorised
    over channels, and no read-modify-write is needed; only where windows leave elements
    uncovered (gaps, edges) is dx zeroed first.  Overlapping windows zero dx and add.
    """
    x, dy = op.operands
    ah, aw = _pool_axes(op, x)
    if x.type.shape[3] is None:
        raise CompileError(f"'{op.name}' on the CPU needs static channels, got {x.type} (at {op.loc})")
    if ah.p >= ah.taps and aw.p >= aw.taps:
        _max_pool_grad_disjoint(em, op, ah, aw)
    else:
        _max_pool_grad_overlapping(em, op, ah, aw)


def _zero_images(em: Emitter, dx: Value, lo: ir.Value, hi: ir.Value) -> None:
    b = em.b
    image = int(dx.type.shape[1]) * int(dx.type.shape[2]) * int(dx.type.shape[3])  # type: ignore[arg-type]
    start = b.gep(em.buffer_ptr[dx], [b.mul(lo, i64(image))])
    nbytes = b.mul(b.sub(hi, lo), i64(image * dx.dtype.itemsize))
    em.call("llvm.memset.p0.i64", ir.VoidType(),
            [b.bitcast(start, I8.as_pointer()), ir.Constant(I8, 0), nbytes, ir.Constant(I1, 0)])


def _tiles_exactly(ax: PatchAxis) -> bool:
    """Windows cover the axis exactly once: no padding, no gaps, nothing left over."""
    return ax.p == ax.taps and ax.r == 0 and ax.out * ax.p == ax.src


def _max_pool_grad_disjoint(em: Emitter, op: Op, ah: PatchAxis, aw: PatchAxis) -> None:
    """Non-overlapping windows: threads own output lines (exact tiling) or whole images."""
    x, dy = op.operands
    dx = op.results[0]
    b = em.b
    dt = x.dtype
    zero = const(dt, 0.0)
    channels = int(x.type.shape[3])  # type: ignore[arg-type]
    exact = _tiles_exactly(ah) and _tiles_exactly(aw)
    taps = [(kh, kw) for kh in range(ah.taps) for kw in range(aw.taps)]

    def window(n: ir.Value, oh: ir.Value, ow: ir.Value) -> None:
        where = [(source_index(em, ah, oh, kh), source_index(em, aw, ow, kw)) for kh, kw in taps]

        def channels_loop(edge: bool) -> None:
            def at(c: ir.Value) -> None:
                best: ir.Value = ir.Constant(compute_type(dt), float("-inf"))
                arg: ir.Value = ZERO
                for t, ((ih, okh), (iw, okw)) in enumerate(where):
                    if edge:
                        ih, iw = b.select(okh, ih, ZERO), b.select(okw, iw, ZERO)
                    v = em.load(x, [n, ih, iw, c])
                    better = b.fcmp_ordered(">", v, best)
                    if edge:
                        better = b.and_(better, b.and_(okh, okw))
                    best = b.select(better, v, best)
                    arg = b.select(better, i64(t), arg)
                g = em.load(dy, [n, oh, ow, c])
                for t, ((ih, okh), (iw, okw)) in enumerate(where):
                    def put(t: int = t, ih: ir.Value = ih, iw: ir.Value = iw) -> None:
                        em.store(dx, [n, ih, iw, c], b.select(b.icmp_signed("==", arg, i64(t)), g, zero))

                    if edge:
                        when(em, b.and_(okh, okw), put)
                    else:
                        put()

            em.loop(i64(channels), at, name="c")

        inside = em.bool_const(True)
        for (_, okh), (_, okw) in where:
            inside = b.and_(inside, b.and_(okh, okw))
        when(em, inside, lambda: channels_loop(False), lambda: channels_loop(True))

    if exact:
        lo, hi = em.thread_range(b.mul(em.dim(dy, 0), i64(ah.out)))

        def line(L: ir.Value) -> None:
            n, oh = b.udiv(L, i64(ah.out)), b.urem(L, i64(ah.out))
            em.loop(i64(aw.out), lambda ow: window(n, oh, ow), name="ow")

        em.loop(hi, line, start=lo, name="line")
        return
    lo, hi = em.thread_range(em.dim(x, 0))
    _zero_images(em, dx, lo, hi)
    em.loop(hi, lambda n: em.loop_nest([i64(ah.out), i64(aw.out)], lambda idx: window(n, idx[0], idx[1])),
            start=lo, name="image")


def _max_pool_grad_overlapping(em: Emitter, op: Op, ah: PatchAxis, aw: PatchAxis) -> None:
    """Zero dx, then each output adds its dy at its window's first maximum.

    Threads own whole images (windows never cross images), so no two threads touch one element.
    """
    x, dy = op.operands
    dx = op.results[0]
    b = em.b
    lo, hi = em.thread_range(em.dim(x, 0))
    _zero_images(em, dx, lo, hi)

    def one(n: ir.Value) -> None:
        def at(idx: list[ir.Value]) -> None:
            oh, ow, c = idx
            h, w, real = _chosen(em, x, n, oh, ow, c, ah, aw)

            def add() -> None:
                where = [n, h, w, c]
                em.store(dx, where, b.fadd(em.load(dx, where), em.value_at(dy, [n, oh, ow, c])))

            when(em, real, add)

        em.loop_nest([em.dim(dy, 1), em.dim(dy, 2), em.dim(dy, 3)], at)

    em.loop(hi, one, start=lo, name="image")


def _count(em: Emitter, ax: PatchAxis, o: ir.Value) -> ir.Value:
    """Real elements of window o along one axis: min(start + taps, size) - max(start, 0)."""
    b = em.b
    start = b.add(b.mul(o, i64(ax.p)), i64(ax.r))
    end = b.add(start, i64(ax.taps))
    end = b.select(b.icmp_signed("<", end, i64(ax.src)), end, i64(ax.src))
    start = b.select(b.icmp_signed(">", start, ZERO), start, ZERO)
    return b.sub(end, start)


def _avg_pool(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x = op.operands[0]
    ah, aw = _pool_axes(op, x)
    n, oh, ow, c = idx
    b = em.b
    acc: ir.Value = const(x.dtype, 0.0)
    for kh in range(ah.taps):
        ih, okh = source_index(em, ah, oh, kh)
        for kw in range(aw.taps):
            iw, okw = source_index(em, aw, ow, kw)
            v = em.value_at(x, [n, b.select(okh, ih, ZERO), b.select(okw, iw, ZERO), c])
            acc = b.select(b.and_(okh, okw), b.fadd(acc, v), acc)
    cnt = b.mul(_count(em, ah, oh), _count(em, aw, ow))
    return b.fdiv(acc, convert(em, int64, x.dtype, cnt))


def _avg_pool_grad(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    dy = op.operands[0]
    h, w = (int(s) for s in op.attrs["input_size"])
    kh, kw = (int(k) for k in op.attrs["ksize"])
    gh, gw = geometries(h, w, kh, kw, op.attrs)
    fh, fw, th, tw = forward_axis(gh), forward_axis(gw), transposed_axis(gh), transposed_axis(gw)
    n, ih, iw, c = idx
    b = em.b
    acc: ir.Value = const(dy.dtype, 0.0)
    for k1 in range(th.taps):
        oh, okh = source_index(em, th, ih, k1)
        for k2 in range(tw.taps):
            ow, okw = source_index(em, tw, iw, k2)
            sh, sw = b.select(okh, oh, ZERO), b.select(okw, ow, ZERO)
            cnt = convert(em, int64, dy.dtype, b.mul(_count(em, fh, sh), _count(em, fw, sw)))
            g = b.fdiv(em.value_at(dy, [n, sh, sw, c]), cnt)
            acc = b.select(b.and_(okh, okw), b.fadd(acc, g), acc)
    return acc


def _dropout(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    """x / keep where u(flat index) < keep, as xlc.ops.nn's reference (u and the test in float64)."""
    x, keep = op.operands
    y = op.results[0]
    b = em.b
    flat = em.linear_index(y, idx)
    counter = [b.trunc(flat, I32), b.trunc(b.lshr(flat, i64(32)), I32), ir.Constant(I32, 0), ir.Constant(I32, 0)]
    w = philox_words(em, counter, int(op.attrs["seed"]), int(op.attrs["seed2"]))
    bits = b.lshr(b.or_(b.shl(b.zext(w[0], I64), i64(32)), b.zext(w[1], I64)), i64(11))
    u = b.fmul(b.uitofp(bits, F64), ir.Constant(F64, 2.0**-53))
    k = em.value_at(keep, [])
    kept = b.fcmp_ordered("<", u, convert(em, x.dtype, float64, k))
    return b.select(kept, b.fdiv(em.value_at(x, idx), k), const(x.dtype, 0.0))


ELEM: dict[str, ElemLowering] = {
    "dropout": _dropout,
    "max_pool": _max_pool,
    "max_pool_grad_grad": _max_pool_grad_grad,
    "avg_pool": _avg_pool,
    "avg_pool_grad": _avg_pool_grad,
}
KERNELS: dict[str, KernelLowering] = {
    "softmax": _softmax_kernel(log=False),
    "log_softmax": _softmax_kernel(log=True),
    "softmax_cross_entropy": _xent,
    "max_pool_grad": _max_pool_grad,
}
