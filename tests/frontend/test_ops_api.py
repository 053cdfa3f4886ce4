"""The TF1 op functions: each builds the right IR op, attributes, static shape and dtype,
and computes what numpy computes (evaluated through the ops' numpy references)."""

from __future__ import annotations

import numpy as np
import pytest

import xlc
from xlc.frontend import array_ops as A
from xlc.frontend import math_ops as M
from xlc.frontend import nn_ops as NN
from xlc.frontend import random_ops as R
from xlc.frontend.graph import set_random_seed
from xlc.frontend.op_builder import constant, placeholder
from xlc.errors import UnimplementedError
from xlc.ir import types as dt
from xlc.ir.opdef import get_opdef

RNG = np.random.default_rng(1234)


def run(fetch, feeds=None):
    """Evaluate tensors through the op references (placeholders from ``feeds``)."""
    feeds = feeds or {}
    memo: dict[int, list[np.ndarray]] = {}

    def ev(t):
        if t in feeds:
            return np.asarray(feeds[t], t.dtype.np_dtype)
        op = t.op
        if id(op) not in memo:
            assert op.ir_op is not None, f"{op.name} ({op.type}) needs a feed"
            d = get_opdef(op.ir_op)
            attrs = d.complete_attrs({k: v for k, v in op.attrs.items() if k in d.attrs})
            memo[id(op)] = d.evaluate([ev(i) for i in op.inputs], attrs)
        return memo[id(op)][t.value_index]

    return [ev(t) for t in fetch] if isinstance(fetch, list) else ev(fetch)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# --- elementwise ---------------------------------------------------------------------

UNARY = [
    (M.negative, "Neg", "neg", np.negative), (M.abs, "Abs", "abs", np.abs), (M.exp, "Exp", "exp", np.exp),
    (M.square, "Square", "square", np.square), (M.tanh, "Tanh", "tanh", np.tanh), (M.sin, "Sin", "sin", np.sin),
    (M.floor, "Floor", "floor", np.floor), (M.sign, "Sign", "sign", np.sign),
    (M.sigmoid, "Sigmoid", "sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    (M.log1p, "Log1p", "log1p", lambda x: np.log1p(np.abs(x))),  # fed |x| below
]


@pytest.mark.parametrize("fn,op_type,ir_op,ref", UNARY, ids=[u[2] for u in UNARY])
def test_unary(fn, op_type, ir_op, ref):
    x = placeholder(dt.float32, [None, 5], name="x")
    y = fn(M.abs(x) if ir_op == "log1p" else x)
    assert (y.op.type, y.op.ir_op, y.op.name) == (op_type, ir_op, op_type)
    assert y.shape.as_list() == [None, 5] and y.dtype is dt.float32
    v = rand(3, 5)
    np.testing.assert_allclose(run(y, {x: v}), ref(v), rtol=1e-5, atol=1e-6)


BINARY = [
    (M.add, "Add", "add", np.add), (M.subtract, "Sub", "sub", np.subtract), (M.sub, "Sub", "sub", np.subtract),
    (M.multiply, "Mul", "mul", np.multiply), (M.mul, "Mul", "mul", np.multiply),
    (M.maximum, "Maximum", "maximum", np.maximum), (M.minimum, "Minimum", "minimum", np.minimum),
    (M.squared_difference, "SquaredDifference", "squared_difference", lambda a, b: (a - b) ** 2),
    (M.floordiv, "FloorDiv", "floordiv", np.floor_divide), (M.floor_div, "FloorDiv", "floordiv", np.floor_divide),
    (M.mod, "FloorMod", "mod", np.mod), (M.floormod, "FloorMod", "mod", np.mod),
    (M.div, "Div", "div", np.divide), (M.less, "Less", "less", np.less),
    (M.greater_equal, "GreaterEqual", "greater_equal", np.greater_equal),
    (M.not_equal, "NotEqual", "not_equal", np.not_equal),
]


@pytest.mark.parametrize("fn,op_type,ir_op,ref", BINARY, ids=[b[0].__name__ for b in BINARY])
def test_binary_broadcasts(fn, op_type, ir_op, ref):
    a, b = rand(4, 1), rand(3) + 3.0
    y = fn(constant(a), constant(b))
    assert (y.op.type, y.op.ir_op) == (op_type, ir_op)
    assert y.shape.as_list() == [4, 3]
    np.testing.assert_allclose(run(y), ref(a, b), rtol=1e-5, atol=1e-6)


def test_python_numbers_take_the_tensors_dtype():
    x = constant(rand(2, 2).astype(np.float64))
    y = M.multiply(x, 2)
    assert y.dtype is dt.float64 and y.op.inputs[1].dtype is dt.float64
    i = constant(np.array([7, -7], np.int32))
    z = M.add(3, i)
    assert z.dtype is dt.int32 and z.op.inputs[0].dtype is dt.int32
    np.testing.assert_array_equal(run(z), [10, -4])
    with pytest.raises(TypeError):
        M.add(i, 2.5)  # TF: a float does not fit int32


def test_mismatched_tensor_dtypes_raise_type_error_naming_both():
    with pytest.raises(TypeError, match="int32.*float32"):
        M.add(constant(np.ones(2, np.float32)), constant(np.ones(2, np.int32)))


def test_tf1_div_floors_integers_and_truediv_casts():
    a, b = np.array([7, -7, 5], np.int32), np.array([2, 2, -3], np.int32)
    assert list(run(M.div(a, b))) == list(np.floor_divide(a, b))
    t = M.truediv(constant(a), constant(b))
    assert t.dtype is dt.float64 and t.op.type == "RealDiv" and t.op.name == "truediv"
    np.testing.assert_allclose(run(t), a / b)
    small = M.truediv(constant(np.array([3], np.uint8)), constant(np.array([2], np.uint8)))
    assert small.dtype is dt.float32
    assert M.divide(constant(a), constant(b)).dtype is dt.float64
    with pytest.raises(TypeError):
        M.truediv(constant([True]), constant([False]))


def test_logical_ops():
    a, b = RNG.random(6) > 0.5, RNG.random(6) > 0.5
    ta, tb = constant(a), constant(b)
    np.testing.assert_array_equal(run(M.logical_and(ta, tb)), a & b)
    np.testing.assert_array_equal(run(M.logical_or(ta, tb)), a | b)
    np.testing.assert_array_equal(run(M.logical_xor(ta, tb)), a ^ b)
    np.testing.assert_array_equal(run(M.logical_not(ta)), ~a)


def test_where_cast_clip():
    c, x, y = RNG.random((3, 4)) > 0.5, rand(3, 4), rand(4)
    w = M.where(constant(c), constant(x), constant(y))
    assert w.op.type == "Select" and w.shape.as_list() == [3, 4]
    np.testing.assert_array_equal(run(w), np.where(c, x, y))
    with pytest.raises(UnimplementedError, match="one argument"):
        M.where(constant(c))
    f = constant(np.array([1.7, -1.7, 2.5], np.float32))
    i = M.cast(f, dt.int32)
    assert (i.op.type, i.op.attrs["dtype"], i.dtype) == ("Cast", dt.int32, dt.int32)
    np.testing.assert_array_equal(run(i), [1, -1, 2])
    assert M.cast(f, "float32") is f
    assert M.to_int64(f).dtype is dt.int64 and M.to_double(f).dtype is dt.float64
    assert M.to_float(i).op.name == "ToFloat"
    v = rand(5) * 3
    np.testing.assert_allclose(run(M.clip_by_value(constant(v), -1, 1.5)), np.clip(v, -1, 1.5))


# --- reductions ----------------------------------------------------------------------

@pytest.mark.parametrize("fn,op_type,ref", [
    (M.reduce_sum, "Sum", np.sum), (M.reduce_mean, "Mean", np.mean), (M.reduce_max, "Max", np.max),
    (M.reduce_min, "Min", np.min), (M.reduce_prod, "Prod", np.prod)])
def test_reductions(fn, op_type, ref):
    v = rand(2, 3, 4)
    x = constant(v)
    s = fn(x, axis=[-1, 0])
    assert s.op.type == op_type and s.op.attrs == {"axes": (0, 2), "keepdims": False} and s.shape.as_list() == [3]
    np.testing.assert_allclose(run(s), ref(v, axis=(0, 2)), rtol=1e-5)
    k = fn(x, reduction_indices=1, keep_dims=True)
    assert k.shape.as_list() == [2, 1, 4] and k.op.attrs["axes"] == (1,)
    np.testing.assert_allclose(run(k), ref(v, axis=1, keepdims=True), rtol=1e-5)
    allx = fn(x)
    assert allx.op.attrs["axes"] == (0, 1, 2) and allx.shape.as_list() == []
    with pytest.raises(ValueError, match="both"):
        fn(x, axis=0, reduction_indices=0)
    with pytest.raises(ValueError, match="out of range"):
        fn(x, axis=3)


def test_reduce_any_all_and_axis_tensor():
    b = RNG.random((3, 4)) > 0.3
    assert list(run(M.reduce_any(b, axis=1))) == list(b.any(axis=1))
    all0 = M.reduce_all(b, axis=constant(-2))  # an axis given as a constant tensor
    assert all0.op.attrs["axes"] == (0,)
    assert list(run(all0)) == list(b.all(axis=0))


def test_reduction_of_unknown_rank_needs_nonnegative_axes():
    x = placeholder(dt.float32, None, name="free")
    with pytest.raises(ValueError, match="rank"):
        M.reduce_sum(x)
    with pytest.raises(ValueError, match="negative"):
        M.reduce_sum(x, axis=-1)


def test_argmax_argmin_count_nonzero():
    v = rand(3, 5)
    am = M.argmax(constant(v), axis=-1)
    assert am.op.type == "ArgMax" and am.op.attrs == {"axis": 1, "output_type": dt.int64} and am.dtype is dt.int64
    np.testing.assert_array_equal(run(am), v.argmax(-1))
    np.testing.assert_array_equal(run(M.argmin(constant(v))), v.argmin(0))  # axis defaults to 0
    assert M.argmin(v, dimension=1, output_type=dt.int32).dtype is dt.int32
    w = np.where(v > 0.3, v, 0).astype(np.float32)
    c = M.count_nonzero(constant(w), axis=1)
    assert c.dtype is dt.int64
    np.testing.assert_array_equal(run(c), np.count_nonzero(w, axis=1))


def test_matmul_and_add_n():
    a, b = rand(3, 4), rand(5, 4)
    m = M.matmul(a, b, transpose_b=True)
    assert m.op.type == "MatMul" and m.op.attrs == {"transpose_a": False, "transpose_b": True}
    assert m.shape.as_list() == [3, 5]
    np.testing.assert_allclose(run(m), a @ b.T, rtol=1e-5)
    bm = M.matmul(rand(2, 4, 3), rand(2, 4, 3), adjoint_a=True)
    assert bm.op.type == "BatchMatMulV2" and bm.shape.as_list() == [2, 3, 3]
    with pytest.raises(ValueError):
        M.matmul(a, b, transpose_a=True, adjoint_a=True)
    xs = [rand(2, 3) for _ in range(4)]
    s = M.add_n([constant(x) for x in xs])
    assert s.shape.as_list() == [2, 3]
    np.testing.assert_allclose(run(s), sum(xs), rtol=1e-5)


# --- nn ------------------------------------------------------------------------------

def test_nn_activations():
    v = (rand(50) * 40).astype(np.float32)
    x = constant(v)
    np.testing.assert_allclose(run(NN.relu(x)), np.maximum(v, 0))
    assert NN.relu(x).op.type == "Relu"
    np.testing.assert_allclose(run(NN.relu6(x)), np.clip(v, 0, 6))
    sp = run(NN.softplus(x))
    assert np.all(np.isfinite(sp))
    np.testing.assert_allclose(sp, np.logaddexp(0, v.astype(np.float64)), rtol=1e-5, atol=1e-6)
    assert NN.sigmoid is M.sigmoid and NN.tanh is M.tanh


# --- random --------------------------------------------------------------------------

def test_random_ops_record_attributes_and_seeds():
    set_random_seed(7)
    n = R.random_normal([2, 3], mean=1.0, stddev=2, seed=5)
    assert n.op.type == "RandomStandardNormal" and n.shape.as_list() == [2, 3]
    assert (n.op.attrs["seed"], n.op.attrs["seed2"], n.op.attrs["mean"], n.op.attrs["stddev"]) == (7, 5, 1.0, 2.0)
    t = R.truncated_normal(constant(np.array([4], np.int32)), dtype=dt.float64)
    assert t.op.type == "TruncatedNormal" and t.dtype is dt.float64 and t.shape.as_list() == [4]
    u = R.random_uniform([3], minval=-1, maxval=2)
    assert u.op.attrs["minval"] == -1.0 and u.op.attrs["maxval"] == 2.0
    assert R.random_uniform([3]).op.attrs["maxval"] == 1.0
    ui = R.random_uniform([3], maxval=10, dtype=dt.int32)
    assert ui.op.type == "RandomUniformInt" and ui.op.attrs["maxval"] == 10 and ui.dtype is dt.int32
    with pytest.raises(ValueError, match="maxval"):
        R.random_uniform([3], dtype=dt.int64)
    s = R.random_shuffle(constant(rand(5, 2)), seed=1)
    assert s.op.type == "RandomShuffle" and s.shape.as_list() == [5, 2]
    # the references honour the recorded attributes
    vals = run(R.random_uniform([1000], minval=2, maxval=3, seed=3))
    assert vals.min() >= 2 and vals.max() < 3 and vals.std() > 0.2


def test_unseeded_random_ops_differ():
    a, b = R.random_normal([8]), R.random_normal([8])
    assert (a.op.attrs["seed"], a.op.attrs["seed2"]) != (b.op.attrs["seed"], b.op.attrs["seed2"])


# --- the public namespace ------------------------------------------------------------

def test_tf1_names_and_aliases_are_exported():
    for mod in (M, A, R):
        assert [n for n in mod.__all__ if not hasattr(xlc, n)] == []
    assert [n for n in NN.__all__ if not hasattr(xlc.nn, n)] == []
    assert (M.sub, M.mul, M.neg, M.floor_div, M.mod) == (M.subtract, M.multiply, M.negative, M.floordiv, M.floormod)
    assert (A.pack, A.unpack, A.linspace) == (A.stack, A.unstack, A.lin_space)


def test_count_nonzero_on_bools_and_dtype():
    b = RNG.random((4, 3)) > 0.5
    c = M.count_nonzero(constant(b), axis=0, dtype=dt.int32)
    assert c.dtype is dt.int32
    np.testing.assert_array_equal(run(c), b.sum(axis=0))


def test_add_n_rejects_mixed_dtypes_and_single_input_is_itself():
    x = constant(rand(2))
    assert M.add_n([x]) is x
    with pytest.raises(TypeError, match="one dtype"):
        M.add_n([x, constant(np.ones(2, np.float64))])
