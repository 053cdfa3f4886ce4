"""Variables, layers and optimizers in eager mode, checked against the same training in graph mode."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
import xlc.contrib.eager as tfe
from xlc.frontend.eager.tensor import EagerTensor

RNG = np.random.default_rng(5)


def test_variable_holds_state_and_assigns_at_once() -> None:
    init = RNG.standard_normal((2, 3)).astype(np.float32)
    v = tf.Variable(init)
    assert isinstance(v, tf.Variable) and v.shape.as_list() == [2, 3] and v.dtype is tf.float32
    before = v.read_value()
    v.assign_add(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(v.numpy(), init + 1)
    np.testing.assert_array_equal(before.numpy(), init)  # a read keeps its value
    v.assign_sub(tf.ones([2, 3]) * 2)
    np.testing.assert_allclose(v.numpy(), init - 1, rtol=1e-6, atol=1e-6)
    out = v.assign(np.zeros((2, 3), np.float32))
    assert isinstance(out, EagerTensor) and not out.numpy().any()
    with pytest.raises(ValueError):
        v.assign(np.zeros((3, 2), np.float32))
    w = tf.Variable(2.0)
    assert float(w * 3.0) == 6.0 and float(w) == 2.0
    assert tf.Variable(1.0).name != tf.Variable(1.0).name  # unique names key optimizer slots


def _data() -> tuple[np.ndarray, np.ndarray]:
    x = RNG.standard_normal((32, 4)).astype(np.float32)
    y = (x @ RNG.standard_normal((4, 1)) + 0.3).astype(np.float32)
    return x, y


@pytest.mark.parametrize("make_opt", [lambda: tf.train.GradientDescentOptimizer(0.1),
                                      lambda: tf.train.AdamOptimizer(0.05),
                                      lambda: tf.train.MomentumOptimizer(0.05, 0.9)])
def test_dense_training_matches_graph_mode(make_opt) -> None:
    x, y = _data()
    layer = tf.layers.Dense(1)

    def loss(xs, ys):
        return tf.reduce_mean(tf.square(layer(xs) - ys))

    first = float(loss(x, y))
    kernel0, bias0 = layer.kernel.numpy().copy(), layer.bias.numpy().copy()
    opt = make_opt()
    grad_fn = tfe.implicit_gradients(loss)
    for _ in range(20):
        opt.apply_gradients(grad_fn(x, y))
    assert float(loss(x, y)) < first

    g = tf.Graph()
    with g.as_default():
        k = tf.Variable(kernel0)
        b = tf.Variable(bias0)
        graph_loss = tf.reduce_mean(tf.square(tf.matmul(x, k) + b - y))
        train = make_opt().minimize(graph_loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(20):
                sess.run(train)
            k_want, b_want = sess.run([k, b])
    np.testing.assert_allclose(layer.kernel.numpy(), k_want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.bias.numpy(), b_want, rtol=1e-4, atol=1e-5)


def test_minimize_takes_a_function_and_counts_steps() -> None:
    x, y = _data()
    w = tf.Variable(np.zeros((4, 1), np.float32))
    step = tf.Variable(0, trainable=False, dtype=tf.int64)
    opt = tf.train.GradientDescentOptimizer(0.1)

    def loss():
        return tf.reduce_mean(tf.square(tf.matmul(x, w) - y))

    first = float(loss())
    for _ in range(10):
        opt.minimize(loss, global_step=step)
    assert int(step) == 10
    assert float(loss()) < 0.5 * first
    with pytest.raises(RuntimeError, match="function"):
        opt.minimize(loss())


def test_layers_hold_their_variables() -> None:
    layer = tf.layers.Dense(3, activation=tf.nn.relu)
    x = RNG.standard_normal((2, 5)).astype(np.float32)
    out = layer(x)
    assert out.shape.as_list() == [2, 3]
    np.testing.assert_allclose(out.numpy(), np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0),
                               rtol=1e-5, atol=1e-6)
    assert [v.name for v in layer.trainable_variables] == ["dense/kernel:0", "dense/bias:0"]
    out2 = layer(x)  # the same variables again
    np.testing.assert_array_equal(out.numpy(), out2.numpy())
    conv = tf.layers.Conv2D(2, 3, padding="same")
    img = RNG.standard_normal((1, 5, 5, 1)).astype(np.float32)
    assert conv(img).shape.as_list() == [1, 5, 5, 2]
