"""Results written in place into donated arguments (how a session updates variables)."""

from __future__ import annotations

import numpy as np

import xlc.ops  # noqa: F401
from xlc.ir.builder import Builder
from xlc.ir.core import Func
from xlc.ir.interpreter import interpret
from xlc.ir.types import TensorType, float32
from xlc.runtime import compile_func

RNG = np.random.default_rng(3)


def _sgd_like() -> Func:
    """w' = w - 0.1 * (x^T @ (x @ w)) ; m' = 0.9 m + w'  ; also returns x @ w^T (reads old w late)."""
    f = Func("step", [TensorType((8, 5), float32), TensorType((5, 3), float32), TensorType((5, 3), float32)])
    b = Builder(f.body)
    x, w, m = f.args
    g = b.emit("matmul", x, b.emit("matmul", x, w), transpose_a=True)
    c01 = b.emit("constant", value=np.array(0.1, np.float32))
    c09 = b.emit("constant", value=np.array(0.9, np.float32))
    w_new = b.emit("sub", w, b.emit("mul", c01, g))
    m_new = b.emit("add", b.emit("mul", c09, m), w_new)
    late = b.emit("matmul", x, w, transpose_b=False)  # a reader of the old w, after the update in op order
    b.ret(late, w_new, m_new)
    return f


def test_donated_arguments_are_updated_in_place_after_every_reader() -> None:
    f = _sgd_like()
    exe = compile_func(f, aliases={1: 1, 2: 2})
    x = RNG.standard_normal((8, 5)).astype(np.float32)
    w = RNG.standard_normal((5, 3)).astype(np.float32)
    m = RNG.standard_normal((5, 3)).astype(np.float32)
    for _ in range(3):
        ref = interpret(f, [x, w, m])
        w_before, m_before = w, m
        late, w, m = exe.run([x, w, m])
        assert w is w_before and m is m_before  # no new arrays: updated in place
        for got, want in zip((late, w, m), ref):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_read_only_argument_gets_a_fresh_result() -> None:
    f = _sgd_like()
    exe = compile_func(f, aliases={1: 1, 2: 2})
    x = RNG.standard_normal((8, 5)).astype(np.float32)
    w = RNG.standard_normal((5, 3)).astype(np.float32)
    w.setflags(write=False)
    m = RNG.standard_normal((5, 3)).astype(np.float32)
    ref = interpret(f, [x, w, m.copy()])
    late, w2, m2 = exe.run([x, w, m])
    assert w2 is not w
    for got, want in zip((late, w2, m2), ref):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
