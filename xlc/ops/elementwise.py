"""Elementwise ops: one line each, with numpy broadcasting and TensorFlow's semantics."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import COMMUTATIVE, ELEMENTWISE, Attr, OpDef, register
from xlc.ir.types import (
    FLOAT_DTYPES,
    NUMERIC_DTYPES,
    DType,
    TensorType,
    as_dtype,
    bool_,
)
from xlc.ops.rules import broadcast_shapes, check_dtype, same_dtype

SIGNED = tuple(d for d in NUMERIC_DTYPES if d.is_signed)
ORDERED = NUMERIC_DTYPES  # dtypes with <, max, min
BOOL = (bool_,)


def _in_dtype(x: np.ndarray, fn: Callable[..., Any], *args: np.ndarray) -> np.ndarray:
    """Apply fn and cast back to x's dtype (numpy promotes small floats and ints)."""
    with np.errstate(all="ignore"):
        return np.asarray(fn(x, *args)).astype(x.dtype, copy=False)


def unary(name: str, ref: Callable[[np.ndarray], Any], dtypes: Sequence[DType], result: DType | None = None,
          doc: str = "") -> OpDef:
    def rule(types: Sequence[TensorType], attrs: Any) -> list[TensorType]:
        check_dtype(name, types[0], dtypes)
        return [types[0] if result is None else types[0].with_dtype(result)]

    def reference(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = np.asarray(ref(x))
        return out.astype(x.dtype if result is None else result.np_dtype, copy=False)

    return register(OpDef(name, 1, rule, reference, traits=frozenset({ELEMENTWISE}), doc=doc))


def binary(name: str, ref: Callable[[np.ndarray, np.ndarray], Any], dtypes: Sequence[DType],
           result: DType | None = None, commutative: bool = False, doc: str = "") -> OpDef:
    def rule(types: Sequence[TensorType], attrs: Any) -> list[TensorType]:
        dt = same_dtype(name, types)
        check_dtype(name, types[0], dtypes)
        return [TensorType(broadcast_shapes(name, types[0].shape, types[1].shape), result or dt)]

    def reference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = np.asarray(ref(x, y))
        return out.astype(x.dtype if result is None else result.np_dtype, copy=False)

    traits = {ELEMENTWISE} | ({COMMUTATIVE} if commutative else set())
    return register(OpDef(name, 2, rule, reference, traits=frozenset(traits), doc=doc))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a negative number only: no overflow on either side
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _round_half_even(x: np.ndarray) -> np.ndarray:
    return np.round(x)  # numpy rounds half to even, as tf.round does


def _floor_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "iu":
        safe = np.where(y == 0, 1, y)
        return np.floor_divide(x, safe)
    return np.floor(x / y)


def _div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """TF1 tf.div: floor division on integers, true division on floats."""
    return _floor_div(x, y) if x.dtype.kind in "iu" else x / y


def _floor_mod(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "iu":
        return np.mod(x, np.where(y == 0, 1, y))
    return np.mod(x, y)


def _pow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "iu":
        if np.any(y < 0):
            raise ValueError("Integers to negative integer powers are not allowed")
        return np.power(x, y)
    return np.power(x, y)


F = FLOAT_DTYPES
unary("neg", np.negative, SIGNED)
unary("abs", np.abs, SIGNED)
unary("sign", np.sign, SIGNED)
unary("exp", np.exp, F)
unary("log", np.log, F)
unary("log1p", np.log1p, F)
unary("expm1", np.expm1, F)
unary("sqrt", np.sqrt, F)
unary("rsqrt", lambda x: 1 / np.sqrt(x), F)
unary("square", np.square, SIGNED)
unary("reciprocal", lambda x: 1 / x, F)
unary("sin", np.sin, F)
unary("cos", np.cos, F)
unary("tan", np.tan, F)
unary("tanh", np.tanh, F)
unary("sigmoid", _sigmoid, F)
unary("relu", lambda x: np.maximum(x, 0), SIGNED)
unary("floor", np.floor, F)
unary("ceil", np.ceil, F)
unary("round", _round_half_even, F)
unary("logical_not", np.logical_not, BOOL)
unary("is_nan", np.isnan, F, result=bool_)
unary("is_finite", np.isfinite, F, result=bool_)

binary("add", np.add, NUMERIC_DTYPES, commutative=True)
binary("sub", np.subtract, NUMERIC_DTYPES)
binary("mul", np.multiply, NUMERIC_DTYPES, commutative=True)
binary("div", _div, NUMERIC_DTYPES, doc="true division on floats, floor division on integers (TF1 tf.div)")
binary("floordiv", _floor_div, NUMERIC_DTYPES)
binary("mod", _floor_mod, NUMERIC_DTYPES, doc="floor modulo: the result has the divisor's sign")
binary("pow", _pow, NUMERIC_DTYPES)
binary("maximum", np.maximum, ORDERED, commutative=True)
binary("minimum", np.minimum, ORDERED, commutative=True)
binary("squared_difference", lambda x, y: np.square(x - y), SIGNED, commutative=True)
binary("equal", np.equal, NUMERIC_DTYPES + BOOL, result=bool_, commutative=True)
binary("not_equal", np.not_equal, NUMERIC_DTYPES + BOOL, result=bool_, commutative=True)
binary("less", np.less, ORDERED, result=bool_)
binary("less_equal", np.less_equal, ORDERED, result=bool_)
binary("greater", np.greater, ORDERED, result=bool_)
binary("greater_equal", np.greater_equal, ORDERED, result=bool_)
binary("logical_and", np.logical_and, BOOL, commutative=True)
binary("logical_or", np.logical_or, BOOL, commutative=True)
binary("logical_xor", np.logical_xor, BOOL, commutative=True)


def _select_rule(types: Sequence[TensorType], attrs: Any) -> list[TensorType]:
    cond, x, y = types
    if cond.dtype is not bool_:
        raise ShapeError(f"'select' needs a bool condition, got {cond.dtype.name}")
    dt = same_dtype("select", [x, y])
    return [TensorType(broadcast_shapes("select", cond.shape, x.shape, y.shape), dt)]


register(OpDef("select", 3, _select_rule, lambda c, x, y: np.where(c, x, y).astype(x.dtype, copy=False),
               traits=frozenset({ELEMENTWISE}), doc="where(cond, x, y) with broadcasting (tf.where v2)"))


def _clip_rule(types: Sequence[TensorType], attrs: Any) -> list[TensorType]:
    dt = same_dtype("clip_by_value", types)
    check_dtype("clip_by_value", types[0], ORDERED)
    return [TensorType(broadcast_shapes("clip_by_value", *(t.shape for t in types)), dt)]


register(OpDef("clip_by_value", 3, _clip_rule,
               lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi).astype(x.dtype, copy=False),
               traits=frozenset({ELEMENTWISE})))


def _cast_rule(types: Sequence[TensorType], attrs: Any) -> list[TensorType]:
    if not types[0].dtype.is_numeric and not types[0].dtype.is_bool:
        raise ShapeError(f"'cast' cannot convert {types[0].dtype.name}")
    return [types[0].with_dtype(as_dtype(attrs["dtype"]))]


def _cast_ref(x: np.ndarray, dtype: DType) -> np.ndarray:
    dt = as_dtype(dtype)
    if x.dtype.kind == "f" and dt.is_integer:  # C truncation toward zero, as TF
        with np.errstate(all="ignore"):
            return np.trunc(x).astype(dt.np_dtype)
    if dt.is_bool:
        return x != 0
    return x.astype(dt.np_dtype)


register(OpDef("cast", 1, _cast_rule, _cast_ref, attrs={"dtype": Attr("dtype")},
               traits=frozenset({ELEMENTWISE})))

