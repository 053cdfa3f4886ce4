"""Per-element lowerings of elementwise ops: one small function (or one line) per op.

Each scalar function gets the operands' dtype and their compute values (floats of every
width compute as float or double, bool as i1) and returns the result's compute value.
"""

from __future__ import annotations

from typing import Callable

from llvmlite import ir

from xlc.backends.cpu import mathlib
from xlc.backends.cpu.emitter import ERR_INT_DIV_ZERO, ElemLowering, Emitter
from xlc.backends.cpu.llvmtypes import F32, F64, I1, compute_type
from xlc.ir.core import Op
from xlc.ir.types import DType, as_dtype

Scalar = Callable[[Emitter, DType, list[ir.Value]], ir.Value]
FLAGS = ("contract",)


def _suffix(t: ir.Type) -> str:
    return "f64" if t == F64 else "f32"


def _unary_intrinsic(name: str) -> Scalar:
    def fn(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
        t = a[0].type
        return em.call(f"llvm.{name}.{_suffix(t)}", t, a)

    return fn


def _libm(name: str) -> Scalar:
    def fn(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
        t = a[0].type
        return em.call(name if t == F64 else name + "f", t, a)

    return fn


def _fast_or_libm(fast: Callable[[ir.IRBuilder, ir.Value], ir.Value], name: str) -> Scalar:
    def fn(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
        if a[0].type == F32:
            return fast(em.b, a[0])
        return em.call(name, F64, a)

    return fn


def _neg(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
    return em.b.fneg(a[0]) if dt.is_floating else em.b.neg(a[0])


def _abs(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
    if dt.is_floating:
        return em.call(f"llvm.fabs.{_suffix(a[0].type)}", a[0].type, a)
    b = em.b
    return b.select(b.icmp_signed("<", a[0], ir.Constant(a[0].type, 0)), b.neg(a[0]), a[0])


def _sign(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
    b, x = em.b, a[0]
    t = x.type
    if dt.is_floating:
        one, zero = ir.Constant(t, 1.0), ir.Constant(t, 0.0)
        s = b.select(b.fcmp_ordered(">", x, zero), one, b.select(b.fcmp_ordered("<", x, zero), b.fneg(one), zero))
        return b.select(b.fcmp_unordered("uno", x, x), x, s)
    pos = b.zext(b.icmp_signed(">", x, ir.Constant(t, 0)), t)
    neg = b.zext(b.icmp_signed("<", x, ir.Constant(t, 0)), t)
    return b.sub(pos, neg)


def _square(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
    return em.b.fmul(a[0], a[0]) if dt.is_floating else em.b.mul(a[0], a[0])


def _relu(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
    b, x = em.b, a[0]
    zero = ir.Constant(x.type, 0.0 if dt.is_floating else 0)
    if dt.is_floating:  # nan stays nan, as max(nan, 0) does in TF
        return b.select(b.fcmp_unordered("ult", x, zero), zero, x)
    return b.select(b.icmp_signed("<", x, zero), zero, x)


def _float_binop(fop: str, iop: str, uop: str | None = None) -> Scalar:
    def fn(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
        b = em.b
        if dt.is_floating:
            return getattr(b, fop)(a[0], a[1], flags=FLAGS)
        if dt.is_bool:  # add/mul on bools are or/and, as in numpy
            return getattr(b, {"add": "or_", "mul": "and_"}.get(iop, iop))(a[0], a[1])
        return getattr(b, uop if (uop and dt.kind == "uint") else iop)(a[0], a[1])

    return fn


def _int_floordiv_parts(em: Emitter, op: Op, dt: DType, x: ir.Value, y: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Floor quotient and floor remainder of integers; division by zero is a run-time error."""
    b = em.b
    t = x.type
    zero, one = ir.Constant(t, 0), ir.Constant(t, 1)
    em.fail_if(b.icmp_signed("==", y, zero), ERR_INT_DIV_ZERO, op)
    if dt.kind == "uint":
        return b.udiv(x, y), b.urem(x, y)
    # x / -1 overflows (and traps) for the smallest integer: compute it as a wrapping negation.
    minus_one = b.icmp_signed("==", y, ir.Constant(t, -1))
    ys = b.select(minus_one, one, y)
    q = b.select(minus_one, b.neg(x), b.sdiv(x, ys))
    r = b.select(minus_one, zero, b.srem(x, ys))
    adjust = b.and_(b.icmp_signed("!=", r, zero), b.icmp_signed("!=", b.icmp_signed("<", r, zero),
                                                                  b.icmp_signed("<", y, zero)))
    return b.select(adjust, b.sub(q, one), q), b.select(adjust, b.add(r, y), r)


def _floor_float(em: Emitter, x: ir.Value) -> ir.Value:
    return em.call(f"llvm.floor.{_suffix(x.type)}", x.type, [x])


def _pow(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
    if dt.is_floating:
        return em.call(f"llvm.pow.{_suffix(a[0].type)}", a[0].type, a)
    # integers: square-and-multiply over the exponent's bits (negative exponents rejected by TF)
    b, t = em.b, a[0].type
    acc = em.alloca(t)
    base = em.alloca(t)
    e = em.alloca(t)
    b.store(ir.Constant(t, 1), acc)
    b.store(a[0], base)
    b.store(a[1], e)
    cond = em.fn.append_basic_block("ipow.cond")
    body = em.fn.append_basic_block("ipow.body")
    done = em.fn.append_basic_block("ipow.end")
    b.branch(cond)
    b.position_at_end(cond)
    b.cbranch(b.icmp_signed(">", b.load(e), ir.Constant(t, 0)), body, done)
    b.position_at_end(body)
    odd = b.trunc(b.load(e), I1)
    b.store(b.select(odd, b.mul(b.load(acc), b.load(base)), b.load(acc)), acc)
    b.store(b.mul(b.load(base), b.load(base)), base)
    b.store(b.lshr(b.load(e), ir.Constant(t, 1)) if dt.kind == "uint" else b.ashr(b.load(e), ir.Constant(t, 1)), e)
    b.branch(cond)
    b.position_at_end(done)
    return b.load(acc)


def _minmax(is_max: bool) -> Scalar:
    def fn(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
        b = em.b
        if dt.is_floating:  # nan-propagating, as numpy and TF
            return em.call(f"llvm.{'maximum' if is_max else 'minimum'}.{_suffix(a[0].type)}", a[0].type, a)
        pred = ">" if is_max else "<"
        cmp = b.icmp_unsigned(pred, a[0], a[1]) if dt.kind == "uint" else b.icmp_signed(pred, a[0], a[1])
        return b.select(cmp, a[0], a[1])

    return fn


def _compare(pred: str) -> Scalar:
    def fn(em: Emitter, dt: DType, a: list[ir.Value]) -> ir.Value:
        b = em.b
        if dt.is_floating:
            return b.fcmp_unordered(pred, a[0], a[1]) if pred == "!=" else b.fcmp_ordered(pred, a[0], a[1])
        if dt.kind in ("uint", "bool"):
            return b.icmp_unsigned(pred, a[0], a[1])
        return b.icmp_signed(pred, a[0], a[1])

    return fn


def _logical(name: str) -> Scalar:
    return lambda em, dt, a: getattr(em.b, name)(a[0], a[1])


def _float_const(x: ir.Value, v: float) -> ir.Constant:
    return ir.Constant(x.type, v)


SCALAR: dict[str, Scalar] = {
    "neg": _neg,
    "abs": _abs,
    "sign": _sign,
    "exp": _fast_or_libm(mathlib.exp_f32, "exp"),
    "log": _fast_or_libm(mathlib.log_f32, "log"),
    "log1p": _libm("log1p"),
    "expm1": _libm("expm1"),
    "sqrt": _unary_intrinsic("sqrt"),
    "rsqrt": lambda em, dt, a: em.b.fdiv(_float_const(a[0], 1.0), em.call(f"llvm.sqrt.{_suffix(a[0].type)}",
                                                                           a[0].type, a)),
    "square": _square,
    "reciprocal": lambda em, dt, a: em.b.fdiv(_float_const(a[0], 1.0), a[0]),
    "sin": _libm("sin"),
    "cos": _libm("cos"),
    "tan": _libm("tan"),
    "tanh": _fast_or_libm(mathlib.tanh_f32, "tanh"),
    "sigmoid": lambda em, dt, a: (mathlib.sigmoid_f32(em.b, a[0]) if a[0].type == F32 else em.b.fdiv(
        _float_const(a[0], 1.0), em.b.fadd(_float_const(a[0], 1.0), em.call("exp", F64, [em.b.fneg(a[0])])))),
    "relu": _relu,
    "floor": _unary_intrinsic("floor"),
    "ceil": _unary_intrinsic("ceil"),
    "round": _unary_intrinsic("roundeven"),
    "logical_not": lambda em, dt, a: em.b.not_(a[0]),
    "is_nan": lambda em, dt, a: em.b.fcmp_unordered("uno", a[0], a[0]),
    "is_finite": lambda em, dt, a: em.b.fcmp_ordered(
        "<", em.call(f"llvm.fabs.{_suffix(a[0].type)}", a[0].type, a), _float_const(a[0], float("inf"))),
    "add": _float_binop("fadd", "add"),
    "sub": _float_binop("fsub", "sub"),
    "mul": _float_binop("fmul", "mul"),
    "pow": _pow,
    "maximum": _minmax(True),
    "minimum": _minmax(False),
    "equal": _compare("=="),
    "not_equal": _compare("!="),
    "less": _compare("<"),
    "less_equal": _compare("<="),
    "greater": _compare(">"),
    "greater_equal": _compare(">="),
    "logical_and": _logical("and_"),
    "logical_or": _logical("or_"),
    "logical_xor": _logical("xor"),
}


def _elem(scalar: Scalar) -> ElemLowering:
    def lower(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
        args = [em.operand_at(op, k, idx) for k in range(len(op.operands))]
        return scalar(em, op.operands[0].dtype, args)

    return lower


def _division(kind: str) -> ElemLowering:
    def lower(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
        x, y = em.operand_at(op, 0, idx), em.operand_at(op, 1, idx)
        dt = op.operands[0].dtype
        b = em.b
        if dt.is_floating:
            if kind == "div":
                return b.fdiv(x, y)
            if kind == "floordiv":
                return _floor_float(em, b.fdiv(x, y))
            # floor modulo: x - floor(x / y) * y, computed with frem for accuracy
            rem = b.frem(x, y)
            zero = ir.Constant(x.type, 0.0)
            fix = b.and_(b.fcmp_ordered("!=", rem, zero),
                         b.icmp_unsigned("!=", b.fcmp_ordered("<", rem, zero), b.fcmp_ordered("<", y, zero)))
            return b.select(fix, b.fadd(rem, y), rem)
        q, m = _int_floordiv_parts(em, op, dt, x, y)
        return m if kind == "mod" else q

    return lower


def _squared_difference(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    x, y = em.operand_at(op, 0, idx), em.operand_at(op, 1, idx)
    if op.operands[0].dtype.is_floating:
        d = em.b.fsub(x, y)
        return em.b.fmul(d, d)
    d = em.b.sub(x, y)
    return em.b.mul(d, d)


def _select(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    c = em.operand_at(op, 0, idx)
    return em.b.select(c, em.operand_at(op, 1, idx), em.operand_at(op, 2, idx))


def _clip(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    dt = op.operands[0].dtype
    x, lo, hi = (em.operand_at(op, k, idx) for k in range(3))
    return _minmax(False)(em, dt, [_minmax(True)(em, dt, [x, lo]), hi])


def convert(em: Emitter, src: DType, dst: DType, x: ir.Value) -> ir.Value:
    """Convert a compute value between dtypes with TF's cast semantics (floats truncate to ints)."""
    b = em.b
    st, dt_ = compute_type(src), compute_type(dst)
    if dst.is_bool:
        if src.is_floating:
            return b.fcmp_unordered("!=", x, ir.Constant(st, 0.0))
        return x if src.is_bool else b.icmp_unsigned("!=", x, ir.Constant(st, 0))
    if src.is_floating and dst.is_floating:
        if st == dt_:
            return x
        return b.fpext(x, dt_) if st == F32 else b.fptrunc(x, dt_)
    if src.is_floating:
        return b.fptoui(x, dt_) if dst.kind == "uint" else b.fptosi(x, dt_)
    if dst.is_floating:
        return b.uitofp(x, dt_) if src.kind in ("uint", "bool") else b.sitofp(x, dt_)
    if st.width == dt_.width:
        return x
    if st.width > dt_.width:
        return b.trunc(x, dt_)
    return b.zext(x, dt_) if src.kind in ("uint", "bool") else b.sext(x, dt_)


def _cast(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    return convert(em, op.operands[0].dtype, as_dtype(op.attrs["dtype"]), em.value_at(op.operands[0], idx))


ELEM: dict[str, ElemLowering] = {name: _elem(fn) for name, fn in SCALAR.items()}
ELEM.update({
    "div": _division("div"),
    "floordiv": _division("floordiv"),
    "mod": _division("mod"),
    "squared_difference": _squared_difference,
    "select": _select,
    "clip_by_value": _clip,
    "cast": _cast,
})
