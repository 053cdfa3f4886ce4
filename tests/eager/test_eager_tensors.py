"""Ops run at once and return EagerTensors: values, Python conversions, printing, errors, caching."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.frontend.eager import execute
from xlc.frontend.eager.tensor import EagerTensor

RNG = np.random.default_rng(7)


def test_executing_eagerly_and_graph_blocks() -> None:
    assert tf.executing_eagerly()
    g = tf.Graph()
    with g.as_default():
        assert not tf.executing_eagerly()
        c = tf.constant(1.0) + 2.0
        assert not isinstance(c, EagerTensor)
    assert tf.executing_eagerly()
    with tf.Session(graph=g) as sess:
        assert sess.run(c) == 3.0


def test_matmul_prints_as_tensorflow_does() -> None:
    m = tf.matmul([[2.]], [[2.]])
    assert isinstance(m, EagerTensor)
    assert str(m) == "tf.Tensor([[4.]], shape=(1, 1), dtype=float32)"
    assert repr(tf.constant(6.0)) == "<tf.Tensor: shape=(), dtype=float32, numpy=6.0>"


def test_ops_match_numpy_on_random_data() -> None:
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    b = RNG.standard_normal((4, 5)).astype(np.float32)
    got = tf.nn.relu(tf.matmul(a, b) * 2.0 - 0.5)
    np.testing.assert_allclose(got.numpy(), np.maximum(a @ b * 2.0 - 0.5, 0), rtol=1e-5, atol=1e-6)
    s = tf.reduce_sum(tf.constant(a), axis=1)
    np.testing.assert_allclose(s.numpy(), a.sum(1), rtol=1e-5)
    assert s.shape.as_list() == [3] and s.dtype is tf.float32


def test_python_values_lists_and_numpy_arrays_are_tensors() -> None:
    assert float(tf.add(1.5, 2)) == 3.5
    v = tf.add([1, 2, 3], np.array([10, 20, 30], np.int32))
    assert v.dtype is tf.int32 and v.numpy().tolist() == [11, 22, 33]
    assert (tf.constant([1.0, 2.0]) * 3).numpy().tolist() == [3.0, 6.0]


def test_gather_error_surfaces_at_the_op() -> None:
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices = 7 is not in \[0, 3\)"):
        tf.gather([0, 1, 2], 7)


def test_shape_errors_surface_at_the_op() -> None:
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        tf.matmul(tf.ones([2, 3]), tf.ones([2, 3]))
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        tf.add(tf.ones([2]), tf.ones([3]))


def test_conversions_indexing_and_iteration() -> None:
    x = RNG.standard_normal((3, 2)).astype(np.float32)
    t = tf.constant(x)
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, EagerTensor) for r in rows)
    np.testing.assert_array_equal(rows[1].numpy(), x[1])
    for i in range(t.shape[0]):
        for j in range(t.shape[1]):
            assert float(t[i, j]) == x[i, j]
    assert int(tf.constant(7)) == 7 and bool(tf.constant(True)) and not bool(tf.equal(1, 2))
    assert [10, 20, 30][tf.constant(2)] == 30  # __index__
    assert f"{tf.constant(1.25):.1f}" == "1.2"
    np.testing.assert_array_equal(np.asarray(t), x)
    with pytest.raises(TypeError):
        float(t)


def test_collatz_loop_on_tensors() -> None:
    a = tf.constant(12)
    seen = []
    while not tf.equal(a, 1):
        if tf.equal(a % 2, 0):
            a = a / 2
        else:
            a = 3 * a + 1
        seen.append(int(a))
    assert seen == [6, 3, 10, 5, 16, 8, 4, 2, 1]


def test_each_signature_compiles_once() -> None:
    a = tf.constant(RNG.standard_normal((2, 3)).astype(np.float32))
    tf.subtract(a, a)
    n = execute.cache_info().get("compiled", 0)
    b = tf.constant(RNG.standard_normal((5, 7)).astype(np.float32))
    d = tf.subtract(b, b)  # same op, dtypes and ranks, other shapes: no new kernel
    assert execute.cache_info().get("compiled", 0) == n
    np.testing.assert_array_equal(d.numpy(), np.zeros((5, 7), np.float32))
    tf.subtract(tf.constant([1.0]), tf.constant([2.0]))  # another rank: one more
    assert execute.cache_info().get("compiled", 0) == n + 1


def test_device_scopes_are_recorded() -> None:
    with tf.device("/gpu:0"):
        t = tf.constant([1.0]) + 1.0
    assert "GPU:0" in t.device.upper()
    assert "CPU" in (tf.constant([1.0]) + 1.0).device
    assert t.numpy().tolist() == [2.0]  # it ran (on the CPU: there is no GPU backend yet)


def test_eager_values_become_constants_in_graphs() -> None:
    v = tf.constant([1.0, 2.0]) * 2.0
    g = tf.Graph()
    with g.as_default():
        out = tf.reduce_sum(v)
    with tf.Session(graph=g) as sess:
        assert sess.run(out) == 6.0


def test_random_ops_differ_per_call_and_follow_seeds() -> None:
    a, b = tf.random_uniform([50]), tf.random_uniform([50])
    assert not np.array_equal(a.numpy(), b.numpy())
    x = tf.random_normal([1000], mean=1.0, stddev=2.0)
    assert abs(float(tf.reduce_mean(x)) - 1.0) < 0.3


def test_static_arguments_may_be_eager_tensors() -> None:
    x = tf.constant(RNG.standard_normal((4, 6)).astype(np.float32))
    y = tf.reshape(x, tf.constant([3, 8]))
    assert y.shape.as_list() == [3, 8]
    np.testing.assert_array_equal(tf.reduce_sum(x, axis=tf.constant(0)).numpy(), x.numpy().sum(0))


def test_placeholders_are_not_eager() -> None:
    with pytest.raises(RuntimeError, match="eager"):
        tf.placeholder(tf.float32)
