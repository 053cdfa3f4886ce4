"""The code generator's working state for one function, and the helpers lowerings use.

Every op lowers "per element": given the index of an output element (a list of i64
values), produce that element's value.  A value that is *materialized* has a buffer and
is read with a load; any other value is recomputed at the point of use by inlining its
producer's lowering.  That is loop fusion: a chain of elementwise and index-remapping ops
becomes one loop nest, and intermediates never reach memory.
"""

from __future__ import annotations

from typing import Callable, Sequence

from llvmlite import ir

from xlc.errors import CompileError
from xlc.ir.core import Func, Op, Value
from xlc.ir.opdef import ELEMENTWISE, get_opdef
from xlc.ir.types import DType
from xlc.backends.cpu.llvmtypes import I1, I32, I64, compute_type, storage_type, to_compute, to_storage

ElemLowering = Callable[["Emitter", Op, int, list[ir.Value]], ir.Value]
KernelLowering = Callable[["Emitter", Op], None]

# Error codes the generated code reports through err[0]; the runtime turns them into messages.
ERR_GATHER_INDEX = 1  # err = [code, op, bad index, bound, flat position, scalar-index flag]
ERR_INT_DIV_ZERO = 2  # err = [code, op]

ZERO = ir.Constant(I64, 0)
ONE = ir.Constant(I64, 1)


def i64(n: int) -> ir.Constant:
    return ir.Constant(I64, n)


class Emitter:
    """Builds the entry function of one Func; lowerings call back into it."""

    def __init__(self, func: Func, module: ir.Module, fn: ir.Function, elem_table: dict[str, ElemLowering],
                 kernel_table: dict[str, KernelLowering], self_contained: bool = False) -> None:
        self.func = func
        # True for ahead-of-time objects: no symbol may come from this process's runtime library
        self.self_contained = self_contained
        self.module = module
        self.fn = fn
        self.elem_table = elem_table
        self.kernel_table = kernel_table
        self.op_index: dict[Op, int] = {op: i for i, op in enumerate(func.body.ops)}
        entry = fn.append_basic_block("entry")
        self.alloca_builder = ir.IRBuilder(entry)
        body = fn.append_basic_block("body")
        self.alloca_builder.branch(body)
        self.alloca_builder.position_at_start(entry)
        self.b = ir.IRBuilder(body)
        self.bufs_arg, self.dims_arg, self.err_arg, self.tid, self.nthreads, self.sync_arg = fn.args
        self._barriers = 0
        self.buffer_ptr: dict[Value, ir.Value] = {}  # materialized value -> typed storage pointer
        self.alias_md: dict[Value, tuple[ir.MDValue, ir.MDValue]] = {}  # see set_buffer_scopes
        self.broadcast_checks: list[ir.Value] | None = None  # see broadcast_index
        self.dim_value: dict[tuple[Value, int], ir.Value] = {}  # dynamic dims, loaded at entry
        self._error_blocks: list[ir.Block] = []

    # ---- shapes -------------------------------------------------------------------------
    def dim(self, v: Value, axis: int) -> ir.Value:
        d = v.type.shape[axis]
        if d is not None:
            return i64(d)
        try:
            return self.dim_value[(v, axis)]
        except KeyError:
            raise CompileError(f"no run-time slot for dim {axis} of {v}") from None

    def dims(self, v: Value) -> list[ir.Value]:
        return [self.dim(v, a) for a in range(v.type.rank)]

    def linear_index(self, v: Value, idx: Sequence[ir.Value]) -> ir.Value:
        """Row-major offset of ``idx`` in a dense tensor of v's shape (Horner form)."""
        off: ir.Value = ZERO
        for axis, i in enumerate(idx):
            off = i if axis == 0 else self.b.add(self.b.mul(off, self.dim(v, axis)), i)
        return off

    def delinearize(self, v: Value, off: ir.Value) -> list[ir.Value]:
        """The index of row-major offset ``off`` in v's shape."""
        idx: list[ir.Value] = []
        for axis in reversed(range(v.type.rank)):
            if axis == 0:
                idx.append(off)
            else:
                d = self.dim(v, axis)
                idx.append(self.b.urem(off, d))
                off = self.b.udiv(off, d)
        return idx[::-1]

    def num_elements(self, v: Value) -> ir.Value:
        n: ir.Value = ONE
        for d in self.dims(v):
            n = self.b.mul(n, d)
        return n

    # ---- values -------------------------------------------------------------------------
    def value_at(self, v: Value, idx: Sequence[ir.Value]) -> ir.Value:
        """v's element at ``idx`` as a compute value: loaded if v has a buffer, else recomputed."""
        if v in self.buffer_ptr:
            return self.load(v, idx)
        return self.compute_at(v, idx)

    def compute_at(self, v: Value, idx: Sequence[ir.Value]) -> ir.Value:
        op = v.owner
        if not isinstance(op, Op):
            raise CompileError(f"argument {v} has no buffer")
        lower = self.elem_table.get(op.name)
        if lower is None:
            raise CompileError(f"the CPU backend has no per-element lowering for op '{op.name}'")
        return lower(self, op, v.index, list(idx))

    def element_ptr(self, v: Value, idx: Sequence[ir.Value]) -> ir.Value:
        return self.b.gep(self.buffer_ptr[v], [self.linear_index(v, idx)], inbounds=True)

    def load(self, v: Value, idx: Sequence[ir.Value]) -> ir.Value:
        instr = self.b.load(self.element_ptr(v, idx))
        self._tag(instr, v)
        return to_compute(self.b, v.dtype, instr)

    def store(self, v: Value, idx: Sequence[ir.Value], x: ir.Value) -> None:
        instr = self.b.store(to_storage(self.b, v.dtype, x), self.element_ptr(v, idx))
        self._tag(instr, v)

    def _tag(self, instr: ir.Instruction, v: Value) -> None:
        """Alias-scope metadata: accesses to distinct buffers never overlap, which lets LLVM
        vectorise without run-time overlap checks."""
        md = self.alias_md.get(v)
        if md is not None:
            instr.set_metadata("alias.scope", md[0])
            instr.set_metadata("noalias", md[1])

    def set_buffer_scopes(self, groups: list[list[Value]]) -> None:
        """Declare which values' buffers are distinct memory: one group per buffer (values in a
        group share memory: a result written in place over its argument)."""
        m = self.module
        domain = m.add_metadata([ir.MetaDataString(m, "xlc.buffers")])
        scopes = [m.add_metadata([ir.MetaDataString(m, f"xlc.buffer.{k}"), domain]) for k in range(len(groups))]
        for k, group in enumerate(groups):
            own = m.add_metadata([scopes[k]])
            others = m.add_metadata([sc for j, sc in enumerate(scopes) if j != k])
            for v in group:
                self.alias_md[v] = (own, others)

    def broadcast_index(self, operand: Value, result: Value, idx: Sequence[ir.Value],
                        siblings: Sequence[Value] = ()) -> list[ir.Value]:
        """numpy broadcasting: the operand's index for result index ``idx``.

        An unknown dim may be 1 at run time and broadcast.  When no sibling operand can be
        larger along that axis, the result's dim is this operand's and the index passes
        through; otherwise, while ``broadcast_checks`` is a list, the index passes through and
        the condition "dim != 1" is recorded for the caller to test before the loop, and
        the kernel is versioned (see ``broadcast_checks``): a select in the loop would turn
        every load into a gather.
        """
        shift = result.type.rank - operand.type.rank
        out = []
        for axis in range(operand.type.rank):
            d = operand.type.shape[axis]
            rd = result.type.shape[axis + shift]
            i = idx[axis + shift]
            if d == 1 and rd != 1:
                out.append(ZERO)
            elif d is None and rd != 1 and self._may_broadcast(operand, axis + shift, result.type.rank, siblings):
                if self.broadcast_checks is not None:  # versioned kernel: assume no broadcast here
                    self.broadcast_checks.append(self.alloca_builder.icmp_unsigned("!=", self.dim(operand, axis), ONE))
                    out.append(i)
                else:
                    out.append(self.b.select(self.b.icmp_unsigned("==", self.dim(operand, axis), ONE), ZERO, i))
            else:
                out.append(i)
        return out

    @staticmethod
    def _may_broadcast(operand: Value, result_axis: int, result_rank: int, siblings: Sequence[Value]) -> bool:
        """Whether some sibling may be longer than 1 along this result axis (so operand could be 1)."""
        for s in siblings:
            if s is operand:
                continue
            a = result_axis - (result_rank - s.type.rank)
            if a >= 0 and s.type.shape[a] != 1:
                return True
        return not siblings  # without siblings to compare, assume the worst

    def operand_at(self, op: Op, k: int, idx: Sequence[ir.Value], result: int = 0) -> ir.Value:
        """Operand k of an elementwise op at result index idx (broadcast)."""
        v = op.operands[k]
        # an elementwise result's dims come from its operands; other ops (broadcast_to) set their own
        siblings = op.operands if get_opdef(op.name).has(ELEMENTWISE) else ()
        return self.value_at(v, self.broadcast_index(v, op.results[result], idx, siblings))

    # ---- control flow -------------------------------------------------------------------
    def alloca(self, t: ir.Type, name: str = "") -> ir.Value:
        return self.alloca_builder.alloca(t, name=name)

    def loop(self, n: ir.Value, body: Callable[[ir.Value], None], start: ir.Value | None = None,
             name: str = "i", vectorize: bool = True) -> None:
        """for (i = start; i < n; i++) body(i); the builder ends after the loop.

        ``vectorize=False`` forbids LLVM to vectorise this loop itself (outer loops of a nest:
        once the inner loop is unrolled, vectorising the outer one interleaves rows through
        gathers; the SLP vectoriser does better on the unrolled body).
        """
        b = self.b
        var = self.alloca(I64, name)
        b.store(start if start is not None else ZERO, var)
        cond = self.fn.append_basic_block(f"{name}.cond")
        blk = self.fn.append_basic_block(f"{name}.body")
        done = self.fn.append_basic_block(f"{name}.end")
        b.branch(cond)
        b.position_at_end(cond)
        i = b.load(var)
        b.cbranch(b.icmp_signed("<", i, n), blk, done)
        b.position_at_end(blk)
        body(i)
        b.store(b.add(b.load(var), ONE, flags=["nsw"]), var)
        latch = b.branch(cond)
        if not vectorize:
            latch.set_metadata("llvm.loop", self._no_vectorize_md())
        b.position_at_end(done)

    def _no_vectorize_md(self) -> ir.MDValue:
        """A fresh loop id carrying llvm.loop.vectorize.enable = false (loop ids refer to themselves)."""
        m = self.module
        hint = m.add_metadata([ir.MetaDataString(m, "llvm.loop.vectorize.enable"), ir.Constant(I1, 0)])
        loop_id = m.add_metadata([hint, ir.MetaDataString(m, f"xlc.loop.{len(m.metadata)}")])
        loop_id.operands = (loop_id, hint)
        return loop_id

    def loop_nest(self, bounds: Sequence[ir.Value], body: Callable[[list[ir.Value]], None],
                  parallel: bool = False) -> None:
        """Nested loops over ``bounds`` (outermost first); body gets the index list.

        With ``parallel``, the outermost loop is split evenly over the threads
        running the entry function: each thread runs its own slice of it.  Callers that write
        element by element into distinct outputs are safe to split; a barrier follows each kernel.
        """

        def level(k: int, idx: list[ir.Value]) -> None:
            if k == len(bounds):
                body(idx)
                return
            inner = k == len(bounds) - 1
            if k == 0 and parallel:
                lo, hi = self.thread_range(bounds[0])
                self.loop(hi, lambda i: level(1, [i]), start=lo, name="i0", vectorize=inner)
                return
            self.loop(bounds[k], lambda i: level(k + 1, idx + [i]), name=f"i{k}", vectorize=inner)

        if not bounds and parallel:
            self.single_thread(lambda: body([]))
            return
        level(0, [])

    def thread_range(self, n: ir.Value) -> tuple[ir.Value, ir.Value]:
        """This thread's slice [lo, hi) of range(n): n * tid / nthreads ... n * (tid + 1) / nthreads."""
        b = self.b
        lo = b.sdiv(b.mul(n, self.tid), self.nthreads)
        hi = b.sdiv(b.mul(n, b.add(self.tid, ONE)), self.nthreads)
        return lo, hi

    def single_thread(self, body: Callable[[], None]) -> None:
        """Run ``body`` on thread 0 only (sequential work such as a shuffle)."""
        b = self.b
        run = self.fn.append_basic_block("t0.run")
        done = self.fn.append_basic_block("t0.done")
        b.cbranch(b.icmp_signed("==", self.tid, ZERO), run, done)
        b.position_at_end(run)
        body()
        b.branch(done)
        b.position_at_end(done)

    def barrier(self) -> None:
        """Wait until every thread has arrived here (sync[0] counts arrivals; sync[1] is the abort flag).

        The k-th barrier of a call completes when the counter reaches k * nthreads; a thread that
        fails sets the abort flag, and waiting threads then return too (the runtime reports the error).
        """
        self._barriers += 1
        b = self.b
        counter = b.gep(self.sync_arg, [ZERO])
        abort = b.gep(self.sync_arg, [ONE])
        b.atomic_rmw("add", counter, ONE, "acq_rel")
        target = b.mul(i64(self._barriers), self.nthreads)
        b.store(ZERO, self._spin_counter())
        spin = self.fn.append_basic_block("barrier.spin")
        wait = self.fn.append_basic_block("barrier.wait")
        check = self.fn.append_basic_block("barrier.check")
        done = self.fn.append_basic_block("barrier.done")
        bail = self.fn.append_basic_block("barrier.abort")
        b.branch(spin)
        b.position_at_end(spin)
        arrived = b.load_atomic(counter, "acquire", 8)
        b.cbranch(b.icmp_signed(">=", arrived, target), done, wait)
        b.position_at_end(wait)
        # spin briefly, then yield the CPU: when threads outnumber free cores (a shared
        # machine), a thread that is not running yet must get the core we are spinning on
        spins = self._spin_counter()
        n = b.add(b.load(spins), ONE)
        b.store(n, spins)
        self.call("llvm.x86.sse2.pause", ir.VoidType(), [])
        yield_blk = self.fn.append_basic_block("barrier.yield")
        b.cbranch(b.icmp_signed(">", n, i64(2000)), yield_blk, check)
        b.position_at_end(yield_blk)
        self.call("sched_yield", I32, [])
        b.branch(check)
        b.position_at_end(check)
        b.cbranch(b.icmp_signed("!=", b.load_atomic(abort, "acquire", 8), ZERO), bail, spin)
        b.position_at_end(bail)
        b.ret(ir.Constant(I32, 2))
        b.position_at_end(done)

    def if_else(self, cond: ir.Value, then: Callable[[], ir.Value], other: Callable[[], ir.Value]) -> ir.Value:
        """A value chosen by a branch (only the taken side is computed)."""
        b = self.b
        t_blk = self.fn.append_basic_block("then")
        e_blk = self.fn.append_basic_block("else")
        join = self.fn.append_basic_block("join")
        b.cbranch(cond, t_blk, e_blk)
        b.position_at_end(t_blk)
        tv = then()
        t_end = b.block
        b.branch(join)
        b.position_at_end(e_blk)
        ev = other()
        e_end = b.block
        b.branch(join)
        b.position_at_end(join)
        phi = b.phi(tv.type)
        phi.add_incoming(tv, t_end)
        phi.add_incoming(ev, e_end)
        return phi

    def _spin_counter(self) -> ir.Value:
        if not hasattr(self, "_spins"):
            self._spins = self.alloca(I64, "spins")
        return self._spins

    def fail_if(self, cond: ir.Value, code: int, op: Op, payload: Sequence[ir.Value] = ()) -> None:
        """If cond holds, record an error for the runtime and return from the entry function."""
        b = self.b
        bad = self.fn.append_basic_block("fail")
        ok = self.fn.append_basic_block("ok")
        b.cbranch(cond, bad, ok)
        b.position_at_end(bad)
        words = [i64(code), i64(self.op_index.get(op, -1)), *payload]
        # one thread reports: the first to raise the abort flag owns the error words
        first = b.atomic_rmw("xchg", b.gep(self.sync_arg, [ONE]), ONE, "acq_rel")
        own = self.fn.append_basic_block("fail.own")
        out = self.fn.append_basic_block("fail.out")
        b.cbranch(b.icmp_signed("==", first, ZERO), own, out)
        b.position_at_end(own)
        for k, w in enumerate(words):
            b.store(w, b.gep(self.err_arg, [i64(k)]))
        b.branch(out)
        b.position_at_end(out)
        b.ret(ir.Constant(I32, 1))
        b.position_at_end(ok)

    # ---- helpers ------------------------------------------------------------------------
    def call(self, name: str, ret: ir.Type, args: Sequence[ir.Value]) -> ir.Value:
        """Call an LLVM intrinsic by its full name ("llvm.sqrt.f32") or a libm function ("tanf")."""
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret, [a.type for a in args]), name=name)
        return self.b.call(fn, list(args))

    def compute_type(self, dt: DType) -> ir.Type:
        return compute_type(dt)

    def storage_type(self, dt: DType) -> ir.Type:
        return storage_type(dt)

    def bool_const(self, x: bool) -> ir.Constant:
        return ir.Constant(I1, int(x))
