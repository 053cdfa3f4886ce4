"""The simplify pass: exact algebraic identities, types kept."""

from __future__ import annotations

import numpy as np
import pytest

from passes_util import check_pass, const, make_func, needs, ops_of, t
from xlc.ir.types import float32, int32
from xlc.passes import run_pipeline

X = t((None, 3))


def _simplified(body, arg_types=(X,), pipeline="simplify,dce"):
    m = check_pass(make_func(list(arg_types), body), pipeline)
    return m, ops_of(m)


@pytest.mark.parametrize("op, c, swap", [
    ("add", -0.0, False), ("add", -0.0, True), ("sub", 0.0, False), ("mul", 1.0, False), ("mul", 1.0, True),
    ("div", 1.0, False), ("pow", 1.0, False),
])
def test_float_identities_vanish(op, c, swap):
    def body(b, x):
        k = const(b, [c, c, c])
        return b.emit(op, k, x) if swap else b.emit(op, x, k)

    m, ops = _simplified(body)
    assert ops == ["return"]
    assert m["f"].outputs[0] is m["f"].args[0]


@pytest.mark.parametrize("op, c", [("add", 0), ("sub", 0), ("mul", 1), ("div", 1)])
def test_integer_identities_vanish(op, c):
    _, ops = _simplified(lambda b, x: b.emit(op, x, const(b, c, "i32")), [t((4,), "i32")])
    assert ops == ["return"]


@pytest.mark.parametrize("op, c", [
    ("add", 0.0),  # -0.0 + 0.0 is +0.0
    ("sub", -0.0),  # -0.0 - (-0.0) is +0.0
    ("mul", 0.0),  # nan * 0 is nan
    ("mul", -1.0),
    ("add", 1.0),
])
def test_inexact_rewrites_are_not_made(op, c):
    _, ops = _simplified(lambda b, x: b.emit(op, x, const(b, c)))
    assert op in ops


def test_signed_zero_rewrite_is_an_option():
    # Not output-preserving by design (-0.0 + 0.0 is +0.0): checked structurally only.
    m = make_func([X], lambda b, x: b.emit("add", x, const(b, 0.0)))
    out = run_pipeline(m, "simplify{signed-zeros=false},dce", verify_each=True)
    assert ops_of(out) == ["return"]
    with pytest.raises(AssertionError):  # and the comparison with -0.0 inputs does notice it
        check_pass(m, "simplify{signed-zeros=false}")


def test_adding_zero_is_kept_when_the_zeros_broadcast_x():
    # x: [3] + zeros [2, 3] is a [2, 3] tensor, not x
    _, ops = _simplified(lambda b, x: b.emit("add", x, const(b, np.full((2, 3), -0.0))), [t((3,))])
    assert "add" in ops


def test_a_mixed_constant_is_not_an_identity():
    _, ops = _simplified(lambda b, x: b.emit("mul", x, const(b, [1.0, 1.0, 2.0])))
    assert "mul" in ops


def test_involutions_and_idempotent_ops():
    def body(b, x, p):
        n = b.emit("neg", b.emit("neg", b.emit("neg", b.emit("neg", x))))
        a = b.emit("abs", b.emit("abs", x))
        nn = b.emit("logical_not", b.emit("logical_not", p))
        return n, a, nn

    m, ops = _simplified(body, [X, t((2,), "bool")])
    assert ops == ["abs", "return"]
    f = m["f"]
    assert f.outputs[0] is f.args[0] and f.outputs[2] is f.args[1]


def test_same_dtype_cast_and_select_and_idempotent_binaries():
    def body(b, x, y, p):
        c = b.emit("cast", x, dtype=float32)
        s1 = b.emit("select", const(b, [True, True, True], "bool"), c, y)
        s2 = b.emit("select", const(b, False, "bool"), x, y)
        s3 = b.emit("select", p, x, x)
        return b.emit("maximum", s1, s1), s2, s3, b.emit("logical_and", p, const(b, True, "bool"))

    m, ops = _simplified(body, [t((3,)), t((3,)), t((3,), "bool")])
    f = m["f"]
    assert ops == ["return"]
    assert [v is a for v, a in zip(f.outputs, (f.args[0], f.args[1], f.args[0], f.args[2]))] == [True] * 4


def test_select_that_broadcasts_is_kept():
    _, ops = _simplified(lambda b, x: b.emit("select", const(b, np.ones((2, 3), bool), "bool"), x, x), [t((3,))])
    assert "select" in ops


def test_int_cast_to_another_dtype_is_kept():
    _, ops = _simplified(lambda b, x: b.emit("cast", x, dtype=int32))
    assert "cast" in ops


@needs("identity")
def test_identity_vanishes():
    _, ops = _simplified(lambda b, x: b.emit("identity", b.emit("identity", x)))
    assert ops == ["return"]


@needs("transpose")
def test_transpose_of_transpose_composes():
    def body(b, x):
        y = b.emit("transpose", x, perm=(1, 2, 0))
        z = b.emit("transpose", y, perm=(0, 2, 1))
        back = b.emit("transpose", b.emit("transpose", x, perm=(2, 0, 1)), perm=(1, 2, 0))
        return z, back, b.emit("transpose", x, perm=(0, 1, 2))

    m, ops = _simplified(body, [t((2, 3, 4))])
    assert ops == ["transpose", "return"]
    f = m["f"]
    assert f.outputs[0].defining_op.attrs["perm"] == (1, 0, 2)  # p1[p2[i]]
    assert f.outputs[1] is f.args[0] and f.outputs[2] is f.args[0]


@needs("reshape")
def test_reshapes():
    def body(b, x, y):
        r = b.emit("reshape", b.emit("reshape", x, shape=(6, 4)), shape=(4, 3, 2))
        same = b.emit("reshape", y, shape=(-1, 3))
        return r, same

    m, ops = _simplified(body, [t((2, 3, 4)), t((None, 3))])
    assert ops == ["reshape", "return"]
    f = m["f"]
    assert f.outputs[0].defining_op.operands[0] is f.args[0] and f.outputs[1] is f.args[1]


@needs("expand_dims", "squeeze", "tile", "broadcast_to")
def test_shape_no_ops():
    def body(b, x):
        s = b.emit("squeeze", b.emit("expand_dims", x, axis=1), axes=(1,))
        tl = b.emit("tile", s, multiples=(1, 1))
        return b.emit("broadcast_to", tl, shape=(2, 3)), b.emit("tile", x, multiples=(2, 1))

    m, ops = _simplified(body, [t((2, 3))])
    assert ops == ["tile", "return"]
    assert m["f"].outputs[0] is m["f"].args[0]


@needs("slice", "pad")
def test_slice_and_pad_that_move_nothing():
    def body(b, x):
        whole = b.emit("slice", x, begin=(0, 0), size=(-1, 3))
        part = b.emit("slice", x, begin=(0, 0), size=(2, 3))  # x's first dim is unknown: not everything
        return b.emit("pad", whole, paddings=(0, 0, 0, 0)), part, b.emit("pad", x, paddings=(0, 1, 0, 0))

    m, ops = _simplified(body, [X])
    assert ops == ["slice", "pad", "return"]
    assert m["f"].outputs[0] is m["f"].args[0]
