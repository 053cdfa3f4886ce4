"""A TF1-tutorial-style loop: softmax regression, Adam, summaries, checkpoints, resume in a new graph."""

from __future__ import annotations

import numpy as np

import xlc as tf
from tests.summary.tb_reader import accumulate


def _build(seed: int):
    rng = np.random.default_rng(seed)
    x = tf.placeholder(tf.float32, [None, 5], name="x")
    y_ = tf.placeholder(tf.float32, [None, 3], name="y_")
    W = tf.Variable(rng.normal(size=(5, 3)).astype(np.float32) * 0.1, name="W")
    b = tf.Variable(np.zeros(3, np.float32), name="b")
    logits = tf.matmul(x, W) + b
    with tf.name_scope("loss"):
        cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))
    tf.summary.scalar("cross_entropy", cross_entropy)
    step = tf.train.get_or_create_global_step()
    with tf.name_scope("train"):
        train_step = tf.train.AdamOptimizer(0.05).minimize(cross_entropy, global_step=step)
    return x, y_, W, b, cross_entropy, train_step, step


def test_resume_from_checkpoint_matches_uninterrupted_training(tmp_path) -> None:
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(30, 5)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[np.argmax(xs[:, :3] + 0.5 * xs[:, 3:4], axis=1)]
    batches = [(xs[i:i + 10], labels[i:i + 10]) for i in (0, 10, 20)] * 4

    with tf.Graph().as_default():
        x, y_, W, b, loss, train_step, step = _build(1)
        merged = tf.summary.merge_all()
        saver = tf.train.Saver(max_to_keep=3)
        with tf.Session() as sess:
            writer = tf.summary.FileWriter(str(tmp_path / "logs"), sess.graph)
            sess.run(tf.global_variables_initializer())
            losses = []
            for i, (bx, by) in enumerate(batches):
                if i == 6:
                    ckpt = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=step)
                summary, _, loss_val = sess.run([merged, train_step, loss], {x: bx, y_: by})
                writer.add_summary(summary, i)
                losses.append(loss_val)
            writer.close()
            final_w, final_b = sess.run([W, b])
    assert losses[-1] < losses[0]
    assert ckpt.endswith("model.ckpt-6") and tf.train.latest_checkpoint(str(tmp_path)) == ckpt

    with tf.Graph().as_default():
        x, y_, W, b, loss, train_step, step = _build(99)  # different initial values
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver().restore(sess, tf.train.latest_checkpoint(str(tmp_path)))
            assert sess.run(step) == 6
            for bx, by in batches[6:]:
                sess.run(train_step, {x: bx, y_: by})
            # Adam's slots and beta powers came back too, so the resumed run is the same run
            np.testing.assert_array_equal(sess.run(W), final_w)
            np.testing.assert_array_equal(sess.run(b), final_b)

    acc = accumulate(tmp_path / "logs")
    np.testing.assert_allclose([s.value for s in acc.Scalars("cross_entropy")], losses, rtol=1e-6)
    names = {n.name for n in acc.Graph().node}
    assert {"W", "W/Adam", "W/Adam_1", "beta1_power", "train/Adam", "global_step"} <= names
