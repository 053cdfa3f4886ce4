"""Register-blocked micro-kernels of the direct convolution (see lower_conv).

A convolution reads its source through a zero-padded copy ``T`` (rows of ``C`` channels), so
the source element of output position ``m`` and filter row ``k = (kh, kw, c)`` is
``T[pos(m) + koff(k)]``: a position offset plus a tap offset.  Both micro-kernels keep an
``MR x NV`` block of vectors in registers (one FMA per accumulator per step) and broadcast the
``T`` elements straight from memory, so no patch matrix is ever built or packed:

* ``position_tile``: rows are ``MR`` output positions, columns a block of output channels;
  ``out[r, j] = sum_k T[pos[r] + koff(k)] * w[k * ldw + j]`` (conv2d; the input gradient is the
  same over the zero-inserted ``dy`` with the flipped filter);
* ``tap_tile``: rows are ``MR`` filter rows ``k``, columns a block of output channels;
  ``dw[r, j] += sum_m T[postab[m] + koff[r]] * dy[m * ldy + j]`` (the filter gradient).

Columns past a block's width are never read or written (masked vector accesses), so any
channel count works; every size but the row count of an edge tile is a compile-time constant.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from xlc.backends.cpu.gemm import counted_loop, splat, vector_ptr
from xlc.backends.cpu.llvmtypes import I1, I32, I64

_FMA = ("contract",)
MAX_VECTORS = 4  # columns per block: 4 vectors (64 float32 channels with AVX-512)
_UNROLLED_ROWS = 32  # filter rows of one kh at most this many: no inner loops
UNROLL = 1  # steps per iteration of a tile's inner loop: 1, 2 and 4 ran alike; 1 compiles fastest


@dataclass(frozen=True)
class TapWalk:
    """The order of the filter rows k of one output position: ``kh`` runs of ``groups`` groups of
    ``run`` contiguous elements of T; ``koff = i * hstep + g * wstep + j`` for row
    ``k = (i * groups + g) * run + j``, which is the filter's (kh, kw, c) row-major order."""

    kh: int
    groups: int
    run: int
    hstep: int
    wstep: int

    @property
    def rows(self) -> int:
        return self.kh * self.groups * self.run


@dataclass(frozen=True)
class ColumnBlock:
    """Columns [start, start + width) of the output, ``width <= MAX_VECTORS * lanes``."""

    start: int
    width: int
    lanes: int

    @property
    def vectors(self) -> int:
        return -(-self.width // self.lanes)

    def valid(self, v: int) -> int:
        """Lanes of vector v inside the block."""
        return max(0, min(self.lanes, self.width - v * self.lanes))


def column_blocks(n: int, lanes: int) -> list[ColumnBlock]:
    full = MAX_VECTORS * lanes
    return [ColumnBlock(j, min(full, n - j), lanes) for j in range(0, n, full)]


def rows_per_tile(vectors: int, rows: int | None = None) -> int:
    """MR for a block of ``vectors`` columns: up to 24 accumulators (with the column vectors
    and a spare register they fit AVX-512's 32), 12 rows or more to cover the FMA latency.
    Given the number of ``rows`` to cover (few: a filter of one channel), the MR in that range
    that wastes the fewest rows of the last tile, when the usual MR would waste more than 10%."""
    best = {4: 6, 3: 8}.get(vectors, 12)
    if rows is None or -(-rows // best) * best * 10 <= rows * 11:  # at most 10% wasted
        return best
    if rows <= best:
        return rows
    most = {4: 6, 3: 8, 2: 12, 1: 12}[vectors]  # beyond 12 rows the row pointers spill
    return min(range(best // 2 + 1, most + 1), key=lambda r: (-(-rows // r) * r, -r))


class _Tile:
    """Shared IR of both micro-kernels: accumulators, column loads and stores."""

    def __init__(self, fn: ir.Function, t: ir.Type, blk: ColumnBlock, mr: int) -> None:
        self.fn, self.t, self.blk, self.mr = fn, t, blk, mr
        self.vty = ir.VectorType(t, blk.lanes)
        self.isz = 8 if isinstance(t, ir.DoubleType) else 4
        self.b = ir.IRBuilder(fn.append_basic_block("entry"))
        self.accs = [[self.b.alloca(self.vty) for _ in range(blk.vectors)] for _ in range(mr)]
        for row in self.accs:
            for a in row:
                self.b.store(ir.Constant(self.vty, None), a)

    def _mask(self, v: int) -> ir.Constant:
        n = self.blk.valid(v)
        return ir.Constant(ir.VectorType(I1, self.blk.lanes), [int(i < n) for i in range(self.blk.lanes)])

    def _intrinsic(self, kind: str) -> ir.Function:
        m = self.fn.module
        tn = "f64" if self.isz == 8 else "f32"
        name = f"llvm.masked.{kind}.v{self.blk.lanes}{tn}.p0"
        fn = m.globals.get(name)
        if fn is None:
            vp = self.vty.as_pointer()
            mty = ir.VectorType(I1, self.blk.lanes)
            fnty = (ir.FunctionType(self.vty, [vp, I32, mty, self.vty]) if kind == "load"
                    else ir.FunctionType(ir.VoidType(), [self.vty, vp, I32, mty]))
            fn = ir.Function(m, fnty, name)
        return fn

    def load_columns(self, ptr: ir.Value, v: int) -> ir.Value:
        """Vector v of the block's columns starting at ptr (a T*)."""
        b = self.b
        vp = vector_ptr(b, b.gep(ptr, [I64(v * self.blk.lanes)]), self.blk.lanes)
        if self.blk.valid(v) == self.blk.lanes:
            return b.load(vp, align=self.isz)
        return b.call(self._intrinsic("load"), [vp, I32(self.isz), self._mask(v), ir.Constant(self.vty, None)])

    def store_columns(self, x: ir.Value, ptr: ir.Value, v: int) -> None:
        b = self.b
        vp = vector_ptr(b, b.gep(ptr, [I64(v * self.blk.lanes)]), self.blk.lanes)
        if self.blk.valid(v) == self.blk.lanes:
            b.store(x, vp, align=self.isz)
        else:
            b.call(self._intrinsic("store"), [x, vp, I32(self.isz), self._mask(v)])

    def fma_step(self, rows: list[ir.Value], columns: list[ir.Value]) -> None:
        """acc[r][v] += rows[r] * columns[v] (rows are scalars, broadcast)."""
        b = self.b
        for r, a in enumerate(rows):
            av = splat(b, a, self.blk.lanes)
            for v, col in enumerate(columns):
                acc = self.accs[r][v]
                b.store(b.fadd(b.load(acc), b.fmul(av, col, flags=_FMA), flags=_FMA), acc)

    def write_rows(self, out: ir.Value, ld: ir.Value, rows: ir.Value, accumulate: bool | ir.Value) -> None:
        """out[r * ld + j] (+)= acc[r][j] for r < rows (row 0 always); ``accumulate`` may be an i1."""
        b = self.b
        for r in range(self.mr):
            def store(r: int = r) -> None:
                row = b.gep(out, [b.mul(I64(r), ld)])
                for v in range(self.blk.vectors):
                    x = b.load(self.accs[r][v])
                    if accumulate is True:
                        x = b.fadd(x, self.load_columns(row, v))
                    elif accumulate is not False:  # out is read anyway (about to be written)
                        x = b.select(accumulate, b.fadd(x, self.load_columns(row, v)), x)
                    self.store_columns(x, row, v)

            if r == 0:
                store()
            else:
                with b.if_then(b.icmp_signed("<", I64(r), rows)):
                    store()
        b.ret_void()


def _new_function(module: ir.Module, name: str, args: list[ir.Type]) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), args), name)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    fn.attributes.add("noinline")  # its accumulators are register-allocated in isolation
    for a in fn.args:
        if isinstance(a.type, ir.PointerType):
            a.add_attribute("noalias")
    return fn


def position_tile(module: ir.Module, name: str, t: ir.Type, walk: TapWalk, blk: ColumnBlock, mr: int,
                  ldw: int) -> ir.Function:
    """``void name(T* src, i64* pos, T* w, T* out, i64 ldo, i64 rows, i64 kh0, i64 kh1, i1 acc)``:
    for r < rows (pos[r] given for every r < MR) and the block's columns j, ``out[r*ldo + j]
    (+)= sum_k src[pos[r] + koff(k)] * w[k*ldw + j]`` over the rows k of filter rows
    kh0 <= kh < kh1 (added to out with ``acc``); ``w`` and ``out`` point at the block's first
    column."""
    p = t.as_pointer()
    fn = _new_function(module, name, [p, I64.as_pointer(), p, p, I64, I64, I64, I64, I1])
    src, pos, w, out, ldo, rows, kh0, kh1, acc = fn.args
    tile = _Tile(fn, t, blk, mr)
    b = tile.b
    unroll = UNROLL
    starts = [b.gep(src, [b.load(b.gep(pos, [I64(r)]))]) for r in range(mr)]

    def step(rows_at: list[ir.Value], w_row: ir.Value, j: ir.Value) -> None:
        cols = [tile.load_columns(b.gep(w_row, [b.mul(j, I64(ldw))]), v) for v in range(blk.vectors)]
        tile.fma_step([b.load(b.gep(a, [j])) for a in rows_at], cols)

    def filter_row(i: ir.Value) -> None:
        for g_static in range(walk.groups if walk.groups * walk.run <= _UNROLLED_ROWS else 1):
            if walk.groups * walk.run <= _UNROLLED_ROWS:  # short filter rows: every step unrolled
                run_steps(i, I64(g_static))
            else:
                with counted_loop(b, I64(0), I64(walk.groups), name="g") as g:
                    run_steps(i, g)

    def run_steps(i: ir.Value, g: ir.Value) -> None:
        off = b.add(b.mul(i, I64(walk.hstep)), b.mul(g, I64(walk.wstep)))
        rows_at = [b.gep(a, [off]) for a in starts]
        w_row = b.gep(w, [b.mul(b.add(b.mul(i, I64(walk.groups)), g), I64(walk.run * ldw))])
        trips = walk.run // unroll if walk.groups * walk.run > _UNROLLED_ROWS else 0
        if trips:
            with counted_loop(b, I64(0), I64(trips * unroll), I64(unroll), name="j") as j:
                for u in range(unroll):
                    step(rows_at, w_row, b.add(j, I64(u)))
        for j in range(trips * unroll, walk.run):
            step(rows_at, w_row, I64(j))

    with counted_loop(b, kh0, kh1, name="kh") as i:
        filter_row(i)
    tile.write_rows(out, ldo, rows, accumulate=acc)
    return fn


def tap_tile(module: ir.Module, name: str, t: ir.Type, blk: ColumnBlock, mr: int) -> ir.Function:
    """``void name(T* src, i64* postab, i64 count, i64* koff, T* dy, i64 ldy, T* dw, i64 lddw,
    i64 rows)``: for r < rows (koff[r] given for every r < MR) and the block's columns j,
    ``dw[r*lddw + j] += sum_{m < count} src[postab[m] + koff[r]] * dy[m*ldy + j]``."""
    p = t.as_pointer()
    ip = I64.as_pointer()
    fn = _new_function(module, name, [p, ip, I64, ip, p, I64, p, I64, I64])
    src, postab, count, koff, dy, ldy, dw, lddw, rows = fn.args
    tile = _Tile(fn, t, blk, mr)
    b = tile.b
    unroll = UNROLL
    starts = [b.gep(src, [b.load(b.gep(koff, [I64(r)]))]) for r in range(mr)]

    def step(m: ir.Value) -> None:
        at = b.load(b.gep(postab, [m]))
        cols = [tile.load_columns(b.gep(dy, [b.mul(m, ldy)]), v) for v in range(blk.vectors)]
        tile.fma_step([b.load(b.gep(a, [at])) for a in starts], cols)

    whole = b.mul(b.sdiv(count, I64(unroll)), I64(unroll))
    with counted_loop(b, I64(0), whole, I64(unroll), name="m") as m:
        for u in range(unroll):
            step(b.add(m, I64(u)))
    with counted_loop(b, whole, count, name="mr") as m:
        step(m)
    tile.write_rows(dw, lddw, rows, accumulate=True)
    return fn
