"""Summary ops: string tensors of Summary protos, computed on the host from one compiled run."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.frontend import lowering
from xlc.frontend import session as session_mod
from xlc.frontend.summary.protos import summary_tags
from xlc.frontend.summary import protobuf as pb


def _values(data: bytes) -> dict[str, float]:
    """The simple_values of a serialized Summary by tag (histogram values are left out)."""
    out = {}
    for _, _, value in pb.fields(data):
        fields = {n: v for n, _, v in pb.fields(value)}
        if 2 in fields:
            out[fields[1].decode()] = np.frombuffer(fields[2].to_bytes(4, "little"), np.float32)[0]
    return out


def test_scalar_summary_bytes_and_tags() -> None:
    x = tf.placeholder(tf.float32, [], name="x")
    with tf.name_scope("eval"):
        s1 = tf.summary.scalar("acc", x * 2.0)
        s2 = tf.summary.scalar("acc", x + 1.0)  # same name: a unique tag, as TF
        s3 = tf.summary.scalar("bad name!", x)
    assert s1.dtype is tf.string and s1.shape.ndims == 0
    assert s1.op.name == "eval/acc" and s2.op.name == "eval/acc_1"
    with tf.Session() as sess:
        got = sess.run(tf.summary.merge([s1, s2, s3]), {x: 1.25})
    assert summary_tags(got) == ["eval/acc", "eval/acc_1", "eval/bad_name_"]
    assert _values(got) == {"eval/acc": 2.5, "eval/acc_1": 2.25, "eval/bad_name_": 1.25}


def test_merge_all_collects_and_none_when_empty() -> None:
    assert tf.summary.merge_all() is None
    a = tf.summary.scalar("a", tf.constant(1.5))
    tf.summary.scalar("b", tf.constant(2), collections=["other"])
    with tf.Session() as sess:
        assert summary_tags(sess.run(tf.summary.merge_all())) == ["a"]
        assert summary_tags(sess.run(tf.summary.merge_all(key="other"))) == ["b"]
        assert sess.run(a) == sess.run(tf.summary.merge([a]))


def test_summaries_ride_along_a_compiled_train_step(monkeypatch) -> None:
    """Fetching summaries with the train op keeps the step in native code (no interpreter)."""
    def no_interpreter(*args, **kwargs):
        raise AssertionError("the run fell back to the interpreter")

    monkeypatch.setattr(session_mod, "interpret", no_interpreter)
    w = tf.Variable(np.float32([1.0, -1.0]), name="w")
    loss = tf.reduce_sum(tf.square(w))
    tf.summary.scalar("loss", loss)
    tf.summary.histogram("w", w)
    train_op = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
    merged = tf.summary.merge_all()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        s, _ = sess.run([merged, train_op])
        s2, _ = sess.run([merged, train_op])
    assert _values(s)["loss"] == 2.0 and _values(s2)["loss"] == 0.5  # read before each update
    assert summary_tags(s) == ["loss", "w_1"]  # "w" is the variable's name: TF1 tags the histogram "w_1" too


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="scalar"):
        tf.summary.scalar("v", tf.constant([1.0, 2.0]))
    with pytest.raises(TypeError):
        tf.summary.merge([tf.constant(1.0)])
    p = tf.placeholder(tf.float32, None)
    h = tf.summary.histogram("h", p)
    s = tf.summary.scalar("s", p)
    dup = tf.summary.merge([s, s])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Nan in summary histogram for: h"):
            sess.run(h, {p: [1.0, np.nan]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="tags and values"):
            sess.run(s, {p: [1.0, 2.0]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="Duplicate tag s"):
            sess.run(dup, {p: 1.0})


def test_summary_inside_a_compiled_op_is_a_clear_error() -> None:
    s = tf.summary.scalar("s", tf.constant(1.0))
    with tf.control_dependencies([s]):
        after = tf.identity(tf.constant(2.0))
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="runs on the host"):
        sess.run(after)


def test_whole_graph_lowering_skips_summaries() -> None:
    x = tf.placeholder(tf.float32, [3], name="x")
    y = tf.reduce_sum(x * 2.0)
    tf.summary.scalar("y", y)
    tf.summary.merge_all()
    func = lowering.graph_to_module(tf.get_default_graph())["main"]
    assert len(func.outputs) == 1 and func.outputs[0].type.dtype is tf.float32
