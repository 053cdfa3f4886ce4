"""Saver: safetensors round trips, the state file, max_to_keep, and restores that change nothing on error."""

from __future__ import annotations

import os

import ml_dtypes
import numpy as np
import pytest

import xlc as tf
from xlc.frontend import train
from xlc.frontend.train import checkpoint_format as fmt


def _model(rng: np.random.Generator) -> dict[str, tf.Variable]:
    with tf.variable_scope("layer"):
        w = tf.get_variable("w", initializer=rng.normal(size=(3, 4)).astype(np.float32))
    b = tf.Variable(rng.normal(size=(4,)).astype(np.float64), name="b")
    h = tf.Variable(rng.normal(size=(2, 5)).astype(ml_dtypes.bfloat16), name="h")
    n = tf.Variable(rng.integers(-100, 100, size=(6,)).astype(np.int64), name="n")
    f = tf.Variable(rng.random(size=(3,)) > 0.5, name="flags")
    return {"w": w, "b": b, "h": h, "n": n, "flags": f}


def test_round_trip_across_graphs_all_dtypes(tmp_path) -> None:
    rng = np.random.default_rng(1)
    g1 = tf.Graph()
    with g1.as_default():
        vs = _model(rng)
        saver = train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saved = {k: v for k, v in zip(vs, sess.run(list(vs.values())))}
            path = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=100)
    assert path == str(tmp_path / "model.ckpt-100")
    assert train.latest_checkpoint(str(tmp_path)) == path
    g2 = tf.Graph()
    with g2.as_default():
        vs2 = _model(np.random.default_rng(2))  # other initial values, same names
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            train.Saver().restore(sess, path)
            for k, v in vs2.items():
                got = sess.run(v)
                assert got.dtype == saved[k].dtype
                np.testing.assert_array_equal(got, saved[k])


def test_file_is_plain_safetensors(tmp_path) -> None:
    from safetensors.numpy import load_file
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3) + 0.5, name="w")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = train.Saver([w]).save(sess, str(tmp_path / "m"))
    loaded = load_file(prefix + ".safetensors")
    assert list(loaded) == ["w"]
    np.testing.assert_array_equal(loaded["w"], np.arange(6, dtype=np.float32).reshape(2, 3) + 0.5)
    assert train.list_variables(prefix) == [("w", [2, 3])]
    np.testing.assert_array_equal(train.load_variable(str(tmp_path), "w:0"), loaded["w"])


def test_var_list_dict_renames_keys(tmp_path) -> None:
    a = tf.Variable(np.float32([1.5, 2.5]), name="a")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        p = train.Saver({"renamed/a": a}).save(sess, str(tmp_path / "x"))
        assert train.list_variables(p) == [("renamed/a", [2])]
        sess.run(a.assign([0.0, 0.0]))
        train.Saver({"renamed/a": a}).restore(sess, p)
        np.testing.assert_array_equal(sess.run(a), [1.5, 2.5])


def test_max_to_keep_and_state_file(tmp_path) -> None:
    v = tf.Variable(np.float32(3.0), name="v")
    saver = train.Saver(max_to_keep=2)
    base = str(tmp_path / "model.ckpt")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in (1, 2, 3):
            sess.run(v.assign(float(step)))
            saver.save(sess, base, global_step=step)
        restored_step = 2.0
        assert not os.path.exists(base + "-1.safetensors")
        assert os.path.exists(base + "-2.safetensors") and os.path.exists(base + "-3.safetensors")
        state = train.get_checkpoint_state(str(tmp_path))
        assert state.model_checkpoint_path == base + "-3"
        assert state.all_model_checkpoint_paths == [base + "-2", base + "-3"]
        assert saver.last_checkpoints == [base + "-2", base + "-3"]
        text = (tmp_path / "checkpoint").read_text()
        assert 'model_checkpoint_path: "model.ckpt-3"' in text  # relative: the directory can move
        saver.restore(sess, base + "-2")
        assert sess.run(v) == restored_step
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_global_step_tensor_names_the_file(tmp_path) -> None:
    step = train.get_or_create_global_step()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step.assign(42))
        assert train.Saver().save(sess, str(tmp_path / "m"), global_step=step).endswith("m-42")


def _restore_error(tmp_path, make_other) -> tuple[Exception, np.ndarray, np.ndarray]:
    """Save {a, b} from one graph, restore into another graph's {a, b'}; return the error and a, b after."""
    with tf.Graph().as_default():
        a = tf.Variable(np.float32([1.0, 2.0]), name="a")
        b = tf.Variable(np.float32([[3.0, 4.0]]), name="b")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            p = train.Saver().save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default():
        a = tf.Variable(np.float32([7.0, 8.0]), name="a")
        b = make_other()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run([a, b])
            with pytest.raises(tf.errors.OpError) as info:
                train.Saver().restore(sess, p)
            after = sess.run([a, b])
    for x, y in zip(before, after):
        np.testing.assert_array_equal(x, y)  # nothing changed, not even a (which would have restored fine)
    return info.value, after[0], after[1]


def test_restore_shape_mismatch_names_variable_and_changes_nothing(tmp_path) -> None:
    err, _, _ = _restore_error(tmp_path, lambda: tf.Variable(np.float32([[1.0], [2.0], [3.0]]), name="b"))
    assert isinstance(err, tf.errors.InvalidArgumentError)
    assert "'b'" in str(err) and "[1, 2]" in str(err) and "(3, 1)" in str(err)


def test_restore_dtype_mismatch(tmp_path) -> None:
    err, _, _ = _restore_error(tmp_path, lambda: tf.Variable(np.float64([[1.0, 2.0]]), name="b"))
    assert isinstance(err, tf.errors.InvalidArgumentError)
    assert "float32" in str(err) and "float64" in str(err) and "'b'" in str(err)


def test_restore_missing_key(tmp_path) -> None:
    err, _, _ = _restore_error(tmp_path, lambda: tf.Variable(np.float32([[1.0, 2.0]]), name="c"))
    assert isinstance(err, tf.errors.NotFoundError)
    assert "Key c not found" in str(err)


def test_restore_missing_or_corrupt_file(tmp_path) -> None:
    v = tf.Variable(np.float32(1.0), name="v")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.NotFoundError):
            train.Saver().restore(sess, str(tmp_path / "nothing"))
        (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
        with pytest.raises(tf.errors.DataLossError):
            train.Saver().restore(sess, str(tmp_path / "bad"))
        assert sess.run(v) == 1.0


def test_save_uninitialized_variable_fails(tmp_path) -> None:
    tf.Variable(np.float32(1.0), name="never_initialized")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="never_initialized"):
            train.Saver().save(sess, str(tmp_path / "m"))
    assert not os.listdir(tmp_path)


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch) -> None:
    target = tmp_path / "f.bin"
    fmt.atomic_write(str(target), b"old contents")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        fmt.atomic_write(str(target), b"new contents that never land")
    assert target.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_latest_checkpoint_without_state() -> None:
    assert train.latest_checkpoint("/nonexistent/dir") is None
