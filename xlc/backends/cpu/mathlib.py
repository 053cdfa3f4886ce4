"""Vectorisable float32 exp, log and tanh written as plain LLVM arithmetic.

LLVM lowers ``llvm.exp.f32`` to a call to libm's expf, which stops the loop vectoriser; these
versions (range reduction plus a minimax polynomial, the classic Cephes scheme) are pure
arithmetic, so a fused loop containing them vectorises to AVX-512.  Accuracy is within a few
ulp of libm over the whole range, including subnormal results, infinities and nan.
float64 keeps libm (accuracy first; f64 elementwise work is rarely the bottleneck).
"""

from __future__ import annotations

from llvmlite import ir

from xlc.backends.cpu.llvmtypes import F32, I32

LOG2E = 1.44269504088896341
LN2_HI = 0.693359375
LN2_LO = -2.12194440e-4
EXP_POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)
LOG_POLY = (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
            -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1)
TANH_POLY = (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1)
FAST = ("contract",)


def f(x: float) -> ir.Constant:
    return ir.Constant(F32, x)


def _poly(b: ir.IRBuilder, x: ir.Value, coeffs: tuple[float, ...]) -> ir.Value:
    acc: ir.Value = f(coeffs[0])
    for c in coeffs[1:]:
        acc = b.fadd(b.fmul(acc, x, flags=FAST), f(c), flags=FAST)
    return acc


def _pow2(b: ir.IRBuilder, n: ir.Value) -> ir.Value:
    """2**n for an i32 n in [-126, 127], by building the exponent bits."""
    return b.bitcast(b.shl(b.add(n, ir.Constant(I32, 127)), ir.Constant(I32, 23)), F32)


def _select_lt(b: ir.IRBuilder, x: ir.Value, bound: float) -> ir.Value:
    return b.select(b.fcmp_ordered("<", x, f(bound)), f(bound), x)


def _select_gt(b: ir.IRBuilder, x: ir.Value, bound: float) -> ir.Value:
    return b.select(b.fcmp_ordered(">", x, f(bound)), f(bound), x)


def exp_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    # exp(x) = 2**n * exp(r), n = round(x / ln2), |r| <= ln2/2; 2**n is applied in two halves
    # so that results down to the smallest subnormal and up to overflow come out right.
    xc = _select_gt(b, _select_lt(b, x, -104.0), 89.0)
    n_f = b.call(_intrinsic(b, "llvm.floor.f32"), [b.fadd(b.fmul(xc, f(LOG2E)), f(0.5))])
    r = b.fsub(b.fsub(xc, b.fmul(n_f, f(LN2_HI))), b.fmul(n_f, f(LN2_LO)))
    z = b.fmul(r, r)
    p = b.fadd(b.fadd(b.fmul(_poly(b, r, EXP_POLY), z, flags=FAST), r), f(1.0))
    n = b.fptosi(n_f, I32)
    n1 = b.ashr(n, ir.Constant(I32, 1))
    n2 = b.sub(n, n1)
    y = b.fmul(b.fmul(p, _pow2(b, n1)), _pow2(b, n2))
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


def log_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    # x = m * 2**e with m in [sqrt(1/2), sqrt(2)); log(x) = e*ln2 + log(m), log(m) by polynomial.
    tiny = b.fcmp_ordered("<", x, f(1.1754943508222875e-38))
    xs = b.select(tiny, b.fmul(x, f(8388608.0)), x)  # lift subnormals by 2**23
    bits = b.bitcast(xs, I32)
    e = b.sub(b.lshr(bits, ir.Constant(I32, 23)), ir.Constant(I32, 126))
    e = b.select(tiny, b.sub(e, ir.Constant(I32, 23)), e)
    m = b.bitcast(b.or_(b.and_(bits, ir.Constant(I32, 0x007FFFFF)), ir.Constant(I32, 0x3F000000)), F32)  # [0.5, 1)
    small = b.fcmp_ordered("<", m, f(0.707106781186547524))
    e = b.select(small, b.sub(e, ir.Constant(I32, 1)), e)
    t = b.fsub(b.select(small, b.fadd(m, m), m), f(1.0))
    ef = b.sitofp(e, F32)
    z = b.fmul(t, t)
    y = b.fmul(b.fmul(t, z), _poly(b, t, LOG_POLY))
    y = b.fadd(y, b.fmul(ef, f(LN2_LO)))
    y = b.fsub(y, b.fmul(z, f(0.5)))
    y = b.fadd(b.fadd(t, y), b.fmul(ef, f(LN2_HI)))
    inf = f(float("inf"))
    y = b.select(b.fcmp_ordered("==", x, inf), inf, y)
    y = b.select(b.fcmp_ordered("==", x, f(0.0)), f(float("-inf")), y)
    return b.select(b.fcmp_unordered("ult", x, f(0.0)), f(float("nan")), y)  # negative or nan


def tanh_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    ax = b.call(_intrinsic(b, "llvm.fabs.f32"), [x])
    z = b.fmul(x, x)
    small = b.fadd(x, b.fmul(b.fmul(x, z), _poly(b, z, TANH_POLY)))
    e = exp_f32(b, b.fmul(ax, f(2.0)))
    big = b.fsub(f(1.0), b.fdiv(f(2.0), b.fadd(e, f(1.0))))
    big = b.call(_intrinsic(b, "llvm.copysign.f32", 2), [big, x])
    return b.select(b.fcmp_ordered("<", ax, f(0.625)), small, big)


def sigmoid_f32(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    # 1 / (1 + exp(-x)): exp overflows to inf for x < -88 and the quotient is then 0, as it should be.
    return b.fdiv(f(1.0), b.fadd(f(1.0), exp_f32(b, b.fneg(x))))


def _intrinsic(b: ir.IRBuilder, name: str, nargs: int = 1) -> ir.Function:
    module = b.module
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(F32, [F32] * nargs), name=name)
    return fn
