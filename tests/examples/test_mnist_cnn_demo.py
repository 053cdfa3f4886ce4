"""examples/mnist_cnn.py end to end in a subprocess: trains, checkpoints, writes events, resumes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import xlc as tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "examples", "mnist_cnn.py")

def _run_demo(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, SCRIPT, "--batch-size", "8", "--augment", "0", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_demo_trains_checkpoints_logs_and_resumes(tmp_path):
    ckpt, logdir = str(tmp_path / "ckpt"), str(tmp_path / "logs")
    first = _run_demo("--steps", "3", "--checkpoint-dir", ckpt, "--checkpoint-every", "2", "--logdir", logdir,
                      "--summary-every", "1")
    assert "bundled scikit-learn digits" in first.stdout
    assert re.search(r"test accuracy [01]\.\d{4} on 297 images after global step 3", first.stdout), first.stdout
    assert "loss" in first.stderr and "images/s" in first.stderr  # the progress bar
    assert "model.ckpt-2" in first.stderr and "model.ckpt-3" in first.stderr
    assert tf.train.latest_checkpoint(ckpt).endswith("model.ckpt-3")
    events = [f for f in os.listdir(logdir) if f.startswith("events.out.tfevents")]
    assert events and os.path.getsize(os.path.join(logdir, events[0])) > 1000  # the graph and summaries

    second = _run_demo("--steps", "2", "--checkpoint-dir", ckpt, "--resume")
    assert "(global step 3)" in second.stdout
    assert "after global step 5" in second.stdout
    assert tf.train.latest_checkpoint(ckpt).endswith("model.ckpt-5")


def test_demo_rejects_resume_without_checkpoint_dir():
    proc = subprocess.run([sys.executable, SCRIPT, "--resume", "--checkpoint-dir", ""], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and "--resume needs --checkpoint-dir" in proc.stderr
