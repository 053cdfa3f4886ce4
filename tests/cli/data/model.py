"""A tiny TF1-style graph for `xlc dump`."""
import numpy as np

import xlc as tf

x = tf.placeholder(tf.float32, shape=[None, 3], name="x")
w = tf.constant(np.array([1.0, 2.0, 3.0], np.float32))
y = tf.add(tf.multiply(x, tf.constant(1.0)), w, name="y")
print("built the graph")  # must not reach stdout
