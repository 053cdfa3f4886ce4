"""How xlc dtypes live in LLVM: a storage type (in memory) and a compute type (in registers).

bool is stored as i8 (numpy's layout) and computed as i1; float16 is stored as half and
bfloat16 as i16 (its raw bits), both computed as float: fused chains keep float32
precision between ops, as XLA does.  Conversions are written with integer operations
where LLVM would otherwise call a runtime library that an AOT object cannot rely on.
"""

from __future__ import annotations

from llvmlite import ir

from xlc.errors import CompileError
from xlc.ir.types import DType

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I16 = ir.IntType(16)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F16 = ir.HalfType()
F32 = ir.FloatType()
F64 = ir.DoubleType()

_STORAGE = {"bool": I8, "i8": I8, "u8": I8, "i32": I32, "i64": I64, "f16": F16, "bf16": I16, "f32": F32, "f64": F64}
_COMPUTE = {"bool": I1, "i8": I8, "u8": I8, "i32": I32, "i64": I64, "f16": F32, "bf16": F32, "f32": F32, "f64": F64}


def storage_type(dt: DType) -> ir.Type:
    try:
        return _STORAGE[dt.short]
    except KeyError:
        raise CompileError(f"the CPU backend cannot hold {dt.name} tensors in compiled code") from None


def compute_type(dt: DType) -> ir.Type:
    try:
        return _COMPUTE[dt.short]
    except KeyError:
        raise CompileError(f"the CPU backend cannot compute on {dt.name} tensors") from None


def is_float(dt: DType) -> bool:
    return dt.is_floating


def to_compute(b: ir.IRBuilder, dt: DType, v: ir.Value) -> ir.Value:
    """A loaded storage value as its compute value."""
    if dt.short == "bool":
        return b.icmp_unsigned("!=", v, ir.Constant(I8, 0))
    if dt.short == "f16":
        return b.fpext(v, F32)
    if dt.short == "bf16":
        return b.bitcast(b.shl(b.zext(v, I32), ir.Constant(I32, 16)), F32)
    return v


def to_storage(b: ir.IRBuilder, dt: DType, v: ir.Value) -> ir.Value:
    """A compute value as the value to store (bfloat16 rounds to nearest even; nan stays nan)."""
    if dt.short == "bool":
        return b.zext(v, I8)
    if dt.short == "f16":
        return b.fptrunc(v, F16)
    if dt.short == "bf16":
        bits = b.bitcast(v, I32)
        lsb = b.and_(b.lshr(bits, ir.Constant(I32, 16)), ir.Constant(I32, 1))
        rounded = b.lshr(b.add(bits, b.add(ir.Constant(I32, 0x7FFF), lsb)), ir.Constant(I32, 16))
        quiet_nan = b.or_(b.lshr(bits, ir.Constant(I32, 16)), ir.Constant(I32, 0x40))
        isnan = b.fcmp_unordered("uno", v, v)
        return b.trunc(b.select(isnan, quiet_nan, rounded), I16)
    return v


def const(dt: DType, value: float | int | bool) -> ir.Constant:
    """A compute-typed constant."""
    t = compute_type(dt)
    if dt.is_bool:
        return ir.Constant(t, int(bool(value)))
    if dt.is_floating:
        return ir.Constant(t, float(value))
    return ir.Constant(t, int(value))
