"""minimize end to end: every optimizer fits a linear regression; one executable per training signature."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.frontend import session as session_mod
from xlc.frontend import train

TRUE_W = np.array([[1.5], [-2.0], [0.5]], np.float32)
TRUE_B = 0.7

OPTIMIZERS = [
    ("sgd", lambda: train.GradientDescentOptimizer(0.2), 300),
    ("momentum", lambda: train.MomentumOptimizer(0.05, 0.9), 300),
    ("nesterov", lambda: train.MomentumOptimizer(0.05, 0.9, use_nesterov=True), 300),
    ("adagrad", lambda: train.AdagradOptimizer(0.5), 400),
    ("adam", lambda: train.AdamOptimizer(0.05), 600),
    ("rmsprop", lambda: train.RMSPropOptimizer(0.01, momentum=0.5), 800),
    ("ftrl", lambda: train.FtrlOptimizer(1.0), 400),
]


def _regression(rng: np.random.Generator):
    x_data = rng.normal(size=(64, 3)).astype(np.float32)
    y_data = x_data @ TRUE_W + TRUE_B
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    y = tf.placeholder(tf.float32, [None, 1], name="y")
    w = tf.Variable(rng.normal(size=(3, 1)).astype(np.float32), name="w")
    b = tf.Variable(np.float32(0.0), name="b")
    frozen = tf.Variable(np.float32(3.0), trainable=False, name="frozen")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b * frozen / 3.0 - y))
    return x, y, w, b, frozen, loss, {x: x_data, y: y_data}


@pytest.mark.parametrize("label,make,steps", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_fits_linear_regression(label, make, steps) -> None:
    x, y, w, b, frozen, loss, feed = _regression(np.random.default_rng(3))
    step = train.get_or_create_global_step()
    train_op = make().minimize(loss, global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, feed)
        for _ in range(steps):
            sess.run(train_op, feed)
        w_val, b_val, f_val, last = sess.run([w, b, frozen, loss], feed)
        assert sess.run(step) == steps
    assert last < first * 1e-3
    np.testing.assert_allclose(w_val, TRUE_W, atol=3e-2)
    assert abs(b_val - TRUE_B) < 3e-2
    assert f_val == 3.0  # trainable=False: never updated, though the loss depends on it


def test_train_step_is_one_compiled_call(monkeypatch) -> None:
    """Forward, backward and every update of a train step lower into one Func compiled once."""
    compiled = []
    real = session_mod.compile_func

    def counting(func, **kwargs):
        compiled.append(func)
        return real(func, **kwargs)

    monkeypatch.setattr(session_mod, "compile_func", counting)
    x, y, w, b, frozen, loss, feed = _regression(np.random.default_rng(4))
    train_op = train.AdamOptimizer(0.01).minimize(loss, global_step=train.get_or_create_global_step())
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        n_init = len(compiled)
        for _ in range(5):
            sess.run(train_op, feed)
        bigger = {x: np.tile(feed[x], (2, 1)), y: np.tile(feed[y], (2, 1))}
        sess.run(train_op, bigger)  # a new batch size reuses the executable ('?' dims)
    assert len(compiled) == n_init + 1
    func = compiled[-1]
    names = [op.name for op in func.body.ops]
    assert "matmul" in names  # the forward pass and the gradient matmuls...
    # ...and the new values of w, b, their 2 slots each, beta1/beta2_power and the global step
    assert len(func.outputs) == 9
    assert not [r for r in func.outputs if r.type.dtype is tf.string]


def test_compute_gradients_pairs_and_none_for_unconnected() -> None:
    a = tf.Variable(np.float32([1.0, 2.0]), name="a")
    unused = tf.Variable(np.float32(5.0), name="unused")
    loss = tf.reduce_sum(a * a)
    opt = train.GradientDescentOptimizer(0.1)
    pairs = opt.compute_gradients(loss)
    assert [v for _, v in pairs] == [a, unused]
    assert pairs[1][0] is None
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(pairs[0][0]), [2.0, 4.0])
        sess.run(opt.apply_gradients(pairs))
        np.testing.assert_allclose(sess.run(a), [0.8, 1.6])
        assert sess.run(unused) == 5.0
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.minimize(loss, var_list=[unused])


def test_minimize_var_list_restricts_updates() -> None:
    a = tf.Variable(np.float32(1.0), name="a")
    b = tf.Variable(np.float32(1.0), name="b")
    op = train.GradientDescentOptimizer(0.5).minimize(a * b, var_list=[b])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(op)
        assert sess.run([a, b]) == [1.0, 0.5]
