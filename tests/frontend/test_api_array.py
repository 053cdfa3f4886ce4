"""The TF1 array functions: IR ops, normalised attributes, static shapes, and numpy agreement."""

from __future__ import annotations

import numpy as np
import pytest

from xlc.frontend import array_ops as A
from xlc.frontend import math_ops as M
from xlc.frontend.op_builder import constant, placeholder
from xlc.frontend.tensor_util import constant_value
from xlc.ir import types as dt

from tests.frontend.test_ops_api import rand, run, RNG  # noqa: F401  (shared helpers)


def test_reshape_accepts_lists_and_static_shape_tensors():
    v = rand(2, 3, 4)
    r = A.reshape(constant(v), [-1, 4])
    assert r.op.type == "Reshape" and r.op.attrs["shape"] == (-1, 4) and r.shape.as_list() == [6, 4]
    np.testing.assert_array_equal(run(r), v.reshape(-1, 4))
    y = placeholder(dt.float32, [4, 6], name="y")
    r2 = A.reshape(constant(v), A.shape(y))
    assert r2.op.attrs["shape"] == (4, 6)
    r3 = A.reshape(constant(v), [A.shape(y)[1], -1])  # a list mixing tensors and ints
    assert r3.op.attrs["shape"] == (6, -1)
    np.testing.assert_array_equal(run(r3), v.reshape(6, -1))
    assert A.reshape(constant(v), y.shape).op.attrs["shape"] == (4, 6)


def test_reshape_to_a_run_time_shape_says_why():
    z = placeholder(dt.float32, [None, 6], name="batch_input")
    with pytest.raises(ValueError, match="run time.*batch_input"):
        A.reshape(constant(rand(2, 3)), A.shape(z))
    with pytest.raises(ValueError, match="more than one -1"):
        A.reshape(constant(rand(2, 3)), [-1, -1])


def test_transpose_expand_squeeze():
    v = rand(2, 3, 4)
    x = constant(v)
    t = A.transpose(x)
    assert t.op.type == "Transpose" and t.op.attrs["perm"] == (2, 1, 0) and t.shape.as_list() == [4, 3, 2]
    np.testing.assert_array_equal(run(A.transpose(x, [1, -1, 0])), v.transpose(1, 2, 0))
    with pytest.raises(ValueError, match="permutation"):
        A.transpose(x, [0, 0, 1])
    e = A.expand_dims(x, -1)
    assert e.op.attrs["axis"] == 3 and e.shape.as_list() == [2, 3, 4, 1]
    assert A.expand_dims(x, dim=0).shape.as_list() == [1, 2, 3, 4]
    s = A.squeeze(constant(rand(1, 3, 1)), axis=[-1])
    assert s.op.attrs["axes"] == (2,) and s.shape.as_list() == [1, 3]
    assert A.squeeze(constant(rand(1, 3, 1))).shape.as_list() == [3]
    assert A.squeeze(constant(rand(1, 3, 1)), squeeze_dims=[0]).shape.as_list() == [3, 1]
    with pytest.raises(ValueError, match="squeeze"):
        A.squeeze(x, axis=1)


def test_concat_stack_unstack_split():
    a, b = rand(2, 3), rand(2, 5)
    c = A.concat([constant(a), constant(b)], -1)
    assert c.op.type == "ConcatV2" and c.op.attrs["axis"] == 1 and c.shape.as_list() == [2, 8]
    np.testing.assert_array_equal(run(c), np.concatenate([a, b], -1))
    p, q = rand(2, 3), rand(2, 3)
    s = A.stack([constant(p), q], axis=-1)
    assert s.op.type == "Pack" and s.op.attrs["axis"] == 2 and s.shape.as_list() == [2, 3, 2]
    np.testing.assert_array_equal(run(s), np.stack([p, q], -1))
    assert A.pack is A.stack and A.unpack is A.unstack
    parts = A.unstack(constant(p), axis=1)
    assert len(parts) == 3 and parts[0].shape.as_list() == [2] and parts[0].op.type == "Unpack"
    np.testing.assert_array_equal(run(parts[2]), p[:, 2])
    v = rand(4, 6)
    eq = A.split(constant(v), 3, axis=1)
    assert [t.shape.as_list() for t in eq] == [[4, 2]] * 3 and eq[0].op.type == "Split"
    np.testing.assert_array_equal(run(eq[1]), v[:, 2:4])
    sz = A.split(constant(v), [1, -1, 2], axis=-1)
    assert sz[0].op.attrs["sizes"] == (1, 3, 2) and sz[0].op.type == "SplitV"
    np.testing.assert_array_equal(run(sz[1]), v[:, 1:4])
    with pytest.raises(ValueError, match="divisible"):
        A.split(constant(v), 4, axis=1)
    with pytest.raises(ValueError, match="Cannot infer num"):
        A.unstack(placeholder(dt.float32, [None, 2], name="u"))


def test_slice_gather_tile_broadcast():
    v = rand(4, 5)
    s = A.slice(constant(v), [1, 2], [-1, 2])
    assert s.op.attrs == {"begin": (1, 2), "size": (-1, 2)} and s.shape.as_list() == [3, 2]
    np.testing.assert_array_equal(run(s), v[1:, 2:4])
    idx = np.array([3, 0, 3], np.int64)
    g = A.gather(constant(v), idx, axis=-1)
    assert g.op.type == "GatherV2" and g.op.attrs["axis"] == 1 and g.shape.as_list() == [4, 3]
    np.testing.assert_array_equal(run(g), v[:, idx])
    np.testing.assert_array_equal(run(A.gather(constant(v), [2, 1])), v[[2, 1]])
    with pytest.raises(TypeError, match="int32 or int64"):
        A.gather(constant(v), constant(np.array([1.0], np.float32)))
    t = A.tile(constant(v), [2, 1])
    assert t.shape.as_list() == [8, 5]
    np.testing.assert_array_equal(run(t), np.tile(v, [2, 1]))
    b = A.broadcast_to(constant(v[0]), [3, 5])
    assert b.op.type == "BroadcastTo" and b.shape.as_list() == [3, 5]
    np.testing.assert_array_equal(run(b), np.broadcast_to(v[0], (3, 5)))


@pytest.mark.parametrize("mode", ["CONSTANT", "reflect", "Symmetric"])
def test_pad(mode):
    v = rand(3, 4)
    p = A.pad(constant(v), [[1, 2], [2, 0]], mode=mode, constant_values=1.5 if mode == "CONSTANT" else 0)
    assert p.op.attrs["paddings"] == (1, 2, 2, 0) and p.op.attrs["mode"] == mode.upper()
    assert p.shape.as_list() == [6, 6]
    kw = {"constant_values": 1.5} if mode == "CONSTANT" else {}
    np.testing.assert_array_equal(run(p), np.pad(v, [[1, 2], [2, 0]], mode=mode.lower(), **kw))


def test_one_hot():
    i = np.array([[0, 2], [1, 5]], np.int32)
    o = A.one_hot(i, 3, axis=1)
    assert o.op.type == "OneHot" and o.op.attrs["axis"] == 1 and o.dtype is dt.float32
    assert o.shape.as_list() == [2, 3, 2]
    want = np.moveaxis(np.eye(3, dtype=np.float32)[np.clip(i, 0, 2)] * (i < 3)[..., None], -1, 1)
    np.testing.assert_array_equal(run(o), want)
    oi = A.one_hot(i, 4, on_value=5, off_value=-1)
    assert oi.dtype is dt.int32 and oi.op.attrs["axis"] == 2
    np.testing.assert_array_equal(run(oi)[0, 1], [-1, -1, 5, -1])


def test_shape_size_rank_identity():
    x = placeholder(dt.float32, [None, 3], name="x")
    s = A.shape(x)
    assert s.op.type == "Shape" and s.shape.as_list() == [2] and s.dtype is dt.int32
    assert constant_value(s) is None
    assert A.shape(x, out_type=dt.int64).dtype is dt.int64
    assert constant_value(A.rank(x)) == 2
    y = constant(rand(2, 3))
    np.testing.assert_array_equal(constant_value(A.shape(y)), [2, 3])
    assert constant_value(A.size(y)) == 6
    assert A.identity(y).op.type == "Identity"


def test_creation():
    z = A.zeros([2, 3], dtype=dt.int32)
    assert z.op.type == "Fill" and z.op.name == "zeros" and z.dtype is dt.int32 and z.shape.as_list() == [2, 3]
    np.testing.assert_array_equal(run(A.ones((2,))), [1.0, 1.0])
    assert A.zeros(3).shape.as_list() == [3] and A.zeros([]).shape.as_list() == []
    f = A.fill([2, 2], 7.0)
    np.testing.assert_array_equal(run(f), np.full((2, 2), 7.0, np.float32))
    v = rand(2, 3)
    zl = A.ones_like(constant(v), dtype=dt.int64)
    assert zl.dtype is dt.int64 and zl.shape.as_list() == [2, 3]
    np.testing.assert_array_equal(run(zl), np.ones((2, 3)))
    x = placeholder(dt.float32, [None, 3], name="x")
    dyn = A.zeros_like(x)
    assert dyn.shape.as_list() == [None, 3] and dyn.dtype is dt.float32
    fed = np.array([[np.nan, 1, 2]], np.float32)
    np.testing.assert_array_equal(run(dyn, {x: fed}), np.zeros((1, 3)))


@pytest.mark.parametrize("args,kw,want", [
    ((5,), {}, np.arange(5, dtype=np.int32)),
    ((2, 9, 3), {}, np.arange(2, 9, 3, dtype=np.int32)),
    ((1, 4, 0.5), {}, np.arange(1, 4, 0.5, dtype=np.float32)),
    ((3,), {"dtype": dt.float64}, np.arange(3, dtype=np.float64)),
    ((5, 0, -2), {}, np.arange(5, 0, -2, dtype=np.int32)),
])
def test_range(args, kw, want):
    r = A.range(*args, **kw)
    assert r.op.type == "Range" and r.dtype is dt.as_dtype(want.dtype) and r.shape.as_list() == [len(want)]
    np.testing.assert_array_equal(run(r), want)


def test_range_takes_the_widest_dtype_and_lin_space():
    assert A.range(constant(np.int64(4))).dtype is dt.int64
    assert A.range(0, constant(np.float64(2))).dtype is dt.float64
    ls = A.lin_space(1.0, 2.0, 5)
    assert ls.op.type == "LinSpace" and ls.shape.as_list() == [5] and A.linspace is A.lin_space
    np.testing.assert_allclose(run(ls), np.linspace(1, 2, 5, dtype=np.float32))
    with pytest.raises(TypeError, match="float"):
        A.lin_space(0, 1, 3)


def test_constant_value_folds_simple_subgraphs():
    y = placeholder(dt.float32, [3, 4], name="y")
    expr = M.add(A.shape(y), 1) * 2
    np.testing.assert_array_equal(constant_value(expr), [8, 10])
    assert constant_value(M.add(y, 1.0)) is None
    assert constant_value([1, 2]).tolist() == [1, 2]


def test_constant_value_of_lists_with_tensors():
    y = placeholder(dt.float32, [3, None], name="y")
    np.testing.assert_array_equal(constant_value([A.shape(constant(rand(2, 5)))[1], 4]), [5, 4])
    assert constant_value([A.shape(y)[1], 4]) is None
    assert constant_value(A.shape(y)[0]) == 3  # the known dim of a partly known shape
    x = placeholder(dt.float32, [None, 5], name="x")
    r = A.reshape(x, [-1, A.shape(x)[1]])
    assert r.op.attrs["shape"] == (-1, 5)
    assert constant_value(A.gather(A.shape(x), [1, 1])).tolist() == [5, 5]
    assert constant_value(A.shape(x)[0]) is None
