"""Every gradient rule in the registry against central finite differences, in float64.

For each op with a rule (the NN ops' too: their cases join ``CASES`` in test_cpu_ops), build
``f = sum(op(x) * w)`` over random inputs with fixed random weights w, differentiate it with
the autodiff pass, run the gradient func with the numpy interpreter and compiled, and
compare both with finite differences.  A second test differentiates the gradient again
(``sum(grad f * v)``), which checks that rules only emit differentiable ops, correctly.
"""

from __future__ import annotations

from typing import Any

import zlib

import numpy as np
import pytest

import xlc.ops  # noqa: F401
from tests.backends import test_cpu_ops
from tests.backends.test_cpu_ops import BROADCASTS, CASES, random_array
from xlc.ir.builder import Builder
from xlc.ir.core import Func, Value
from xlc.ir.interpreter import interpret
from xlc.ir.opdef import ELEMENTWISE, all_opdefs, get_opdef
from xlc.ir.types import TensorType, as_dtype, bool_, float64
from xlc.ir.verifier import verify_func
from xlc.ops.grad_api import no_gradient
from xlc.ops.gradients import NOT_DIFFERENTIABLE
from xlc.passes import differentiate
from xlc.passes.rewrite import rewrite_func
from xlc.runtime import compile_func

RNG = np.random.default_rng(77)  # reseeded per test (see _seeded): results never depend on test order
EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-6
MAX_PROBES = 40  # finite differences at this many elements per input at most (keeps the suite fast)
# operands whose gradient a rule deliberately leaves out, as TF does: dropout's keep_prob, and
# the labels of softmax_cross_entropy (TF1 stops their gradient)
NOT_DIFFERENTIATED_OPERANDS: dict[str, set[int]] = {"dropout": {1}, "softmax_cross_entropy": {1}}
# (op, attrs, inputs, unknown dims) cases beyond the shared ones
EXTRA: dict[str, list[tuple[list[np.ndarray], dict[str, Any], dict[int, tuple[int, ...]]]]] = {
    "cast": [([random_array((3, 4), float64)], {"dtype": float64}, {})],
    "gather_grad": [([random_array((4, 3), float64), np.array([2, 0, 2, 1], np.int32), random_array((3, 3), float64)],
                     {"axis": 0}, {0: (0,)})],
    "strided_slice_grad": [([random_array((2, 6), float64), random_array((5, 6), float64)],
                            {"begin": (1, 0), "end": (4, 6), "strides": (2, 1)}, {1: (1,)})],
    "reshape_like": [([random_array((3, 4), float64), random_array((2, 6), float64)], {}, {1: (0, 1)})],
    "broadcast_like": [([random_array((3, 1), float64), random_array((2, 3, 4), float64)], {}, {1: (0, 2)})],
    "reduce_to_like": [([random_array((2, 3, 4), float64), random_array((3, 1), float64)], {}, {1: (0, 1)}),
                       ([random_array((3, 4), float64), random_array((3, 4), float64)], {}, {0: (0, 1), 1: (0, 1)})],
    "strided_slice": [([random_array((5, 6), float64)], {"begin": (-1, 1), "end": (0, 5), "strides": (-2, 2)}, {})],
    "slice": [([random_array((5, 6), float64)], {"begin": (1, 2), "size": (3, -1)}, {0: (0, 1)})],
    "pad": [([random_array((3, 4), float64)], {"paddings": (1, 2, 0, 3)}, {0: (0, 1)})],
    "reduce_mean": [([random_array((3, 4, 2), float64)], {"axes": (0, 2)}, {0: (0, 1)})],
    "reduce_sum": [([random_array((3, 4, 2), float64)], {"axes": (1,), "keepdims": True}, {0: (0, 1, 2)})],
    "tile": [([random_array((2, 3), float64)], {"multiples": (2, 3)}, {0: (0,)})],
    "matmul": [([random_array((2, 1, 4, 3), float64), random_array((3, 3, 2), float64)], {"transpose_a": False},
                {0: (0,)}),
               ([random_array((3, 4), float64), random_array((2, 5, 3), float64)],
                {"transpose_a": True, "transpose_b": True}, {})],
}


def _elementwise_cases(name: str) -> list[tuple[list[np.ndarray], dict[str, Any], dict[int, tuple[int, ...]]]]:
    arity = get_opdef(name).num_operands or 1
    out = []
    shapes_list = BROADCASTS[:1] if arity == 1 else BROADCASTS + [((3, 1), (1, 4))]
    for n, shapes in enumerate(shapes_list):
        shapes = (list(shapes) + [shapes[-1]])[:arity]
        inputs = [random_array(s, bool_ if name == "select" and k == 0 else float64, name, k)
                  for k, s in enumerate(shapes)]
        if name == "tan":
            inputs = [np.tanh(x) for x in inputs]  # keep away from the poles
        unknown = {k: tuple(range(len(s))) for k, s in enumerate(shapes)} if n == len(BROADCASTS) else {}
        out.append((inputs, {}, unknown))
    return out


def _accepts_float64(name: str) -> bool:
    opdef = get_opdef(name)
    arity = opdef.num_operands or 1
    types = [TensorType((2,), bool_ if name == "select" and k == 0 else float64) for k in range(arity)]
    try:
        opdef.infer(types, opdef.complete_attrs({}))
    except Exception:
        return False
    return True


def _cases(name: str) -> list[tuple[list[np.ndarray], dict[str, Any], dict[int, tuple[int, ...]]]]:
    opdef = get_opdef(name)
    if opdef.has(ELEMENTWISE) and name != "cast":
        return _elementwise_cases(name) if _accepts_float64(name) else []
    out = []
    for inputs, attrs, unknown in CASES.get(name, []) + EXTRA.get(name, []):
        inputs = [x.astype(np.float64) if as_dtype(x.dtype).is_floating else x for x in inputs]
        if any(as_dtype(x.dtype).is_floating for x in inputs):
            out.append((inputs, attrs, unknown))
    return out


DIFFERENTIABLE = sorted(d.name for d in all_opdefs() if d.grad is not None and d.grad is not no_gradient)


def _build(name: str, inputs: list[np.ndarray], attrs: dict[str, Any],
           unknown: dict[int, tuple[int, ...]]) -> tuple[Func, list[int]] | None:
    """f(inputs) = sum over float results r of sum(r * w_r); None if the op has no float result."""
    types = []
    for k, x in enumerate(inputs):
        shape = tuple(None if a in unknown.get(k, ()) else d for a, d in enumerate(x.shape))
        types.append(TensorType(shape, as_dtype(x.dtype)))
    f = Func("f", types)
    b = Builder(f.body)
    results = b.create(name, f.args, attrs).results
    ref = get_opdef(name).evaluate(inputs, b.block.ops[-1].attrs)
    total: Value | None = None
    for r, value in zip(results, ref):
        if not r.type.dtype.is_floating:
            continue
        w = RNG.standard_normal(value.shape).astype(np.float64)
        term = b.emit("reduce_sum", b.emit("mul", r, b.emit("constant", value=w)), axes=tuple(range(value.ndim)))
        total = term if total is None else b.emit("add", total, term)
    if total is None:
        return None
    b.ret(total)
    skip = NOT_DIFFERENTIATED_OPERANDS.get(name, set())
    return f, [k for k, x in enumerate(inputs) if as_dtype(x.dtype).is_floating and k not in skip]


def _numeric_grads(f: Func, inputs: list[np.ndarray], positions: list[int], out: int = 0
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(probed flat indices, central differences there) for each differentiated input."""
    res = []
    for k in positions:
        x = inputs[k]
        n = x.size
        probes = np.arange(n) if n <= MAX_PROBES else RNG.choice(n, MAX_PROBES, replace=False)
        fd = np.empty(len(probes))
        for j, p in enumerate(probes):
            vals = []
            for sign in (1, -1):
                xs = list(inputs)
                xp = x.copy().reshape(-1)
                xp[p] += sign * EPS
                xs[k] = xp.reshape(x.shape)
                vals.append(float(interpret(f, xs)[out]))
            fd[j] = (vals[0] - vals[1]) / (2 * EPS)
        res.append((probes, fd))
    return res


def _check(f: Func, inputs: list[np.ndarray], positions: list[int], what: str, compiled: bool = True) -> Func:
    gf = differentiate(f)
    verify_func(gf)
    n_out = len(f.result_types)
    runs = {"interpreter": interpret(gf, inputs)}
    if compiled:
        runs["compiled"] = compile_func(gf).run(inputs)
    numeric = _numeric_grads(f, inputs, positions)
    for how, outs in runs.items():
        for (probes, fd), k, got in zip(numeric, positions, outs[n_out:]):
            assert got.shape == inputs[k].shape, f"{what}: gradient {k} shape {got.shape} != {inputs[k].shape}"
            np.testing.assert_allclose(got.reshape(-1)[probes], fd, rtol=RTOL, atol=ATOL,
                                       err_msg=f"{what}: d/dinput{k} ({how})")
    return gf


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Random data from a seed of the test's own name."""
    global RNG
    seed = zlib.crc32(request.node.name.encode())
    monkeypatch.setattr(test_cpu_ops, "RNG", np.random.default_rng(seed))
    RNG = np.random.default_rng(seed + 1)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradient_matches_finite_differences(name: str, seeded: None) -> None:
    cases = _cases(name)
    checked = 0
    for inputs, attrs, unknown in cases:
        built = _build(name, inputs, attrs, unknown)
        if built is None:
            continue
        f, positions = built
        _check(f, inputs, positions, f"{name} {attrs} unknown={unknown}")
        checked += 1
    if not checked:
        pytest.skip(f"no float64 case for '{name}'")


def _grad_dot(gf: Func, positions: list[int], inputs: list[np.ndarray]) -> Func:
    """h(inputs) = sum_k sum(grad_k f * v_k): a scalar whose gradient is a Hessian-vector product."""
    h = rewrite_func(gf, lambda op, operands, rw: None)
    h.name = "h"
    ret = h.body.ops.pop()
    b = Builder(h.body)
    n_out = len(ret.operands) - len(positions)
    total = None
    for k, gk in zip(positions, ret.operands[n_out:]):
        v = RNG.standard_normal(inputs[k].shape)
        term = b.emit("reduce_sum", b.emit("mul", gk, b.emit("constant", value=v)),
                      axes=tuple(range(inputs[k].ndim)))
        total = term if total is None else b.emit("add", total, term)
    b.ret(total)
    return h


# ops whose second derivative finite differences cannot check: the gradient has kinks at
# points where random data sits with probability zero, but the rule's own ops (select on a
# mask) are piecewise constant in x; their second derivative is zero almost everywhere
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_second_derivative_matches_finite_differences(name: str, seeded: None) -> None:
    cases = _cases(name)[:2]
    checked = 0
    for inputs, attrs, unknown in cases:
        built = _build(name, inputs, attrs, unknown)
        if built is None:
            continue
        f, positions = built
        gf = differentiate(f)
        h = _grad_dot(gf, positions, inputs)
        verify_func(h)
        _check(h, inputs, positions, f"d2 {name} {attrs}", compiled=False)
        checked += 1
    if not checked:
        pytest.skip(f"no float64 case for '{name}'")


def test_every_op_has_a_rule_or_is_marked_not_differentiable() -> None:
    missing = [d.name for d in all_opdefs() if d.grad is None]
    assert not missing, f"ops with neither a gradient rule nor a not-differentiable marker: {missing}"
    for name in NOT_DIFFERENTIABLE:
        assert get_opdef(name).grad is no_gradient, name


def test_every_differentiable_op_is_checked() -> None:
    unchecked = [n for n in DIFFERENTIABLE if not _cases(n)]
    assert not unchecked, f"gradient rules without a finite-difference case: {unchecked}"
