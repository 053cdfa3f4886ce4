"""Executables: big constants are passed at run time; inputs are checked; plans are reused."""

from __future__ import annotations

import numpy as np
import pytest

import xlc.ops  # noqa: F401
from xlc.errors import InvalidArgumentError
from xlc.ir.builder import Builder
from xlc.ir.core import Func
from xlc.ir.interpreter import interpret
from xlc.ir.types import TensorType, float32
from xlc.runtime import compile_func
from xlc.runtime.executable import HOIST_ELEMENTS, hoist_constants

RNG = np.random.default_rng(11)


def _matvec(weights: np.ndarray) -> Func:
    f = Func("f", [TensorType((None, weights.shape[0]), float32)], arg_names=["x"])
    b = Builder(f.body)
    w = b.emit("constant", value=weights)
    b.ret(b.emit("relu", b.emit("matmul", f.args[0], w)))
    return f


def test_big_constants_become_arguments_and_results_are_unchanged() -> None:
    weights = RNG.standard_normal((128, 64)).astype(np.float32)
    assert weights.size >= HOIST_ELEMENTS
    f = _matvec(weights)
    hoisted, values = hoist_constants(f)
    assert len(hoisted.args) == 2 and len(values) == 1 and np.array_equal(values[0], weights)
    assert not any(op.name == "constant" for op in hoisted.body.ops)
    exe = compile_func(f)
    for batch in (3, 17):
        x = RNG.standard_normal((batch, 128)).astype(np.float32)
        np.testing.assert_allclose(exe.run([x])[0], interpret(f, [x])[0], rtol=1e-4, atol=1e-4)
    with pytest.raises(InvalidArgumentError, match="takes 1 inputs, got 2"):
        exe.run([x, x])


def test_small_constants_stay_in_the_code() -> None:
    f = _matvec(RNG.standard_normal((4, 3)).astype(np.float32))
    hoisted, values = hoist_constants(f)
    assert hoisted is f and values == []
