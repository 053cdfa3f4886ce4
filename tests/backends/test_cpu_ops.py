"""Every op of the registry, compiled for the CPU, against its numpy reference on random data.

Elementwise ops are generated from the registry (every accepted dtype, broadcasting, unknown
dims); the other ops have hand-written cases below.  A coverage test fails when an op is
added without a lowering or without a case here.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import xlc.ops  # noqa: F401
from xlc.backends import cpu
from xlc.errors import InvalidArgumentError, ShapeError
from xlc.ir.builder import Builder
from xlc.ir.core import Func
from xlc.ir.interpreter import interpret
from xlc.ir.opdef import ELEMENTWISE, all_opdefs, get_opdef
from xlc.ir.types import ALL_DTYPES, TensorType, as_dtype, bool_, float32, int32, int64
from xlc.runtime import compile_func

RNG = np.random.default_rng(1234)
POSITIVE = {"log", "sqrt", "rsqrt"}  # defined on x > 0
ABOVE_MINUS_ONE = {"log1p"}
DIVISIONS = {"div", "floordiv", "mod"}
TOL = {"f16": 2e-3, "bf16": 1.6e-2, "f32": 2e-6, "f64": 1e-13}


def random_array(shape: tuple[int, ...], dtype: Any, op: str = "", operand: int = 0) -> np.ndarray:
    dt = as_dtype(dtype)
    if dt.is_bool:
        return RNG.random(shape) < 0.5
    if dt.is_integer:
        lo, hi = (0, 5) if (dt.kind == "uint" or op == "pow" and operand == 1) else (-9, 10)
        x = RNG.integers(lo, hi, size=shape)
        if op in DIVISIONS and operand == 1:
            x = np.where(x == 0, 3, x)
        return x.astype(dt.np_dtype)
    x = RNG.standard_normal(shape) * 2
    if op in POSITIVE:
        x = np.abs(x) + 0.1
    elif op in ABOVE_MINUS_ONE:
        x = np.abs(x) - 0.9
    elif op == "pow" and operand == 0:
        x = np.abs(x) + 0.1
    x = np.where(x == 0, 0.5, x)  # never zeros
    return x.astype(dt.np_dtype)


def run_both(arg_types: list[TensorType], build: Callable[..., list], inputs: list[np.ndarray],
             name: str = "f") -> tuple[list[np.ndarray], list[np.ndarray]]:
    f = Func(name, arg_types)
    b = Builder(f.body)
    b.ret(*build(b, *f.args))
    ref = interpret(f, inputs)
    got = compile_func(f).run(inputs)
    return got, ref


def assert_close(got: np.ndarray, ref: np.ndarray, what: str, scale: float = 1.0) -> None:
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    assert got.dtype == ref.dtype, f"{what}: dtype {got.dtype} != {ref.dtype}"
    dt = as_dtype(ref.dtype)
    if dt.is_floating:
        tol = TOL[dt.short] * scale
        np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=tol, atol=tol, err_msg=what)
    else:
        np.testing.assert_array_equal(got, ref, err_msg=what)


def accepted_dtypes(name: str, arity: int) -> list:
    opdef = get_opdef(name)
    out = []
    for dt in ALL_DTYPES:
        if dt.short == "str":
            continue
        types = [TensorType((2,), dt)] * arity
        if name == "select":
            types = [TensorType((2,), bool_), TensorType((2,), dt), TensorType((2,), dt)]
        try:
            opdef.infer(types, opdef.complete_attrs({"dtype": float32} if name == "cast" else {}))
        except ShapeError:
            continue
        out.append(dt)
    return out


ELEMENTWISE_OPS = sorted(d.name for d in all_opdefs() if d.has(ELEMENTWISE) and d.name != "cast")
BROADCASTS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3))]


@pytest.mark.parametrize("name", ELEMENTWISE_OPS)
def test_elementwise_against_reference(name: str) -> None:
    opdef = get_opdef(name)
    arity = opdef.num_operands or 1
    for dt in accepted_dtypes(name, arity):
        for shapes in BROADCASTS[:1] if arity == 1 else BROADCASTS:
            shapes = (list(shapes) + [shapes[-1]])[:arity]
            dtypes = [bool_ if (name == "select" and k == 0) else dt for k in range(arity)]
            inputs = [random_array(s, d, name, k) for k, (s, d) in enumerate(zip(shapes, dtypes))]
            types = [TensorType(s, d) for s, d in zip(shapes, dtypes)]
            got, ref = run_both(types, lambda b, *xs: [b.emit(name, *xs)], inputs)
            assert_close(got[0], ref[0], f"{name} {dt.name} {shapes}")


@pytest.mark.parametrize("name", ["add", "mul", "maximum", "exp", "select"])
def test_elementwise_unknown_dims_and_runtime_broadcast(name: str) -> None:
    """'?' dims: one compiled function serves several shapes, including a '?' that is 1 at run time."""
    arity = get_opdef(name).num_operands or 1
    f = Func("f", [TensorType((None, None), bool_ if name == "select" and k == 0 else float32) for k in range(arity)])
    b = Builder(f.body)
    b.ret(b.emit(name, *f.args))
    exe = compile_func(f)
    for shapes in [((3, 5),) * arity, ((7, 2),) * arity, ((1, 4),) + ((6, 4),) * (arity - 1)]:
        inputs = [random_array(s, bool_ if name == "select" and k == 0 else float32, name, k)
                  for k, s in enumerate(shapes)]
        if name == "exp":
            inputs = inputs[:1]
        got = exe.run(inputs)
        assert_close(got[0], interpret(f, inputs)[0], f"{name} {shapes}")


CAST_PAIRS = [(a, b) for a in ("bool", "i8", "u8", "i32", "i64", "f16", "bf16", "f32", "f64")
              for b in ("bool", "i8", "u8", "i32", "i64", "f16", "bf16", "f32", "f64")]


@pytest.mark.parametrize("src,dst", CAST_PAIRS)
def test_cast(src: str, dst: str) -> None:
    x = random_array((4, 5), src)
    if as_dtype(src).is_floating and as_dtype(dst).kind == "uint":
        x = np.abs(x)  # negative floats to unsigned are undefined in C and in numpy alike
    got, ref = run_both([TensorType((4, 5), as_dtype(src))], lambda b, v: [b.emit("cast", v, dtype=as_dtype(dst))], [x])
    assert_close(got[0], ref[0], f"cast {src}->{dst}")


def _f(*shape: int) -> np.ndarray:
    return random_array(shape, float32)


def _s(*shape: int) -> np.ndarray:
    """Small float32 values: sums of many products stay within the float32 tolerance."""
    return (random_array(shape, float32) * 0.3).astype(np.float32)


def _i(values: list, dtype: Any = np.int32) -> np.ndarray:
    return np.array(values, dtype=dtype)


# op -> list of (inputs, attrs, arg dims to make unknown (by input position: tuple of axes))
CASES: dict[str, list[tuple[list[np.ndarray], dict[str, Any], dict[int, tuple[int, ...]]]]] = {
    "constant": [([], {"value": _f(3, 4)}, {}), ([], {"value": _i([1, 2, 3], np.int64)}, {})],
    "identity": [([_f(3, 4)], {}, {0: (0,)})],
    "reduce_sum": [([_f(3, 4, 5)], {"axes": (1,)}, {0: (0,)}), ([_f(6, 7)], {"axes": (0, 1), "keepdims": True}, {}),
                   ([random_array((4, 5), int32)], {"axes": (0,)}, {})],
    "reduce_mean": [([_f(3, 4)], {"axes": (0,)}, {0: (0, 1)}), ([random_array((4, 5), int32)], {"axes": (1,)}, {})],
    "reduce_max": [([_f(3, 4)], {"axes": (1,)}, {}), ([random_array((4, 5), int64)], {"axes": (0, 1)}, {})],
    "reduce_min": [([_f(3, 4)], {"axes": (0,), "keepdims": True}, {0: (1,)})],
    "reduce_prod": [([_f(3, 4)], {"axes": (1,)}, {})],
    "reduce_any": [([random_array((3, 4), bool_)], {"axes": (1,)}, {})],
    "reduce_all": [([random_array((3, 4), bool_)], {"axes": (0, 1)}, {})],
    "argmax": [([_f(3, 4)], {"axis": 1}, {0: (0,)}), ([random_array((5, 3), int32)], {"axis": 0, "output_type": int32}, {})],
    "argmin": [([_f(3, 4)], {"axis": 0}, {})],
    "matmul": [([_f(5, 7), _f(7, 3)], {}, {0: (0,)}), ([_f(7, 5), _f(3, 7)], {"transpose_a": True, "transpose_b": True}, {}),
               ([_f(2, 4, 3), _f(3, 5)], {}, {0: (0,)}), ([_f(2, 1, 4, 3), _f(3, 3, 2)], {}, {}),
               ([random_array((4, 3), int32), random_array((3, 2), int32)], {}, {}),
               ([random_array((33, 17), np.float64), random_array((17, 40), np.float64)], {}, {}),
               ([random_array((6, 5), "f16"), random_array((5, 4), "f16")], {"transpose_b": False}, {0: (0,)}),
               ([_f(1, 70), _f(70, 45)], {}, {0: (0,)}), ([_f(3, 9), _f(9, 33)], {"transpose_a": False}, {}),
               ([_f(2, 4, 9), _f(9, 17)], {}, {0: (0,)}),
               ([random_array((4, 20), np.float64), random_array((20, 7), np.float64)], {}, {}),
               ([random_array((2, 6, 5), "bf16"), random_array((4, 5), "bf16")], {"transpose_b": True}, {})],
    "reshape": [([_f(4, 6)], {"shape": (3, -1)}, {}), ([_f(4, 6)], {"shape": (-1, 2, 3)}, {0: (0,)})],
    "transpose": [([_f(2, 3, 4)], {"perm": (2, 0, 1)}, {0: (1,)})],
    "expand_dims": [([_f(2, 3)], {"axis": 1}, {}), ([_f(2, 3)], {"axis": 2}, {0: (0,)})],
    "squeeze": [([_f(2, 1, 3, 1)], {"axes": (1,)}, {}), ([_f(2, 1, 3, 1)], {}, {})],
    "concat": [([_f(2, 3), _f(2, 4), _f(2, 1)], {"axis": 1}, {1: (1,)}), ([_f(2, 3), _f(5, 3)], {"axis": 0}, {0: (0,)})],
    "stack": [([_f(2, 3), _f(2, 3)], {"axis": 1}, {}), ([_f(4), _f(4), _f(4)], {"axis": 0}, {})],
    "unstack": [([_f(3, 4)], {"axis": 0, "num": 3}, {}), ([_f(3, 4)], {"axis": 1, "num": 4}, {0: (0,)})],
    "split": [([_f(3, 7)], {"axis": 1, "sizes": (2, 4, 1)}, {0: (0,)})],
    "slice": [([_f(5, 6)], {"begin": (1, 2), "size": (3, -1)}, {})],
    "strided_slice": [
        ([_f(5, 6)], {"begin": (1, 0), "end": (4, 6), "strides": (2, -1)}, {}),
        ([_f(5, 6)], {"begin": (0, 2), "end": (0, 0), "strides": (1, 1), "begin_mask": 1, "end_mask": 1,
                      "shrink_axis_mask": 2}, {0: (0,)}),
        ([_f(4, 5, 6)], {"begin": (0, 1), "end": (0, 3), "strides": (1, 1), "ellipsis_mask": 1,
                         "new_axis_mask": 0}, {}),
        ([_f(4, 5)], {"begin": (-1,), "end": (0,), "strides": (1,), "shrink_axis_mask": 1}, {0: (0,)}),
    ],
    "gather": [([_f(5, 3), _i([4, 0, 2, 2])], {"axis": 0}, {0: (0,)}),
               ([_f(2, 5), _i([[1, 4], [0, 3]], np.int64)], {"axis": 1}, {})],
    "tile": [([_f(2, 3)], {"multiples": (2, 3)}, {})],
    "pad": [([_f(3, 4)], {"paddings": (1, 2, 0, 3)}, {}),
            ([_f(3, 4)], {"paddings": (2, 1, 3, 0), "mode": "REFLECT"}, {}),
            ([_f(3, 4)], {"paddings": (3, 1, 1, 4), "mode": "SYMMETRIC", "constant_value": 2.0}, {})],
    "one_hot": [([_i([0, 2, 5, 1])], {"depth": 4}, {}), ([_i([[0, 2], [3, 1]])], {"depth": 3, "axis": 0,
                                                                                    "on_value": 5.0, "dtype": int32}, {})],
    "broadcast_to": [([_f(3, 1)], {"shape": (2, 3, 4)}, {})],
    "shape": [([_f(3, 4)], {}, {0: (0,)}), ([_f(3, 4)], {"out_type": int64}, {})],
    "size": [([_f(3, 4)], {}, {0: (1,)})],
    "rank": [([_f(3, 4)], {}, {})],
    "fill": [([np.array(2.5, np.float32)], {"shape": (2, 3)}, {})],
    "range": [([], {"start": 2, "limit": 11, "delta": 3, "dtype": int32}, {}),
              ([], {"start": 0.5, "limit": 2.0, "delta": 0.25, "dtype": float32}, {})],
    "lin_space": [([], {"start": -1.0, "stop": 2.0, "num": 7}, {})],
    "random_uniform": [([], {"shape": (4, 5), "seed": 7, "seed2": 3}, {}),
                       ([], {"shape": (50,), "seed": 7, "seed2": 3, "dtype": int32, "minval": -5, "maxval": 9}, {}),
                       ([], {"shape": (10,), "seed": 1, "seed2": 0, "dtype": as_dtype("f64"), "minval": 2.0,
                             "maxval": 3.0}, {})],
    "random_normal": [([], {"shape": (3, 40), "seed": 5, "seed2": 6, "mean": 1.0, "stddev": 2.0}, {})],
    "truncated_normal": [([], {"shape": (500,), "seed": 5, "seed2": 6}, {})],
    "random_shuffle": [([_f(9, 2)], {"seed": 2, "seed2": 9}, {}), ([_f(1)], {"seed": 2, "seed2": 9}, {})],
    # NN ops (xlc/ops/nn.py, xlc/ops/conv.py); more configurations in tests/backends/test_cpu_nn.py
    "softmax": [([_f(3, 5)], {"axis": 1}, {0: (0,)}), ([_f(4, 3, 2)], {"axis": 1}, {})],
    "log_softmax": [([_f(3, 5)], {"axis": 1}, {0: (0,)}), ([_f(4, 3, 2)], {"axis": 0}, {})],
    "softmax_cross_entropy": [([np.abs(_f(4, 6)), _f(4, 6)], {}, {0: (0,), 1: (0,)})],
    "dropout": [([_f(6, 40), np.array(0.7, np.float32)], {"seed": 3, "seed2": 8}, {0: (0,)})],
    "conv2d": [([_s(2, 7, 6, 3), _s(3, 3, 3, 4)], {"padding": "SAME"}, {0: (0,)}),
               ([_s(2, 9, 8, 2), _s(3, 2, 2, 3)], {"padding": "VALID", "strides": (2, 1)}, {})],
    "conv2d_backprop_input": [([_s(3, 3, 3, 4), _s(2, 7, 6, 4)], {"padding": "SAME", "input_size": (7, 6)}, {1: (0,)}),
                              ([_s(3, 2, 2, 3), _s(2, 4, 7, 3)], {"padding": "VALID", "strides": (2, 1),
                                                                  "input_size": (9, 8)}, {})],
    "conv2d_backprop_filter": [([_s(2, 7, 6, 3), _s(2, 7, 6, 4)], {"padding": "SAME", "filter_size": (3, 3)},
                                {0: (0,), 1: (0,)})],
    "max_pool": [([_f(2, 7, 6, 3)], {"ksize": (2, 2), "strides": (2, 2), "padding": "SAME"}, {0: (0,)}),
                 ([_f(2, 7, 6, 3)], {"ksize": (3, 3), "strides": (2, 1), "padding": "VALID"}, {})],
    "max_pool_grad": [([_f(2, 7, 6, 3), _f(2, 4, 3, 3)], {"ksize": (2, 2), "strides": (2, 2), "padding": "SAME"},
                       {0: (0,), 1: (0,)}),
                      ([_f(1, 7, 6, 2), _f(1, 3, 4, 2)], {"ksize": (3, 3), "strides": (2, 1), "padding": "VALID"}, {})],
    "max_pool_grad_grad": [([_f(2, 7, 6, 3), _f(2, 7, 6, 3)], {"ksize": (3, 3), "strides": (2, 2), "padding": "SAME"},
                            {})],
    "avg_pool": [([_f(2, 7, 6, 3)], {"ksize": (3, 3), "strides": (2, 2), "padding": "SAME"}, {0: (0,)})],
    "avg_pool_grad": [([_f(2, 4, 3, 3)], {"ksize": (3, 3), "strides": (2, 2), "padding": "SAME", "input_size": (7, 6)},
                       {0: (0,)})],
    # gradient helper ops (xlc/ops/grad_ops.py)
    "reshape_like": [([_f(3, 4), _f(2, 6)], {}, {1: (0, 1)})],
    "broadcast_like": [([_f(3, 1), _f(2, 3, 4)], {}, {0: (0,), 1: (0, 2)})],
    "reduce_to_like": [([_f(2, 3, 4), _f(3, 1)], {}, {1: (0, 1)}), ([_f(3, 4), _f(1, 4)], {}, {0: (0, 1), 1: (0,)}),
                       ([_f(3, 4), _f(3, 4)], {}, {0: (0, 1), 1: (0, 1)})],
    "gather_grad": [([_f(4, 3), _i([2, 0, 2, 1]), _f(3, 3)], {"axis": 0}, {0: (0,), 2: (0,)}),
                    ([_f(2, 2, 2), _i([[1, 0], [1, 1]], np.int64), _f(2, 3)], {"axis": 1}, {})],
    "strided_slice_grad": [([_f(2, 6), _f(5, 6)], {"begin": (1, 0), "end": (4, 6), "strides": (2, 1)}, {1: (0,)}),
                           ([_f(2, 2), _f(5, 6)], {"begin": (-1, 1), "end": (0, 5), "strides": (-2, 2)}, {}),
                           ([_f(6), _f(5, 6)], {"begin": (-1, 0), "end": (0, 0), "strides": (1, 1), "end_mask": 2,
                                                "shrink_axis_mask": 1}, {0: (0,), 1: (0, 1)})],
}
NON_ELEMENTWISE = sorted(d.name for d in all_opdefs() if not d.has(ELEMENTWISE) and d.name != "return")


def test_every_op_has_a_case_and_a_lowering() -> None:
    missing_case = [n for n in NON_ELEMENTWISE if n not in CASES]
    missing_lowering = [d.name for d in all_opdefs() if d.name != "return" and d.name not in cpu.ELEM
                        and d.name not in cpu.KERNELS]
    assert not missing_case, f"ops without a CPU test case: {missing_case}"
    assert not missing_lowering, f"ops without a CPU lowering: {missing_lowering}"


@pytest.mark.parametrize("name", NON_ELEMENTWISE)
def test_op_against_reference(name: str) -> None:
    for inputs, attrs, unknown in CASES.get(name, []):
        types = []
        for k, x in enumerate(inputs):
            shape = tuple(None if a in unknown.get(k, ()) else d for a, d in enumerate(x.shape))
            types.append(TensorType(shape, as_dtype(x.dtype)))
        got, ref = run_both(types, lambda b, *xs: list(b.create(name, xs, attrs).results), inputs)
        for g, r in zip(got, ref):
            # sums of many products round differently in another order: scale by the terms' count
            terms = inputs[0].shape[-2 if attrs.get("transpose_a") else -1] if name == "matmul" else 1
            assert_close(g, r, f"{name} {attrs}", scale=max(1.0, terms / 4))


def test_gather_out_of_range_is_an_error_not_a_read() -> None:
    f = Func("g", [TensorType((3,), int32), TensorType((), int32)])
    b = Builder(f.body)
    b.ret(b.emit("gather", *f.args))
    exe = compile_func(f)
    with pytest.raises(InvalidArgumentError, match=r"indices = 7 is not in \[0, 3\)"):
        exe.run([_i([0, 1, 2]), np.array(7, np.int32)])
    with pytest.raises(InvalidArgumentError, match=r"indices = -1 is not in \[0, 3\)"):
        exe.run([_i([0, 1, 2]), np.array(-1, np.int32)])
    f2 = Func("g2", [TensorType((3,), int32), TensorType((None,), int32)])
    b = Builder(f2.body)
    b.ret(b.emit("gather", *f2.args))
    with pytest.raises(InvalidArgumentError, match=r"indices\[2\] = 3 is not in \[0, 3\)"):
        compile_func(f2).run([_i([0, 1, 2]), _i([0, 2, 3])])


def test_integer_division_by_zero_is_an_error() -> None:
    f = Func("d", [TensorType((None,), int32), TensorType((None,), int32)])
    b = Builder(f.body)
    b.ret(b.emit("floordiv", *f.args))
    exe = compile_func(f)
    np.testing.assert_array_equal(exe.run([_i([7, -7, -2**31]), _i([2, 2, -1])])[0], [3, -4, -2**31])
    with pytest.raises(InvalidArgumentError, match="Integer division by zero"):
        exe.run([_i([1, 2]), _i([1, 0])])


def test_wrong_input_shape_names_the_argument() -> None:
    f = Func("s", [TensorType((None, 3), float32)], arg_names=["images"])
    b = Builder(f.body)
    b.ret(b.emit("neg", f.args[0]))
    with pytest.raises(InvalidArgumentError, match="images"):
        compile_func(f).run([_f(2, 4)])
