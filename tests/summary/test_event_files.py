"""Event files read back by TensorBoard: scalars, histograms, graphs, framing and file naming."""

from __future__ import annotations

import os
import re
import socket
import struct

import numpy as np
import pytest

import xlc as tf
from tests.summary.tb_reader import EventFileLoader, accumulate
from xlc.frontend.summary import records
from xlc.frontend.summary.protos import DEFAULT_BUCKET_LIMITS, Summary, histogram_of


def test_crc32c_known_vectors_and_tensorboard_agrees() -> None:
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    assert records.crc32c(b"123456789") == 0xE3069283
    assert records.crc32c(b"") == 0
    rng = np.random.default_rng(0)
    for n in (1, 7, 100, 1000):
        data = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        assert records.masked_crc32c(data) == masked_crc32c(data)


def test_record_framing_round_trip_and_corruption(tmp_path) -> None:
    path = tmp_path / "r"
    payloads = [b"", b"abc", bytes(range(256)) * 3]
    path.write_bytes(b"".join(records.encode_record(p) for p in payloads))
    with open(path, "rb") as f:
        assert list(records.read_records(f)) == payloads
    raw = bytearray(path.read_bytes())
    raw[8 + 4 + 4 + 4 + 8 + 4 + 1] ^= 0xFF  # a byte of the second payload
    path.write_bytes(bytes(raw))
    with open(path, "rb") as f, pytest.raises(tf.errors.DataLossError):
        list(records.read_records(f))


def test_scalars_and_histograms_through_a_training_loop(tmp_path) -> None:
    rng = np.random.default_rng(5)
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    w = tf.Variable(rng.normal(size=(4, 2)).astype(np.float32), name="w")
    with tf.name_scope("train"):
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
        tf.summary.scalar("loss", loss)
        tf.summary.histogram("weights", w)
        step = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
    merged = tf.summary.merge_all()
    batches = [rng.normal(size=(8, 4)).astype(np.float32) for _ in range(4)]
    expected_loss, expected_w = [], []
    with tf.Session() as sess, tf.summary.FileWriter(str(tmp_path), sess.graph) as writer:
        sess.run(tf.global_variables_initializer())
        for i, batch in enumerate(batches):
            expected_w.append(sess.run(w))
            summary, _, loss_val = sess.run([merged, step, loss], {x: batch})
            assert isinstance(summary, bytes)
            expected_loss.append(float(loss_val))
            writer.add_summary(summary, global_step=i)
    acc = accumulate(tmp_path)
    assert acc.Tags()["scalars"] == ["train/loss"] and acc.Tags()["histograms"] == ["train/weights"]
    scalars = acc.Scalars("train/loss")
    assert [s.step for s in scalars] == [0, 1, 2, 3]
    np.testing.assert_allclose([s.value for s in scalars], expected_loss, rtol=1e-6)
    hists = acc.Histograms("train/weights")
    for h, wv in zip(hists, expected_w):
        v = h.histogram_value
        flat = wv.astype(np.float64).ravel()
        assert (v.min, v.max, v.num) == (flat.min(), flat.max(), flat.size)
        np.testing.assert_allclose([v.sum, v.sum_squares], [flat.sum(), (flat**2).sum()], rtol=1e-12)
        assert sum(v.bucket) == flat.size
    assert acc.Graph() is not None


def test_histogram_buckets_follow_tf() -> None:
    limits = np.array(DEFAULT_BUCKET_LIMITS)
    assert limits[0] == -np.finfo(np.float64).max and limits[-1] == np.finfo(np.float64).max
    mid = len(limits) // 2
    assert limits[mid] == 0.0 and limits[mid + 1] == 1e-12 and limits[mid - 1] == -1e-12
    np.testing.assert_allclose(limits[mid + 2] / limits[mid + 1], 1.1)
    assert np.all(np.diff(limits) > 0)
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(size=200) * 10.0 ** rng.integers(-5, 5, size=200), [0.0, 0.0, 1.0]])
    h = histogram_of(values)
    got_limits = np.array(h.bucket_limit)
    assert set(got_limits.tolist()) <= set(limits.tolist())
    # the emitted buckets partition the line: value v is in the first bucket whose limit is > v
    counts = np.bincount(np.searchsorted(got_limits, values, side="right"), minlength=len(got_limits))
    np.testing.assert_array_equal(counts, h.bucket)
    assert all(c > 0 for c in h.bucket)
    # a single value 1.0 lands in the bucket of the first default limit above 1.0
    one = histogram_of(np.array([1.0]))
    assert one.bucket == [1.0] and one.bucket_limit == [DEFAULT_BUCKET_LIMITS[-1]]
    two = histogram_of(np.array([1.0, 1e10]))
    assert two.bucket_limit[0] == limits[np.searchsorted(limits, 1e10, side="right") - 1]
    assert histogram_of(np.array([])).bucket_limit == [np.finfo(np.float64).max]


def test_graph_def_names_types_inputs(tmp_path) -> None:
    with tf.name_scope("layer1"):
        x = tf.placeholder(tf.float32, [None, 3], name="input")
        w = tf.Variable(np.ones((3, 2), np.float32), name="weights")
        y = tf.matmul(x, w, name="act")
    with tf.control_dependencies([y]):
        tf.no_op(name="done")
    writer = tf.summary.FileWriter(str(tmp_path), graph=tf.get_default_graph())
    writer.close()
    graph = accumulate(tmp_path).Graph()
    nodes = {n.name: n for n in graph.node}
    assert nodes["layer1/input"].op == "Placeholder"
    assert nodes["layer1/input"].attr["dtype"].type == 1  # DT_FLOAT
    assert [d.size for d in nodes["layer1/input"].attr["shape"].shape.dim] == [-1, 3]
    assert nodes["layer1/weights"].op == "VariableV2"
    matmul = next(n for n in graph.node if n.op == "MatMul")
    assert list(matmul.input) == ["layer1/input", "layer1/weights"]
    assert [d.size for d in matmul.attr["_output_shapes"].list.shape[0].dim] == [-1, 2]
    assert list(nodes["done"].input) == [f"^{y.op.name}"]
    assert graph.versions.producer > 0


def test_event_file_name_and_first_event(tmp_path) -> None:
    before = int(__import__("time").time())
    writer = tf.summary.FileWriter(str(tmp_path / "logs"), flush_secs=1000, max_queue=100)
    assert writer.get_logdir() == str(tmp_path / "logs")
    name = os.path.basename(writer.path)
    m = re.fullmatch(r"events\.out\.tfevents\.(\d+)\.(.+)", name)
    assert m and m.group(2) == socket.gethostname() and int(m.group(1)) >= before
    writer.add_summary(Summary([Summary.Value(tag="manual", simple_value=0.0)]), global_step=7)
    size_before_flush = os.path.getsize(writer.path)
    writer.flush()
    assert os.path.getsize(writer.path) > size_before_flush  # queued until flushed
    writer.close()
    events = list(EventFileLoader(writer.path).Load())
    assert events[0].file_version == "brain.Event:2" and events[0].wall_time >= before
    assert events[1].step == 7 and events[1].summary.value[0].tag == "manual"
    assert events[1].summary.value[0].WhichOneof("value") == "simple_value"  # 0.0 is present, not default
    with open(writer.path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        assert length == len(events[0].SerializeToString())


def test_reopen_writes_a_new_file(tmp_path) -> None:
    writer = tf.summary.FileWriter(str(tmp_path))
    first = writer.path
    writer.close()
    with pytest.raises(RuntimeError):
        writer.add_summary(b"")
    writer.reopen()
    assert writer.path != first
    writer.close()
    assert len(os.listdir(tmp_path)) == 2


def test_fast_bucket_index_equals_binary_search() -> None:
    from xlc.frontend.summary.protos import bucket_indices
    limits = np.array(DEFAULT_BUCKET_LIMITS)
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.normal(size=20000) * 10.0 ** rng.integers(-15, 22, size=20000),
                             limits[1:-1], np.nextafter(limits[1:-1], 0), [0.0, -0.0, 1e300, -1e300]])
    np.testing.assert_array_equal(bucket_indices(values), np.searchsorted(limits, values, side="right"))
