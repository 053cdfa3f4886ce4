"""Variables: creation, initialization, assignment semantics, get_variable and variable_scope."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.frontend.op_builder import apply_op

rng = np.random.default_rng(99)


def op2(kind, x, y):
    return apply_op(kind.capitalize(), kind, [x, y]).outputs[0]


def test_variable_basics():
    init = rng.standard_normal((2, 3)).astype(np.float32)
    v = tf.Variable(init, name="v")
    assert v.name == "v:0" and v.op.name == "v" and v.op.type == "VariableV2"
    assert v.shape.as_list() == [2, 3] and v.dtype is tf.float32
    assert v.initializer.name == "v/Assign"
    assert v.initial_value.op.name == "v/initial_value"
    assert repr(v) == "<tf.Variable 'v:0' shape=(2, 3) dtype=float32_ref>"
    assert tf.global_variables() == [v] and tf.trainable_variables() == [v]
    w = tf.Variable(1, name="v", trainable=False)
    assert w.name == "v_1:0" and tf.trainable_variables() == [v]
    assert tf.Variable(1.0).name == "Variable:0"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(v), init)
        assert sess.run(w) == 1
        np.testing.assert_array_equal(v.eval(), init)


def test_uninitialized_variable_is_a_failed_precondition():
    v = tf.Variable(rng.standard_normal(3).astype(np.float32), name="weights")
    y = op2("add", v.value(), v.value())
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="Attempting to use uninitialized value weights"):
            sess.run(y)
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(v)


def test_assign_add_sub_update_the_session_value():
    init = rng.standard_normal(4).astype(np.float32)
    delta = rng.standard_normal(4).astype(np.float32)
    v = tf.Variable(init, name="v")
    add = v.assign_add(delta)
    sub = v.assign_sub(delta)
    new = rng.standard_normal(4).astype(np.float32)
    put = v.assign(new)
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_allclose(sess.run(add), init + delta, rtol=1e-6)
        np.testing.assert_allclose(sess.run(add), init + 2 * delta, rtol=1e-6)
        np.testing.assert_allclose(sess.run(v), init + 2 * delta, rtol=1e-6)
        np.testing.assert_allclose(sess.run(sub), init + delta, rtol=1e-6)
        np.testing.assert_array_equal(sess.run(put), new)
        np.testing.assert_array_equal(sess.run(v), new)
    with tf.Session() as sess:  # values live in the session
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(v)


def test_counter_loop():
    state = tf.Variable(0, name="counter")
    one = tf.constant(1)
    update = state.assign(op2("add", state.value(), one))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert [int(sess.run(update)) for _ in range(3)] == [1, 2, 3]
        assert sess.run(state) == 3


def test_reads_see_the_start_value_unless_ordered_after_the_assign():
    init = rng.standard_normal(3).astype(np.float32)
    new = rng.standard_normal(3).astype(np.float32)
    v = tf.Variable(init, name="v")
    assign = v.assign(new)
    plain = op2("mul", v.value(), tf.constant(2.0))
    with tf.control_dependencies([assign]):
        after = v.read_value()
    with tf.Session() as sess:
        sess.run(v.initializer)
        a, p = sess.run([after, plain])
        np.testing.assert_array_equal(a, new)
        np.testing.assert_allclose(p, 2 * init, rtol=1e-6)
        np.testing.assert_array_equal(sess.run(v), new)  # the assign ran and was kept


def test_variables_in_operators_and_conversion():
    init = rng.standard_normal(3).astype(np.float32)
    v = tf.Variable(init, name="v")
    t = tf.convert_to_tensor(v)
    assert t is v.value()
    y = v + 1.0
    z = 2.0 * v
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_allclose(sess.run(y), init + 1, rtol=1e-6)
        np.testing.assert_allclose(sess.run(z), 2 * init, rtol=1e-6)


def test_assign_checks_shape_and_dtype():
    v = tf.Variable(np.zeros((2, 2), np.float32) + 1.5, name="v")
    with pytest.raises(ValueError):
        v.assign(np.ones((3, 2), np.float32))
    with pytest.raises((TypeError, ValueError)):
        v.assign(tf.constant(1, shape=[2, 2]))


def test_variable_initialized_from_another():
    a_init = rng.standard_normal(3).astype(np.float32)
    a = tf.Variable(a_init, name="a")
    b = tf.Variable(op2("mul", a.initialized_value() if hasattr(a, "initialized_value") else a.initial_value,
                        tf.constant(3.0)), name="b")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(b), 3 * a_init, rtol=1e-6)


def test_variables_initializer_and_load():
    a = tf.Variable(rng.standard_normal(2).astype(np.float32), name="a")
    b = tf.Variable(rng.standard_normal(2).astype(np.float32), name="b")
    val = rng.standard_normal(2).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.variables_initializer([a]))
        sess.run(a)
        with pytest.raises(tf.errors.FailedPreconditionError, match="value b"):
            sess.run(b)
        b.load(val, sess)
        np.testing.assert_array_equal(sess.run(b), val)


def test_get_variable_and_scopes():
    with tf.variable_scope("layer1"):
        w = tf.get_variable("w", [3, 4], initializer=tf.random_normal_initializer(seed=1))
        b = tf.get_variable("b", [4], initializer=tf.zeros_initializer())
    assert w.name == "layer1/w:0" and b.name == "layer1/b:0"
    with pytest.raises(ValueError, match="already exists"):
        with tf.variable_scope("layer1"):
            tf.get_variable("w", [3, 4])
    with tf.variable_scope("layer1", reuse=True):
        assert tf.get_variable("w", [3, 4]) is w
        with pytest.raises(ValueError, match="does not exist"):
            tf.get_variable("nope", [1])
        with pytest.raises(ValueError, match="shape"):
            tf.get_variable("w", [4, 4])
    with tf.variable_scope("layer1") as scope:
        scope.reuse_variables()
        assert tf.get_variable("b") is b
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        x1 = tf.get_variable("x", [2], initializer=tf.ones_initializer())
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("x", [2]) is x1
    with tf.name_scope("ignored"):
        assert tf.get_variable("top", [1]).name == "top:0"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        wv = sess.run(w)
        assert wv.shape == (3, 4) and wv.std() > 0.1
        np.testing.assert_array_equal(sess.run(b), np.zeros(4, np.float32))
        np.testing.assert_array_equal(sess.run(x1), np.ones(2, np.float32))


def test_variable_scope_opens_a_name_scope():
    with tf.variable_scope("net"):
        c = tf.constant(1.0, name="c")
    assert c.op.name == "net/c"


def test_initializers_values():
    tf.set_random_seed(3)
    shapes = (40, 50)
    vs = {
        "zeros": tf.get_variable("zeros", shapes, initializer=tf.zeros_initializer()),
        "const": tf.get_variable("const", shapes, initializer=tf.constant_initializer(0.5)),
        "normal": tf.get_variable("normal", shapes, initializer=tf.random_normal_initializer(1.0, 2.0)),
        "trunc": tf.get_variable("trunc", shapes, initializer=tf.truncated_normal_initializer(stddev=0.5)),
        "unif": tf.get_variable("unif", shapes, initializer=tf.random_uniform_initializer(-3.0, 3.0)),
        "glorot": tf.get_variable("glorot", shapes, initializer=tf.glorot_uniform_initializer()),
        "default": tf.get_variable("default", shapes),
    }
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run(vs)
    assert not out["zeros"].any()
    assert (out["const"] == 0.5).all()
    assert abs(out["normal"].mean() - 1.0) < 0.2 and abs(out["normal"].std() - 2.0) < 0.2
    assert np.abs(out["trunc"]).max() <= 1.0 + 1e-6
    assert out["unif"].min() >= -3 and out["unif"].max() < 3 and out["unif"].std() > 1.5
    limit = np.sqrt(6 / 90)
    for k in ("glorot", "default"):
        assert np.abs(out[k]).max() <= limit and out[k].std() > limit / 3


def test_graph_seed_makes_initial_values_reproducible():
    def build_and_init():
        tf.reset_default_graph()
        tf.set_random_seed(7)
        v = tf.get_variable("v", [5], initializer=tf.random_normal_initializer())
        with tf.Session() as sess:
            sess.run(v.initializer)
            return sess.run(v)

    np.testing.assert_array_equal(build_and_init(), build_and_init())
