"""Lowering graphs to IR: arguments, results, pruning, variable reads/assigns, graph_to_module."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.frontend.op_builder import apply_op
from xlc.frontend.lowering import graph_to_module, lower_run
from xlc.ir.interpreter import interpret
from xlc.ir.printer import print_func
from xlc.ir.types import TensorType
from xlc.ir.verifier import verify_func

rng = np.random.default_rng(7)


def op2(kind, x, y, name=None):
    return apply_op(kind.capitalize(), kind, [x, y], name=name).outputs[0]


def test_run_func_args_are_feeds_then_variables():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    v = tf.Variable(rng.standard_normal(3).astype(np.float32), name="v")
    y = op2("add", x, v.value())
    unused = tf.placeholder(tf.float32, name="unused")
    lr = lower_run(tf.get_default_graph(), [y], [x])
    verify_func(lr.func)
    assert lr.func.arg_types == (TensorType((None, 3), tf.float32), TensorType((3,), tf.float32))
    assert lr.var_reads == [v.op] and lr.var_writes == []
    assert [op.name for op in lr.ops] == ["v", "Add"]  # a fed placeholder computes nothing
    assert [o.name for o in lr.func.body.ops] == ["add", "return"]
    assert lr.func.body.ops[0].loc.file == __file__  # the user's line travels to the IR
    text = print_func(lr.func)
    assert "%x" in text and "tensor<?x3xf32>" in text
    xv, vv = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    np.testing.assert_allclose(interpret(lr.func, [xv, vv])[0], xv + vv, rtol=1e-6)
    assert unused is not None


def test_assigns_become_results_and_reads_are_ordered():
    v = tf.Variable(rng.standard_normal(2).astype(np.float32), name="v")
    d = rng.standard_normal(2).astype(np.float32)
    inc = v.assign_add(d)
    with tf.control_dependencies([inc]):
        after = v.read_value()
    before = op2("mul", v.value(), v.value())
    lr = lower_run(tf.get_default_graph(), [after, before], [])
    verify_func(lr.func)
    assert lr.var_reads == [v.op] and lr.var_writes == [v.op]
    start = rng.standard_normal(2).astype(np.float32)
    a, b, final = interpret(lr.func, [start])
    np.testing.assert_allclose(a, start + d, rtol=1e-6)
    np.testing.assert_allclose(b, start * start, rtol=1e-6)
    np.testing.assert_allclose(final, start + d, rtol=1e-6)


def test_initializer_does_not_read_the_variable():
    v = tf.Variable(rng.standard_normal(2).astype(np.float32), name="v")
    lr = lower_run(tf.get_default_graph(), [v.initializer], [])
    assert lr.var_reads == [] and lr.var_writes == [v.op]
    assert len(lr.func.args) == 0


def test_unfed_placeholder_in_the_subgraph_is_an_error():
    x = tf.placeholder(tf.int64, [2, None], name="inp")
    y = op2("add", x, x)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"placeholder tensor 'inp' with dtype int64 and shape \[2,\?\]"):
        lower_run(tf.get_default_graph(), [y], [])


def test_placeholder_with_default():
    cv = rng.standard_normal(3).astype(np.float32)
    p = tf.placeholder_with_default(tf.constant(cv), [3], name="p")
    y = op2("mul", p, p)
    fv = rng.standard_normal(3).astype(np.float32)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {p: fv}), fv * fv, rtol=1e-6)
    lr = lower_run(tf.get_default_graph(), [y], [])
    np.testing.assert_allclose(interpret(lr.func, [])[0], cv * cv, rtol=1e-6)


def test_graph_to_module_covers_the_whole_graph():
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    w = tf.Variable(rng.standard_normal(4).astype(np.float32), name="w")
    y = op2("mul", x, w.value(), name="y")
    z = op2("add", y, y, name="z")
    module = graph_to_module(tf.get_default_graph())
    func = module["main"]
    verify_func(func)
    assert func.arg_types[0] == TensorType((None, 4), tf.float32)
    # results: z (nobody consumes it), and w's new value from its initializer
    assert [r for r in func.result_types] == [TensorType((None, 4), tf.float32), TensorType((4,), tf.float32)]
    assert z is not None


def test_graph_to_module_rejects_unknown_rank_placeholders():
    x = tf.placeholder(tf.float32, name="free")
    op2("add", x, x)
    with pytest.raises(tf.errors.InvalidArgumentError, match="'free' has unknown rank"):
        graph_to_module(tf.get_default_graph())
