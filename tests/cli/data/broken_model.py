import xlc as tf

x = tf.placeholder(tf.float32, shape=[2], name="x")
y = undefined_name + x
