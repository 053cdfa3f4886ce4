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


