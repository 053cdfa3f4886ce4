"""Shared test helpers: run an op's reference and check it against its own type rule."""

from __future__ import annotations

from typing import Any

import numpy as np

import xlc.ops  # noqa: F401  (defines the ops)
from xlc.errors import ShapeError
from xlc.ir.opdef import get_opdef
from xlc.ir.types import TensorType, as_dtype


def type_of(x: np.ndarray) -> TensorType:
    return TensorType(x.shape, as_dtype(x.dtype))


def run_op(name: str, *arrays: np.ndarray, **attrs: Any) -> Any:
    """The reference's result(s); asserts they match the type rule run on the concrete shapes."""
    opdef = get_opdef(name)
    full = opdef.complete_attrs(attrs)
    arrays = tuple(np.asarray(a) for a in arrays)
    types = opdef.infer([type_of(a) for a in arrays], full)
    outs = opdef.evaluate(arrays, full)
    assert len(outs) == len(types), (name, len(outs), len(types))
    for o, t in zip(outs, types):
        assert o.shape == t.shape, f"{name}: reference gave {o.shape}, type rule says {t}"
        assert o.dtype == t.dtype.np_dtype, f"{name}: reference gave {o.dtype}, type rule says {t}"
    check_unknown_dims(name, arrays, full, outs)
    return outs[0] if len(outs) == 1 else outs


def infer(name: str, *types: TensorType, **attrs: Any) -> list[TensorType]:
    opdef = get_opdef(name)
    return opdef.infer(list(types), opdef.complete_attrs(attrs))


def rand(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    """Random data that is never all zeros: floats in [-2, 2) away from 0, ints in [-9, 9] minus 0."""
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        lo = 1 if dt.kind == "u" else -9
        x = rng.integers(lo, 10, size=shape)
        x[x == 0] = 3
        return x.astype(dt)
    x = rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x.astype(dt)


def check_unknown_dims(name: str, arrays: tuple[np.ndarray, ...], attrs: Any, outs: list[np.ndarray]) -> None:
    """The type rule with one operand's dims (or all of them) unknown must still fit the results.

    A rule may refuse unknown dims only with a ShapeError that says it needs them known.
    """
    opdef = get_opdef(name)
    variants = []
    for k in range(len(arrays)):
        variants.append([TensorType((None,) * a.ndim, as_dtype(a.dtype)) if i == k else type_of(a)
                         for i, a in enumerate(arrays)])
    if len(arrays) > 1:
        variants.append([TensorType((None,) * a.ndim, as_dtype(a.dtype)) for a in arrays])
    for types in variants:
        try:
            results = opdef.infer(types, attrs)
        except ShapeError as e:
            assert "known" in str(e), f"{name} refused unknown dims {types}: {e}"
            continue
        for o, t in zip(outs, results):
            assert t.is_compatible_with(o.shape), f"{name}: with {types} the rule says {t}, result is {o.shape}"
            assert t.dtype.np_dtype == o.dtype
