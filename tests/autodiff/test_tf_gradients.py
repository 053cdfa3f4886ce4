"""``tf.gradients`` on classic TF1 snippets, checked against finite differences in float64."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

import xlc as tf
from xlc.ir.opdef import get_opdef

RNG = np.random.default_rng(2024)


def numeric_grad(fn: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a numpy function of one array."""
    out = np.zeros_like(x, dtype=np.float64)
    flat = out.reshape(-1)
    for i in range(x.size):
        xp, xm = x.copy().reshape(-1), x.copy().reshape(-1)
        xp[i] += eps
        xm[i] -= eps
        flat[i] = (fn(xp.reshape(x.shape)) - fn(xm.reshape(x.shape))) / (2 * eps)
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_softmax_regression_gradients_match_finite_differences() -> None:
    xv = RNG.standard_normal((5, 4))
    labels = np.eye(3)[RNG.integers(0, 3, 5)]
    w0, b0 = RNG.standard_normal((4, 3)), RNG.standard_normal(3)
    x = tf.placeholder(tf.float64, [None, 4], name="x")
    y_ = tf.placeholder(tf.float64, [None, 3], name="y_")
    W = tf.Variable(w0, name="W")
    b = tf.Variable(b0, name="b")
    logits = tf.matmul(x, W) + b
    e = tf.exp(logits - tf.reduce_max(logits, axis=1, keepdims=True))
    y = e / tf.reduce_sum(e, axis=1, keepdims=True)
    loss = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), axis=1))
    gW, gb = tf.gradients(loss, [W, b])
    assert gW.name.startswith("gradients/") and gW.shape.as_list() == [4, 3]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_w, got_b = sess.run([gW, gb], {x: xv, y_: labels})

    def f(w: np.ndarray, bb: np.ndarray) -> float:
        return float(np.mean(-np.sum(labels * np.log(_softmax(xv @ w + bb)), axis=1)))

    np.testing.assert_allclose(got_w, numeric_grad(lambda w: f(w, b0), w0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_b, numeric_grad(lambda bb: f(w0, bb), b0), rtol=1e-6, atol=1e-8)


def test_mlp_with_relu_sigmoid_and_broadcast_of_unknown_dims() -> None:
    xv, w0 = RNG.standard_normal((6, 3)), RNG.standard_normal((3, 4))
    x = tf.placeholder(tf.float64, [None, None], name="x")
    scale = tf.placeholder(tf.float64, [None, None], name="scale")
    W = tf.Variable(w0)
    h = tf.nn.relu(tf.matmul(x, W))
    out = tf.reduce_sum(tf.sigmoid(h * scale) ** 2)
    gx, gs = tf.gradients(out, [x, scale])
    sv = RNG.standard_normal((1, 4))  # broadcast along the rows at run time only

    def f(xx: np.ndarray, ss: np.ndarray) -> float:
        hh = np.maximum(xx @ w0, 0)
        return float(np.sum((1 / (1 + np.exp(-hh * ss))) ** 2))

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_x, got_s = sess.run([gx, gs], {x: xv, scale: sv})
    assert got_s.shape == (1, 4)
    np.testing.assert_allclose(got_x, numeric_grad(lambda a: f(a, sv), xv), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_s, numeric_grad(lambda s: f(xv, s), sv), rtol=1e-6, atol=1e-8)


def test_second_derivative_of_cos_is_minus_cos() -> None:
    xv = RNG.uniform(-3, 3, 7)
    x = tf.constant(xv)
    (d1,) = tf.gradients(tf.cos(x), x)
    (d2,) = tf.gradients(d1, x)
    with tf.Session() as sess:
        got1, got2 = sess.run([d1, d2])
    np.testing.assert_allclose(got1, -np.sin(xv), rtol=1e-12)
    np.testing.assert_allclose(got2, -np.cos(xv), rtol=1e-12)


def test_third_derivative_through_products_and_tanh() -> None:
    xv = RNG.uniform(-1, 1, 5)
    x = tf.constant(xv)
    y = tf.tanh(x) * x
    (d1,) = tf.gradients(y, x)
    (d2,) = tf.gradients(d1, x)
    (d3,) = tf.gradients(d2, x)

    def second(v: np.ndarray) -> np.ndarray:
        t = np.tanh(v)
        s = 1 - t * t
        return 2 * s - 2 * v * t * s

    with tf.Session() as sess:
        got2, got3 = sess.run([d2, d3])
    np.testing.assert_allclose(got2, second(xv), rtol=1e-10)
    np.testing.assert_allclose(got3, numeric_grad(lambda v: float(np.sum(second(v))), xv), rtol=1e-6)


def test_stop_gradient_and_stop_gradients_argument() -> None:
    xv = RNG.standard_normal(4)
    x = tf.constant(xv)
    (g,) = tf.gradients(x * tf.stop_gradient(x), x)
    a = tf.constant(0.5, tf.float64)
    b = 2.0 * a
    ga, gb = tf.gradients(a + b, [a, b], stop_gradients=[a, b])  # TF's documented example
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g), xv)
        assert sess.run([ga, gb]) == [1.0, 1.0]
        assert sess.run(tf.stop_gradient(x)).tolist() == xv.tolist()


def test_unconnected_xs_give_none_and_lists_of_ys_are_summed() -> None:
    xv = RNG.standard_normal(3)
    x = tf.constant(xv)
    z = tf.constant(xv)
    gx, gz = tf.gradients([x * x, 3.0 * x], [x, z])
    assert gz is None
    (scaled,) = tf.gradients(tf.sin(x), x, grad_ys=tf.constant(np.full(3, 2.0)))
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(gx), 2 * xv + 3)
        np.testing.assert_allclose(sess.run(scaled), 2 * np.cos(xv))


def test_integer_paths_carry_no_gradient() -> None:
    xv = RNG.uniform(1, 5, 4)
    x = tf.constant(xv)
    rounded = tf.cast(tf.cast(x, tf.int32), tf.float64)
    (g,) = tf.gradients(rounded * x, x)
    n = tf.constant([1, 2, 3])
    assert tf.gradients(tf.cast(n, tf.float64) * 2.0, n) == [None]
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g), np.trunc(xv))


def test_op_without_a_rule_is_a_lookup_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_opdef("sin"), "grad", None)
    x = tf.constant(RNG.standard_normal(3))
    y = tf.sin(x, name="my_sin")
    with pytest.raises(LookupError, match=r"No gradient defined for operation 'my_sin' \(op type: Sin\)"):
        tf.gradients(y * 2.0, x)
    assert tf.gradients(tf.cos(x), x)[0] is not None  # other paths are unaffected


def test_gather_indexing_and_reductions() -> None:
    params0 = RNG.standard_normal((5, 3))
    params = tf.Variable(params0)
    ids = tf.placeholder(tf.int32, [None])
    picked = tf.gather(params, ids)
    loss = tf.reduce_sum(tf.reduce_max(picked, axis=1) * 3.0) + tf.reduce_sum(picked[:, 1] ** 2)
    (g,) = tf.gradients(loss, params)
    idv = np.array([4, 0, 4, 2], np.int32)

    def f(p: np.ndarray) -> float:
        q = p[idv]
        return float(np.sum(q.max(axis=1) * 3.0) + np.sum(q[:, 1] ** 2))

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run(g, {ids: idv})
    np.testing.assert_allclose(got, numeric_grad(f, params0), rtol=1e-6, atol=1e-8)


def test_reduce_max_splits_the_gradient_among_ties() -> None:
    x = tf.constant(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]))
    (g,) = tf.gradients(tf.reduce_max(x, axis=1), x)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g), [[0, 0.5, 0.5], [1, 0, 0]])


def test_gradient_ops_are_graph_ops_under_the_gradients_scope() -> None:
    x = tf.placeholder(tf.float32, [None, 2])
    w = tf.Variable(np.ones((2, 2), np.float32))
    with tf.name_scope("train"):
        (g,) = tf.gradients(tf.reduce_sum(tf.matmul(x, w)), w)
    assert g.op.name.startswith("train/gradients/")
    names = [op.name for op in tf.get_default_graph().get_operations()]
    assert any("MatMul_grad" in n for n in names)
    (g2,) = tf.gradients(tf.reduce_sum(tf.matmul(x, w)), w)
    (g3,) = tf.gradients(tf.reduce_sum(tf.matmul(x, w)), w)
    assert g2.op.name.startswith("gradients/") and g3.op.name.startswith("gradients_1/")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(g, {x: [[1, 2], [3, 4]]}), [[4, 4], [6, 6]])
