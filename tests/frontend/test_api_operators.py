"""Tensor's Python operators: op names and types as TF1 gives them, operand order, dtypes,
and ``Tensor[...]`` against numpy indexing on random data."""

from __future__ import annotations

import numpy as np
import pytest

import xlc
from xlc.frontend import array_ops as A  # noqa: F401  (installs __getitem__)
from xlc.frontend import math_ops as M  # noqa: F401  (installs the operators)
from xlc.frontend.op_builder import constant, placeholder
from xlc.ir import types as dt

from tests.frontend.test_ops_api import rand, run


ARITH = [
    (lambda a, b: a + b, "Add", "add", np.add),
    (lambda a, b: a - b, "Sub", "sub", np.subtract),
    (lambda a, b: a * b, "Mul", "mul", np.multiply),
    (lambda a, b: a / b, "RealDiv", "truediv", np.true_divide),
    (lambda a, b: a // b, "FloorDiv", "floordiv", np.floor_divide),
    (lambda a, b: a % b, "FloorMod", "mod", np.mod),
    (lambda a, b: a ** b, "Pow", "pow", np.power),
    (lambda a, b: a < b, "Less", "Less", np.less),
    (lambda a, b: a <= b, "LessEqual", "LessEqual", np.less_equal),
    (lambda a, b: a > b, "Greater", "Greater", np.greater),
    (lambda a, b: a >= b, "GreaterEqual", "GreaterEqual", np.greater_equal),
]


@pytest.mark.parametrize("fn,op_type,op_name,ref", ARITH, ids=[a[2] for a in ARITH])
def test_binary_operators(fn, op_type, op_name, ref):
    a, b = np.abs(rand(3, 4)) + 0.5, np.abs(rand(4)) + 0.5
    ta, tb = constant(a), constant(b)
    y = fn(ta, tb)
    assert (y.op.type, y.op.name) == (op_type, op_name)
    assert y.shape.as_list() == [3, 4]
    np.testing.assert_allclose(run(y), ref(a, b), rtol=1e-5)
    # a Python number on the left goes through the reflected method, keeping operand order
    r = fn(2.0, ta) if op_name not in ("Less", "LessEqual", "Greater", "GreaterEqual") else fn(ta, 2.0)
    want = ref(np.float32(2.0), a) if op_name not in ("Less", "LessEqual", "Greater", "GreaterEqual") else ref(a, 2.0)
    assert r.dtype is (dt.bool_ if y.dtype is dt.bool_ else dt.float32)
    np.testing.assert_allclose(run(r), want, rtol=1e-5)


def test_numpy_array_on_the_left_defers_to_the_tensor():
    a, b = rand(2, 3), rand(2, 3)
    y = a - constant(b)
    assert y.op.type == "Sub"
    np.testing.assert_allclose(run(y), a - b, rtol=1e-6)


def test_op_names_are_uniquified_like_tf():
    x = constant(rand(2))
    assert [(x + 1).op.name, (x + 1).op.name] == ["add", "add_1"]


def test_unary_and_logical_operators():
    v = rand(5)
    x = constant(v)
    assert (-x).op.type == "Neg" and abs(x).op.type == "Abs"
    np.testing.assert_allclose(run(-x), -v)
    np.testing.assert_allclose(run(abs(x)), np.abs(v))
    p, q = rand(6) > 0, rand(6) > 0
    tp, tq = constant(p), constant(q)
    assert (tp & tq).op.name == "and" and (tp | tq).op.name == "or" and (tp ^ tq).op.name == "xor"
    np.testing.assert_array_equal(run(tp & tq), p & q)
    np.testing.assert_array_equal(run(tp | tq), p | q)
    np.testing.assert_array_equal(run(tp ^ tq), p ^ q)
    np.testing.assert_array_equal(run(~tp), ~p)
    np.testing.assert_array_equal(run(True & tp), p)


def test_matmul_operator_and_integer_truediv():
    a, b = rand(3, 4), rand(4, 2)
    m = constant(a) @ constant(b)
    assert m.op.type == "MatMul" and m.shape.as_list() == [3, 2]
    np.testing.assert_allclose(run(m), a @ b, rtol=1e-5)
    np.testing.assert_allclose(run(b.T @ constant(a.T)), b.T @ a.T, rtol=1e-5)
    i = constant(np.array([7, -7], np.int32))
    q = i / 2
    assert q.dtype is dt.float64
    np.testing.assert_allclose(run(q), [3.5, -3.5])
    np.testing.assert_array_equal(run(i // 2), [3, -4])
    np.testing.assert_array_equal(run(i % 3), [1, 2])


def test_tensors_compare_by_identity_and_mixed_dtypes_fail():
    x = constant(rand(2))
    assert (x == x) is True and (x == constant(rand(2))) is False
    assert len({x, x}) == 1
    with pytest.raises(TypeError, match="int32"):
        x + constant(np.ones(2, np.int32))


# --- indexing ------------------------------------------------------------------------

INDEXES = [
    np.s_[1], np.s_[-1], np.s_[1:3], np.s_[::-1], np.s_[::2], np.s_[-2:], np.s_[:, 1], np.s_[:, -1],
    np.s_[1, 2], np.s_[1, 2, 3], np.s_[..., 1], np.s_[..., -1, :], np.s_[None], np.s_[:, None, 1:],
    np.s_[1:, None, ::-1], np.s_[None, ..., None], np.s_[5:1:-2, :, ::3], np.s_[-1:-4:-1, 0],
    np.s_[10:], np.s_[:-10], np.s_[:, 1:2, -100:100], np.s_[0, ..., 1:-1], np.s_[..., None, 0],
    np.s_[np.int64(1), 1:], np.s_[::-3, ::-2, ::-1],
]


@pytest.mark.parametrize("index", INDEXES, ids=[str(i) for i in INDEXES])
def test_getitem_matches_numpy(index):
    v = rand(4, 3, 5)
    y = constant(v)[index]
    want = v[index]
    assert y.op.type == "StridedSlice" and y.op.name == "strided_slice"
    assert y.shape.as_list() == list(want.shape)
    got = run(y)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_getitem_with_unknown_dims_and_scalar_tensor_indices():
    x = placeholder(dt.float32, [None, 5], name="x")
    v = rand(3, 5)
    y = x[:, constant(np.int32(2)):]
    assert y.shape.as_list() == [None, 3]
    np.testing.assert_array_equal(run(y, {x: v}), v[:, 2:])
    last = x[-1]
    assert last.shape.as_list() == [5]
    np.testing.assert_array_equal(run(last, {x: v}), v[-1])


def test_scalar_index_of_a_vector_is_a_scalar():
    v = rand(6)
    y = constant(v)[-2]
    assert y.shape.as_list() == []
    got = run(y)
    assert np.shape(got) == () and got == v[-2]


def test_bad_indices_say_what_is_allowed():
    x = constant(rand(3, 4))
    with pytest.raises(TypeError, match="valid indices"):
        x[[0, 1]]
    with pytest.raises(TypeError, match="valid indices"):
        x[1.5]
    with pytest.raises(ValueError, match="step"):
        x[::0]
    with pytest.raises(ValueError, match="single ellipsis"):
        x[..., 1, ...]
    i = placeholder(dt.int32, [], name="i")
    with pytest.raises(ValueError, match="'i:0'.*run time"):
        x[i]
    with pytest.raises(ValueError, match="out of bounds"):
        x[3]


def test_operators_compile_and_run_in_a_session():
    x = placeholder(dt.float32, [None, 4], name="x")
    y = (x[:, ::-1] * 2.0 - 1.0) / (abs(x) + 1.0)
    v = rand(3, 4)
    with xlc.Session() as s:
        got = s.run(y, {x: v})
    np.testing.assert_allclose(got, (v[:, ::-1] * 2 - 1) / (np.abs(v) + 1), rtol=1e-5)
