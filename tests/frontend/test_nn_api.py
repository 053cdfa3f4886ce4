"""``xlc.nn`` as TF 1.x code calls it: shapes, values against numpy, stability, dropout, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf

RNG = np.random.default_rng(3)


def _f(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def run(fetches, feed=None):
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        return s.run(fetches, feed)


def np_log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z.astype(np.float64)
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def test_activations_against_numpy() -> None:
    xv = _f(4, 5, scale=3.0)
    x = tf.placeholder(tf.float32, [None, 5])
    outs = run([tf.nn.relu(x), tf.nn.relu6(x * 3), tf.nn.elu(x), tf.nn.leaky_relu(x), tf.nn.leaky_relu(x, alpha=0.1),
                tf.nn.softplus(x), tf.nn.sigmoid(x), tf.nn.tanh(x), tf.nn.selu(x), tf.nn.softsign(x)], {x: xv})
    want = [np.maximum(xv, 0), np.clip(xv * 3, 0, 6), np.where(xv > 0, xv, np.expm1(xv)), np.where(xv > 0, xv, 0.2 * xv),
            np.where(xv > 0, xv, 0.1 * xv), np.logaddexp(0, xv), 1 / (1 + np.exp(-xv)), np.tanh(xv),
            1.0507009873554805 * np.where(xv > 0, xv, 1.6732632423543772 * np.expm1(xv)), xv / (1 + np.abs(xv))]
    for got, w in zip(outs, want):
        np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_softmax_and_log_softmax_axes_and_stability() -> None:
    zv = _f(3, 4, 5, scale=2.0)
    z = tf.placeholder(tf.float32, [None, 4, 5])
    sm, lsm, sm1 = run([tf.nn.softmax(z), tf.nn.log_softmax(z), tf.nn.softmax(z, axis=1)], {z: zv})
    assert sm.shape == (3, 4, 5)
    np.testing.assert_allclose(lsm, np_log_softmax(zv), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sm, np.exp(np_log_softmax(zv)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sm1, np.exp(np_log_softmax(zv, 1)), rtol=1e-5, atol=1e-6)
    big = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]], np.float32)
    got = run(tf.nn.softmax(tf.constant(big)))
    np.testing.assert_allclose(got, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)


def test_cross_entropies_against_numpy_and_at_logits_1000() -> None:
    zv = _f(6, 10, scale=3.0)
    zv[0, 2] = 1000.0
    zv[1, :] = -1000.0
    labels_v = RNG.integers(0, 10, size=6).astype(np.int32)
    onehot = np.eye(10, dtype=np.float32)[labels_v]
    z = tf.placeholder(tf.float32, [None, 10])
    lab = tf.placeholder(tf.int32, [None])
    y = tf.placeholder(tf.float32, [None, 10])
    dense = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z)
    dense2 = tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=z)
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=lab, logits=z)
    assert dense.shape.as_list() == [None] and sparse.shape.as_list() == [None]
    got = run([dense, dense2, sparse], {z: zv, lab: labels_v, y: onehot})
    want = -(onehot * np_log_softmax(zv)).sum(-1)
    for g in got:
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-4)
    # a non-last class axis
    got = run(tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.constant(onehot.T), logits=tf.constant(zv.T),
                                                         axis=0))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_sigmoid_cross_entropy_is_stable() -> None:
    xv = np.array([-1000.0, -3.0, 0.5, 40.0, 1000.0], np.float32)
    zv = np.array([0.0, 1.0, 0.3, 0.0, 1.0], np.float32)
    got = run(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(zv), logits=tf.constant(xv)))
    x64, z64 = xv.astype(np.float64), zv.astype(np.float64)
    want = np.maximum(x64, 0) - x64 * z64 + np.log1p(np.exp(-np.abs(x64)))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_losses_and_small_compositions() -> None:
    tv, bv = _f(3, 4), _f(4)
    t = tf.constant(tv)
    l2, ba, ba_nchw, norm = run([tf.nn.l2_loss(t), tf.nn.bias_add(t, bv),
                                 tf.nn.bias_add(tf.constant(_f(2, 4, 3, 3) * 0 + 1), bv, data_format="NCHW"),
                                 tf.nn.l2_normalize(t, axis=1)])
    np.testing.assert_allclose(l2, (tv.astype(np.float64) ** 2).sum() / 2, rtol=1e-6)
    np.testing.assert_allclose(ba, tv + bv)
    np.testing.assert_allclose(ba_nchw, 1 + bv[None, :, None, None] * np.ones((2, 4, 3, 3)), rtol=1e-6)
    np.testing.assert_allclose(norm, tv / np.linalg.norm(tv, axis=1, keepdims=True), rtol=1e-5)
    with pytest.raises(ValueError, match="bias"):
        tf.nn.bias_add(t, tf.constant(_f(5)))


def test_conv2d_and_pooling_shapes_and_values() -> None:
    xv, wv = _f(2, 28, 28, 1), _f(5, 5, 1, 32, scale=0.1)
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    w = tf.Variable(wv)
    c = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
    p = tf.nn.max_pool(c, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    a = tf.nn.avg_pool(c, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="VALID")
    assert c.shape.as_list() == [None, 28, 28, 32]
    assert p.shape.as_list() == [None, 14, 14, 32]
    assert a.shape.as_list() == [None, 13, 13, 32]
    cv, pv = run([c, p], {x: xv})
    xp = np.pad(xv, ((0, 0), (2, 2), (2, 2), (0, 0))).astype(np.float64)
    want = sum(xp[:, i:i + 28, j:j + 28, :] @ wv[i, j] for i in range(5) for j in range(5))
    np.testing.assert_allclose(cv, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(pv, cv.reshape(2, 14, 2, 14, 2, 32).max(axis=(2, 4)))
    # NCHW is transposed around the NHWC op
    nchw = tf.nn.conv2d(tf.transpose(x, [0, 3, 1, 2]), w, strides=[1, 1, 1, 1], padding="SAME", data_format="NCHW")
    np.testing.assert_allclose(run(nchw, {x: xv}), cv.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="batch and depth"):
        tf.nn.conv2d(x, w, strides=[2, 1, 1, 1], padding="SAME")
    with pytest.raises(ValueError, match="in_channels"):
        tf.nn.conv2d(x, tf.constant(_f(5, 5, 3, 8)), strides=[1, 1, 1, 1], padding="SAME")


def test_conv_and_pool_gradients_against_finite_differences() -> None:
    xv, wv = _f(2, 6, 5, 2).astype(np.float64), _f(3, 3, 2, 3).astype(np.float64)
    x = tf.placeholder(tf.float64, [None, 6, 5, 2])
    w = tf.placeholder(tf.float64, [3, 3, 2, 3])
    y = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME")), [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    y = tf.nn.avg_pool(y, [1, 2, 2, 1], [1, 1, 1, 1], "SAME")
    wsum = tf.constant(_f(2, 3, 3, 3).astype(np.float64))
    loss = tf.reduce_sum(y * wsum)
    gx, gw = tf.gradients(loss, [x, w])
    with tf.Session() as s:
        gxv, gwv = s.run([gx, gw], {x: xv, w: wv})

        def f(a: np.ndarray, b: np.ndarray) -> float:
            return float(s.run(loss, {x: a, w: b}))

        eps = 1e-6
        for _ in range(3):
            vx, vw = RNG.standard_normal(xv.shape), RNG.standard_normal(wv.shape)
            fd = (f(xv + eps * vx, wv + eps * vw) - f(xv - eps * vx, wv - eps * vw)) / (2 * eps)
            np.testing.assert_allclose(np.sum(gxv * vx) + np.sum(gwv * vw), fd, rtol=1e-5)


def test_softmax_cross_entropy_gradient_and_labels_stop() -> None:
    zv = _f(4, 5).astype(np.float64)
    yv = np.abs(_f(4, 5)).astype(np.float64)
    z, y = tf.placeholder(tf.float64, [None, 5]), tf.placeholder(tf.float64, [None, 5])
    loss_v1 = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z))
    loss_v2 = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=z))
    gz, gy1 = tf.gradients(loss_v1, [z, y])
    gy2 = tf.gradients(loss_v2, [y])[0]
    assert gy1 is None
    gzv, gy2v = run([gz, gy2], {z: zv, y: yv})
    sm = np.exp(np_log_softmax(zv))
    np.testing.assert_allclose(gzv, sm * yv.sum(1, keepdims=True) - yv, rtol=1e-10)
    np.testing.assert_allclose(gy2v, -np_log_softmax(zv), rtol=1e-10)


def test_dropout_scaling_seeding_and_keep_prob_placeholder() -> None:
    xv = np.abs(_f(100, 100)) + 0.5
    x = tf.placeholder(tf.float32, [None, 100])
    keep = tf.placeholder(tf.float32)
    d1 = tf.nn.dropout(x, keep, seed=4)
    d2 = tf.nn.dropout(x, keep, seed=4)
    d3 = tf.nn.dropout(x, rate=0.75, seed=5)
    assert d1.shape.as_list() == [None, 100]
    with tf.Session() as s:
        a, b, c = s.run([d1, d2, d3], {x: xv, keep: 0.5})
        again = s.run(d1, {x: xv, keep: 0.5})
        full = s.run(d1, {x: xv, keep: 1.0})
    kept = a != 0
    assert 0.45 < kept.mean() < 0.55
    np.testing.assert_allclose(a[kept], xv[kept] * 2, rtol=1e-6)
    np.testing.assert_array_equal(a, b)  # same graph seed and op seed: the same mask
    np.testing.assert_array_equal(a, again)
    np.testing.assert_array_equal(full, xv)
    assert 0.2 < (c != 0).mean() < 0.3
    np.testing.assert_allclose(c[c != 0], xv[c != 0] * 4, rtol=1e-6)
    with pytest.raises(ValueError, match="keep_prob"):
        tf.nn.dropout(x, 1.5)
    # the gradient uses the same mask
    g = tf.gradients(tf.reduce_sum(d1), x)[0]
    with tf.Session() as s:
        gv, dv = s.run([g, d1], {x: xv, keep: 0.5})
    np.testing.assert_array_equal(gv != 0, dv != 0)
    np.testing.assert_allclose(gv[gv != 0], 2.0)


def test_dropout_noise_shape_broadcasts_one_draw() -> None:
    x = tf.constant(np.ones((8, 50), np.float32))
    got = run(tf.nn.dropout(x, 0.5, noise_shape=[8, 1], seed=1))
    assert np.all((got == 0) | (got == 2))
    assert np.all(got == got[:, :1])


def test_moments_and_batch_normalization() -> None:
    xv = _f(8, 4, 4, 3, scale=2.0) + 1.0
    x = tf.constant(xv)
    mean, var = tf.nn.moments(x, axes=[0, 1, 2])
    mk, vk = tf.nn.moments(x, axes=[0], keep_dims=True)
    assert mean.shape.as_list() == [3] and mk.shape.as_list() == [1, 4, 4, 3]
    offset, scale = _f(3), _f(3)
    bn = tf.nn.batch_normalization(x, mean, var, offset, scale, 1e-3)
    bn_plain = tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)
    m, v, mkv, vkv, bnv, bnp = run([mean, var, mk, vk, bn, bn_plain])
    x64 = xv.astype(np.float64)
    np.testing.assert_allclose(m, x64.mean((0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(v, x64.var((0, 1, 2)), rtol=1e-4)
    np.testing.assert_allclose(mkv, x64.mean(0, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vkv, x64.var(0, keepdims=True), rtol=1e-4)
    norm = (x64 - x64.mean((0, 1, 2))) / np.sqrt(x64.var((0, 1, 2)) + 1e-3)
    np.testing.assert_allclose(bnv, norm * scale + offset, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bnp, norm, rtol=1e-4, atol=1e-5)


def test_in_top_k_and_xw_plus_b() -> None:
    pv = _f(5, 6)
    tv = RNG.integers(0, 6, 5).astype(np.int32)
    got1, got2 = run([tf.nn.in_top_k(tf.constant(pv), tf.constant(tv), 1),
                      tf.nn.in_top_k(tf.constant(pv), tf.constant(tv), 3)])
    rank = (pv > pv[np.arange(5), tv][:, None]).sum(1)
    np.testing.assert_array_equal(got1, rank < 1)
    np.testing.assert_array_equal(got2, rank < 3)
    xv, wv, bv = _f(3, 4), _f(4, 2), _f(2)
    np.testing.assert_allclose(run(tf.nn.xw_plus_b(xv, wv, bv)), xv @ wv + bv, rtol=1e-5)
    np.testing.assert_allclose(run(tf.nn.relu_layer(xv, wv, bv)), np.maximum(xv @ wv + bv, 0), rtol=1e-5)
