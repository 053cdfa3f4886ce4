"""Executables: a Func run through the pass pipeline, compiled by a backend, and the call into it.

After the first call with given input shapes, a call is: check the inputs, allocate the
outputs, fill a pointer array, one call into native code.  A new input shape costs one pass
of the type rules over the func (no recompilation): that gives every run-time dim and the
sizes of the scratch buffers, kept in a :class:`ShapePlan` per input-shape tuple.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from xlc.backends import cpu
from xlc.errors import InvalidArgumentError, ShapeError
from xlc.ir.builder import Builder
from xlc.ir.core import Func, Module, Op, Value
from xlc.ir.opdef import get_opdef
from xlc.ir.types import TensorType
from xlc.passes import DEFAULT_PIPELINE, run_pipeline
from xlc.runtime.memory import POOL, aligned_bytes
from xlc.runtime.threads import WorkerPool, shared_pool

def _find_array_data_offset() -> int | None:
    """Where a numpy array object keeps its data pointer (PyArrayObject.data), found by looking.

    Generated code called from here reads data pointers out of the array objects themselves,
    which spares a ctypes round trip per buffer; None (use raw pointers) if not found.
    """
    probe = np.empty(3)
    want = probe.ctypes.data
    for off in range(8, 128, 8):
        if ctypes.c_void_p.from_address(id(probe) + off).value == want:
            return off
    return None


ARRAY_DATA_OFFSET = _find_array_data_offset()

_ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                               ctypes.c_int64, ctypes.c_void_p)
# Below this much work (elements touched plus matmul multiply-adds) a call stays on one thread:
# waking the workers costs tens of microseconds.
PARALLEL_WORK = 1 << 18


@dataclass(frozen=True)
class CompileOptions:
    """How to compile: the pass pipeline (a string, or "default") and the backend."""

    pipeline: str = "default"
    backend: str = "cpu"
    verify_each: bool = False


@dataclass
class ShapePlan:
    """Everything a call needs that depends only on the input shapes."""

    out_shapes: list[tuple[int, ...]]
    dims: ctypes.Array  # type: ignore[type-arg]
    pointers: ctypes.Array  # type: ignore[type-arg]
    temps: list[np.ndarray]  # kept alive: the pointer array refers to them
    pool: WorkerPool | None  # None: run on the calling thread alone


def describe_value(func: Func, v: Value) -> str:
    op = v.owner
    if isinstance(op, Op):
        where = f" at {op.loc}" if op.loc else ""
        return f"op '{op.name}'{where}"
    return f"argument {v.name_hint or v.index}"


class Executable:
    """A compiled Func: ``run(inputs)`` returns its results as numpy arrays.

    Not thread-safe: one call at a time per Executable (calls share pre-built pointer arrays).
    """

    def __init__(self, func: Func, options: CompileOptions, aliases: dict[int, int] | None = None) -> None:
        self.options = options
        # result position -> argument position: the argument's array is updated in place and
        # returned as that result (the caller donates it: a session's variable, say)
        self.aliases = dict(aliases or {})
        pipeline = DEFAULT_PIPELINE if options.pipeline == "default" else options.pipeline
        module = run_pipeline(Module([func]), pipeline, verify_each=options.verify_each) if pipeline else Module([func])
        self.func, self._consts = hoist_constants(module[func.name])
        for c in self._consts:
            c.setflags(write=False)
        self.source = func
        self.native = cpu.compile_native(self.func, self.aliases, ARRAY_DATA_OFFSET)
        self.layout = self.native.layout
        self._entry = _ENTRY_TYPE(self.native.address)
        self._num_user_in = len(self.func.args) - len(self._consts)
        self._arg_dtypes = [a.dtype.np_dtype for a in self.func.args[:self._num_user_in]]
        self._out_dtypes = [v.dtype.np_dtype for v in self.func.outputs]
        self._num_in = len(self.func.args)
        self._num_out = len(self.func.outputs)
        self._plans: dict[tuple[tuple[int, ...], ...], ShapePlan] = {}
        self._err = (ctypes.c_int64 * 8)()
        self._sync = (ctypes.c_int64 * 2)()
        self._nones = [None] * (self._num_in + self._num_out)
        self._ids = cpu.number_values(self.func)

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        if len(inputs) != self._num_user_in:
            raise InvalidArgumentError(None, None, f"@{self.func.name} takes {self._num_user_in} inputs, "
                                                   f"got {len(inputs)}")
        arrays = [np.asarray(x, dtype=dt, order="C") for x, dt in zip(inputs, self._arg_dtypes)]
        if self._consts:
            arrays += self._consts
        key = tuple(a.shape for a in arrays)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(key)
        if self.aliases:
            outs = [self._donated(arrays, p, s, dt) for p, (s, dt) in enumerate(zip(plan.out_shapes, self._out_dtypes))]
        else:
            outs = [POOL.empty(s, dt) for s, dt in zip(plan.out_shapes, self._out_dtypes)]
        ptrs = plan.pointers
        if ARRAY_DATA_OFFSET is None:
            arrays = [a.ctypes.data for a in arrays]
            outs_p = [o.ctypes.data for o in outs]
        else:
            outs_p = outs
        n = self._num_in
        ptrs[:n] = arrays
        ptrs[n:n + self._num_out] = outs_p
        sync = self._sync
        sync[0] = sync[1] = 0
        if plan.pool is None:
            status = self._entry(ptrs, plan.dims, self._err, 0, 1, sync)
        else:
            status = plan.pool.run(self._entry, (ptrs, plan.dims, self._err), sync)
        if ARRAY_DATA_OFFSET is not None:  # drop the references to this call's arrays
            ptrs[:n + self._num_out] = self._nones
        if status:
            raise self._error()
        return outs

    def _donated(self, arrays: list[np.ndarray], p: int, shape: tuple[int, ...], dt: np.dtype) -> np.ndarray:
        """Result p's array: its donated argument when that can be written in place, else a new one."""
        q = self.aliases.get(p)
        if q is not None:
            a = arrays[q]
            if a.flags.writeable and a.shape == shape:
                return a
        return POOL.empty(shape, dt)

    def _plan(self, key: tuple[tuple[int, ...], ...]) -> ShapePlan:
        """Concrete shapes of every value for these input shapes (the type rules, once)."""
        shapes: dict[Value, tuple[int, ...]] = {}
        for arg, shape in zip(self.func.args, key):
            if not arg.type.is_compatible_with(shape):
                raise InvalidArgumentError(None, None, f"input '{arg.name_hint or arg.index}' of @{self.func.name} "
                                                       f"has shape {shape}, but the function takes {arg.type}")
            shapes[arg] = shape
        for op in self.func.body.ops:
            if op.name == "return":
                break
            types = [TensorType(shapes[v], v.dtype) for v in op.operands]
            try:
                results = get_opdef(op.name).infer(types, op.attrs)
            except ShapeError as e:
                where = f" (at {op.loc})" if op.loc else ""
                raise InvalidArgumentError(None, None, f"{e}{where}") from None
            for r, t in zip(op.results, results):
                shapes[r] = tuple(t.shape)  # type: ignore[arg-type]
        by_id = {i: v for v, i in self._ids.items()}
        dims = (ctypes.c_int64 * max(1, len(self.layout.slots)))()
        for s, (vid, axis) in enumerate(self.layout.slots):
            dims[s] = shapes[by_id[vid]][axis]
        temps = []
        for vid in self.layout.temps:
            v = by_id[vid]
            temps.append(aligned_bytes(max(1, int(np.prod(shapes[v], dtype=np.int64)) * v.dtype.itemsize)))
        nbuf = self._num_in + self._num_out + len(temps)
        slot = ctypes.c_void_p if ARRAY_DATA_OFFSET is None else ctypes.py_object
        pointers = (slot * max(1, nbuf))()
        for k, t in enumerate(temps):
            pointers[self._num_in + self._num_out + k] = t if ARRAY_DATA_OFFSET is not None else t.ctypes.data
        work = sum(int(np.prod(s, dtype=np.int64)) for s in shapes.values())
        for op in self.func.body.ops:
            if op.name == "matmul":  # multiply-adds (M*N per batch times K), ~16 per element-op's time
                a_shape = shapes[op.operands[0]]
                k = a_shape[-2] if op.attrs["transpose_a"] else a_shape[-1]
                work += int(np.prod(shapes[op.results[0]], dtype=np.int64)) * k // 16
        pool = shared_pool() if work >= PARALLEL_WORK else None
        plan = ShapePlan([shapes[v] for v in self.func.outputs], dims, pointers, temps, pool)
        self._plans[key] = plan
        return plan

    def _error(self) -> InvalidArgumentError:
        code, op_index = self._err[0], self._err[1]
        ops = self.func.body.ops
        op = ops[op_index] if 0 <= op_index < len(ops) else None
        where = f" (op '{op.name}' at {op.loc})" if op is not None and op.loc else ""
        if code == cpu.ERR_GATHER_INDEX:
            bad, bound, pos, scalar = self._err[2], self._err[3], self._err[4], self._err[5]
            at = "" if scalar else f"[{pos}]"
            return InvalidArgumentError(None, op, f"indices{at} = {bad} is not in [0, {bound}){where}")
        if code == cpu.ERR_INT_DIV_ZERO:
            return InvalidArgumentError(None, op, f"Integer division by zero{where}")
        return InvalidArgumentError(None, op, f"compiled code failed with error code {code}{where}")


HOIST_ELEMENTS = 4096  # constants at least this big are passed at run time, not compiled in


def hoist_constants(func: Func, min_elements: int = HOIST_ELEMENTS) -> tuple[Func, list[np.ndarray]]:
    """``func`` with its big constants turned into extra trailing arguments, and their values.

    In-process code gets weights by pointer: printing megabytes of constants into LLVM IR text
    and parsing them back costs seconds, and the object cache would hold a copy of every one.
    (Ahead-of-time objects embed them instead: they must stand alone.)
    """
    big = [op for op in func.body.ops if op.name == "constant" and op.attrs["value"].size >= min_elements
           and op.attrs["value"].dtype != object]
    if not big:
        return func, []
    new = Func(func.name, [*func.arg_types, *(op.result.type for op in big)],
               arg_names=[*(a.name_hint for a in func.args), *(f"const{k}" for k in range(len(big)))])
    mapping: dict[Value, Value] = dict(zip(func.args, new.args))
    for op, arg in zip(big, new.args[len(func.args):]):
        mapping[op.result] = arg
    b = Builder(new.body)
    for op in func.body.ops:
        if op in big:
            continue
        clone = b.create(op.name, [mapping[v] for v in op.operands], op.attrs, op.result_types, loc=op.loc)
        mapping.update(zip(op.results, clone.results))
    new.result_types = func.result_types
    return new, [np.ascontiguousarray(op.attrs["value"]) for op in big]


def compile_func(func: Func, options: CompileOptions | None = None,
                 aliases: dict[int, int] | None = None) -> Executable:
    """Run the pass pipeline on ``func`` and compile it for the CPU.

    ``aliases`` maps result positions to argument positions that the caller donates: the
    argument array is overwritten with the result and returned as it (no new allocation).
    """
    return Executable(func, options or CompileOptions(), aliases)
