"""Calls big enough to run on every thread give the same results as the references."""

from __future__ import annotations

import numpy as np
import pytest

import xlc.ops  # noqa: F401
from xlc.errors import InvalidArgumentError
from xlc.ir.builder import Builder
from xlc.ir.core import Func
from xlc.ir.interpreter import interpret
from xlc.ir.types import TensorType, as_dtype, float32, int32
from xlc.runtime import compile_func
from xlc.runtime.executable import PARALLEL_WORK
from xlc.runtime.threads import WorkerPool, default_num_threads

RNG = np.random.default_rng(7)


def test_chain_of_kernels_on_all_threads() -> None:
    """Fused elementwise -> reduction -> broadcast -> matmul: each kernel reads the previous one."""
    n, k = 700, 300
    assert n * k >= PARALLEL_WORK // 2
    f = Func("f", [TensorType((None, k), float32), TensorType((k, 64), float32)])
    b = Builder(f.body)
    x, w = f.args
    h = b.emit("tanh", b.emit("mul", x, x))
    mean = b.emit("reduce_mean", h, axes=(1,), keepdims=True)
    centred = b.emit("sub", h, mean)
    b.ret(b.emit("matmul", centred, w), b.emit("reduce_sum", centred, axes=(0,)))
    xs = [RNG.standard_normal((n, k)).astype(np.float32), RNG.standard_normal((k, 64)).astype(np.float32)]
    exe = compile_func(f)
    for _ in range(3):  # repeated calls reuse the plan and the workers
        got = exe.run(xs)
        for g, r in zip(got, interpret(f, xs)):
            np.testing.assert_allclose(g, r, rtol=2e-4, atol=2e-4)


def test_error_on_one_thread_stops_all_threads() -> None:
    f = Func("g", [TensorType((None,), float32), TensorType((None,), int32)])
    b = Builder(f.body)
    b.ret(b.emit("mul", b.emit("gather", *f.args), b.emit("gather", *f.args)))
    exe = compile_func(f)
    params = RNG.standard_normal(10).astype(np.float32)
    idx = RNG.integers(0, 10, size=PARALLEL_WORK).astype(np.int32)
    np.testing.assert_allclose(exe.run([params, idx])[0], params[idx] ** 2, rtol=1e-6)
    idx[-5] = 12  # in the last thread's slice
    with pytest.raises(InvalidArgumentError, match=rf"indices\[{idx.size - 5}\] = 12 is not in \[0, 10\)"):
        exe.run([params, idx])
    idx[-5] = 3
    np.testing.assert_allclose(exe.run([params, idx])[0], params[idx] ** 2, rtol=1e-6)  # still usable


def test_pool_runs_every_thread_id() -> None:
    pool = WorkerPool(3)
    seen: list[int] = []

    def entry(a: int, tid: int, n: int, sync: object) -> int:
        seen.append(tid * 10 + n)
        return 0

    assert pool.run(entry, (1,), None) == 0
    assert sorted(seen) == [3, 13, 23]
    assert default_num_threads() >= 1


@pytest.mark.parametrize("kind,axes,dtype", [("reduce_sum", (0, 1, 2), np.float32), ("reduce_max", (0,), np.float32),
                                             ("reduce_mean", (1,), np.float64), ("reduce_min", (0, 2), np.int32)])
def test_streaming_reductions_on_all_threads(kind: str, axes: tuple[int, ...], dtype: type) -> None:
    """Reductions keeping the innermost axis stream the input; partials combine across threads."""
    shape = (64, 30, 20, 12)
    assert int(np.prod(shape)) >= PARALLEL_WORK // 2
    x = (RNG.standard_normal(shape) * 10).astype(dtype)
    if kind == "reduce_max":
        x[40, 3, 2, 5] = np.nan  # in the second thread's rows: nan must win, as numpy
    f = Func("r", [TensorType((None, *shape[1:]), as_dtype(dtype))])
    b = Builder(f.body)
    b.ret(b.emit(kind, b.emit("add", f.args[0], f.args[0]), axes=axes, keepdims=kind == "reduce_max"))
    got = compile_func(f).run([x])[0]
    want = interpret(f, [x])[0]
    # float32 sums of ~10^5 terms round differently in another order: bound by the terms' size
    atol = 1e-6 * float(np.nansum(np.abs(x.astype(np.float64)))) / max(1, want.size)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=max(atol, 1e-3))
