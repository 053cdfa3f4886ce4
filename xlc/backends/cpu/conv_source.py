"""The zero-filled copy T that the direct convolution's taps read, and scratch memory.

T holds one image at a time (see :class:`Embedding`): padding around the source, and for the
input gradient zeros between dy's elements, so that every tap of every output position reads
inside T and no tap needs a bounds test.  Scratch buffers come from libc ``malloc`` (64-byte
aligned) and are freed by the kernel that took them.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from xlc.backends.cpu.emitter import ZERO, Emitter, i64
from xlc.backends.cpu.llvmtypes import I1, I8, I64
from xlc.ops.conv import AxisGeometry

ALIGN = 64


def _libc(em: Emitter) -> tuple[ir.Function, ir.Function]:
    m = em.module
    malloc = m.globals.get("malloc") or ir.Function(m, ir.FunctionType(I8.as_pointer(), [I64]), "malloc")
    free = m.globals.get("free") or ir.Function(m, ir.FunctionType(ir.VoidType(), [I8.as_pointer()]), "free")
    return malloc, free


def scratch(em: Emitter, n_elems: ir.Value, t: ir.Type, itemsize: int) -> tuple[ir.Value, ir.Value]:
    """A malloc'd buffer of n_elems, 64-byte aligned: (raw pointer to free, typed pointer)."""
    b = em.b
    malloc, _ = _libc(em)
    raw = b.call(malloc, [b.add(b.mul(n_elems, i64(itemsize)), i64(ALIGN))])
    addr = b.and_(b.add(b.ptrtoint(raw, I64), i64(ALIGN - 1)), i64(-ALIGN))
    return raw, b.inttoptr(addr, t.as_pointer())


def free_scratch(em: Emitter, raw: ir.Value) -> None:
    em.b.call(_libc(em)[1], [raw])


def copy_bytes(em: Emitter, dst: ir.Value, src: ir.Value, nbytes: int | ir.Value) -> None:
    """memcpy (LLVM inlines it when nbytes is a small constant)."""
    i8p = I8.as_pointer()
    b = em.b
    n = i64(nbytes) if isinstance(nbytes, int) else nbytes
    em.call("llvm.memcpy.p0.p0.i64", ir.VoidType(), [b.bitcast(dst, i8p), b.bitcast(src, i8p), n, ir.Constant(I1, 0)])


def zero_bytes(em: Emitter, dst: ir.Value, nbytes: ir.Value) -> None:
    b = em.b
    em.call("llvm.memset.p0.i64", ir.VoidType(),
            [b.bitcast(dst, I8.as_pointer()), ir.Constant(I8, 0), nbytes, ir.Constant(I1, 0)])


@dataclass(frozen=True)
class Embedding:
    """Where the source lands in the zero-filled copy T the taps read: element ``(i, j)`` of an
    ``h x w`` image (``c`` channels) goes to ``(i * eh + ph, j * ew + pw)`` of an ``hp x wp`` one.

    The spacing ``e`` is 1 for conv2d and its filter gradient (T is the padded input); for the
    input gradient T is dy with ``stride - 1`` zeros between elements.  Elements that land
    outside T are read by no tap and are dropped.
    """

    h: int
    w: int
    c: int
    eh: int
    ew: int
    ph: int
    pw: int
    hp: int
    wp: int

    @property
    def identity(self) -> bool:
        """T is the source itself (no padding, no zeros inserted)."""
        return (self.eh == self.ew == 1 and self.ph == self.pw == 0 and (self.hp, self.wp) == (self.h, self.w))

    @property
    def image(self) -> int:
        return self.hp * self.wp * self.c

    def kept(self, size: int, e: int, p: int, extent: int) -> range:
        """Source indices i along one axis with 0 <= i * e + p < extent."""
        return range(max(0, -(p // e) if p < 0 else 0), max(0, min(size, (extent - p + e - 1) // e)))


def forward_embedding(gh: AxisGeometry, gw: AxisGeometry, c: int) -> Embedding:
    """T for conv2d over x: the input padded so that every tap of every output reads inside."""
    hp = max(gh.size + gh.pad_before, (gh.out - 1) * gh.stride + gh.span)
    wp = max(gw.size + gw.pad_before, (gw.out - 1) * gw.stride + gw.span)
    return Embedding(gh.size, gw.size, c, 1, 1, gh.pad_before, gw.pad_before, hp, wp)


def transposed_embedding(gh: AxisGeometry, gw: AxisGeometry, o: int) -> Embedding:
    """T for the input gradient: dy[oh] at ``oh * stride + (taps - 1) * dilation - pad``, so that
    ``dx[i] = sum_k T[i + k * dilation] * filter[taps - 1 - k]`` (a stride-1 convolution)."""
    return Embedding(gh.out, gw.out, o, gh.stride, gw.stride, (gh.taps - 1) * gh.dilation - gh.pad_before,
                     (gw.taps - 1) * gw.dilation - gw.pad_before, gh.size + gh.span - 1, gw.size + gw.span - 1)


class ImageSource:
    """T of one image at a time: a per-thread buffer zeroed once (the padding and the inserted
    zeros are the same for every image, so each image only copies its data in), or the
    source itself when no padding is needed."""

    def __init__(self, em: Emitter, src: ir.Value, t: Embedding, isz: int) -> None:
        self.em, self.src, self.t, self.isz = em, src, t, isz
        self.raw: ir.Value | None = None
        if not t.identity:
            self.raw, self.buf = scratch(em, i64(t.image), src.type.pointee, isz)
            zero_bytes(em, self.buf, i64(t.image * isz))

    def image(self, n: ir.Value) -> ir.Value:
        """T of image n (valid until the next call)."""
        em, t, b = self.em, self.t, self.em.b
        src_img = b.gep(self.src, [b.mul(n, i64(t.h * t.w * t.c))])
        if self.raw is None:
            return src_img
        rows = t.kept(t.h, t.eh, t.ph, t.hp)
        cols = t.kept(t.w, t.ew, t.pw, t.wp)
        if not rows or not cols:
            return self.buf

        def row(i: ir.Value) -> None:
            s_row = b.gep(src_img, [b.mul(i, i64(t.w * t.c))])
            d_row = b.gep(self.buf, [b.mul(b.add(b.mul(i, i64(t.eh)), i64(t.ph)), i64(t.wp * t.c))])
            if t.ew == 1:  # the kept pixels of a row stay contiguous
                copy_bytes(em, b.gep(d_row, [i64((cols.start + t.pw) * t.c)]), b.gep(s_row, [i64(cols.start * t.c)]),
                        len(cols) * t.c * self.isz)
                return
            em.loop(i64(cols.stop), lambda j: copy_bytes(
                em, b.gep(d_row, [b.mul(b.add(b.mul(j, i64(t.ew)), i64(t.pw)), i64(t.c))]),
                b.gep(s_row, [b.mul(j, i64(t.c))]), t.c * self.isz), start=i64(cols.start), name="px")

        em.loop(i64(rows.stop), row, start=i64(rows.start), name="row")
        return self.buf

    def free(self) -> None:
        if self.raw is not None:
            free_scratch(self.em, self.raw)

    def filter_rows(self, out_size: int, stride: int, dilation: int, taps: int) -> tuple[list[int], list[int]]:
        """Per output row oh, the filter rows [lo, hi) that can read a data row of T (the others
        read zeros only: padding, or rows of zeros inserted between dy's rows)."""
        t = self.t
        kept = t.kept(t.h, t.eh, t.ph, t.hp)
        data = {i * t.eh + t.ph for i in kept}
        lo, hi = [], []
        for oh in range(out_size):
            useful = [k for k in range(taps) if oh * stride + k * dilation in data]
            lo.append(useful[0] if useful else taps)  # none: neutral for the min and max of a tile
            hi.append(useful[-1] + 1 if useful else 0)
        return lo, hi


def const_table(em: Emitter, values: list[int]) -> ir.Value:
    """An i64* to a constant array in the module."""
    ty = ir.ArrayType(I64, max(1, len(values)))
    g = ir.GlobalVariable(em.module, ty, name=f"xlc_conv_table_{len(em.module.globals)}")
    g.global_constant = True
    g.linkage = "internal"
    g.initializer = ir.Constant(ty, values or [0])
    return em.b.gep(g, [ZERO, ZERO])


