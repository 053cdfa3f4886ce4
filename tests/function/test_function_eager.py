"""@xlc.function under eager execution: traced into its own graph, eager variables captured and
updated, eager tensors in and out."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.frontend.context import executing_eagerly

RNG = np.random.default_rng(11)

pytestmark = pytest.mark.usefixtures("eager")


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def test_sgd_step_updates_eager_variables_like_numpy() -> None:
    w0, b0 = rand(4, 3), rand(3)
    w, b = tf.Variable(w0, name="w"), tf.Variable(b0, name="b")

    @tf.function
    def step(x, y):
        err = tf.matmul(x, w) + b - y
        loss = tf.reduce_mean(tf.square(err))
        gw, gb = tf.gradients(loss, [w, b])
        w.assign_sub(0.1 * gw)
        b.assign_sub(0.1 * gb)
        return loss

    x, y = rand(8, 4), rand(8, 3)
    before = w.read_value()  # an eager tensor of the old value: it must keep it
    ws, bs = w0.astype(np.float64), b0.astype(np.float64)
    for _ in range(3):
        loss = step(x, y)
        err = x @ ws + bs - y
        assert isinstance(loss, tf.Tensor) and loss.is_eager
        np.testing.assert_allclose(loss.numpy(), np.mean(err**2), rtol=1e-5)
        ws, bs = ws - 0.1 * x.T @ (2 * err / err.size), bs - 0.1 * (2 * err / err.size).sum(0)
    np.testing.assert_allclose(w.numpy(), ws, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b.numpy(), bs, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(before.numpy(), w0)
    assert step.trace_count == 1
    assert executing_eagerly()  # tracing left eager mode on
    assert "func @step(%x: tensor<8x4xf32>, %y: tensor<8x3xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>)" \
        in step.get_ir(x, y)


def test_eager_tensors_as_arguments_and_captured_constants() -> None:
    c = tf.constant(np.float32(3.0))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def f(x):
        return x * c + 1.0

    for n in (2, 5):
        x = tf.constant(rand(n))
        out = f(x)
        assert out.is_eager
        np.testing.assert_allclose(out.numpy(), x.numpy() * 3 + 1, rtol=1e-6)
    assert f.trace_count == 1


def test_eager_function_matches_eager_ops() -> None:
    x, w = rand(5, 6), rand(6, 2)

    def model(a):
        return tf.nn.softmax(tf.nn.relu(tf.matmul(a, w)) - 0.5)

    want = model(tf.constant(x)).numpy()
    got = tf.function(model)(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_creating_a_variable_inside_an_eager_trace_is_an_error() -> None:
    @tf.function
    def f(x):
        return x + tf.Variable(np.float32(1.0), name="inner")

    with pytest.raises(ValueError, match="created variable 'inner' while tracing"):
        f(rand(2))
