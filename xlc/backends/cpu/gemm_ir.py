"""IR helpers shared by the GEMM generator (gemm.py) and its packing routines (gemm_pack.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import llvmlite.ir as ir

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)

BYTES = {"f32": 4, "f64": 8, "i32": 4, "i64": 8, "i8": 1, "u8": 1}
ALIGN = 64  # bytes: packed panels are aligned for full-width vector loads


def new_function(module: ir.Module, name: str, fnty: ir.FunctionType, internal: bool) -> ir.Function:
    fn = ir.Function(module, fnty, name)
    fn.attributes.add("nounwind")
    if internal:
        fn.linkage = "internal"
    for arg in fn.args:
        if isinstance(arg.type, ir.PointerType):
            arg.add_attribute("noalias")
    return fn


@contextmanager
def counted_loop(
    b: ir.IRBuilder, start: ir.Value, stop: ir.Value, step: ir.Value | None = None, name: str = "i"
) -> Iterator[ir.Value]:
    """``for (i = start; i < stop; i += step)``; the body is emitted inside the ``with``.

    Emitted guarded and rotated (test once, then a bottom-tested body) so that the
    loop is in canonical shape even when no loop-rotation pass runs. LLVM is told not to
    vectorise or unroll it (``_hand_written_loop``).
    """
    step = step if step is not None else I64(1)
    fn = b.block.function
    pre = b.block
    body = b.append_basic_block(f"{name}.body")
    done = b.append_basic_block(f"{name}.done")
    b.cbranch(b.icmp_signed("<", start, stop), body, done)
    b.position_at_end(body)
    idx = b.phi(I64, name)
    idx.add_incoming(start, pre)
    yield idx
    nxt = b.add(idx, step, name=f"{name}.next", flags=["nsw"])
    idx.add_incoming(nxt, b.block)
    latch = b.cbranch(b.icmp_signed("<", nxt, stop), body, done)
    latch.set_metadata("llvm.loop", _hand_written_loop(fn.module))
    b.position_at_end(done)


def _hand_written_loop(m: ir.Module) -> ir.MDValue:
    """A fresh loop id telling LLVM to neither vectorise nor unroll the loop.

    The GEMM's loops are vectorised and unrolled by hand where it pays; LLVM's own attempts on
    the scalar edge loops (gathers, runtime checks, epilogues) only cost compile time.
    """
    hints = [m.add_metadata([ir.MetaDataString(m, "llvm.loop.vectorize.enable"), ir.Constant(I1, 0)]),
             m.add_metadata([ir.MetaDataString(m, "llvm.loop.unroll.disable")])]
    loop_id = m.add_metadata([*hints, ir.MetaDataString(m, f"xlc.gemm.loop.{len(m.metadata)}")])
    loop_id.operands = (loop_id, *hints)
    return loop_id


def imin(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    """Signed minimum of two i64 values."""
    return b.select(b.icmp_signed("<", x, y), x, y)


def ceil_div(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    """ceil(x / y) for x >= 0, y > 0."""
    return b.sdiv(b.add(x, b.sub(y, I64(1))), y)


def round_up(b: ir.IRBuilder, x: ir.Value, multiple: int) -> ir.Value:
    return b.mul(ceil_div(b, x, I64(multiple)), I64(multiple))


def vector_ptr(b: ir.IRBuilder, ptr: ir.Value, lanes: int) -> ir.Value:
    """``ptr`` (a ``T*``) as a ``<lanes x T>*`` (typed pointers need the cast)."""
    return b.bitcast(ptr, ir.VectorType(ptr.type.pointee, lanes).as_pointer())


def splat(b: ir.IRBuilder, scalar: ir.Value, lanes: int) -> ir.Value:
    """A vector with ``scalar`` in every lane (LLVM turns this into a broadcast)."""
    vty = ir.VectorType(scalar.type, lanes)
    one = b.insert_element(ir.Constant(vty, ir.Undefined), scalar, I32(0))
    return b.shuffle_vector(one, ir.Constant(vty, ir.Undefined), ir.Constant(ir.VectorType(I32, lanes), [0] * lanes))


def shuffle(b: ir.IRBuilder, x: ir.Value, y: ir.Value | None, lanes: Sequence[int | None]) -> ir.Value:
    """``shufflevector x, y, lanes``; ``y`` None: x alone.

    ``None`` lanes are don't-cares. llvmlite rejects undef mask entries, so they take lane
    ``i mod width`` of ``x``; LLVM's demanded-elements analysis drops them again once the
    lanes are overwritten by a later shuffle.
    """
    if y is None:
        y = ir.Constant(x.type, ir.Undefined)
    w = x.type.count
    mask = [I32(i % w if v is None else v) for i, v in enumerate(lanes)]
    return b.shuffle_vector(x, y, ir.Constant(ir.VectorType(I32, len(lanes)), mask))


def gather_lanes(b: ir.IRBuilder, srcs: Sequence[ir.Value], picks: Sequence[tuple[int, int] | None]) -> ir.Value:
    """A vector whose lane ``l`` is lane ``picks[l][1]`` of ``srcs[picks[l][0]]`` (``None``: undefined).

    Built as a balanced tree of two-source shuffles: one per source beyond the first.
    """
    used = sorted({p[0] for p in picks if p is not None})
    w = srcs[0].type.count
    if len(used) <= 2:
        first = used[0]
        second = used[1] if len(used) == 2 else None
        lanes = [None if p is None else (p[1] if p[0] == first else w + p[1]) for p in picks]
        return shuffle(b, srcs[first], None if second is None else srcs[second], lanes)
    left_set = set(used[: len(used) // 2])
    left = gather_lanes(b, srcs, [p if p is not None and p[0] in left_set else None for p in picks])
    right = gather_lanes(b, srcs, [p if p is not None and p[0] not in left_set else None for p in picks])
    n = len(picks)
    return shuffle(b, left, right, [None if p is None else (i if p[0] in left_set else n + i) for i, p in enumerate(picks)])


def transpose_square(b: ir.IRBuilder, rows: list[ir.Value]) -> list[ir.Value]:
    """Transpose a w x w block held as w vectors of w lanes (w a power of two).

    log2(w) stages; stage h swaps the off-diagonal h x h blocks of every 2h x 2h block:
    two two-source shuffles per pair of rows, w log2(w) shuffles in all.
    """
    n = len(rows)
    h = n // 2
    while h >= 1:
        new = list(rows)
        for i in range(n):
            if i & h:
                continue
            lo, hi = rows[i], rows[i + h]
            new[i] = shuffle(b, lo, hi, [j if not j & h else n + j - h for j in range(n)])
            new[i + h] = shuffle(b, lo, hi, [j + h if not j & h else n + j for j in range(n)])
        rows = new
        h //= 2
    return rows


def _masked_intrinsic(module: ir.Module, op: str, vty: ir.VectorType) -> ir.Function:
    suffix = {"float": "f32", "double": "f64"}[str(vty.element)]
    name = f"llvm.masked.{op}.v{vty.count}{suffix}.p0"
    fn = module.globals.get(name)
    if fn is None:
        mask = ir.VectorType(I1, vty.count)
        if op == "load":
            fnty = ir.FunctionType(vty, [vty.as_pointer(), I32, mask, vty])
        else:
            fnty = ir.FunctionType(ir.VoidType(), [vty, vty.as_pointer(), I32, mask])
        fn = ir.Function(module, fnty, name)
    return fn


def masked_load_intrinsic(module: ir.Module, vty: ir.VectorType) -> ir.Function:
    """``llvm.masked.load`` for ``vty``: (vty* ptr, i32 align, <n x i1> mask, vty passthru) -> vty.

    Masked-off lanes are not accessed (they never fault) and read as ``passthru``.
    """
    return _masked_intrinsic(module, "load", vty)


def masked_store_intrinsic(module: ir.Module, vty: ir.VectorType) -> ir.Function:
    """``llvm.masked.store`` for ``vty``: (vty value, vty* ptr, i32 align, <n x i1> mask)."""
    return _masked_intrinsic(module, "store", vty)


def lane_mask(b: ir.IRBuilder, count: ir.Value, lanes: int) -> ir.Value:
    """``<lanes x i1>``: lane l is set iff l < count (an i64)."""
    iota = ir.Constant(ir.VectorType(I64, lanes), list(range(lanes)))
    return b.icmp_signed("<", iota, splat(b, count, lanes))


def prefetch_intrinsic(module: ir.Module) -> ir.Function:
    """``llvm.prefetch(i8* addr, i32 rw, i32 locality, i32 cache)``; never faults."""
    fn = module.globals.get("llvm.prefetch.p0")
    if fn is None:
        fnty = ir.FunctionType(ir.VoidType(), [I8.as_pointer(), I32, I32, I32])
        fn = ir.Function(module, fnty, "llvm.prefetch.p0")
    return fn
