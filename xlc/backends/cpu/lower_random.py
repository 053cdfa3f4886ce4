"""Random ops in generated code: Philox4x32-10 per element, bit for bit as xlc.ops.philox.

Element i of the output computes its own counter ``(i mod 2^32, i >> 32, draw, 0)``, so the
loop has no carried state: it vectorises and parallelises like any elementwise loop.
"""

from __future__ import annotations

import math

from llvmlite import ir

from xlc.backends.cpu.emitter import ElemLowering, Emitter, KernelLowering, i64
from xlc.backends.cpu.llvmtypes import F64, I32, I64
from xlc.backends.cpu.lower_elementwise import convert
from xlc.ir.core import Op
from xlc.ir.types import as_dtype, float64, int64
from xlc.ops import philox

_MASK32 = 0xFFFFFFFF


def _c32(x: int) -> ir.Constant:
    return ir.Constant(I32, x & _MASK32)


def philox_words(em: Emitter, counter: list[ir.Value], seed: int, seed2: int) -> list[ir.Value]:
    """Ten Philox rounds on four i32 counter words with the key from (seed, seed2)."""
    b = em.b
    c0, c1, c2, c3 = counter
    k0, k1 = int(seed) % 2**32, int(seed2) % 2**32
    m0, m1 = ir.Constant(I64, philox.M0), ir.Constant(I64, philox.M1)
    for _ in range(philox.ROUNDS):
        p1 = b.mul(b.zext(c2, I64), m1)
        p0 = b.mul(b.zext(c0, I64), m0)
        c0, c1, c2, c3 = (
            b.xor(b.xor(b.trunc(b.lshr(p1, i64(32)), I32), c1), _c32(k0)),
            b.trunc(p1, I32),
            b.xor(b.xor(b.trunc(b.lshr(p0, i64(32)), I32), c3), _c32(k1)),
            b.trunc(p0, I32),
        )
        k0 = (k0 + philox.W0) & _MASK32
        k1 = (k1 + philox.W1) & _MASK32
    return [c0, c1, c2, c3]


def _counter(em: Emitter, i: ir.Value, draw: ir.Value | int = 0, word3: int = 0) -> list[ir.Value]:
    b = em.b
    d = draw if isinstance(draw, ir.Value) else _c32(draw)
    return [b.trunc(i, I32), b.trunc(b.lshr(i, i64(32)), I32), d, _c32(word3)]


def _join(em: Emitter, hi: ir.Value, lo: ir.Value) -> ir.Value:
    b = em.b
    return b.or_(b.shl(b.zext(hi, I64), i64(32)), b.zext(lo, I64))


def _unit(em: Emitter, hi: ir.Value, lo: ir.Value, plus_one: bool = False) -> ir.Value:
    b = em.b
    x = b.uitofp(b.lshr(_join(em, hi, lo), i64(11)), F64)
    if plus_one:
        x = b.fadd(x, ir.Constant(F64, 1.0))
    return b.fmul(x, ir.Constant(F64, 2.0**-53))


def _normal_z(em: Emitter, w: list[ir.Value]) -> ir.Value:
    b = em.b
    u1 = _unit(em, w[0], w[1], plus_one=True)
    u2 = _unit(em, w[2], w[3])
    r = em.call("llvm.sqrt.f64", F64, [b.fmul(ir.Constant(F64, -2.0), em.call("log", F64, [u1]))])
    return b.fmul(r, em.call("cos", F64, [b.fmul(ir.Constant(F64, 2.0 * math.pi), u2)]))


def _uniform(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    out = op.results[0]
    a = op.attrs
    b = em.b
    w = philox_words(em, _counter(em, em.linear_index(out, idx)), a["seed"], a["seed2"])
    dt = as_dtype(a["dtype"])
    if dt.is_integer:
        lo, hi = int(a["minval"]), int(a["maxval"])
        span = ir.Constant(I64, (hi - lo) % 2**64)
        x = b.add(ir.Constant(I64, lo % 2**64), b.urem(_join(em, w[0], w[1]), span))
        return convert(em, int64, dt, x)
    lo, hi = float(a["minval"]), float(a["maxval"])
    x = b.fadd(ir.Constant(F64, lo), b.fmul(_unit(em, w[0], w[1]), ir.Constant(F64, hi - lo)))
    return convert(em, float64, dt, x)


def _normal(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    a = op.attrs
    w = philox_words(em, _counter(em, em.linear_index(op.results[0], idx)), a["seed"], a["seed2"])
    return _scale(em, op, _normal_z(em, w))


def _scale(em: Emitter, op: Op, z: ir.Value) -> ir.Value:
    b = em.b
    x = b.fadd(ir.Constant(F64, float(op.attrs["mean"])), b.fmul(ir.Constant(F64, float(op.attrs["stddev"])), z))
    return convert(em, float64, as_dtype(op.attrs["dtype"]), x)


def _truncated(em: Emitter, op: Op, r: int, idx: list[ir.Value]) -> ir.Value:
    """Redraw (counter word 2 = draw) until |z| < 2; the last allowed draw is clamped."""
    a = op.attrs
    b = em.b
    i = em.linear_index(op.results[0], idx)
    z_var = em.alloca(F64, "tn.z")
    draw_var = em.alloca(I32, "tn.draw")
    b.store(_c32(0), draw_var)
    cond = em.fn.append_basic_block("tn.draw")
    done = em.fn.append_basic_block("tn.done")
    b.branch(cond)
    b.position_at_end(cond)
    draw = b.load(draw_var)
    z = _normal_z(em, philox_words(em, _counter(em, i, draw), a["seed"], a["seed2"]))
    b.store(z, z_var)
    b.store(b.add(draw, _c32(1)), draw_var)
    inside = b.fcmp_ordered("<", em.call("llvm.fabs.f64", F64, [z]), ir.Constant(F64, philox.TRUNCATION_BOUND))
    last = b.icmp_unsigned(">=", draw, _c32(philox.MAX_TRUNCATED_DRAWS - 1))
    b.cbranch(b.or_(inside, last), done, cond)
    b.position_at_end(done)
    bound = ir.Constant(F64, philox.TRUNCATION_BOUND)
    z = b.load(z_var)
    z = em.call("llvm.minimum.f64", F64, [em.call("llvm.maximum.f64", F64, [z, b.fneg(bound)]), bound])
    return _scale(em, op, z)


def _shuffle_kernel(em: Emitter, op: Op) -> None:
    """Fisher-Yates on a permutation array (malloc'd), then gather the rows in that order."""
    x, out = op.operands[0], op.results[0]
    b = em.b
    n = em.dim(x, 0)
    malloc = em.module.globals.get("malloc") or ir.Function(em.module, ir.FunctionType(
        ir.IntType(8).as_pointer(), [I64]), name="malloc")
    free = em.module.globals.get("free") or ir.Function(em.module, ir.FunctionType(
        ir.VoidType(), [ir.IntType(8).as_pointer()]), name="free")
    raw = b.call(malloc, [b.mul(b.add(n, i64(1)), i64(8))])
    perm = b.bitcast(raw, I64.as_pointer())
    em.loop(n, lambda k: b.store(k, b.gep(perm, [k])))

    def step(t: ir.Value) -> None:  # k = n-1 - t, for k from n-1 down to 1
        k = b.sub(b.sub(n, i64(1)), t)
        w = philox_words(em, _counter(em, k, 0, 1), op.attrs["seed"], op.attrs["seed2"])
        j = b.urem(_join(em, w[0], w[1]), b.add(k, i64(1)))
        pk, pj = b.gep(perm, [k]), b.gep(perm, [j])
        vk, vj = b.load(pk), b.load(pj)
        b.store(vj, pk)
        b.store(vk, pj)

    em.loop(b.sub(n, i64(1)), step)

    def copy(idx: list[ir.Value]) -> None:
        src = [b.load(b.gep(perm, [idx[0]]))] + idx[1:]
        em.store(out, idx, em.value_at(x, src))

    em.loop_nest(em.dims(out), copy, parallel=True)
    b.call(free, [raw])


ELEM: dict[str, ElemLowering] = {
    "random_uniform": _uniform,
    "random_normal": _normal,
    "truncated_normal": _truncated,
}
KERNELS: dict[str, KernelLowering] = {"random_shuffle": _shuffle_kernel}
