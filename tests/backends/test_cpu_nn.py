"""The NN ops compiled for the CPU against their numpy references, beyond the CASES table.

Covers the configurations the kernels special-case (1x1 convs, strides, dilations, even
kernels, patch matrices larger than one chunk, float64), one executable reused across
batch sizes (``?`` batch), fused producers of pooling, and stability of the softmax kernels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import xlc.ops  # noqa: F401
from xlc.errors import CompileError
from xlc.ir.builder import Builder
from xlc.ir.core import Func
from xlc.ir.interpreter import interpret
from xlc.ir.types import TensorType, as_dtype, float32
from xlc.runtime import compile_func

RNG = np.random.default_rng(11)


def _arr(*shape: int, dtype: Any = np.float32, scale: float = 0.5) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(dtype)


def compile_op(name: str, inputs: list[np.ndarray], attrs: dict[str, Any], unknown_batch: tuple[int, ...] = ()):
    types = [TensorType(((None,) + x.shape[1:]) if k in unknown_batch else x.shape, as_dtype(x.dtype))
             for k, x in enumerate(inputs)]
    f = Func("f", types)
    b = Builder(f.body)
    b.ret(*b.create(name, f.args, attrs).results)
    return f, compile_func(f)


def check(name: str, inputs: list[np.ndarray], attrs: dict[str, Any], unknown_batch: tuple[int, ...] = (),
          tol: float | None = None) -> None:
    f, exe = compile_op(name, inputs, attrs, unknown_batch)
    got, want = exe.run(inputs)[0], interpret(f, inputs)[0]
    t = tol if tol is not None else (1e-5 if inputs[0].dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(got, want, rtol=t, atol=t, err_msg=f"{name} {attrs}")


CONVS = [  # x, filter, strides, padding, dilations
    ((3, 9, 8, 4), (3, 2, 4, 5), (1, 1), "SAME", (1, 1)),
    ((2, 8, 8, 2), (2, 2, 2, 3), (1, 1), "SAME", (1, 1)),
    ((2, 9, 7, 3), (3, 3, 3, 2), (2, 2), "SAME", (1, 1)),
    ((2, 9, 8, 2), (3, 3, 2, 3), (2, 1), "VALID", (1, 1)),
    ((2, 9, 9, 2), (3, 2, 2, 4), (1, 1), "SAME", (2, 2)),
    ((2, 5, 6, 3), (1, 1, 3, 4), (1, 1), "VALID", (1, 1)),  # 1x1: a plain GEMM
    ((2, 5, 6, 3), (1, 1, 3, 4), (2, 2), "SAME", (1, 1)),
]


@pytest.mark.parametrize("xs,ws,strides,padding,dil", CONVS)
def test_conv2d_and_backward_ops(xs: tuple, ws: tuple, strides: tuple, padding: str, dil: tuple) -> None:
    x, w = _arr(*xs), _arr(*ws)
    attrs = {"strides": strides, "padding": padding, "dilations": dil}
    check("conv2d", [x, w], attrs, unknown_batch=(0,))
    f, _ = compile_op("conv2d", [x, w], attrs)
    dy = _arr(*f.result_types[0].shape)
    check("conv2d_backprop_input", [w, dy], {**attrs, "input_size": xs[1:3]}, unknown_batch=(1,))
    check("conv2d_backprop_filter", [x, dy], {**attrs, "filter_size": ws[:2]}, unknown_batch=(0, 1))


def test_conv_over_several_chunks_and_batch_sizes() -> None:
    """The MNIST CNN's second conv: patch matrices span many chunks; one executable, two batches."""
    attrs = {"strides": (1, 1), "padding": "SAME", "dilations": (1, 1)}
    w = _arr(5, 5, 16, 8, scale=0.2)
    f, exe = compile_op("conv2d", [_arr(1, 14, 14, 16), w], attrs, unknown_batch=(0,))
    for n in (5, 1):
        x = _arr(n, 14, 14, 16, scale=0.2)
        np.testing.assert_allclose(exe.run([x, w])[0], interpret(f, [x, w])[0], rtol=1e-5, atol=1e-5)
    x, dy = _arr(6, 14, 14, 16, scale=0.2), _arr(6, 14, 14, 8, scale=0.2)
    check("conv2d_backprop_filter", [x, dy], {**attrs, "filter_size": (5, 5)}, unknown_batch=(0, 1), tol=1e-4)
    check("conv2d_backprop_input", [w, dy], {**attrs, "input_size": (14, 14)}, unknown_batch=(1,), tol=1e-5)


def test_conv_float64() -> None:
    x, w = _arr(2, 7, 7, 3, dtype=np.float64), _arr(3, 3, 3, 2, dtype=np.float64)
    attrs = {"strides": (1, 2), "padding": "SAME", "dilations": (1, 1)}
    check("conv2d", [x, w], attrs)
    dy = _arr(2, 7, 4, 2, dtype=np.float64)
    check("conv2d_backprop_input", [w, dy], {**attrs, "input_size": (7, 7)})
    check("conv2d_backprop_filter", [x, dy], {**attrs, "filter_size": (3, 3)})


def test_conv_needs_static_spatial_dims() -> None:
    f = Func("f", [TensorType((None, None, None, 2), float32), TensorType((3, 3, 2, 2), float32)])
    b = Builder(f.body)
    b.ret(b.emit("conv2d", *f.args, padding="SAME"))
    with pytest.raises(CompileError, match="static height"):
        compile_func(f)


POOLS = [((2, 6, 6, 3), (2, 2), (2, 2), "SAME"), ((2, 7, 6, 2), (3, 3), (2, 2), "SAME"),
         ((1, 7, 6, 2), (3, 2), (1, 2), "VALID"), ((2, 5, 5, 1), (2, 2), (1, 1), "SAME")]


@pytest.mark.parametrize("xs,ksize,strides,padding", POOLS)
def test_pooling_and_its_gradients(xs: tuple, ksize: tuple, strides: tuple, padding: str) -> None:
    attrs = {"ksize": ksize, "strides": strides, "padding": padding}
    x = _arr(*xs)
    check("max_pool", [x], attrs, unknown_batch=(0,))
    check("avg_pool", [x], attrs, unknown_batch=(0,))
    f, _ = compile_op("max_pool", [x], attrs)
    dy = _arr(*f.result_types[0].shape)
    check("max_pool_grad", [x, dy], attrs, unknown_batch=(0, 1))
    check("max_pool_grad_grad", [x, _arr(*xs)], attrs, unknown_batch=(0, 1))
    check("avg_pool_grad", [dy], {**attrs, "input_size": xs[1:3]}, unknown_batch=(0,))


def test_max_pool_fuses_its_producer() -> None:
    """max_pool(relu(x + b)) and its gradient computed through fused producers."""
    f = Func("f", [TensorType((None, 6, 6, 3), float32), TensorType((3,), float32), TensorType((None, 3, 3, 3), float32)])
    bld = Builder(f.body)
    act = bld.emit("relu", bld.emit("add", f.args[0], f.args[1]))
    attrs = {"ksize": (2, 2), "strides": (2, 2), "padding": "SAME"}
    pooled = bld.emit("max_pool", act, **attrs)
    back = bld.emit("max_pool_grad", act, f.args[2], **attrs)
    bld.ret(pooled, back)
    inputs = [_arr(4, 6, 6, 3), _arr(3), _arr(4, 3, 3, 3)]
    for got, want in zip(compile_func(f).run(inputs), interpret(f, inputs)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_kernels(name: str) -> None:
    for shape, axis in (((5, 7), 1), ((3, 4, 5), 1), ((3, 4, 5), 0), ((4, 300), 1)):
        check(name, [_arr(*shape, scale=3.0)], {"axis": axis}, unknown_batch=(0,))
    huge = np.array([[1000.0, 0.0, -1000.0, 999.0], [-1000.0, -1000.0, -1000.0, -1000.0]], np.float32)
    f, exe = compile_op(name, [huge], {"axis": 1})
    got = exe.run([huge])[0]
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, interpret(f, [huge])[0], rtol=1e-6, atol=1e-6)


def test_softmax_cross_entropy_kernel_is_stable() -> None:
    labels = np.abs(_arr(6, 10))
    logits = _arr(6, 10, scale=3.0)
    logits[0, 3] = 1000.0
    logits[1] = -1000.0
    check("softmax_cross_entropy", [labels, logits], {}, unknown_batch=(0, 1))
    check("softmax_cross_entropy", [labels.astype(np.float64), logits.astype(np.float64)], {})


def test_dropout_mask_matches_reference_and_scales() -> None:
    x = np.abs(_arr(64, 100)) + 0.1
    keep = np.array(0.25, np.float32)
    f, exe = compile_op("dropout", [x, keep], {"seed": 5, "seed2": 9}, unknown_batch=(0,))
    got = exe.run([x, keep])[0]
    np.testing.assert_array_equal(got, interpret(f, [x, keep])[0])
    kept = got != 0
    assert 0.2 < kept.mean() < 0.3
    np.testing.assert_allclose(got[kept], x[kept] / 0.25, rtol=1e-6)
    assert np.all(exe.run([x, np.array(1.0, np.float32)])[0] == x)
