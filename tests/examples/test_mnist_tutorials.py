"""The TF 1.x MNIST tutorials, written as TensorFlow published them, run against ``import xlc as tf``.

Each tutorial reads its data with ``input_data.read_data_sets`` from an empty temp dir,
so it trains on the bundled digits.  The bodies below keep the tutorials' own code
(names, comments trimmed); only step counts are cut so the tests stay quick.
"""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.examples.tutorials.mnist import input_data

def mnist_softmax(data_dir: str, steps: int) -> float:
    """tensorflow/examples/tutorials/mnist/mnist_softmax.py (TF 1.0)."""
    mnist = input_data.read_data_sets(data_dir, one_hot=True)

    # Create the model
    x = tf.placeholder(tf.float32, [None, 784])
    W = tf.Variable(tf.zeros([784, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.matmul(x, W) + b

    # Define loss and optimizer
    y_ = tf.placeholder(tf.float32, [None, 10])
    cross_entropy = tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)

    sess = tf.InteractiveSession()
    tf.global_variables_initializer().run()
    # Train
    for _ in range(steps):
        batch_xs, batch_ys = mnist.train.next_batch(100)
        sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})

    # Test trained model
    correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    result = sess.run(accuracy, feed_dict={x: mnist.test.images,
                                           y_: mnist.test.labels})
    sess.close()
    return float(result)


def test_mnist_softmax_learns(tmp_path):
    accuracy = mnist_softmax(str(tmp_path), steps=300)
    assert accuracy > 0.8, accuracy  # chance is 0.1


# --- Deep MNIST for Experts (mnist_deep.py) ---------------------------------------------------
def deepnn(x):
    """deepnn builds the graph for a deep net for classifying digits."""
    with tf.name_scope('reshape'):
        x_image = tf.reshape(x, [-1, 28, 28, 1])
    with tf.name_scope('conv1'):
        W_conv1 = weight_variable([5, 5, 1, 32])
        b_conv1 = bias_variable([32])
        h_conv1 = tf.nn.relu(conv2d(x_image, W_conv1) + b_conv1)
    with tf.name_scope('pool1'):
        h_pool1 = max_pool_2x2(h_conv1)
    with tf.name_scope('conv2'):
        W_conv2 = weight_variable([5, 5, 32, 64])
        b_conv2 = bias_variable([64])
        h_conv2 = tf.nn.relu(conv2d(h_pool1, W_conv2) + b_conv2)
    with tf.name_scope('pool2'):
        h_pool2 = max_pool_2x2(h_conv2)
    with tf.name_scope('fc1'):
        W_fc1 = weight_variable([7 * 7 * 64, 1024])
        b_fc1 = bias_variable([1024])
        h_pool2_flat = tf.reshape(h_pool2, [-1, 7 * 7 * 64])
        h_fc1 = tf.nn.relu(tf.matmul(h_pool2_flat, W_fc1) + b_fc1)
    with tf.name_scope('dropout'):
        keep_prob = tf.placeholder(tf.float32)
        h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob)
    with tf.name_scope('fc2'):
        W_fc2 = weight_variable([1024, 10])
        b_fc2 = bias_variable([10])
        y_conv = tf.matmul(h_fc1_drop, W_fc2) + b_fc2
    return y_conv, keep_prob


def conv2d(x, W):
    """conv2d returns a 2d convolution layer with full stride."""
    return tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding='SAME')


def max_pool_2x2(x):
    """max_pool_2x2 downsamples a feature map by 2X."""
    return tf.nn.max_pool(x, ksize=[1, 2, 2, 1],
                          strides=[1, 2, 2, 1], padding='SAME')


def weight_variable(shape):
    """weight_variable generates a weight variable of a given shape."""
    initial = tf.truncated_normal(shape, stddev=0.1)
    return tf.Variable(initial)


def bias_variable(shape):
    """bias_variable generates a bias variable of a given shape."""
    initial = tf.constant(0.1, shape=shape)
    return tf.Variable(initial)


@pytest.mark.slow
def test_mnist_deep_loss_falls(tmp_path):
    tf.set_random_seed(1)
    mnist = input_data.read_data_sets(str(tmp_path), one_hot=True, seed=1)

    x = tf.placeholder(tf.float32, [None, 784])
    y_ = tf.placeholder(tf.float32, [None, 10])
    y_conv, keep_prob = deepnn(x)
    with tf.name_scope('loss'):
        cross_entropy = tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y_conv)
    cross_entropy = tf.reduce_mean(cross_entropy)
    with tf.name_scope('adam_optimizer'):
        train_step = tf.train.AdamOptimizer(1e-4).minimize(cross_entropy)
    with tf.name_scope('accuracy'):
        correct_prediction = tf.equal(tf.argmax(y_conv, 1), tf.argmax(y_, 1))
        correct_prediction = tf.cast(correct_prediction, tf.float32)
    accuracy = tf.reduce_mean(correct_prediction)

    probe = mnist.validation.next_batch(50)  # a fixed batch the loss is measured on
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before = cross_entropy.eval(feed_dict={x: probe[0], y_: probe[1], keep_prob: 1.0})
        for i in range(8):
            batch = mnist.train.next_batch(50)
            if i % 4 == 0:
                train_accuracy = accuracy.eval(feed_dict={x: batch[0], y_: batch[1], keep_prob: 1.0})
                assert 0.0 <= train_accuracy <= 1.0
            train_step.run(feed_dict={x: batch[0], y_: batch[1], keep_prob: 0.5})
        after = cross_entropy.eval(feed_dict={x: probe[0], y_: probe[1], keep_prob: 1.0})
    assert np.isfinite(before) and after < 0.8 * before, (before, after)
