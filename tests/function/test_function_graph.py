"""@xlc.function in graph mode: compiled calls agree with Session.run, trace once per signature,
update the session's variables, and inline into a graph when given graph Tensors."""

from __future__ import annotations

import logging
from collections import namedtuple

import numpy as np
import pytest

import xlc as tf
from xlc.errors import FailedPreconditionError, InvalidArgumentError

RNG = np.random.default_rng(7)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def mlp_vars(sizes: tuple[int, ...] = (6, 5, 3)) -> list[tf.Variable]:
    vs = []
    for i, o in zip(sizes, sizes[1:]):
        vs += [tf.Variable(rand(i, o)), tf.Variable(rand(o))]
    return vs


def forward(vs: list[tf.Variable], x: tf.Tensor) -> tf.Tensor:
    h = x
    for k in range(0, len(vs), 2):
        h = tf.matmul(h, vs[k]) + vs[k + 1]
        if k + 2 < len(vs):
            h = tf.nn.relu(h)
    return h


def test_forward_matches_session_run() -> None:
    vs = mlp_vars()
    f = tf.function(lambda x: tf.nn.softmax(forward(vs, x)))
    px = tf.placeholder(tf.float32, [None, 6])
    ref = tf.nn.softmax(forward(vs, px))
    x = rand(4, 6)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = f(x)
        want = sess.run(ref, {px: x})
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_training_step_updates_variables_like_a_session_train_op() -> None:
    init = [rand(6, 5), rand(5), rand(5, 3), rand(3)]
    x, y = rand(8, 6), np.eye(3, dtype=np.float32)[RNG.integers(0, 3, 8)]

    def loss_of(vs: list[tf.Variable], xb: tf.Tensor, yb: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=yb, logits=forward(vs, xb)))

    g1 = tf.Graph()  # the reference: the same step as a TF1 train op
    with g1.as_default():
        vs1 = [tf.Variable(v) for v in init]
        px, py = tf.placeholder(tf.float32, [None, 6]), tf.placeholder(tf.float32, [None, 3])
        loss1 = loss_of(vs1, px, py)
        train = tf.train.GradientDescentOptimizer(0.5).minimize(loss1)
        s1 = tf.Session(graph=g1)
        s1.run(tf.global_variables_initializer())
        want = [s1.run([loss1, train], {px: x, py: y})[0] for _ in range(3)]
        want_vars = s1.run(vs1)

    g2 = tf.Graph()
    with g2.as_default():
        vs2 = [tf.Variable(v) for v in init]

        @tf.function
        def step(xb, yb, lr):
            loss = loss_of(vs2, xb, yb)
            for v, grad in zip(vs2, tf.gradients(loss, vs2)):
                v.assign_sub(lr * grad)
            return loss

        with tf.Session() as s2:
            s2.run(tf.global_variables_initializer())
            got = [step(x, y, 0.5) for _ in range(3)]
            got_vars = s2.run(vs2)
    assert step.trace_count == 1
    assert isinstance(got[0], np.float32)  # a 0-d result is a numpy scalar, as Session.run gives
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(got_vars, want_vars):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got_vars[0], init[0])


def test_traces_once_per_signature(caplog: pytest.LogCaptureFixture) -> None:
    @tf.function
    def f(x, scale):
        return x * scale

    caplog.set_level(logging.INFO, logger="xlc.function")
    a = rand(2, 3)
    np.testing.assert_allclose(f(a, 2.0), a * 2)
    for _ in range(3):
        b = rand(2, 3)  # new values, same signature
        np.testing.assert_allclose(f(b, 2.0), b * 2)
    assert f.trace_count == 1
    f(rand(5, 3), 2.0)  # a new shape
    assert f.trace_count == 2
    assert "retracing f: new input signature (float32[5,3], 2.0); argument 0: float32[2,3] -> float32[5,3]" \
        in caplog.text
    np.testing.assert_allclose(f(a, 3.0), a * 3, rtol=1e-6)  # a Python value is part of the key
    assert f.trace_count == 3
    f(a.astype(np.float64), 3.0)  # a new dtype
    assert f.trace_count == 4
    f(a, 2.0)
    f(rand(5, 3), 2.0)
    assert f.trace_count == 4


def test_none_dims_of_an_input_signature_serve_every_batch_size() -> None:
    w = rand(3, 2)

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def f(x):
        return tf.matmul(x, w)

    for n in (1, 4, 17):
        x = rand(n, 3)
        np.testing.assert_allclose(f(x), x @ w, rtol=1e-5, atol=1e-6)
    assert f.trace_count == 1
    assert "func @f(%x: tensor<?x3xf32>)" in f.get_ir()
    with pytest.raises(InvalidArgumentError, match=r"argument #0 has shape \(4, 2\)"):
        f(rand(4, 2))
    with pytest.raises(InvalidArgumentError, match="dtype int32"):
        f(np.ones((2, 3), np.int32))


def test_keyword_and_positional_calls_share_a_trace_and_structures_round_trip() -> None:
    Pair = namedtuple("Pair", ["a", "b"])

    @tf.function
    def f(xs, scale=2.0, *, out="dict"):
        s = xs[0] + xs[1]
        return {"sum": s * scale, "pair": Pair(s, tf.reduce_sum(s)), "kind": out, "none": None}

    x0, x1 = rand(3), rand(3)
    r1 = f([x0, x1])
    r2 = f([x0, x1], scale=2.0)
    r3 = f(xs=[x0, x1])
    assert f.trace_count == 1
    for r in (r1, r2, r3):
        assert set(r) == {"sum", "pair", "kind", "none"} and r["kind"] == "dict" and r["none"] is None
        np.testing.assert_allclose(r["sum"], (x0 + x1) * 2, rtol=1e-6)
        assert isinstance(r["pair"], Pair)
        np.testing.assert_allclose(r["pair"].b, np.sum(x0 + x1), rtol=1e-5)


def test_returned_input_is_a_copy_and_inputs_are_not_written() -> None:
    f = tf.function(lambda x: (x, x + 1))
    x = rand(4)
    keep = x.copy()
    same, plus = f(x)
    np.testing.assert_array_equal(same, keep)
    same[0] = 100.0
    np.testing.assert_array_equal(x, keep)
    np.testing.assert_allclose(plus, keep + 1)


def test_graph_tensor_arguments_inline_the_function_into_the_graph() -> None:
    @tf.function
    def f(x):
        return tf.square(x) + 1.0

    px = tf.placeholder(tf.float32, [None])
    y = f(px)
    assert isinstance(y, tf.Tensor) and y.graph is tf.get_default_graph()
    assert f.trace_count == 0
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {px: [1.0, 2.0]}), [2.0, 5.0])


def test_variables_need_the_session_that_holds_them() -> None:
    v = tf.Variable(np.ones(3, np.float32))
    f = tf.function(lambda x: x * v)
    with pytest.raises(ValueError, match="no default session"):
        f(rand(3))
    with tf.Session() as sess:
        with pytest.raises(FailedPreconditionError, match="uninitialized value Variable"):
            f(rand(3))
        sess.run(v.initializer)
        x = rand(3)
        np.testing.assert_allclose(f(x), x)


def test_variables_created_while_tracing_are_initialised_on_first_call() -> None:
    @tf.function
    def f(x):
        counter = tf.Variable(np.float32(10.0), name="counter")
        counter.assign_add(tf.reduce_sum(x))
        return counter.read_value()

    with tf.Session() as sess:
        assert f(np.ones(2, np.float32)) == 10.0  # the read sees the start value (no ordering edge)
        (var,) = [v for v in tf.global_variables() if v.op.name.endswith("counter")]
        assert sess.run(var) == 12.0
        f(np.ones(2, np.float32))
        assert sess.run(var) == 14.0
    assert f.trace_count == 1


def test_methods_bind_self() -> None:
    class Scaler:
        def __init__(self, k: float) -> None:
            self.k = k

        @tf.function
        def __call__(self, x):
            return x * self.k

    a, b = Scaler(2.0), Scaler(3.0)
    x = rand(3)
    np.testing.assert_allclose(a(x), x * 2, rtol=1e-6)
    np.testing.assert_allclose(b(x), x * 3, rtol=1e-6)
    np.testing.assert_allclose(a(x), x * 2, rtol=1e-6)
    assert a.__call__.trace_count == 1


def test_get_ir_llvm_and_asm_of_a_signature() -> None:
    @tf.function
    def f(x, y):
        return tf.nn.relu(x * 2.0 + y)

    spec = tf.TensorSpec([None, 8], tf.float32)
    ir = f.get_ir(spec, spec)
    assert ir.startswith("func @f(%x: tensor<?x8xf32>, %y: tensor<?x8xf32>) -> (tensor<?x8xf32>)")
    assert "relu(" in ir
    traced = f.get_ir(spec, spec, optimized=False)
    assert "mul(" in traced
    assert "define" in f.get_llvm_ir(spec, spec)
    asm = f.get_asm(spec, spec)
    assert "xlc_main:" in asm and "\tret" in asm
    assert f.trace_count == 1  # the three texts share one trace
    x, y = rand(2, 8), rand(2, 8)
    np.testing.assert_allclose(f.get_concrete_function(spec, spec)([x, y]), np.maximum(x * 2 + y, 0), rtol=1e-6)


def test_each_graph_gets_its_own_trace_and_frequent_retracing_warns(caplog: pytest.LogCaptureFixture) -> None:
    f = tf.function(lambda x: x - 1.0)
    g1, g2 = tf.Graph(), tf.Graph()
    x = rand(2)
    with g1.as_default():
        f(x)
    with g2.as_default():
        np.testing.assert_allclose(f(x), x - 1)
    assert f.trace_count == 2
    assert all(c.graph in (g1, g2) for c in f.concrete_functions)
    caplog.set_level(logging.WARNING, logger="xlc.function")
    with g1.as_default():
        for n in range(3, 7):  # four new shapes: five traces in g1
            f(rand(n))
    assert "has been traced 5 times" in caplog.text and "input_signature" in caplog.text
