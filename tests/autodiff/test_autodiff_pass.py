"""The ``autodiff`` pass and ``differentiate``: IR in, verified IR out, right numbers."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from xlc.errors import ShapeError
from xlc.ir.core import Func, Module
from xlc.ir.interpreter import interpret
from xlc.ir.opdef import get_opdef
from xlc.ir.parser import parse_module
from xlc.ir.printer import print_module
from xlc.ir.verifier import verify_module
from xlc.ops.grad_api import NoGradientError
from xlc.passes import differentiate, run_pipeline
from xlc.runtime import compile_func

RNG = np.random.default_rng(5)

TEXT = """
func @loss(%x: tensor<?x3xf64>, %w: tensor<3x2xf64>, %k: tensor<i32>, %unused: tensor<2xf64>) -> (tensor<f64>, tensor<?x2xf64>) {
  %h = matmul(%x, %w) : tensor<?x2xf64>
  %t = tanh(%h) : tensor<?x2xf64>
  %kf = cast(%k) {dtype = f64} : tensor<f64>
  %s = mul(%t, %kf) : tensor<?x2xf64>
  %sq = square(%s) : tensor<?x2xf64>
  %l = reduce_mean(%sq) {axes = [0, 1]} : tensor<f64>
  return %l, %t
}

func @vector(%x: tensor<3xf64>) -> (tensor<3xf64>) {
  %y = exp(%x) : tensor<3xf64>
  return %y
}
"""


def _loss(x: np.ndarray, w: np.ndarray, k: int) -> float:
    return float(np.mean(np.square(np.tanh(x @ w) * k)))


def _numeric(fn: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    out = np.zeros(x.size)
    for i in range(x.size):
        xp, xm = x.copy().reshape(-1), x.copy().reshape(-1)
        xp[i] += eps
        xm[i] -= eps
        out[i] = (fn(xp.reshape(x.shape)) - fn(xm.reshape(x.shape))) / (2 * eps)
    return out.reshape(x.shape)


def test_pass_adds_a_grad_func_for_scalar_float_funcs_only() -> None:
    module = run_pipeline(parse_module(TEXT), "autodiff", verify_each=True)
    assert list(module.funcs) == ["loss", "vector", "loss_grad"]
    g = module["loss_grad"]
    # results: the original two, then d loss / d (x, w, unused); k is an integer
    assert [str(t) for t in g.result_types] == ["tensor<f64>", "tensor<?x2xf64>", "tensor<?x3xf64>",
                                                 "tensor<3x2xf64>", "tensor<2xf64>"]
    text = print_module(module)
    assert print_module(parse_module(text)) == text


def test_grad_func_matches_finite_differences_interpreted_and_compiled() -> None:
    module = run_pipeline(parse_module(TEXT), "autodiff")
    g = module["loss_grad"]
    x, w, k, unused = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 2)), np.array(3, np.int32), \
        RNG.standard_normal(2)
    for outs in (interpret(g, [x, w, k, unused]), compile_func(g).run([x, w, k, unused])):
        np.testing.assert_allclose(outs[0], _loss(x, w, 3), rtol=1e-12)
        np.testing.assert_allclose(outs[2], _numeric(lambda a: _loss(a, w, 3), x), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(outs[3], _numeric(lambda a: _loss(x, a, 3), w), rtol=1e-6, atol=1e-9)
        np.testing.assert_array_equal(outs[4], np.zeros(2))  # no path from `unused`
    # the dynamic batch dim: one compiled function for several batch sizes
    exe = compile_func(g)
    for n in (1, 7):
        xs = RNG.standard_normal((n, 3))
        np.testing.assert_allclose(exe.run([xs, w, k, unused])[2], _numeric(lambda a: _loss(a, w, 3), xs),
                                   rtol=1e-6, atol=1e-9)


def test_differentiate_selected_args_and_the_default_pipeline_after() -> None:
    f = parse_module(TEXT)["loss"]
    g = differentiate(f, wrt=[1], name="dloss_dw")
    assert g.name == "dloss_dw" and len(g.result_types) == 3
    optimized = run_pipeline(parse_module(print_module(_module(g))), "default", verify_each=True)
    x, w, k = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2)), np.array(2, np.int32)
    got = compile_func(optimized["dloss_dw"]).run([x, w, k, RNG.standard_normal(2)])[2]
    np.testing.assert_allclose(got, _numeric(lambda a: _loss(x, a, 2), w), rtol=1e-6, atol=1e-9)
    assert print_module(_module(f)) == print_module(_module(parse_module(TEXT)["loss"]))  # input untouched


def _module(func: Func) -> Module:
    return Module([func])


def test_differentiate_needs_a_float_scalar_first_result() -> None:
    with pytest.raises(ShapeError, match=r"@vector must return a float scalar"):
        differentiate(parse_module(TEXT)["vector"])
    with pytest.raises(ShapeError, match="not a float tensor"):
        differentiate(parse_module(TEXT)["loss"], wrt=[2])


def test_op_without_a_rule_on_the_path_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_opdef("tanh"), "grad", None)
    with pytest.raises(NoGradientError, match="No gradient defined for op 'tanh'"):
        differentiate(parse_module(TEXT)["loss"])


def test_autodiff_output_verifies() -> None:
    module = run_pipeline(parse_module(TEXT), "autodiff")
    verify_module(module)
