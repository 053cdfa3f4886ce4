"""Every op of the registry run eagerly (through ``apply_op``'s eager dispatch) against graph mode.

The cases are the CPU op tests' (tests/backends/test_cpu_ops.py): for each, the op runs
once eagerly and once in a graph fed through placeholders; the results must agree.
Elementwise ops run in float32 and in one non-float dtype they accept.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest

import xlc as tf
from xlc.frontend import context
from xlc.frontend.op_builder import apply_op
from xlc.frontend.eager.tensor import EagerTensor
from xlc.ir.opdef import get_opdef
from xlc.ir.types import bool_, float32

cpu_ops = importlib.import_module("tests.backends.test_cpu_ops")


def _graph_results(name: str, inputs: list[np.ndarray], attrs: dict[str, Any]) -> list[np.ndarray]:
    with context.graph_mode():
        g = tf.Graph()
        with g.as_default():
            ps = [tf.placeholder(tf.as_dtype(x.dtype), x.shape) for x in inputs]
            outs = list(apply_op(name, name, ps, attrs).outputs)
        with tf.Session(graph=g) as sess:
            return sess.run(outs, dict(zip(ps, inputs)))


def _check(name: str, inputs: list[np.ndarray], attrs: dict[str, Any]) -> None:
    eager = apply_op(name, name, [EagerTensor(x) for x in inputs], attrs).outputs
    assert all(isinstance(t, EagerTensor) for t in eager)
    want = _graph_results(name, inputs, attrs)
    assert len(eager) == len(want)
    terms = inputs[0].shape[-2 if attrs.get("transpose_a") else -1] if name == "matmul" else 1
    for got, ref in zip(eager, want):
        assert got.dtype.np_dtype == ref.dtype, f"{name}: dtype {got.dtype.name} vs {ref.dtype}"
        cpu_ops.assert_close(got.numpy() if got.ndim else np.asarray(got.numpy()), np.asarray(ref),
                             f"{name} {attrs}", scale=max(1.0, terms / 4))


@pytest.mark.parametrize("name", cpu_ops.ELEMENTWISE_OPS)
def test_elementwise_eager_matches_graph(name: str) -> None:
    arity = get_opdef(name).num_operands or 1
    accepted = cpu_ops.accepted_dtypes(name, arity)
    dtypes = [dt for dt in accepted if dt is float32][:1] + [dt for dt in accepted if not dt.is_floating][:1]
    assert dtypes, f"{name} accepts no dtype"
    shapes = [(3, 4), (4,), (4,)][:arity]
    for dt in dtypes:
        kinds = [bool_ if (name == "select" and k == 0) else dt for k in range(arity)]
        _check(name, [cpu_ops.random_array(s, d, name, k) for k, (s, d) in enumerate(zip(shapes, kinds))], {})


@pytest.mark.parametrize("name", cpu_ops.NON_ELEMENTWISE)
def test_op_eager_matches_graph(name: str) -> None:
    cases = cpu_ops.CASES.get(name)
    assert cases, f"no case for {name}"
    for inputs, attrs, _ in cases:
        _check(name, list(inputs), dict(attrs))


def test_cast_eagerly() -> None:
    x = cpu_ops.random_array((3, 4), float32)
    _check("cast", [x], {"dtype": tf.int32})
