"""Func -> LLVM module with one entry function; the ABI the runtime calls.

Entry: ``i32 xlc_main(i8** buffers, i64* dims, i64* err, i64 tid, i64 nthreads, i64* sync)``
returns 0, or 1 with err[] filled (2: stopped because another thread failed).

* the runtime may call the entry from ``nthreads`` threads at once with tid = 0 .. nthreads-1
  and one zeroed ``sync`` array (int64[2]): each kernel splits its outermost loop over the
  threads and ends with a barrier, so threads never read what another is still writing;

* ``buffers`` holds, in order, the func's arguments, its results (one buffer per return
  position, allocated by the caller), then temporaries (see :class:`Layout`);
* ``dims`` holds every dim that is ``?`` in the IR, one slot per (value, axis), filled by the
  caller from the run-time shapes (the runtime re-runs the type rules on concrete shapes,
  once per new input shape), so a new batch size reuses the compiled code.

Which values get a buffer (are materialized) is decided here: arguments and results; values
that a kernel (matmul) reads or writes; reductions; and values used more than once or
broadcast, unless recomputing them is as cheap as loading.  Everything else fuses into its
consumers' loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from llvmlite import ir

from xlc.backends.cpu.emitter import ElemLowering, Emitter, KernelLowering, i64
from xlc.backends.cpu.llvmtypes import I8, I32, I64, storage_type
from xlc.backends.cpu.lower_structural import constant_pointer
from xlc.errors import CompileError
from xlc.ir.core import Func, Op, Value
from xlc.ir.opdef import ELEMENTWISE, get_opdef, has_opdef

StoreLowering = Callable[[Emitter, Op], bool]
ENTRY = "xlc_main"
# Ops whose per-element recomputation costs no more than a load (index arithmetic at most).
CHEAP = {"constant", "fill", "identity", "reshape", "expand_dims", "squeeze", "broadcast_to", "transpose",
         "shape", "size", "rank", "range", "lin_space", "slice", "strided_slice", "tile"}
# Ops whose results always get a buffer (their per-element form loops over an axis).
REDUCING = {"reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_any",
            "reduce_all", "argmax", "argmin"}


@dataclass
class Layout:
    """What the runtime must pass: buffer order and dynamic-dim slots.

    ``temps`` lists the values (by id, see :func:`number_values`) that need a scratch buffer;
    ``slots`` lists (value id, axis) per entry of the dims array.
    """

    num_inputs: int
    num_outputs: int
    temps: list[int] = field(default_factory=list)
    slots: list[tuple[int, int]] = field(default_factory=list)


def number_values(func: Func) -> dict[Value, int]:
    """Ids of a func's values: arguments first, then op results in program order."""
    ids: dict[Value, int] = {}
    for a in func.args:
        ids[a] = len(ids)
    for op in func.body.ops:
        for r in op.results:
            ids[r] = len(ids)
    return ids


def count_uses(func: Func) -> dict[Value, list[tuple[Op, int]]]:
    uses: dict[Value, list[tuple[Op, int]]] = {}
    for op in func.body.ops:
        for k, v in enumerate(op.operands):
            uses.setdefault(v, []).append((op, k))
    return uses


def plan_materialized(func: Func, kernel_ops: set[str]) -> set[Value]:
    """The op results that get a buffer (see the module docstring)."""
    uses = count_uses(func)
    cheap: dict[Value, bool] = {a: True for a in func.args}
    out: set[Value] = set()
    for op in func.body.ops:
        if op.name == "return":
            continue
        for k, v in enumerate(op.operands):
            if op.name in kernel_ops and isinstance(v.owner, Op):
                out.add(v)  # kernels read dense buffers
        for r in op.results:
            n_uses = len(uses.get(r, []))
            is_cheap = op.name in CHEAP and all(cheap.get(v, False) or v in out for v in op.operands)
            cheap[r] = is_cheap
            broadcast_use = any(u.results and u.results[0].type.rank > 0 and r.type.shape != u.results[0].type.shape
                                and u.name not in CHEAP for u, _ in uses.get(r, []))
            if (op.name in kernel_ops or op.name in REDUCING
                    or (not is_cheap and (n_uses > 1 or broadcast_use))):
                out.add(r)
    # the return op's operands are materialized too (into the output buffers)
    for v in func.return_op.operands:
        if isinstance(v.owner, Op):
            out.add(v)
    return out


def generate(func: Func, elem_table: dict[str, ElemLowering], kernel_table: dict[str, KernelLowering],
             self_contained: bool = False, aliases: dict[int, int] | None = None,
             array_data_offset: int | None = None,
             store_table: dict[str, StoreLowering] | None = None) -> tuple[ir.Module, Layout]:
    """LLVM IR for ``func`` and the layout of its entry's arguments.

    ``aliases`` maps result positions to argument positions whose buffer the caller passes
    as that result's buffer too (a variable updated in place).  Those results are written
    after every other kernel, so no kernel reads an argument that was already overwritten:
    directly, when the result only reads its argument element by element, else by a copy of
    a scratch buffer.

    With ``array_data_offset``, ``buffers`` holds numpy array objects instead of data pointers,
    and the code reads each data pointer at that byte offset in the object (the in-process
    runtime passes arrays this way: cheaper from Python than extracting each pointer).

    ``store_table`` lets an op compute a materialized result its own way (a whole-result loop
    nest instead of one element at a time); its entry returns False to decline.
    """
    store_table = store_table or {}
    aliases = aliases or {}
    module = ir.Module(name=f"xlc.{func.name}")
    i8pp = I8.as_pointer().as_pointer()
    fnty = ir.FunctionType(I32, [i8pp, I64.as_pointer(), I64.as_pointer(), I64, I64, I64.as_pointer()])
    fn = ir.Function(module, fnty, name=ENTRY)
    for a in (fn.args[0], fn.args[1], fn.args[2]):
        a.add_attribute("noalias")
    em = Emitter(func, module, fn, elem_table, kernel_table, self_contained)
    ids = number_values(func)
    materialized = plan_materialized(func, set(kernel_table))
    layout = Layout(num_inputs=len(func.args), num_outputs=len(func.outputs))

    # dynamic dims: one slot per (value, axis) that is '?' in the IR, loaded once at entry
    ab = em.alloca_builder
    for v, vid in ids.items():
        for axis, d in enumerate(v.type.shape):
            if d is None:
                slot = len(layout.slots)
                layout.slots.append((vid, axis))
                em.dim_value[(v, axis)] = ab.load(ab.gep(em.dims_arg, [i64(slot)]), name=f"d{vid}_{axis}")

    def bind(v: Value, position: int) -> None:
        ptr = ab.load(ab.gep(em.bufs_arg, [i64(position)]))
        if array_data_offset is not None:  # ptr is a numpy array object: read its data pointer
            ptr = ab.load(ab.bitcast(ab.gep(ptr, [i64(array_data_offset)]), I8.as_pointer().as_pointer()))
        em.buffer_ptr[v] = ab.bitcast(ptr, storage_type(v.dtype).as_pointer())

    for k, a in enumerate(func.args):
        bind(a, k)
    homes: dict[Value, int] = {}  # output position that is a value's home buffer
    copies: list[tuple[int, Value]] = []  # output positions filled by copying
    late_copies: list[tuple[int, Value]] = []  # aliased positions filled by copying, last
    deferred: list[Value] = []  # aliased results computed straight into their buffer, last
    uses = count_uses(func)
    for pos, v in enumerate(func.outputs):
        if pos in aliases:
            arg = func.args[aliases[pos]]
            if (isinstance(v.owner, Op) and v.owner.name not in kernel_table and len(uses.get(v, [])) == 1
                    and v.type == arg.type and _reads_pointwise(v, arg, materialized)):
                homes[v] = pos
                deferred.append(v)
            else:
                late_copies.append((pos, v))
        elif isinstance(v.owner, Op) and v not in homes:
            homes[v] = pos
        else:
            copies.append((pos, v))
    for v, pos in homes.items():
        bind(v, layout.num_inputs + pos)
    for v in ids:
        if v in materialized and v not in homes and isinstance(v.owner, Op):
            if v.owner.name == "constant":  # lives in a global
                em.buffer_ptr[v] = constant_pointer(em, v)
                continue
            bind(v, layout.num_inputs + layout.num_outputs + len(layout.temps))
            layout.temps.append(ids[v])

    # every buffer is distinct memory, except a donated argument and the result written over it
    copy_outputs = {pos: Value(v.type, None, pos) for pos, v in (*copies, *late_copies)}
    by_position: dict[int, list[Value]] = {}
    for k, a in enumerate(func.args):
        by_position.setdefault(k, []).append(a)
    for v, pos in homes.items():
        by_position.setdefault(layout.num_inputs + pos, []).append(v)
    for pos, out in copy_outputs.items():
        by_position.setdefault(layout.num_inputs + pos, []).append(out)
    for p_out, q_in in aliases.items():
        by_position.setdefault(q_in, []).extend(by_position.pop(layout.num_inputs + p_out, []))
    temp_values = [v for v in em.buffer_ptr if v not in func.args and v not in homes and
                   not (isinstance(v.owner, Op) and v.owner.name == "constant")]
    em.set_buffer_scopes(list(by_position.values()) + [[v] for v in temp_values])

    for op in func.body.ops:
        if op.name == "return":
            continue
        if op.name in kernel_table:
            kernel_table[op.name](em, op)
            em.barrier()
            continue
        stored = False
        for r in op.results:
            if r in em.buffer_ptr and r not in deferred and not (isinstance(r.owner, Op) and r.owner.name == "constant" and r not in homes):
                custom = store_table.get(op.name)
                if not (custom is not None and len(op.results) == 1 and custom(em, op)):
                    _store_kernel(em, r)
                stored = True
        if stored:
            em.barrier()
    def copy(pos: int, v: Value) -> None:
        out = copy_outputs[pos]
        bind(out, layout.num_inputs + pos)
        em.loop_nest(em.dims(v), lambda idx: em.store(out, idx, em.value_at(v, idx)), parallel=True)

    for pos, v in copies:
        copy(pos, v)
    if aliases:
        em.barrier()  # the copies above may read arguments that the writes below overwrite
    for pos, v in late_copies:
        copy(pos, v)
    for v in deferred:
        _store_kernel(em, v)
    em.b.ret(ir.Constant(I32, 0))
    return module, layout


def _reads_pointwise(v: Value, arg: Value, materialized: set[Value]) -> bool:
    """Whether computing v element by element reads ``arg`` only at the element being computed.

    Follows the producers that fuse into v (those without a buffer); only elementwise ops whose
    operand has the result's exact static shape keep the index unchanged.
    """
    seen: dict[tuple[Value, bool], bool] = {}

    def visit(u: Value, pointwise: bool) -> bool:
        if u is arg:
            return pointwise
        op = u.owner
        if not isinstance(op, Op) or (u in materialized and u is not v):
            return True
        key = (u, pointwise)
        if key not in seen:
            elementwise = has_opdef(op.name) and get_opdef(op.name).has(ELEMENTWISE)
            seen[key] = all(visit(x, pointwise and elementwise and x.type == u.type.with_dtype(x.dtype)
                                  and x.type.is_static) for x in op.operands)
        return seen[key]

    return visit(v, True)


def _store_kernel(em: Emitter, v: Value) -> None:
    """Loops over v's shape computing each element into v's buffer.

    When an unknown dim might broadcast at run time, the loop is emitted twice: a fast version
    that assumes it does not (contiguous loads, vectorised) and a general one, chosen before
    the loop by testing the recorded dims.
    """
    b = em.b
    start = b.block
    fast = em.fn.append_basic_block("kernel.fast")
    join = em.fn.append_basic_block("kernel.join")
    b.position_at_end(fast)
    em.broadcast_checks = []
    try:
        em.loop_nest(em.dims(v), lambda idx: em.store(v, idx, em.compute_at(v, idx)), parallel=True)
        checks = em.broadcast_checks
    finally:
        em.broadcast_checks = None
    b.branch(join)
    b.position_at_end(start)
    if not checks:
        b.branch(fast)
    else:
        general = em.fn.append_basic_block("kernel.general")
        ok = checks[0]
        for c in checks[1:]:
            ok = b.and_(ok, c)
        b.cbranch(ok, fast, general)
        b.position_at_end(general)
        em.loop_nest(em.dims(v), lambda idx: em.store(v, idx, em.compute_at(v, idx)), parallel=True)
        b.branch(join)
    b.position_at_end(join)


def check_lowerings(func: Func, elem_table: dict[str, ElemLowering], kernel_table: dict[str, KernelLowering]) -> None:
    missing = sorted({op.name for op in func.walk()
                      if op.name != "return" and op.name not in elem_table and op.name not in kernel_table})
    if missing:
        raise CompileError(f"the CPU backend cannot lower op(s) {', '.join(missing)} in @{func.name}")
    for op in func.walk():
        for v in (*op.operands, *op.results):
            if v.dtype.short == "str":
                raise CompileError(f"op '{op.name}' works on string tensors, which compiled code cannot hold")
        if op.regions:
            raise CompileError(f"op '{op.name}' has regions, which the CPU backend does not lower yet")
