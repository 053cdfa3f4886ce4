"""GradientTape, the tfe gradient functions and custom gradients, against graph mode and numpy."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
import xlc.contrib.eager as tfe
from xlc.frontend import context

RNG = np.random.default_rng(11)


def _graph_gradients(build, *values: np.ndarray) -> list[np.ndarray]:
    """tf.gradients of build(*placeholders) w.r.t. each placeholder, run in a graph."""
    g = tf.Graph()
    with g.as_default():
        ps = [tf.placeholder(tf.float64, v.shape) for v in values]
        grads = tf.gradients(build(*ps), ps)
    with tf.Session(graph=g) as sess:
        return sess.run(grads, dict(zip(ps, values)))


def _model(x, w):
    h = tf.tanh(tf.matmul(x, w))
    return tf.reduce_sum(h * h + tf.sigmoid(h)) / 3.0


def test_tape_matches_graph_gradients() -> None:
    x = RNG.standard_normal((4, 3))
    w = RNG.standard_normal((3, 5))
    tx, tw = tf.constant(x), tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([tx, tw])
        y = _model(tx, tw)
    gx, gw = tape.gradient(y, [tx, tw])
    want = _graph_gradients(_model, x, w)
    np.testing.assert_allclose(gx.numpy(), want[0], rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), want[1], rtol=1e-12)


def test_finite_differences() -> None:
    x = RNG.standard_normal((3,))

    def f(t):
        return tf.reduce_sum(tf.exp(t) * tf.sin(t))

    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = f(t)
    got = tape.gradient(y, t).numpy()
    eps = 1e-6
    num = [(float(f(tf.constant(x + eps * e))) - float(f(tf.constant(x - eps * e)))) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(got, num, rtol=1e-6)


def test_non_persistent_tape_is_used_once_persistent_tape_often() -> None:
    x = tf.constant(3.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x
    assert float(t.gradient(y, x)) == 6.0
    with pytest.raises(RuntimeError, match="only be called once"):
        t.gradient(y, x)
    with tf.GradientTape(persistent=True) as p:
        p.watch(x)
        y = x * x
        z = y * y
    assert float(p.gradient(y, x)) == 6.0
    assert float(p.gradient(z, x)) == 108.0  # 4 x^3


def test_nested_tapes_give_second_derivatives() -> None:
    x = tf.constant(2.0)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = x * x * x
        dy = inner.gradient(y, x)
    assert float(dy) == 12.0  # 3 x^2
    assert float(outer.gradient(dy, x)) == 12.0  # 6 x


def test_unconnected_and_integer_sources_get_none() -> None:
    x, z = tf.constant(1.0), tf.constant(2.0)
    with tf.GradientTape() as t:
        t.watch([x, z])
        y = x * 3.0
    assert t.gradient(y, [x, z])[1] is None


def test_variables_are_watched_when_read() -> None:
    v = tf.Variable(RNG.standard_normal((2, 2)))
    frozen = tf.Variable(np.ones((2, 2)), trainable=False)
    with tf.GradientTape() as t:
        y = tf.reduce_sum(v * v * frozen)
    assert t.watched_variables() == [v]
    gv, gf = t.gradient(y, [v, frozen])
    np.testing.assert_allclose(gv.numpy(), 2 * v.numpy())
    assert gf is None
    with tf.GradientTape(watch_accessed_variables=False) as t2:
        y = tf.reduce_sum(v * 2.0)
    assert t2.gradient(y, v) is None


def test_gradients_function_and_its_gradient() -> None:
    def square(x):
        return tf.multiply(x, x)

    grad = tfe.gradients_function(square)
    assert [float(g) for g in grad(3.)] == [6.0]
    gradgrad = tfe.gradients_function(lambda x: grad(x)[0])
    assert [float(g) for g in gradgrad(3.)] == [2.0]
    assert tf.eager.gradients_function is tfe.gradients_function


def test_gradients_function_params_dy_and_values() -> None:
    def f(x, y):
        return x * x * y

    assert [float(g) for g in tfe.gradients_function(f)(2.0, 5.0)] == [20.0, 4.0]
    assert [float(g) for g in tfe.gradients_function(f, params=[1])(2.0, 5.0)] == [4.0]
    assert [float(g) for g in tfe.gradients_function(f, params=["y"])(2.0, 5.0, dy=3.0)] == [12.0]
    value, grads = tfe.value_and_gradients_function(f)(2.0, 5.0)
    assert float(value) == 20.0 and [float(g) for g in grads] == [20.0, 4.0]


def test_implicit_gradients() -> None:
    w = tf.Variable(RNG.standard_normal((3,)).astype(np.float32))
    b = tf.Variable(0.5)
    x = RNG.standard_normal((3,)).astype(np.float32)

    def loss():
        return tf.reduce_sum(w * x) + b * 2.0

    pairs = tfe.implicit_gradients(loss)()
    assert [v for _, v in pairs] == [w, b]
    np.testing.assert_allclose(pairs[0][0].numpy(), x)
    assert float(pairs[1][0]) == 2.0
    value, pairs2 = tfe.implicit_value_and_gradients(loss)()
    assert float(value) == pytest.approx(float(np.sum(w.numpy() * x) + 1.0), rel=1e-6)
    np.testing.assert_array_equal(pairs2[0][0].numpy(), pairs[0][0].numpy())
    with pytest.raises(ValueError, match="No trainable variables"):
        tfe.implicit_gradients(lambda: tf.constant(1.0) * 2.0)()


@tf.custom_gradient
def log1pexp(x):
    e = tf.exp(x)

    def grad(dy):
        return dy * (1 - 1 / (1 + e))

    return tf.log(1 + e), grad


def test_custom_gradient_eager() -> None:
    naive = tfe.gradients_function(lambda x: tf.log(1 + tf.exp(x)))
    assert np.isnan(float(naive(100.)[0]))
    grad = tfe.gradients_function(log1pexp)
    assert float(grad(0.)[0]) == 0.5
    assert float(grad(100.)[0]) == 1.0
    assert float(log1pexp(0.)) == pytest.approx(np.log(2.0))
    assert tfe.custom_gradient is tf.custom_gradient


def test_custom_gradient_graph_mode() -> None:
    context.disable_eager_execution()
    x = tf.placeholder(tf.float32, [])
    y = log1pexp(x)
    naive = tf.gradients(tf.log(1 + tf.exp(x)), x)[0]
    (g,) = tf.gradients(y * 2.0, x)
    with tf.Session() as sess:
        assert sess.run(g, {x: 0.0}) == 1.0
        assert sess.run(g, {x: 100.0}) == 2.0
        assert np.isnan(sess.run(naive, {x: 100.0}))
        assert sess.run(y, {x: 0.0}) == pytest.approx(np.log(2.0))


def test_tf_gradients_points_to_the_tape() -> None:
    with pytest.raises(RuntimeError, match="GradientTape"):
        tf.gradients(tf.constant(1.0), tf.constant(2.0))


_FUNCTIONS = {
    "slices_and_concat": lambda x, w: tf.reduce_sum(tf.concat([x[1:, :] * 2.0, x[:1, :]], axis=0) * w),
    "split_and_unstack": lambda x, w: tf.reduce_sum(tf.split(x, 3, axis=1)[2] * tf.unstack(w, axis=1)[0][:, None]),
    "gather_and_softmax": lambda x, w: tf.reduce_sum(tf.nn.softmax(tf.gather(x, [3, 0, 0])) * w[:3]),
    "broadcast_and_max": lambda x, w: tf.reduce_max(x + w[0], axis=0)[1] * tf.reduce_mean(w),
    "stop_gradient": lambda x, w: tf.reduce_sum(x * tf.stop_gradient(w * 3.0) + w),
}


@pytest.mark.parametrize("name", sorted(_FUNCTIONS))
def test_tape_matches_graph_gradients_through_structural_ops(name: str) -> None:
    f = _FUNCTIONS[name]
    x = RNG.standard_normal((4, 3))
    w = RNG.standard_normal((4, 3))
    tx, tw = tf.constant(x), tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([tx, tw])
        y = f(tx, tw)
    got = tape.gradient(y, [tx, tw])
    want = _graph_gradients(f, x, w)
    for gg, ww in zip(got, want):
        np.testing.assert_allclose(gg.numpy(), ww, rtol=1e-12, atol=1e-12)
