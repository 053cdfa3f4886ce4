"""Helpers for the pass tests: random inputs, before/after comparison, op counting."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

import xlc.ops  # noqa: F401
from xlc.ir.builder import Builder
from xlc.ir.core import Func, Module, Value
from xlc.ir.interpreter import interpret
from xlc.ir.opdef import has_opdef
from xlc.ir.types import TensorType, as_dtype
from xlc.ir.verifier import verify_module
from xlc.passes import run_pipeline



def needs(*ops: str) -> pytest.MarkDecorator:
    missing = [o for o in ops if not has_opdef(o)]
    return pytest.mark.skipif(bool(missing), reason=f"ops not defined yet: {missing}")


def t(shape: tuple, dtype: str = "f32") -> TensorType:
    return TensorType(shape, as_dtype(dtype))


def make_func(arg_types: list[TensorType], body: Callable[..., Value | tuple], name: str = "f",
              arg_names: list[str] | None = None) -> Module:
    """A module with one func whose body ``body(builder, *args)`` returns the results."""
    f = Func(name, arg_types, arg_names=arg_names or [f"x{i}" for i in range(len(arg_types))])
    b = Builder.at_end(f)
    out = body(b, *f.args)
    outs = out if isinstance(out, tuple) else (out,)
    b.ret(*outs)
    m = Module([f])
    verify_module(m)
    return m


def const(b: Builder, value, dtype: str = "f32") -> Value:
    return b.emit("constant", value=np.asarray(value, dtype=as_dtype(dtype).np_dtype))


def random_inputs(func: Func, rng: np.random.Generator, unknown: int = 3) -> list[np.ndarray]:
    out = []
    for a in func.args:
        shape = tuple(unknown if d is None else d for d in a.type.shape)
        dt = a.type.dtype
        if dt.is_floating:
            x = rng.standard_normal(shape) * 3
            if x.size > 2:
                x.flat[0] = -0.0  # a signed zero exposes rewrites like x + 0.0 -> x
        elif dt.is_bool:
            x = rng.random(shape) < 0.5
        else:
            x = rng.integers(-9, 10, shape)
            x[x == 0] = 7  # keep divisions defined
        out.append(np.asarray(x).astype(dt.np_dtype))
    return out


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    """Equal shapes, dtypes and values, nan equal to nan, and the same sign of zero."""
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_array_equal(a, b)
    if a.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


def ops_of(module: Module, func: str = "f") -> list[str]:
    return [op.name for op in module[func].walk()]


def check_pass(module: Module, pipeline: str, seed: int = 0, trials: int = 2) -> Module:
    """Run ``pipeline`` with verification, check the outputs are unchanged, return the result."""
    before = module
    after = run_pipeline(module, pipeline, verify_each=True)
    verify_module(after)
    rng = np.random.default_rng(seed)
    for name, f in before.funcs.items():
        g = after[name]
        assert g.arg_types == f.arg_types and g.result_types == f.result_types
        assert [a.name_hint for a in g.args] == [a.name_hint for a in f.args]
        for _ in range(trials):
            xs = random_inputs(f, rng)
            for x, y in zip(interpret(f, xs), interpret(g, xs)):
                assert_same(np.asarray(x), np.asarray(y))
    return after
