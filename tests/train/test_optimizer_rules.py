"""Each optimizer's update rule against a numpy implementation, for a few steps of fed gradients."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.frontend import train


def _sgd(p: dict, w: np.ndarray, g: np.ndarray, s: dict) -> np.ndarray:
    return w - p["lr"] * g


def _momentum(p: dict, w: np.ndarray, g: np.ndarray, s: dict) -> np.ndarray:
    s["momentum"] = s.get("momentum", np.zeros_like(w)) * p["mu"] + g
    if p.get("nesterov"):
        return w - p["lr"] * g - p["lr"] * p["mu"] * s["momentum"]
    return w - p["lr"] * s["momentum"]


def _adagrad(p: dict, w: np.ndarray, g: np.ndarray, s: dict) -> np.ndarray:
    s["accumulator"] = s.get("accumulator", np.full_like(w, p["init"])) + g * g
    return w - p["lr"] * g / np.sqrt(s["accumulator"])


def _adam(p: dict, w: np.ndarray, g: np.ndarray, s: dict) -> np.ndarray:
    t = s["t"] = s.get("t", 0) + 1
    b1, b2 = p["b1"], p["b2"]
    s["m"] = b1 * s.get("m", np.zeros_like(w)) + (1 - b1) * g
    s["v"] = b2 * s.get("v", np.zeros_like(w)) + (1 - b2) * g * g
    lr_t = p["lr"] * np.sqrt(1 - b2**t) / (1 - b1**t)
    return w - lr_t * s["m"] / (np.sqrt(s["v"]) + p["eps"])


def _rmsprop(p: dict, w: np.ndarray, g: np.ndarray, s: dict) -> np.ndarray:
    rho = p["decay"]
    s["rms"] = rho * s.get("rms", np.ones_like(w)) + (1 - rho) * g * g
    denom = s["rms"]
    if p.get("centered"):
        s["mg"] = rho * s.get("mg", np.zeros_like(w)) + (1 - rho) * g
        denom = denom - s["mg"] ** 2
    s["momentum"] = p["mu"] * s.get("momentum", np.zeros_like(w)) + p["lr"] * g / np.sqrt(denom + p["eps"])
    return w - s["momentum"]


def _ftrl(p: dict, w: np.ndarray, g: np.ndarray, s: dict) -> np.ndarray:
    acc = s.get("accum", np.full_like(w, p["init"]))
    new = acc + g * g
    power = -p["power"]
    s["linear"] = s.get("linear", np.zeros_like(w)) + g - (new**power - acc**power) / p["lr"] * w
    quad = new**power / p["lr"] + 2 * p["l2"]
    lin = s["linear"]
    s["accum"] = new
    return np.where(np.abs(lin) > p["l1"], (np.sign(lin) * p["l1"] - lin) / quad, 0.0)


CASES = [
    ("sgd", lambda: train.GradientDescentOptimizer(0.3), _sgd, {"lr": 0.3}),
    ("momentum", lambda: train.MomentumOptimizer(0.1, 0.9), _momentum, {"lr": 0.1, "mu": 0.9}),
    ("nesterov", lambda: train.MomentumOptimizer(0.1, 0.8, use_nesterov=True), _momentum,
     {"lr": 0.1, "mu": 0.8, "nesterov": True}),
    ("adagrad", lambda: train.AdagradOptimizer(0.2, initial_accumulator_value=0.3), _adagrad,
     {"lr": 0.2, "init": 0.3}),
    ("adam", lambda: train.AdamOptimizer(0.05, beta1=0.8, beta2=0.95, epsilon=1e-6), _adam,
     {"lr": 0.05, "b1": 0.8, "b2": 0.95, "eps": 1e-6}),
    ("rmsprop", lambda: train.RMSPropOptimizer(0.01, decay=0.85, momentum=0.5, epsilon=1e-6), _rmsprop,
     {"lr": 0.01, "decay": 0.85, "mu": 0.5, "eps": 1e-6}),
    ("rmsprop_centered", lambda: train.RMSPropOptimizer(0.01, decay=0.9, momentum=0.3, epsilon=1e-4,
                                                        centered=True), _rmsprop,
     {"lr": 0.01, "decay": 0.9, "mu": 0.3, "eps": 1e-4, "centered": True}),
    ("ftrl", lambda: train.FtrlOptimizer(0.5, initial_accumulator_value=0.2, l1_regularization_strength=0.05,
                                         l2_regularization_strength=0.1), _ftrl,
     {"lr": 0.5, "init": 0.2, "l1": 0.05, "l2": 0.1, "power": -0.5}),
    ("ftrl_power", lambda: train.FtrlOptimizer(0.5, learning_rate_power=-0.7, l1_regularization_strength=0.01),
     _ftrl, {"lr": 0.5, "init": 0.1, "l1": 0.01, "l2": 0.0, "power": -0.7}),
]


@pytest.mark.parametrize("label,make,rule,params", CASES, ids=[c[0] for c in CASES])
def test_update_matches_numpy(label, make, rule, params) -> None:
    rng = np.random.default_rng(7)
    w0 = rng.normal(size=(3, 4))
    b0 = rng.normal(size=(4,))
    w = tf.Variable(w0, name="w")
    b = tf.Variable(b0, name="b")
    gw = tf.placeholder(tf.float64, [3, 4])
    gb = tf.placeholder(tf.float64, [4])
    opt = make()
    op = opt.apply_gradients([(gw, w), (gb, b)])
    ref_w, ref_b, sw, sb = w0.copy(), b0.copy(), {}, {}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(4):
            g1, g2 = rng.normal(size=(3, 4)), rng.normal(size=(4,))
            sess.run(op, {gw: g1, gb: g2})
            ref_w, ref_b = rule(params, ref_w, g1, sw), rule(params, ref_b, g2, sb)
        got_w, got_b = sess.run([w, b])
        np.testing.assert_allclose(got_w, ref_w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got_b, ref_b, rtol=1e-10, atol=1e-12)
        for name in opt.get_slot_names():
            np.testing.assert_allclose(sess.run(opt.get_slot(w, name)), sw[name], rtol=1e-10, atol=1e-12)


def test_learning_rate_placeholder_and_float32_cast() -> None:
    """A float64 placeholder learning rate is cast to a float32 variable's dtype, fed each run."""
    w = tf.Variable(np.array([1.0, -2.0], np.float32), name="w")
    g = tf.placeholder(tf.float32, [2])
    lr = tf.placeholder(tf.float64, [])
    op = train.GradientDescentOptimizer(lr).apply_gradients([(g, w)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(op, {g: [0.5, 0.25], lr: 0.1})
        sess.run(op, {g: [0.5, 0.25], lr: 1.0})
        np.testing.assert_allclose(sess.run(w), [1.0 - 0.55, -2.0 - 0.275], rtol=1e-6)


def test_slot_names_follow_tf() -> None:
    w = tf.Variable(np.ones((2, 2), np.float32), name="w")
    g = tf.constant(np.ones((2, 2), np.float32))
    with tf.name_scope("train"):
        opt = train.AdamOptimizer()
        op = opt.apply_gradients([(g, w)])
    names = [v.op.name for v in tf.global_variables()]
    assert names == ["w", "beta1_power", "beta2_power", "w/Adam", "w/Adam_1"]
    assert opt.get_slot_names() == ["m", "v"]
    assert opt.get_slot(w, "m").op.name == "w/Adam" and not opt.get_slot(w, "m").trainable
    assert opt.get_slot(w, "nope") is None
    assert op.name == "train/Adam"
    assert op in tf.get_collection(tf.GraphKeys.TRAIN_OP)
    assert all(v not in tf.trainable_variables() for v in opt.variables())


def test_global_step_increments_once_per_apply() -> None:
    w = tf.Variable(np.array([3.0], np.float32), name="w")
    step = train.get_or_create_global_step()
    assert train.get_global_step() is step and train.get_or_create_global_step() is step
    assert step.op.name == "global_step" and step.dtype is tf.int64 and not step.trainable
    with pytest.raises(ValueError, match="already exists"):
        train.create_global_step()
    op = train.MomentumOptimizer(0.1, 0.9).apply_gradients([(tf.constant([1.0]), w)], global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run(op)
        assert train.global_step(sess, step) == 5


def test_no_global_step_in_fresh_graph() -> None:
    assert train.get_global_step() is None


def test_none_gradients_are_skipped_and_all_none_is_an_error() -> None:
    a = tf.Variable(np.array([1.0, 2.0], np.float32), name="a")
    b = tf.Variable(np.array([5.0], np.float32), name="b")
    opt = train.GradientDescentOptimizer(0.5)
    op = opt.apply_gradients([(tf.constant([1.0, 1.0]), a), (None, b)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(op)
        np.testing.assert_allclose(sess.run(a), [0.5, 1.5])
        np.testing.assert_allclose(sess.run(b), [5.0])
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply_gradients([(None, a), (None, b)])


def test_gradient_of_wrong_shape_names_the_variable() -> None:
    a = tf.Variable(np.array([1.0, 2.0], np.float32), name="weights")
    with pytest.raises(ValueError, match="weights"):
        train.GradientDescentOptimizer(0.5).apply_gradients([(tf.constant([1.0, 1.0, 1.0]), a)])


def test_bad_hyperparameters() -> None:
    with pytest.raises(ValueError):
        train.FtrlOptimizer(0.1, learning_rate_power=0.5)
    with pytest.raises(ValueError):
        train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)


def test_exponential_decay_follows_the_global_step() -> None:
    step = train.get_or_create_global_step()
    smooth = train.exponential_decay(0.5, step, 10, 0.8)
    stairs = train.exponential_decay(0.5, step, 10, 0.8, staircase=True)
    w = tf.Variable(np.float32([1.0]), name="w")
    op = train.GradientDescentOptimizer(smooth).apply_gradients([(tf.constant([1.0]), w)], global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        expected_w = 1.0
        for i in range(25):
            assert abs(sess.run(smooth) - 0.5 * 0.8 ** (i / 10)) < 1e-6
            assert abs(sess.run(stairs) - 0.5 * 0.8 ** (i // 10)) < 1e-6
            sess.run(op)
            expected_w -= 0.5 * 0.8 ** (i / 10)
        np.testing.assert_allclose(sess.run(w), [expected_w], rtol=1e-5)


def test_piecewise_constant() -> None:
    x = tf.placeholder(tf.int64, [])
    lr = train.piecewise_constant(x, [10, 20], [1.0, 0.5, 0.1])
    with tf.Session() as sess:
        got = [float(sess.run(lr, {x: v})) for v in (0, 10, 11, 20, 21, 100)]
    np.testing.assert_allclose(got, [1.0, 1.0, 0.5, 0.5, 0.1, 0.1], rtol=1e-7)
