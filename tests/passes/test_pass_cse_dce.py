"""The cse and dce passes."""

from __future__ import annotations

import numpy as np

from passes_util import check_pass, const, make_func, needs, ops_of, t
from xlc.ir.types import float64, int32


def test_cse_merges_equal_ops_and_commutative_operands():
    def body(b, x, y):
        a1 = b.emit("add", x, y)
        a2 = b.emit("add", y, x)  # commutative: the same value
        s1 = b.emit("sub", x, y)
        s2 = b.emit("sub", y, x)  # not commutative: different
        return b.emit("mul", a1, a2), b.emit("mul", s1, s2)

    m = check_pass(make_func([t((None, 3)), t((3,))], body), "cse,dce")
    assert ops_of(m) == ["add", "sub", "sub", "mul", "mul", "return"]


def test_cse_merges_equal_constants_only():
    def body(b, x):
        c1, c2, c3 = const(b, [1.0, 2.0]), const(b, [1.0, 2.0]), const(b, [1.0, -2.0])
        z1, z2 = const(b, 0.0), const(b, -0.0)  # +0.0 and -0.0 differ
        y = b.emit("mul", b.emit("add", x, c1), b.emit("add", x, c2))
        return b.emit("add", b.emit("add", y, c3), b.emit("sub", z1, z2))

    m = check_pass(make_func([t((2,))], body), "cse,dce")
    assert ops_of(m).count("constant") == 4
    assert ops_of(m).count("add") == 3


def test_cse_keeps_ops_with_different_attributes():
    def body(b, x):
        return b.emit("mul", b.emit("cast", x, dtype=float64), b.emit("cast", b.emit("cast", x, dtype=int32),
                                                                       dtype=float64))

    m = check_pass(make_func([t((4,))], body), "cse")
    assert ops_of(m).count("cast") == 3


@needs("random_uniform")
def test_cse_merges_random_ops_only_with_equal_seeds():
    def body(b):
        r1 = b.emit("random_uniform", shape=(3,), seed=1, seed2=2)
        r2 = b.emit("random_uniform", shape=(3,), seed=1, seed2=2)
        r3 = b.emit("random_uniform", shape=(3,), seed=1, seed2=3)
        return b.emit("add", r1, r2), r3

    m = check_pass(make_func([], body), "cse,dce")
    assert ops_of(m).count("random_uniform") == 2


def test_dce_drops_unused_ops_and_keeps_args():
    def body(b, x, unused):
        dead = b.emit("exp", x)
        b.emit("add", dead, dead)
        c = const(b, 2.0)
        return b.emit("mul", x, c)

    m = check_pass(make_func([t((3,)), t((2,))], body), "dce")
    assert ops_of(m) == ["constant", "mul", "return"]
    assert len(m["f"].args) == 2


def test_dce_keeps_everything_used():
    def body(b, x):
        y = b.emit("exp", x)
        return b.emit("add", y, y), y

    m = check_pass(make_func([t((3,))], body), "dce")
    assert ops_of(m) == ["exp", "add", "return"]


def test_default_pipeline_on_a_redundant_program():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3,)).astype(np.float32)

    def body(b, x):
        k = b.emit("mul", const(b, w), const(b, 2.0))  # folds
        u = b.emit("mul", b.emit("add", x, k), const(b, 1.0))  # *1 goes
        v = b.emit("add", x, k)  # same as inside u
        return b.emit("sub", u, b.emit("neg", b.emit("neg", v)))

    m = check_pass(make_func([t((None, 3))], body), "default")
    assert ops_of(m) == ["constant", "add", "sub", "return"]
