"""Per-element lowerings of constants and creation ops (fill, range, lin_space, shape, size, rank)."""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from xlc.backends.cpu.emitter import ElemLowering, Emitter, i64
from xlc.backends.cpu.llvmtypes import F64, I8, compute_type, const, storage_type, to_compute
from xlc.backends.cpu.lower_elementwise import convert
from xlc.ir.core import Op, Value
from xlc.ir.types import as_dtype, float64, int64


def constant_pointer(em: Emitter, v: Value) -> ir.Value:
    """A constant array as a private global (raw little-endian bytes); returns a typed pointer."""
    op = v.owner
    assert isinstance(op, Op)
    name = f"const.{em.op_index[op]}"
    g = em.module.globals.get(name)
    if g is None:
        data = np.ascontiguousarray(op.attrs["value"]).tobytes()
        init = ir.Constant(ir.ArrayType(I8, len(data)), bytearray(data))
        g = ir.GlobalVariable(em.module, init.type, name=name)
        g.initializer = init
        g.global_constant = True
        g.linkage = "private"
        g.align = 64
    return em.alloca_builder.bitcast(g, storage_type(v.dtype).as_pointer(), name=f"{name}.ptr")


def splat_value(value: np.ndarray) -> np.generic | None:
    """The one value an array holds everywhere, or None."""
    flat = value.reshape(-1)
    if flat.size == 0:
        return None
    if flat.size == 1 or np.array_equal(flat, np.full_like(flat, flat[0]), equal_nan=value.dtype.kind == "f"):
        return flat[0]
    return None


def _constant(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    v = op.results[0]
    splat = splat_value(op.attrs["value"])
    if splat is not None:  # an immediate operand, which lets LLVM fold it into the arithmetic
        if v.dtype.short in ("f16", "bf16"):
            return ir.Constant(compute_type(v.dtype), float(np.float32(splat)))
        return const(v.dtype, splat.item())
    # read the global, not v's buffer: a returned constant's buffer is the output being filled
    ptr = em.b.gep(constant_pointer(em, v), [em.linear_index(v, idx)], inbounds=True)
    return to_compute(em.b, v.dtype, em.b.load(ptr))


def _identity(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return em.value_at(op.operands[0], idx)


def _fill(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return em.value_at(op.operands[0], [])


def _shape(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x = op.operands[0]
    out_t = compute_type(op.results[0].dtype)
    # select among the dims by the index (rank is small and static)
    val: ir.Value = ir.Constant(out_t, 0)
    for axis in range(x.type.rank):
        d = em.b.trunc(em.dim(x, axis), out_t) if out_t.width < 64 else em.dim(x, axis)
        val = em.b.select(em.b.icmp_signed("==", idx[0], i64(axis)), d, val)
    return val


def _size(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    n = em.num_elements(op.operands[0])
    out_t = compute_type(op.results[0].dtype)
    return em.b.trunc(n, out_t) if out_t.width < 64 else n


def _rank(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return const(op.results[0].dtype, op.operands[0].type.rank)


def _range(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    dt = op.results[0].dtype
    if dt.is_floating:  # start + i * delta in double, as numpy's arange
        x = em.b.fadd(ir.Constant(F64, float(op.attrs["start"])),
                      em.b.fmul(em.b.sitofp(idx[0], F64), ir.Constant(F64, float(op.attrs["delta"]))))
        return convert(em, float64, dt, x)
    x = em.b.add(i64(int(op.attrs["start"])), em.b.mul(idx[0], i64(int(op.attrs["delta"]))))
    return convert(em, int64, dt, x)


def _lin_space(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    dt = as_dtype(op.attrs.get("dtype", op.results[0].dtype))
    start, stop, num = float(op.attrs["start"]), float(op.attrs["stop"]), int(op.attrs["num"])
    step = (stop - start) / (num - 1) if num > 1 else 0.0
    b = em.b
    x = b.fadd(ir.Constant(F64, start), b.fmul(b.sitofp(idx[0], F64), ir.Constant(F64, step)))
    if num > 1:  # the last point is exactly `stop`, as numpy.linspace
        x = b.select(b.icmp_signed("==", idx[0], i64(num - 1)), ir.Constant(F64, stop), x)
    return convert(em, float64, dt, x)


ELEM: dict[str, ElemLowering] = {
    "constant": _constant,
    "identity": _identity,
    "fill": _fill,
    "shape": _shape,
    "size": _size,
    "rank": _rank,
    "range": _range,
    "lin_space": _lin_space,
}
