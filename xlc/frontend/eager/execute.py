"""Running one op now: eager dispatch and the per-op executable cache.

When eager execution is on, :func:`graph.apply_op` calls :func:`execute`.  Each op kind
is compiled once per *signature* — (IR op, attributes, input dtypes, input ranks) — into
a one-op IR Func whose arguments have ``?`` dims, by the same runtime and backend that
compile graphs; the Executable is cached, so a later call with any shapes of those ranks
is: look up the signature, one call into native code, wrap the results.

Some ops are not compiled (see :func:`_plan_kernel`): random ops (their seeds are drawn
per call, and a compile per call would dwarf the work), ops without operands (their
value is fixed by attributes) and slicing (attributes change with every index a Python
loop uses); they run their numpy reference, which is the ops' defined semantics.  An op
whose type rule needs static dims is compiled per input shape instead of per rank.

Errors surface at the op: bad attributes or shapes raise the type rule's ShapeError (or
InvalidArgumentError when only the run-time shapes disagree), bad values (a gather index
out of range) the compiled code's InvalidArgumentError.

Tapes: every op whose inputs a recording tape watches is recorded on it (see
:mod:`xlc.frontend.eager.tape`; this module only holds the list of recording tapes).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from xlc.errors import InvalidArgumentError, ShapeError
from xlc.ir.builder import Builder
from xlc.ir.core import Func, attr_key
from xlc.ir.opdef import RANDOM, get_opdef
from xlc.ir.types import DType, TensorType, as_dtype, string
from xlc.runtime import CompileOptions, compile_func
from xlc.frontend.graph import Tensor, get_default_graph, register_eager_hooks
from xlc.frontend.op_builder import convert_to_tensor
from xlc.frontend.eager.tensor import EagerTensor, eager_constant

# Tapes recording now, innermost last; each has ``record(ir_op, attrs, inputs, outputs)``
# and ``watches(tensors) -> bool``.  Mutated in place (tape.py pushes and pops).
ACTIVE_TAPES: list[Any] = []

# ops run through their numpy reference rather than compiled (see the module docstring)
REFERENCE_OPS = frozenset({"strided_slice", "slice"})
_OPTIONS = CompileOptions(pipeline="")
_EMPTY: Mapping[str, Any] = {}


class EagerOp:
    """What ``apply_op`` returns in eager mode: the op's results, as an Operation's ``outputs``."""

    __slots__ = ("outputs",)

    def __init__(self, outputs: tuple[EagerTensor, ...]) -> None:
        self.outputs = outputs


class Kernel:
    """How one signature runs: ``run(arrays) -> arrays``, and its results' dtypes."""

    __slots__ = ("run", "out_dtypes", "kind", "executable")

    def __init__(self, run: Callable[[list[np.ndarray]], Sequence[np.ndarray]], out_dtypes: tuple[DType, ...] | None,
                 kind: str, executable: Any = None) -> None:
        self.run = run
        self.out_dtypes = out_dtypes  # None: taken from the arrays (reference kernels)
        self.kind = kind  # "compiled", "per-shape" or "reference: <why>"
        self.executable = executable


_CACHE: dict[Any, Kernel] = {}


def execute(op_type: str, ir_op: str, inputs: Sequence[Any], attrs: Mapping[str, Any] | None,
            name: str | None = None) -> EagerOp:
    """Run ``ir_op`` on ``inputs`` now; the hot path of eager mode (keep it lean)."""
    ts = [x if type(x) is EagerTensor else _to_eager(x) for x in inputs]
    arrays = [t._value for t in ts]
    if attrs is None:
        attrs = _EMPTY
    try:
        key: Any = (ir_op, tuple(attrs.items()), *[(a.dtype, a.ndim) for a in arrays])
        kernel = _CACHE.get(key)
    except TypeError:  # an unhashable attribute value (a list, an array)
        key = (ir_op, tuple((k, attr_key(_hashable(v))) for k, v in attrs.items()),
               *[(a.dtype, a.ndim) for a in arrays])
        kernel = _CACHE.get(key)
    if kernel is None:
        kernel = _CACHE[key] = _plan_kernel(op_type, ir_op, attrs, ts)
    outs = kernel.run(arrays)
    dts = kernel.out_dtypes
    device = _device() if get_default_graph()._device_stack else None
    if dts is None:
        results = tuple(EagerTensor(o, None, device) for o in outs)
    else:
        results = tuple(EagerTensor(o, dt, device) for o, dt in zip(outs, dts))
    if ACTIVE_TAPES:
        for tape in ACTIVE_TAPES:
            tape.record(ir_op, attrs, ts, results)
    return EagerOp(results)


def run_op(ir_op: str, inputs: Sequence[Any], attrs: Mapping[str, Any] | None = None) -> tuple[EagerTensor, ...]:
    """Run an IR op eagerly (gradient rules and tapes use this); its results."""
    return execute(ir_op, ir_op, inputs, attrs).outputs


def _to_eager(x: Any) -> EagerTensor:
    if isinstance(x, Tensor) and not x.is_eager:
        raise ValueError(f"Tensor {x.name} is a graph tensor: it has no value in eager mode. Build it eagerly, or "
                         "run it in a Session inside `with graph.as_default():`")
    t = convert_to_tensor(x)  # Python values, numpy arrays, Variables (whose read a tape sees)
    if not t.is_eager:
        raise ValueError(f"{x!r} did not convert to an eager tensor")
    return t  # type: ignore[return-value]


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    return v


def _device() -> str:
    """The device of the current ``xlc.device`` scopes: recorded, not yet used (the CPU runs everything)."""
    from_stack = get_default_graph()._current_device(None)  # type: ignore[arg-type]
    return from_stack or ""


# --- building kernels ---------------------------------------------------------------------------
def _plan_kernel(op_type: str, ir_op: str, attrs: Mapping[str, Any], ts: list[EagerTensor]) -> Kernel:
    opdef = get_opdef(ir_op)
    full = opdef.complete_attrs(attrs)
    if opdef.has(RANDOM):
        return _reference_kernel(op_type, ir_op, full, "random: seeds change per call")
    if not ts:
        return _reference_kernel(op_type, ir_op, full, "no operands: the value is fixed by the attributes")
    if ir_op in REFERENCE_OPS:
        return _reference_kernel(op_type, ir_op, full, "slicing: attributes change with every index")
    if any(t._dtype is string for t in ts):
        return _reference_kernel(op_type, ir_op, full, "strings run on the host")
    generic = [TensorType((None,) * t._value.ndim, t._dtype) for t in ts]
    try:
        func = _one_op_func(ir_op, full, generic)
    except ShapeError:
        # the type rule needs static dims (or the op is invalid; the per-shape build says which)
        return _per_shape_kernel(op_type, ir_op, full)
    if any(r.dtype is string for r in func.result_types):
        return _reference_kernel(op_type, ir_op, full, "strings run on the host")
    try:
        exe = compile_func(func, _OPTIONS)
    except Exception as e:  # noqa: BLE001  (a backend without this lowering: try static shapes)
        return _per_shape_kernel(op_type, ir_op, full, f"generic compile failed: {e}")
    return Kernel(exe.run, tuple(r.dtype for r in func.result_types), "compiled", exe)


def _one_op_func(ir_op: str, attrs: Mapping[str, Any], arg_types: list[TensorType]) -> Func:
    func = Func(f"eager_{ir_op}", arg_types)
    b = Builder.at_end(func)
    op = b.create(ir_op, func.args, attrs)
    b.ret(*op.results)
    return func


def _per_shape_kernel(op_type: str, ir_op: str, full: Mapping[str, Any], why: str = "") -> Kernel:
    """A kernel compiled per input-shape tuple (type rules that need static dims)."""
    by_shape: dict[tuple[tuple[int, ...], ...], Kernel] = {}
    reference: list[Kernel] = []

    def run(arrays: list[np.ndarray]) -> Sequence[np.ndarray]:
        shapes = tuple(a.shape for a in arrays)
        k = by_shape.get(shapes)
        if k is None:
            types = [TensorType(a.shape, as_dtype(a.dtype)) for a in arrays]
            try:
                func = _one_op_func(ir_op, full, types)
            except ShapeError as e:
                raise ShapeError(f"{op_type}: {e}") from None
            try:
                exe = compile_func(func, _OPTIONS)
                k = Kernel(exe.run, None, "compiled", exe)
            except Exception as e:  # noqa: BLE001  (no lowering for this op: its reference is the semantics)
                if not reference:
                    reference.append(_reference_kernel(op_type, ir_op, full, f"compile failed: {e}"))
                k = reference[0]
            by_shape[shapes] = k
        return k.run(arrays)

    return Kernel(run, None, f"per-shape{': ' + why if why else ''}")


def _reference_kernel(op_type: str, ir_op: str, full: Mapping[str, Any], why: str) -> Kernel:
    opdef = get_opdef(ir_op)

    def run(arrays: list[np.ndarray]) -> Sequence[np.ndarray]:
        types = [TensorType(a.shape, _dtype(a)) for a in arrays]
        try:
            result_types = opdef.infer(types, full)
        except ShapeError as e:
            raise ShapeError(f"{op_type}: {e}") from None
        try:
            outs = opdef.evaluate(arrays, full)
        except (ValueError, IndexError, ZeroDivisionError, FloatingPointError) as e:
            raise InvalidArgumentError(None, None, f"{op_type}: {e}") from None
        return [_as(o, r) for o, r in zip(outs, result_types)]

    return Kernel(run, None, f"reference: {why}")


def _dtype(a: np.ndarray) -> DType:
    return string if a.dtype == object else as_dtype(a.dtype)


def _as(value: np.ndarray, t: TensorType) -> np.ndarray:
    """A reference result in its type rule's dtype, C-contiguous (compiled kernels take those)."""
    want = object if t.dtype is string else t.dtype.np_dtype
    if value.dtype != want:
        value = value.astype(want)
    return value if value.flags.c_contiguous else np.ascontiguousarray(value).reshape(value.shape)


def cache_info() -> dict[str, int]:
    """How many signatures are cached, by kind (for tests and curious users)."""
    out: dict[str, int] = {}
    for k in _CACHE.values():
        kind = k.kind.split(":")[0]
        out[kind] = out.get(kind, 0) + 1
    return out


def clear_cache() -> None:
    _CACHE.clear()


register_eager_hooks(execute, eager_constant)

__all__ = ["ACTIVE_TAPES", "EagerOp", "Kernel", "cache_info", "clear_cache", "execute", "run_op"]
