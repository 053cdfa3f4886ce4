"""A small model made of xlc.layers trains: gradients flow through every layer's variables."""

from __future__ import annotations

import numpy as np

import xlc as tf


def test_layers_model_fits_a_batch():
    tf.set_random_seed(3)
    rng = np.random.default_rng(0)
    xv = rng.random((16, 8, 8, 1)).astype(np.float32)
    yv = rng.integers(0, 3, 16)
    x = tf.placeholder(tf.float32, [None, 8, 8, 1])
    y = tf.placeholder(tf.int64, [None])
    h = tf.layers.conv2d(x, 4, 3, padding="same", activation=tf.nn.relu)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.layers.average_pooling2d(h, 2, 1, padding="same")
    h = tf.layers.dropout(tf.layers.flatten(h), rate=0.1, training=True, seed=2)
    logits = tf.layers.dense(h, 3)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    grads = tf.gradients(loss, tf.trainable_variables())
    train = tf.train.AdamOptimizer(0.02).minimize(loss)
    assert len(tf.trainable_variables()) == 4
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: xv, y: yv})
        assert all(np.abs(g).max() > 0 for g in sess.run(grads, {x: xv, y: yv}))
        for _ in range(60):
            sess.run(train, {x: xv, y: yv})
        last = sess.run(loss, {x: xv, y: yv})
    assert last < 0.5 * first, (first, last)
