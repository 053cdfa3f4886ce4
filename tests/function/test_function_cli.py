"""`xlc dump` prints the IR of each xlc.function a script traces."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlc.cli.main import main
from xlc.ir.parser import parse_module

SCRIPT = '''
import numpy as np
import xlc as tf

w = tf.Variable(np.ones((4, 3), np.float32), name="w")

@tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
def predict(x):
    return tf.nn.relu(tf.matmul(x, w))

@tf.function
def double(x):
    return x * 2.0

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print(predict(np.ones((2, 4), np.float32)))
    print(predict(np.ones((5, 4), np.float32)))
    double(np.ones(3, np.float32))
    double(np.ones(3, np.float64))
'''


def test_dump_prints_every_traced_function(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "model.py"
    script.write_text(SCRIPT)
    assert main(["dump", str(script)]) == 0
    out = capsys.readouterr().out
    assert "// xlc.function predict (float32[?,4])\nfunc @predict(%x: tensor<?x4xf32>, %w: tensor<4x3xf32>)" in out
    assert "func @double(%x: tensor<3xf32>) -> (tensor<3xf32>)" in out
    assert "func @double_1(%x: tensor<3xf64>) -> (tensor<3xf64>)" in out
    module = parse_module(out, "dump")  # the whole dump is one module of IR
    assert {"main", "predict", "double", "double_1"} <= set(module.funcs)
