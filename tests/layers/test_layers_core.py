"""xlc.layers Dense / Flatten / Dropout: variable names, reuse, shapes, values against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.errors import DTypeError, ShapeError


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_dense_names_follow_tf():
    x = tf.placeholder(tf.float32, [None, 5])
    tf.layers.dense(x, 3)
    tf.layers.dense(x, 4)
    with tf.variable_scope("model"):
        tf.layers.dense(x, 2)
        tf.layers.Dense(2, name="logits")(x)
    names = [v.name for v in tf.global_variables()]
    assert names == ["dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "dense_1/bias:0",
                     "model/dense/kernel:0", "model/dense/bias:0", "model/logits/kernel:0", "model/logits/bias:0"]
    assert [v.name for v in tf.trainable_variables()] == names


def test_dense_forward_matches_numpy():
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [None, 6])
    layer = tf.layers.Dense(4, activation=tf.nn.relu)
    y = layer(x)
    assert y.shape.as_list() == [None, 4]
    assert layer.kernel.shape.as_list() == [6, 4] and layer.bias.shape.as_list() == [4]
    assert layer.variables == [layer.kernel, layer.bias] == layer.trainable_variables
    xv = rng.standard_normal((7, 6)).astype(np.float32)
    out, k, b = _run([y, layer.kernel, layer.bias], {x: xv})
    assert np.abs(k).max() > 0  # glorot init, not zeros
    np.testing.assert_array_equal(b, np.zeros(4, np.float32))
    np.testing.assert_allclose(out, np.maximum(xv @ k + b, 0), rtol=1e-5, atol=1e-6)


def test_dense_glorot_uniform_bounds_and_custom_initializers():
    x = tf.placeholder(tf.float32, [None, 300])
    default = tf.layers.Dense(200)
    default(x)
    custom = tf.layers.Dense(3, kernel_initializer=tf.constant_initializer(0.5),
                             bias_initializer=tf.constant_initializer(-1.0))
    custom(x)
    k, ck, cb = _run([default.kernel, custom.kernel, custom.bias])
    limit = np.sqrt(6.0 / (300 + 200))
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.9 * limit
    assert abs(k.std() - limit / np.sqrt(3)) < 0.05 * limit
    np.testing.assert_array_equal(ck, np.full((300, 3), 0.5, np.float32))
    np.testing.assert_array_equal(cb, np.full(3, -1.0, np.float32))


def test_dense_without_bias_on_rank3_inputs():
    rng = np.random.default_rng(1)
    x = tf.placeholder(tf.float32, [None, 3, 5])
    layer = tf.layers.Dense(2, use_bias=False)
    y = layer(x)
    assert layer.bias is None and len(layer.variables) == 1
    assert y.shape.as_list() == [None, 3, 2]
    xv = rng.standard_normal((4, 3, 5)).astype(np.float32)
    out, k = _run([y, layer.kernel], {x: xv})
    np.testing.assert_allclose(out, xv @ k, rtol=1e-5, atol=1e-6)


def test_layer_object_reuses_its_variables():
    rng = np.random.default_rng(2)
    a = tf.placeholder(tf.float32, [None, 4])
    b = tf.placeholder(tf.float32, [None, 4])
    layer = tf.layers.Dense(3)
    ya, yb = layer(a), layer(b)
    assert len(tf.global_variables()) == 2
    av = rng.standard_normal((2, 4)).astype(np.float32)
    oa, ob = _run([ya, yb], {a: av, b: av})
    np.testing.assert_array_equal(oa, ob)


def test_function_form_reuse_by_name():
    x = tf.placeholder(tf.float32, [None, 4])
    y1 = tf.layers.dense(x, 3, name="shared")
    y2 = tf.layers.dense(x, 3, name="shared", reuse=True)
    assert len(tf.global_variables()) == 2
    with pytest.raises(ValueError, match="shared/kernel already exists"):
        tf.layers.dense(x, 3, name="shared")
    with tf.variable_scope("outer"):
        tf.layers.dense(x, 3, name="fc")
    with tf.variable_scope("outer", reuse=True):
        tf.layers.dense(x, 3, name="fc")
    assert len(tf.global_variables()) == 4
    xv = np.random.default_rng(3).standard_normal((2, 4)).astype(np.float32)
    o1, o2 = _run([y1, y2], {x: xv})
    np.testing.assert_array_equal(o1, o2)


def test_non_trainable_layer():
    x = tf.placeholder(tf.float32, [None, 4])
    layer = tf.layers.Dense(3, trainable=False)
    layer(x)
    assert layer.trainable_variables == [] and len(layer.non_trainable_variables) == 2
    assert tf.trainable_variables() == [] and len(tf.global_variables()) == 2


def test_dense_errors_name_the_problem():
    with pytest.raises(ShapeError, match="last dimension of the inputs to `Dense`"):
        tf.layers.dense(tf.placeholder(tf.float32, [None, None]), 3)
    with pytest.raises(ShapeError, match="rank >= 2"):
        tf.layers.dense(tf.placeholder(tf.float32, [5]), 3)
    with pytest.raises(DTypeError, match="floating-point"):
        tf.layers.dense(tf.placeholder(tf.int32, [None, 5]), 3)
    with pytest.raises(ValueError, match="units must be positive"):
        tf.layers.Dense(0)


def test_kernel_regularizer_collects_a_loss():
    x = tf.placeholder(tf.float32, [None, 4])
    layer = tf.layers.Dense(3, kernel_regularizer=lambda w: tf.reduce_sum(tf.square(w)))
    layer(x)
    (loss,) = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    lv, k = _run([loss, layer.kernel])
    np.testing.assert_allclose(lv, (k ** 2).sum(), rtol=1e-5)


def test_flatten():
    rng = np.random.default_rng(4)
    x = tf.placeholder(tf.float32, [None, 2, 3, 4])
    y = tf.layers.flatten(x)
    assert y.shape.as_list() == [None, 24]
    assert tf.layers.Flatten()(tf.placeholder(tf.float32, [5, 2, 3])).shape.as_list() == [5, 6]
    xv = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(_run(y, {x: xv}), xv.reshape(3, 24))
    with pytest.raises(ShapeError, match="static non-batch dims"):
        tf.layers.flatten(tf.placeholder(tf.float32, [None, None, 3]))


def test_dropout_inference_is_identity():
    rng = np.random.default_rng(5)
    x = tf.placeholder(tf.float32, [None, 10])
    y = tf.layers.dropout(x, rate=0.5)  # training defaults to False
    layer = tf.layers.Dropout(0.3)
    z = layer(x, training=False)
    xv = rng.standard_normal((4, 10)).astype(np.float32)
    oy, oz = _run([y, z], {x: xv})
    np.testing.assert_array_equal(oy, xv)
    np.testing.assert_array_equal(oz, xv)


def test_dropout_rejects_a_bool_tensor_with_a_clear_message():
    x = tf.placeholder(tf.float32, [None, 10])
    flag = tf.placeholder(tf.bool, [], name="is_training")
    with pytest.raises(TypeError, match=r"is_training:0.*tf\.cond"):
        tf.layers.dropout(x, training=flag)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        tf.layers.Dropout(1.0)


def test_dropout_training_scales_kept_units():
    rng = np.random.default_rng(6)
    x = tf.placeholder(tf.float32, [None, 2000])
    y = tf.layers.dropout(x, rate=0.25, training=True, seed=1)
    xv = (rng.random((3, 2000)) + 0.5).astype(np.float32)
    out = _run(y, {x: xv})
    kept = out != 0
    np.testing.assert_allclose(out[kept], xv[kept] / 0.75, rtol=1e-5)
    assert abs(kept.mean() - 0.75) < 0.03
