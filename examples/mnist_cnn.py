"""Train the TensorFlow 1.x tutorials' MNIST CNN with xlc: every step is compiled code.

    python examples/mnist_cnn.py                      # bundled digits, ~1-2 minutes on 2 cores
    python examples/mnist_cnn.py --data ~/MNIST-data  # real MNIST from its four IDX files
    python examples/mnist_cnn.py --logdir runs/cnn --checkpoint-dir ckpt
    python examples/mnist_cnn.py --checkpoint-dir ckpt --resume --steps 200

The model is the "Deep MNIST" network: conv 5x5 1->32 + ReLU + 2x2 max-pool, conv 5x5
32->64 + ReLU + 2x2 max-pool, dense 3136->1024 + ReLU + dropout, dense 1024->10, softmax
cross-entropy, Adam.  The code is plain TF1 (``import xlc as tf``): placeholders, layers,
an optimizer's train op run with ``Session.run``, summaries for TensorBoard, a Saver.

Without --data it trains on scikit-learn's 8x8 digits (bundled with scikit-learn, no
download), upsampled to 28x28, plus 4 randomly rotated, scaled and shifted copies of each
training digit, and tests on 297 held-out digits, mostly by writers it never saw.  With the
defaults (600 steps of 64) it reaches 97.6-98.3% test accuracy (seeds 0-3) in about 80-100 s
on a 2-core machine.  Nothing here downloads: ``pip install ".[demo]"`` is all it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import xlc as tf
from xlc.datasets import DataSet, load_mnist_or_digits

IMAGE_PIXELS = 28 * 28
NUM_CLASSES = 10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", metavar="DIR", help="directory with the four MNIST IDX files (default: bundled digits)")
    p.add_argument("--steps", type=int, default=900, help="training steps to run")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=1e-3,
                   help="Adam's learning rate; it decays linearly to a tenth over the last half of the steps")
    p.add_argument("--augment", type=int, default=4,
                   help="rotated/scaled/shifted copies of each bundled training digit (ignored with --data)")
    p.add_argument("--logdir", metavar="DIR", default="runs/mnist_cnn",
                   help="write TensorBoard summaries and the graph here ('' for none)")
    p.add_argument("--summary-every", type=int, default=20, help="steps between summaries")
    p.add_argument("--checkpoint-dir", metavar="DIR", default="runs/mnist_cnn/checkpoints",
                   help="save checkpoints here (at the end and every N steps; '' for none)")
    p.add_argument("--checkpoint-every", type=int, default=200, metavar="N", help="steps between checkpoints")
    p.add_argument("--resume", action="store_true", help="restore the latest checkpoint in --checkpoint-dir")
    p.add_argument("--seed", type=int, default=0, help="seed for initial weights, dropout and batch order")
    args = p.parse_args(argv)
    if args.resume and not args.checkpoint_dir:
        p.error("--resume needs --checkpoint-dir")
    if args.steps < 0 or args.batch_size <= 0:
        p.error("--steps must be >= 0 and --batch-size > 0")
    return args


class CNN:
    """The tutorial network as layer objects, so a training and an inference graph share weights."""

    def __init__(self) -> None:
        self.conv1 = tf.layers.Conv2D(32, 5, padding="same", activation=tf.nn.relu, name="conv1")
        self.pool1 = tf.layers.MaxPooling2D(2, 2, name="pool1")
        self.conv2 = tf.layers.Conv2D(64, 5, padding="same", activation=tf.nn.relu, name="conv2")
        self.pool2 = tf.layers.MaxPooling2D(2, 2, name="pool2")
        self.flatten = tf.layers.Flatten(name="flatten")
        self.fc1 = tf.layers.Dense(1024, activation=tf.nn.relu, name="fc1")
        self.dropout = tf.layers.Dropout(0.4, name="dropout")
        self.fc2 = tf.layers.Dense(NUM_CLASSES, name="fc2")

    def __call__(self, x: tf.Tensor, training: bool) -> tf.Tensor:
        images = tf.reshape(x, [-1, 28, 28, 1])
        h = self.pool1(self.conv1(images))
        h = self.pool2(self.conv2(h))
        h = self.fc1(self.flatten(h))  # 7 * 7 * 64 = 3136 -> 1024
        return self.fc2(self.dropout(h, training=training))


class Progress:
    """A one-line progress bar on stderr: step, loss, steps/s and images/s.  No dependencies."""

    def __init__(self, total: int, batch_size: int, first_step: int) -> None:
        self.total, self.batch_size, self.first_step = total, batch_size, first_step
        self.start = time.perf_counter()
        self.first_done = 0
        self.last_draw = 0.0
        self.tty = sys.stderr.isatty()

    def note(self, message: str) -> None:
        """Print a message on its own line without garbling the bar."""
        sys.stderr.write(("\r\033[K" if self.tty else "") + message + "\n")
        sys.stderr.flush()
        self.last_draw = 0.0  # redraw the bar on the next update

    def update(self, done: int, step: int, loss: float, final: bool = False) -> None:
        now = time.perf_counter()
        # redraw at most 10 times a second on a terminal; elsewhere (logs, CI) a line per 10%
        if not final and done != 1:
            if self.tty and now - self.last_draw < 0.1:
                return
            if not self.tty and done % max(1, self.total // 10) != 0:
                return
        self.last_draw = now
        if done == 1:  # the first step includes compiling the graph: time the rate from its end
            self.start, self.first_done = now, 1
        elapsed = max(now - self.start, 1e-9)
        rate = (done - self.first_done) / elapsed
        width = 30
        filled = int(width * done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        line = (f"[{bar}] step {step} ({done}/{self.total})  loss {loss:.4f}  "
                f"{rate:.2f} steps/s  {rate * self.batch_size:.0f} images/s")
        sys.stderr.write(("\r" + line) if self.tty else (line + "\n"))
        if final and self.tty:
            sys.stderr.write("\n")
        sys.stderr.flush()


def decayed_rate(base: float, done: int, total: int) -> float:
    """``base`` for the first half of the run, then down linearly to ``base / 10`` at its end: the
    small late steps settle the weights, worth about a point of test accuracy here."""
    half = total / 2
    if done <= half:
        return base
    return base * (1.0 - 0.9 * (done - half) / max(total - half, 1))


def evaluate(sess: tf.Session, accuracy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, data: DataSet,
             chunk: int = 1000) -> float:
    """Accuracy over the whole of ``data``, in chunks so that memory stays bounded."""
    correct = 0.0
    for start in range(0, data.num_examples, chunk):
        images = data.images[start:start + chunk]
        labels = data.labels[start:start + chunk]
        correct += float(sess.run(accuracy, {x: images, y: labels})) * len(images)
    return correct / max(data.num_examples, 1)


def main(argv: list[str] | None = None) -> float:
    """Train, then return the test accuracy (also printed)."""
    args = parse_args(argv)
    t_start = time.perf_counter()
    (train_x, train_y, test_x, test_y), source = load_mnist_or_digits(args.data, augment=args.augment,
                                                                      seed=args.seed)
    train = DataSet(train_x, train_y, seed=args.seed)
    test = DataSet(test_x, test_y)
    print(f"data: {source}: {train.num_examples} training images, {test.num_examples} test images")

    tf.set_random_seed(args.seed)
    x = tf.placeholder(tf.float32, [None, IMAGE_PIXELS], name="images")
    y = tf.placeholder(tf.int64, [None], name="labels")
    model = CNN()
    with tf.name_scope("train"):
        logits = model(x, training=True)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(
            labels=tf.one_hot(y, NUM_CLASSES), logits=logits), name="loss")
        batch_accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
    with tf.name_scope("eval"):
        eval_logits = model(x, training=False)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(eval_logits, 1), y), tf.float32))
    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.placeholder_with_default(tf.constant(args.learning_rate, tf.float32), [], name="learning_rate")
    train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss, global_step=global_step)

    tf.summary.scalar("loss", loss)
    tf.summary.scalar("accuracy", batch_accuracy)
    tf.summary.histogram("conv1/kernel", model.conv1.kernel)
    tf.summary.histogram("fc2/logits", logits)
    summaries = tf.summary.merge_all()
    saver = tf.train.Saver(max_to_keep=3) if args.checkpoint_dir else None

    with tf.Session() as sess:
        step = 0
        if args.resume:
            latest = tf.train.latest_checkpoint(args.checkpoint_dir)
            if latest is None:
                print(f"no checkpoint in {args.checkpoint_dir}: starting from scratch")
                sess.run(tf.global_variables_initializer())
            else:
                saver.restore(sess, latest)
                step = int(sess.run(global_step))
                print(f"restored {latest} (global step {step})")
        else:
            sess.run(tf.global_variables_initializer())
        writer = tf.summary.FileWriter(args.logdir, sess.graph) if args.logdir else None

        def save_checkpoint(at: int) -> None:
            os.makedirs(args.checkpoint_dir, exist_ok=True)
            path = saver.save(sess, os.path.join(args.checkpoint_dir, "model.ckpt"), global_step=at)
            progress.note(f"saved {path}")

        progress = Progress(args.steps, args.batch_size, step)
        first_step = step
        for done in range(1, args.steps + 1):
            images, labels = train.next_batch(args.batch_size)
            feed = {x: images, y: labels, learning_rate: decayed_rate(args.learning_rate, done, args.steps)}
            # the train op bumps global_step; a fetch of it in the same run may see either value,
            # so the step is counted here (and read back from the variable at the end)
            step = first_step + done
            if writer is not None and (done % args.summary_every == 0 or done == 1):
                _, loss_value, summary = sess.run([train_op, loss, summaries], feed)
                writer.add_summary(summary, step)
            else:
                _, loss_value = sess.run([train_op, loss], feed)
            progress.update(done, step, float(loss_value), final=done == args.steps)
            if saver is not None and done % args.checkpoint_every == 0 and done != args.steps:
                save_checkpoint(step)
        step = int(sess.run(global_step))
        if saver is not None:
            save_checkpoint(step)
        test_accuracy = evaluate(sess, accuracy, x, y, test)
        if writer is not None:
            writer.close()
    elapsed = time.perf_counter() - t_start
    print(f"test accuracy {test_accuracy:.4f} on {test.num_examples} images after global step {step} "
          f"({elapsed:.1f} s in all)")
    return test_accuracy


if __name__ == "__main__":
    main()
