"""TF1's math functions (``tf.add``, ``tf.reduce_sum``, ``tf.matmul``, ...) and Tensor's operators.

Each function converts its arguments, normalises them into the IR op's attributes
(non-negative axes, static ints) and adds one op through :func:`graph.apply_op`; the
op's type rule gives the result's static shape and dtype.  A few TF functions without
an IR op of their own (``add_n``, ``count_nonzero``, ``truediv`` on integers) are
composed from others, as TF composes them.

Python numbers mixed with tensors take the tensor's dtype, as in TF: ``x * 2`` with a
float32 ``x`` multiplies by a float32 2.  Two tensors of different dtypes are a
TypeError, as in TF (there is no implicit promotion).

Importing this module installs the arithmetic and comparison operators on
:class:`graph.Tensor`; ``__eq__`` is left alone (tensors compare by identity, as TF1).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from xlc.errors import ShapeError, UnimplementedError
from xlc.ir import types as dtypes
from xlc.ir.types import DType, as_dtype
from xlc.frontend.graph import Tensor
from xlc.frontend.op_builder import apply_op, convert_to_tensor
from xlc.frontend.tensor_util import normalize_axes, normalize_axis, pick, rank_of

__all__ = [
    "add", "subtract", "sub", "multiply", "mul", "divide", "div", "truediv", "floordiv", "floor_div",
    "mod", "floormod", "pow", "maximum", "minimum", "squared_difference",
    "negative", "neg", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square",
    "reciprocal", "sin", "cos", "tan", "tanh", "sigmoid", "floor", "ceil", "round",
    "logical_not", "logical_and", "logical_or", "logical_xor", "is_nan", "is_finite",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "where",
    "cast", "to_float", "to_double", "to_int32", "to_int64", "clip_by_value",
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_any", "reduce_all",
    "argmax", "argmin", "matmul", "add_n", "count_nonzero",
]

_PLAIN = (bool, int, float, list, tuple, np.ndarray, np.generic)


def _is_plain(value: Any) -> bool:
    """A Python/numpy value (not a tensor or tensor-like object such as a Variable)."""
    return isinstance(value, _PLAIN) and not isinstance(value, Tensor)


def _pair(x: Any, y: Any, op_type: str) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of one dtype; numbers follow the other operand's dtype."""
    if _is_plain(x) and not _is_plain(y):
        y = convert_to_tensor(y)
        x = convert_to_tensor(x, dtype=y.dtype)
    else:
        x = convert_to_tensor(x)
        if isinstance(y, Tensor) and y.dtype is not x.dtype:
            raise TypeError(
                f"Input 'y' of '{op_type}' Op has type {y.dtype.name} that does not match type "
                f"{x.dtype.name} of argument 'x'"
            )
        y = convert_to_tensor(y, dtype=x.dtype)
        if y.dtype is not x.dtype:  # a Variable or other tensor-like of another dtype
            raise TypeError(
                f"Input 'y' of '{op_type}' Op has type {y.dtype.name} that does not match type "
                f"{x.dtype.name} of argument 'x'"
            )
    return x, y


def _apply1(op_type: str, ir_op: str, inputs: Sequence[Tensor], attrs: dict[str, Any] | None = None,
            name: str | None = None) -> Tensor:
    return apply_op(op_type, ir_op, list(inputs), attrs, name=name).outputs[0]


def _binary(op_type: str, ir_op: str, x: Any, y: Any, name: str | None) -> Tensor:
    if not (type(x) is type(y) and isinstance(x, Tensor) and x.dtype is y.dtype):  # else already a pair
        x, y = _pair(x, y, op_type)
    return _apply1(op_type, ir_op, [x, y], name=name)


def _unary(op_type: str, ir_op: str, x: Any, name: str | None) -> Tensor:
    return _apply1(op_type, ir_op, [convert_to_tensor(x)], name=name)


# --- binary arithmetic -------------------------------------------------------------

def add(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x + y elementwise, with broadcasting."""
    return _binary("Add", "add", x, y, name)


def subtract(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x - y elementwise, with broadcasting."""
    return _binary("Sub", "sub", x, y, name)


def multiply(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x * y elementwise, with broadcasting."""
    return _binary("Mul", "mul", x, y, name)


def div(x: Any, y: Any, name: str | None = None) -> Tensor:
    """TF1 ``tf.div``: floor division on integers, true division on floats."""
    return _binary("Div", "div", x, y, name)


def truediv(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Python 3 division: integers are cast to a float first (8/16-bit to float32, else float64)."""
    x, y = _pair(x, y, "RealDiv")
    dt = x.dtype
    if dt.is_bool:
        raise TypeError(f"Invalid dtype {dt.name} in __truediv__")
    if dt.is_integer:
        target = dtypes.float32 if dt.bits <= 16 else dtypes.float64
        x, y = cast(x, target), cast(y, target)
    return _apply1("RealDiv", "div", [x, y], name=name or "truediv")


def divide(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x / y`` (true division, as TF1's ``tf.divide``)."""
    return truediv(x, y, name=name)


def floordiv(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Division rounded toward negative infinity (``//``)."""
    return _binary("FloorDiv", "floordiv", x, y, name)


def floormod(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Floor modulo: the result has the divisor's sign (Python's ``%``)."""
    return _binary("FloorMod", "mod", x, y, name)


def pow(x: Any, y: Any, name: str | None = None) -> Tensor:  # noqa: A001  (TF's name)
    """x ** y elementwise; integers to negative powers are an error."""
    return _binary("Pow", "pow", x, y, name)


def maximum(x: Any, y: Any, name: str | None = None) -> Tensor:
    """The larger of x and y elementwise."""
    return _binary("Maximum", "maximum", x, y, name)


def minimum(x: Any, y: Any, name: str | None = None) -> Tensor:
    """The smaller of x and y elementwise."""
    return _binary("Minimum", "minimum", x, y, name)


def squared_difference(x: Any, y: Any, name: str | None = None) -> Tensor:
    """(x - y) ** 2 elementwise."""
    return _binary("SquaredDifference", "squared_difference", x, y, name)


sub = subtract
mul = multiply
floor_div = floordiv
mod = floormod


# --- unary -------------------------------------------------------------------------

def _unary_fn(op_type: str, ir_op: str, doc: str) -> Any:
    def fn(x: Any, name: str | None = None) -> Tensor:
        return _unary(op_type, ir_op, x, name)

    fn.__name__ = fn.__qualname__ = ir_op
    fn.__doc__ = doc
    return fn


negative = _unary_fn("Neg", "neg", "-x elementwise.")
abs = _unary_fn("Abs", "abs", "|x| elementwise.")  # noqa: A001
sign = _unary_fn("Sign", "sign", "-1, 0 or 1 elementwise.")
exp = _unary_fn("Exp", "exp", "e**x elementwise.")
log = _unary_fn("Log", "log", "Natural logarithm elementwise.")
log1p = _unary_fn("Log1p", "log1p", "log(1 + x), accurate for small x.")
expm1 = _unary_fn("Expm1", "expm1", "exp(x) - 1, accurate for small x.")
sqrt = _unary_fn("Sqrt", "sqrt", "Square root elementwise.")
rsqrt = _unary_fn("Rsqrt", "rsqrt", "1 / sqrt(x) elementwise.")
square = _unary_fn("Square", "square", "x * x elementwise.")
reciprocal = _unary_fn("Reciprocal", "reciprocal", "1 / x elementwise.")
sin = _unary_fn("Sin", "sin", "Sine elementwise.")
cos = _unary_fn("Cos", "cos", "Cosine elementwise.")
tan = _unary_fn("Tan", "tan", "Tangent elementwise.")
tanh = _unary_fn("Tanh", "tanh", "Hyperbolic tangent elementwise.")
sigmoid = _unary_fn("Sigmoid", "sigmoid", "1 / (1 + exp(-x)) elementwise.")
floor = _unary_fn("Floor", "floor", "Largest integer <= x, elementwise.")
ceil = _unary_fn("Ceil", "ceil", "Smallest integer >= x, elementwise.")
round = _unary_fn("Round", "round", "Nearest integer, halves to even (banker's rounding).")  # noqa: A001
logical_not = _unary_fn("LogicalNot", "logical_not", "not x on bools.")
is_nan = _unary_fn("IsNan", "is_nan", "Whether x is NaN, elementwise.")
is_finite = _unary_fn("IsFinite", "is_finite", "Whether x is neither infinite nor NaN.")
neg = negative


# --- logic and comparison ----------------------------------------------------------

def logical_and(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x and y on bools."""
    return _binary("LogicalAnd", "logical_and", x, y, name)


def logical_or(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x or y on bools."""
    return _binary("LogicalOr", "logical_or", x, y, name)


def logical_xor(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x != y on bools."""
    return _binary("LogicalXor", "logical_xor", x, y, name or "LogicalXor")


def equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x == y elementwise (bool result); ``==`` on tensors stays identity, as TF1."""
    return _binary("Equal", "equal", x, y, name)


def not_equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x != y elementwise (bool result)."""
    return _binary("NotEqual", "not_equal", x, y, name)


def less(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x < y elementwise (bool result)."""
    return _binary("Less", "less", x, y, name)


def less_equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x <= y elementwise (bool result)."""
    return _binary("LessEqual", "less_equal", x, y, name)


def greater(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x > y elementwise (bool result)."""
    return _binary("Greater", "greater", x, y, name)


def greater_equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """x >= y elementwise (bool result)."""
    return _binary("GreaterEqual", "greater_equal", x, y, name)


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    """``where(cond, x, y)``: x where cond is true, else y (broadcasting, as ``where_v2``).

    The one-argument form (coordinates of true elements) has a data-dependent shape,
    which xlc does not compile yet.
    """
    if x is None and y is None:
        raise UnimplementedError(
            None, None,
            "tf.where(condition) with one argument (indices of true elements) is not supported by xlc: "
            "its output shape depends on the data; use tf.where(condition, x, y)"
        )
    if x is None or y is None:
        raise ShapeError("x and y must both be given, or neither")
    cond = convert_to_tensor(condition, dtype=dtypes.bool_)
    x, y = _pair(x, y, "Select")
    return _apply1("Select", "select", [cond, x, y], name=name)


# --- casts and clipping ------------------------------------------------------------

def cast(x: Any, dtype: Any, name: str | None = None) -> Tensor:
    """x converted to ``dtype``; floats to integers truncate toward zero.  A no-op if equal."""
    target = as_dtype(dtype)
    x = convert_to_tensor(x)
    if x.dtype is target:
        return x
    return _apply1("Cast", "cast", [x], {"dtype": target}, name=name)


def to_float(x: Any, name: str = "ToFloat") -> Tensor:
    return cast(x, dtypes.float32, name=name)


def to_double(x: Any, name: str = "ToDouble") -> Tensor:
    return cast(x, dtypes.float64, name=name)


def to_int32(x: Any, name: str = "ToInt32") -> Tensor:
    return cast(x, dtypes.int32, name=name)


def to_int64(x: Any, name: str = "ToInt64") -> Tensor:
    return cast(x, dtypes.int64, name=name)


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: str | None = None) -> Tensor:
    """t clamped to [clip_value_min, clip_value_max] elementwise (bounds broadcast)."""
    t = convert_to_tensor(t)
    lo = convert_to_tensor(clip_value_min, dtype=t.dtype)
    hi = convert_to_tensor(clip_value_max, dtype=t.dtype)
    return _apply1("ClipByValue", "clip_by_value", [t, lo, hi], name=name)


# --- reductions --------------------------------------------------------------------

def _reduce(op_type: str, ir_op: str, input_tensor: Any, axis: Any, keepdims: Any, name: str | None,
            reduction_indices: Any, keep_dims: Any, dtype: DType | None = None) -> Tensor:
    x = convert_to_tensor(input_tensor, dtype=dtype)
    axis = pick(f"tf.{ir_op}", None, axis=axis, reduction_indices=reduction_indices)
    keep = bool(pick(f"tf.{ir_op}", False, keepdims=keepdims, keep_dims=keep_dims))
    axes = normalize_axes(axis, rank_of(x), f"{ir_op}: axis")
    return _apply1(op_type, ir_op, [x], {"axes": axes, "keepdims": keep}, name=name)


def _reduction(op_type: str, ir_op: str, what: str, dtype: DType | None = None) -> Any:
    def fn(input_tensor: Any, axis: Any = None, keepdims: Any = None, name: str | None = None,
           reduction_indices: Any = None, keep_dims: Any = None) -> Tensor:
        return _reduce(op_type, ir_op, input_tensor, axis, keepdims, name, reduction_indices, keep_dims, dtype)

    fn.__name__ = fn.__qualname__ = ir_op
    fn.__doc__ = (f"The {what} of elements over ``axis`` (None: every axis; negative axes count from the "
                  f"end); ``keepdims`` keeps reduced dims with size 1.  ``reduction_indices`` and "
                  f"``keep_dims`` are TF1's old names.")
    return fn


reduce_sum = _reduction("Sum", "reduce_sum", "sum")
reduce_mean = _reduction("Mean", "reduce_mean", "mean (truncated for integers, as TF)")
reduce_max = _reduction("Max", "reduce_max", "maximum")
reduce_min = _reduction("Min", "reduce_min", "minimum")
reduce_prod = _reduction("Prod", "reduce_prod", "product")
reduce_any = _reduction("Any", "reduce_any", "logical or", dtypes.bool_)
reduce_all = _reduction("All", "reduce_all", "logical and", dtypes.bool_)


def _arg_reduce(op_type: str, ir_op: str, input: Any, axis: Any, name: str | None, dimension: Any,
                output_type: Any) -> Tensor:
    x = convert_to_tensor(input)
    axis = pick(f"tf.{ir_op}", 0, axis=axis, dimension=dimension)
    a = normalize_axis(axis, rank_of(x), f"{ir_op}: axis")
    out = as_dtype(output_type)
    if out not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{ir_op}: output_type must be int32 or int64, got {out.name}")
    return _apply1(op_type, ir_op, [x], {"axis": a, "output_type": out}, name=name)


def argmax(input: Any, axis: Any = None, name: str | None = None, dimension: Any = None,  # noqa: A002
           output_type: Any = dtypes.int64) -> Tensor:
    """Index of the largest element along ``axis`` (default 0); the first one on ties."""
    return _arg_reduce("ArgMax", "argmax", input, axis, name, dimension, output_type)


def argmin(input: Any, axis: Any = None, name: str | None = None, dimension: Any = None,  # noqa: A002
           output_type: Any = dtypes.int64) -> Tensor:
    """Index of the smallest element along ``axis`` (default 0); the first one on ties."""
    return _arg_reduce("ArgMin", "argmin", input, axis, name, dimension, output_type)


def count_nonzero(input_tensor: Any, axis: Any = None, keepdims: Any = None, dtype: Any = dtypes.int64,
                  name: str | None = None, reduction_indices: Any = None, keep_dims: Any = None) -> Tensor:
    """How many elements are not zero (not False) along ``axis``; composed as TF does."""
    x = convert_to_tensor(input_tensor)
    nonzero = not_equal(x, convert_to_tensor(np.zeros((), x.dtype.np_dtype), dtype=x.dtype))
    counts = reduce_sum(cast(nonzero, dtypes.int64), axis=axis, keepdims=keepdims,
                        reduction_indices=reduction_indices, keep_dims=keep_dims)
    return cast(counts, dtype, name=name)


# --- linear algebra ----------------------------------------------------------------

def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False, adjoint_a: bool = False,
           adjoint_b: bool = False, a_is_sparse: bool = False, b_is_sparse: bool = False,
           name: str | None = None) -> Tensor:
    """a @ b over the last two dims; leading (batch) dims broadcast.

    ``adjoint_*`` equals ``transpose_*`` for real dtypes; the sparsity hints are ignored.
    """
    if transpose_a and adjoint_a:
        raise ShapeError("Only one of transpose_a and adjoint_a can be True.")
    if transpose_b and adjoint_b:
        raise ShapeError("Only one of transpose_b and adjoint_b can be True.")
    if not (type(a) is type(b) and isinstance(a, Tensor) and a.dtype is b.dtype):  # else already a pair
        a, b = _pair(a, b, "MatMul")
    op_type = "MatMul" if rank_of(a) == 2 and rank_of(b) == 2 else "BatchMatMulV2"
    attrs = {"transpose_a": bool(transpose_a or adjoint_a), "transpose_b": bool(transpose_b or adjoint_b)}
    return _apply1(op_type, "matmul", [a, b], attrs, name=name)


def add_n(inputs: Sequence[Any], name: str | None = None) -> Tensor:
    """The sum of a list of tensors of one shape and dtype (a chain of adds)."""
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ShapeError("inputs must be a non-empty list of tensors of one shape and dtype")
    tensors = [convert_to_tensor(t) for t in inputs]
    for t in tensors[1:]:
        if t.dtype is not tensors[0].dtype:
            raise TypeError(f"add_n needs inputs of one dtype, got "
                            f"{', '.join(t.dtype.name for t in tensors)}")
    if len(tensors) == 1:
        return _apply1("Identity", "identity", tensors, name=name) if name else tensors[0]
    total = tensors[0]
    for i, t in enumerate(tensors[1:], start=2):
        total = _apply1("AddN", "add", [total, t], name=name if i == len(tensors) else "AddN")
    return total


# --- operators on Tensor -----------------------------------------------------------

def _binary_operator(fn: Any, op_name: str) -> tuple[Any, Any]:
    """The forward and reflected dunder methods for ``fn``, naming ops as TF1 does."""

    def forward(self: Any, other: Any) -> Any:
        try:
            return fn(self, other, name=op_name)
        except TypeError:
            if not _is_plain(other) and not isinstance(other, Tensor):
                return NotImplemented  # let the other operand's reflected method try
            raise

    def reflected(self: Any, other: Any) -> Any:
        return fn(other, self, name=op_name)

    return forward, reflected


def _truediv_op(x: Any, y: Any, name: str | None = None) -> Tensor:
    return truediv(x, y, name=name)


def _matmul_op(x: Any, y: Any, name: str | None = None) -> Tensor:
    return matmul(x, y, name=name)


_BINARY_OPERATORS = {
    "add": (add, "add"),
    "sub": (subtract, "sub"),
    "mul": (multiply, "mul"),
    "truediv": (_truediv_op, "truediv"),
    "floordiv": (floordiv, "floordiv"),
    "mod": (floormod, "mod"),
    "pow": (pow, "pow"),
    "matmul": (_matmul_op, "matmul"),
    "and": (logical_and, "and"),
    "or": (logical_or, "or"),
    "xor": (logical_xor, "xor"),
}


def _install_operators(cls: type) -> None:
    """Give ``cls`` (Tensor, and tensor-like classes) TF1's Python operators."""
    for key, (fn, op_name) in _BINARY_OPERATORS.items():
        forward, reflected = _binary_operator(fn, op_name)
        setattr(cls, f"__{key}__", forward)
        setattr(cls, f"__r{key}__", reflected)
    setattr(cls, "__neg__", lambda self: negative(self))
    setattr(cls, "__abs__", lambda self: abs(self))
    setattr(cls, "__invert__", lambda self: logical_not(self))
    setattr(cls, "__lt__", lambda self, other: less(self, other))
    setattr(cls, "__le__", lambda self, other: less_equal(self, other))
    setattr(cls, "__gt__", lambda self, other: greater(self, other))
    setattr(cls, "__ge__", lambda self, other: greater_equal(self, other))
    # numpy must hand ``ndarray + tensor`` to our reflected methods instead of looping over it.
    setattr(cls, "__array_priority__", 100)


_install_operators(Tensor)
