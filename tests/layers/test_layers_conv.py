"""xlc.layers Conv2D and pooling: names, output shapes, values against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.errors import ShapeError

def _pad_same(x, kh, kw, sh, sw, fill):
    n, h, w, c = x.shape
    oh, ow = -(-h // sh), -(-w // sw)
    ph = max((oh - 1) * sh + kh - h, 0)
    pw = max((ow - 1) * sw + kw - w, 0)
    return np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), constant_values=fill)


def _windows(x, kh, kw, sh, sw):
    """[n, oh, ow, kh, kw, c] windows of an already padded NHWC array."""
    n, h, w, c = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.empty((n, oh, ow, kh, kw, c), x.dtype)
    for i in range(oh):
        for j in range(ow):
            out[:, i, j] = x[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
    return out


def np_conv2d(x, k, strides, padding):
    kh, kw = k.shape[:2]
    if padding == "same":
        x = _pad_same(x, kh, kw, *strides, 0.0)
    return np.einsum("nijabc,abcf->nijf", _windows(x, kh, kw, *strides).astype(np.float64), k.astype(np.float64))


def np_pool(x, size, strides, padding, kind):
    if padding == "same":
        fill = -np.inf if kind == "max" else np.nan
        x = _pad_same(x.astype(np.float64), *size, *strides, fill)
    win = _windows(x, *size, *strides)
    return win.max(axis=(3, 4)) if kind == "max" else np.nanmean(win, axis=(3, 4))


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_conv2d_variables_and_shapes():
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    layer = tf.layers.Conv2D(32, 5, padding="same")
    assert layer.compute_output_shape([None, 28, 28, 1]).as_list() == [None, 28, 28, 32]
    assert tf.layers.Conv2D(8, (3, 2), strides=2).compute_output_shape([4, 9, 9, 3]).as_list() == [4, 4, 4, 8]
    y = layer(x)
    tf.layers.conv2d(y, 64, [5, 5], padding="same", activation=tf.nn.relu)
    assert [v.name for v in tf.global_variables()] == ["conv2d/kernel:0", "conv2d/bias:0", "conv2d_1/kernel:0",
                                                       "conv2d_1/bias:0"]
    assert layer.kernel.shape.as_list() == [5, 5, 1, 32]
    assert y.shape.as_list() == [None, 28, 28, 32]


@pytest.mark.parametrize("strides, padding", [((1, 1), "valid"), ((2, 2), "same"), ((1, 2), "same")])
def test_conv2d_forward_matches_numpy(strides, padding):
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [None, 9, 8, 3])
    layer = tf.layers.Conv2D(4, (3, 2), strides=strides, padding=padding, activation=tf.nn.relu,
                             bias_initializer=tf.random_normal_initializer(seed=1))
    y = layer(x)
    xv = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    out, k, b = _run([y, layer.kernel, layer.bias], {x: xv})
    expected = np.maximum(np_conv2d(xv, k, strides, padding) + b, 0)
    assert y.shape.as_list() == [None, *expected.shape[1:]]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size, strides, padding", [((2, 2), (2, 2), "valid"), ((3, 3), (2, 2), "same")])
def test_pooling_matches_numpy(kind, size, strides, padding):
    rng = np.random.default_rng(1)
    x = tf.placeholder(tf.float32, [None, 7, 6, 2])
    fn = tf.layers.max_pooling2d if kind == "max" else tf.layers.average_pooling2d
    y = fn(x, size, strides, padding=padding)
    xv = rng.standard_normal((2, 7, 6, 2)).astype(np.float32)
    expected = np_pool(xv, size, strides, padding, kind)
    assert y.shape.as_list() == [None, *expected.shape[1:]]
    np.testing.assert_allclose(_run(y, {x: xv}), expected, rtol=1e-5, atol=1e-6)


def test_conv_and_pool_argument_errors():
    with pytest.raises(ValueError, match="padding"):
        tf.layers.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size"):
        tf.layers.Conv2D(4, (3, 3, 3))
    with pytest.raises(ValueError, match="channels_last"):
        tf.layers.MaxPooling2D(2, 2, data_format="channels_first")
    with pytest.raises(ShapeError, match="rank 4"):
        tf.layers.conv2d(tf.placeholder(tf.float32, [None, 28, 28]), 4, 3)
    with pytest.raises(ShapeError, match="channel dimension"):
        tf.layers.conv2d(tf.placeholder(tf.float32, [None, 28, 28, None]), 4, 3)
