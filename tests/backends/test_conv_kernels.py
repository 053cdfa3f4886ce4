"""The direct convolution and max-pool-gradient kernels on every thread count and edge case.

Each case is compiled once and run on 1, 2 and 3 threads (the runtime's pool replaced, and
its work threshold lowered, so that even small calls are split): thread slices then start and
end inside images, inside tiles of positions and inside chunks.  Shapes cover channel counts
that are not whole vectors (masked columns), more than one column block, filter-row blocks
(large filters), strides, dilations, padding on one side only, and the ``?`` batch.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pytest

import xlc.ops  # noqa: F401  (registers the ops)
import xlc.runtime.executable as executable
from xlc.ir.builder import Builder
from xlc.ir.core import Func
from xlc.ir.interpreter import interpret
from xlc.ir.types import TensorType, as_dtype
from xlc.runtime import compile_func
from xlc.runtime.threads import WorkerPool

RNG = np.random.default_rng(5)
_POOLS: dict[int, WorkerPool] = {}


def _arr(*shape: int, dtype: Any = np.float32) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.5).astype(dtype)


@pytest.fixture
def thread_counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """run(exe, inputs) -> results on 1, 2 and 3 threads."""
    monkeypatch.setattr(executable, "PARALLEL_WORK", 0)

    def run(exe: Any, inputs: list[np.ndarray]) -> Iterator[tuple[int, list[np.ndarray]]]:
        for n in (1, 2, 3):
            pool = None if n == 1 else _POOLS.setdefault(n, WorkerPool(n))
            monkeypatch.setattr(executable, "shared_pool", lambda pool=pool: pool)
            exe._plans.clear()  # the plan holds the pool it was made with
            yield n, exe.run(inputs)

    yield run


def _check(run: Any, name: str, inputs: list[np.ndarray], attrs: dict[str, Any], unknown_batch: tuple[int, ...],
           tol: float) -> None:
    types = [TensorType(((None,) + x.shape[1:]) if k in unknown_batch else x.shape, as_dtype(x.dtype))
             for k, x in enumerate(inputs)]
    f = Func("f", types)
    b = Builder(f.body)
    b.ret(*b.create(name, f.args, attrs).results)
    want = interpret(f, inputs)[0]
    for n, got in run(compile_func(f), inputs):
        np.testing.assert_allclose(got[0], want, rtol=tol, atol=tol, err_msg=f"{name} {attrs} on {n} threads")


CONVS = [  # x, filter, strides, padding, dilations
    ((3, 9, 11, 3), (3, 3, 3, 5), (1, 1), "SAME", (1, 1)),  # 5 output channels: one masked vector
    ((2, 7, 8, 5), (3, 2, 5, 70), (1, 1), "SAME", (1, 1)),  # 70 = a 64-wide block and a masked one
    ((2, 8, 7, 4), (4, 4, 4, 33), (2, 2), "SAME", (1, 1)),  # even kernel: padding after > before
    ((2, 9, 10, 3), (3, 3, 3, 16), (2, 3), "VALID", (1, 1)),  # rows and columns left over
    ((2, 11, 9, 2), (3, 2, 2, 8), (1, 1), "SAME", (2, 3)),  # dilated: taps are not one run
    ((2, 10, 10, 2), (3, 3, 2, 4), (3, 2), "SAME", (2, 1)),
    ((3, 6, 6, 48), (3, 3, 48, 64), (1, 1), "SAME", (1, 1)),  # 36 KB of weights per filter row: row blocks
    ((2, 5, 6, 7), (1, 1, 7, 9), (1, 1), "VALID", (1, 1)),  # 1x1: T is the source itself
    ((2, 6, 6, 1), (5, 5, 1, 1), (1, 1), "SAME", (1, 1)),  # one channel in, one out
    ((2, 10, 8, 3), (1, 1, 3, 6), (3, 3), "VALID", (1, 1)),  # input gradient: rows no tap reaches
    ((2, 9, 9, 2), (2, 2, 2, 5), (3, 3), "SAME", (1, 1)),  # input gradient: rows of inserted zeros
]


@pytest.mark.parametrize("xs,ws,strides,padding,dil", CONVS)
def test_conv_kernels_on_threads(thread_counts: Any, xs: tuple, ws: tuple, strides: tuple, padding: str,
                                 dil: tuple) -> None:
    x, w = _arr(*xs), _arr(*ws)
    attrs = {"strides": strides, "padding": padding, "dilations": dil}
    f = Func("f", [TensorType(xs, as_dtype(x.dtype)), TensorType(ws, as_dtype(w.dtype))])
    bld = Builder(f.body)
    bld.ret(bld.emit("conv2d", *f.args, **attrs))
    dy = _arr(*f.result_types[0].shape)
    _check(thread_counts, "conv2d", [x, w], attrs, (0,), 1e-4)
    _check(thread_counts, "conv2d_backprop_input", [w, dy], {**attrs, "input_size": xs[1:3]}, (1,), 1e-4)
    _check(thread_counts, "conv2d_backprop_filter", [x, dy], {**attrs, "filter_size": ws[:2]}, (0, 1), 1e-4)


def test_conv_kernels_many_tiles_and_chunks(thread_counts: Any) -> None:
    """Enough positions for several passes of tiles and several filter-gradient chunks per thread."""
    attrs = {"strides": (1, 1), "padding": "SAME", "dilations": (1, 1)}
    x, w, dy = _arr(7, 13, 13, 6), _arr(3, 3, 6, 20), _arr(7, 13, 13, 20)
    _check(thread_counts, "conv2d", [x, w], attrs, (0,), 1e-4)
    _check(thread_counts, "conv2d_backprop_input", [w, dy], {**attrs, "input_size": (13, 13)}, (1,), 1e-4)
    _check(thread_counts, "conv2d_backprop_filter", [x, dy], {**attrs, "filter_size": (3, 3)}, (0, 1), 2e-4)


def test_conv_kernels_float64(thread_counts: Any) -> None:
    attrs = {"strides": (2, 1), "padding": "SAME", "dilations": (1, 1)}
    f64 = np.float64
    x, w, dy = _arr(3, 7, 9, 3, dtype=f64), _arr(3, 3, 3, 11, dtype=f64), _arr(3, 4, 9, 11, dtype=f64)
    _check(thread_counts, "conv2d", [x, w], attrs, (0,), 1e-12)
    _check(thread_counts, "conv2d_backprop_input", [w, dy], {**attrs, "input_size": (7, 9)}, (1,), 1e-12)
    _check(thread_counts, "conv2d_backprop_filter", [x, dy], {**attrs, "filter_size": (3, 3)}, (0, 1), 1e-12)


def _at_offset(a: np.ndarray, offset: int) -> np.ndarray:
    """A copy of a whose data starts ``offset`` bytes past a 64-byte boundary."""
    raw = np.empty(a.nbytes + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("offset", [0, 16])
def test_conv_filter_gradient_reads_aligned_dy_in_place(thread_counts: Any, offset: int) -> None:
    """dy rows of whole vectors are read in place when aligned, copied when not: same result."""
    attrs = {"strides": (1, 1), "padding": "SAME", "dilations": (1, 1), "filter_size": (3, 3)}
    x, dy = _arr(3, 9, 9, 4), _arr(3, 9, 9, 32)
    _check(thread_counts, "conv2d_backprop_filter", [x, _at_offset(dy, offset)], attrs, (0, 1), 1e-4)


def test_conv_batch_smaller_than_threads(thread_counts: Any) -> None:
    """One image on three threads: some threads get no positions at all."""
    attrs = {"strides": (1, 1), "padding": "SAME", "dilations": (1, 1)}
    x, w, dy = _arr(1, 2, 3, 2), _arr(3, 3, 2, 3), _arr(1, 2, 3, 3)
    _check(thread_counts, "conv2d", [x, w], attrs, (0,), 1e-5)
    _check(thread_counts, "conv2d_backprop_input", [w, dy], {**attrs, "input_size": (2, 3)}, (1,), 1e-5)
    _check(thread_counts, "conv2d_backprop_filter", [x, dy], {**attrs, "filter_size": (3, 3)}, (0, 1), 1e-5)


POOLS = [  # x, ksize, strides, padding: windows that never overlap
    ((3, 8, 8, 5), (2, 2), (2, 2), "SAME"),  # exact tiling: no zeroing, threads split lines
    ((2, 7, 7, 3), (2, 2), (2, 2), "SAME"),  # last window half outside (padding after)
    ((2, 7, 7, 17), (3, 3), (3, 3), "SAME"),  # padding before and after
    ((2, 7, 9, 4), (2, 2), (3, 3), "VALID"),  # gaps between windows and rows left over
    ((2, 6, 6, 2), (2, 3), (2, 3), "VALID"),
    ((2, 7, 6, 3), (3, 3), (2, 2), "SAME"),  # overlapping: the scatter-add path
]


@pytest.mark.parametrize("xs,ksize,strides,padding", POOLS)
def test_max_pool_grad_on_threads(thread_counts: Any, xs: tuple, ksize: tuple, strides: tuple, padding: str) -> None:
    attrs = {"ksize": ksize, "strides": strides, "padding": padding}
    x = np.round(_arr(*xs) * 2) / 2  # many ties: the first maximum takes dy
    f = Func("f", [TensorType(xs, as_dtype(x.dtype))])
    bld = Builder(f.body)
    bld.ret(bld.emit("max_pool", f.args[0], **attrs))
    dy = _arr(*f.result_types[0].shape)
    _check(thread_counts, "max_pool_grad", [x, dy], attrs, (0, 1), 1e-6)


def test_max_pool_grad_special_values(thread_counts: Any) -> None:
    """-inf everywhere in a window (tap 0 takes dy), NaN never wins, ties go to the first."""
    x = _arr(2, 4, 4, 3)
    x[0, 0:2, 0:2, :] = -np.inf
    x[0, 2, 2, 0], x[0, 2, 3, 0] = np.nan, 5.0
    x[1, 0, 0, 1] = x[1, 0, 1, 1] = x[1, 1, 0, 1] = 9.0
    dy = _arr(2, 2, 2, 3)
    for padding in ("SAME", "VALID"):
        attrs = {"ksize": (2, 2), "strides": (2, 2), "padding": padding}
        _check(thread_counts, "max_pool_grad", [x, dy], attrs, (0, 1), 1e-6)
