"""The IR text form: printing, parsing, round trips and parse diagnostics."""

from __future__ import annotations

import math
import re

import ml_dtypes
import numpy as np
import pytest

from xlc.errors import IRParseError, VerificationError
from xlc.ir import opdef as opdef_mod
from xlc.ir.builder import Builder
from xlc.ir.core import Block, Func, Location, Module
from xlc.ir.opdef import OpDef, has_opdef
from xlc.ir.parser import parse_attr, parse_func, parse_module, parse_type
from xlc.ir.printer import print_attr, print_func, print_module, print_op
from xlc.ir.types import TensorType, bfloat16, bool_, float16, float32, float64, int8, int32, int64, string, uint8
from xlc.ir.verifier import verify_module

RNG = np.random.default_rng(1234)


def strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")) + "\n"


def roundtrip(module: Module, locs: bool = False) -> str:
    text = print_module(module, locs=locs)
    again = print_module(parse_module(text), locs=locs)
    assert again == text
    return text


# --------------------------------------------------------------------------- whole modules


def test_fixture_parses_verifies_and_prints_back_identically(data_dir):
    text = (data_dir / "mlp.xir").read_text()
    module = parse_module(text, "mlp.xir")
    verify_module(module)
    assert print_module(module) == strip_comments(text)
    f = module["predict"]
    assert [a.name_hint for a in f.args] == ["x", "w", "b"]
    scale = f.body.ops[1].attrs["value"]
    assert scale.dtype == np.float32
    np.testing.assert_array_equal(scale[:3], np.array([0.5, -1.0, np.inf], np.float32))
    assert math.isnan(scale[3]) and math.copysign(1.0, scale[4]) < 0 and scale[5] == np.float32(1e-07)
    assert scale[7] == -np.inf
    names = f.body.ops[7].attrs["value"]
    assert names.tolist() == ["a b", 'quote" and \\ slash', b"\xff\x00"]
    big = f.body.ops[8].attrs["value"]
    np.testing.assert_array_equal(big, np.arange(1, 18, dtype=np.float32))
    assert list(module.funcs) == ["predict", "second"]


def _func_with_hints() -> Func:
    f = Func("hints", [TensorType((None, 3), float32), TensorType((3,), float32)], arg_names=[None, "w"])
    b = Builder.at_end(f)
    a = b.emit("add", f.args[0], f.args[1])
    a_dup1 = b.emit("exp", a)
    a_dup2 = b.emit("exp", a_dup1)
    a_dup1.name_hint = a_dup2.name_hint = "dup"  # not unique: both numbered
    bad = b.emit("neg", a_dup2)
    bad.name_hint = "x:0"  # not a valid name
    scoped = b.emit("tanh", bad)
    scoped.name_hint = "dense/Tanh"
    b.ret(scoped)
    return f


def test_value_names_hints_numbers_and_args():
    text = print_func(_func_with_hints())
    assert text == (
        "func @hints(%arg0: tensor<?x3xf32>, %w: tensor<3xf32>) -> (tensor<?x3xf32>) {\n"
        "  %0 = add(%arg0, %w) : tensor<?x3xf32>\n"
        "  %1 = exp(%0) : tensor<?x3xf32>\n"
        "  %2 = exp(%1) : tensor<?x3xf32>\n"
        "  %3 = neg(%2) : tensor<?x3xf32>\n"
        "  %dense/Tanh = tanh(%3) : tensor<?x3xf32>\n"
        "  return %dense/Tanh\n"
        "}"
    )
    parsed = parse_func(text)
    assert print_func(parsed) == text
    # numbered names do not become hints, names do
    assert parsed.args[0].name_hint == "arg0" and parsed.body.ops[0].result.name_hint is None
    assert parsed.body.ops[4].result.name_hint == "dense/Tanh"


def test_generated_arg_name_steps_aside_for_a_hint():
    f = Func("f", [TensorType((2,), float32)])
    b = Builder.at_end(f)
    v = b.emit("exp", f.args[0])
    v.name_hint = "arg0"
    b.ret(v)
    text = print_func(f)
    assert "%arg0_: tensor<2xf32>" in text and "%arg0 = exp(%arg0_)" in text
    assert print_func(parse_func(text)) == text


def test_every_attribute_prints_sorted_with_defaults():
    f = Func("f", [TensorType((2, 3), float64)])
    b = Builder.at_end(f)
    c = b.create("cast", [f.args[0]], {"dtype": int64})
    b.ret(c.result)
    assert print_op(c) == "%0 = cast(%arg0) {dtype = i64} : tensor<2x3xi64>"
    assert "{dtype = i64}" in roundtrip(Module([f]))


def test_locations_print_only_on_request_and_round_trip():
    f = Func("f", [TensorType((2,), float32)], arg_names=["x"])
    b = Builder(f.body, Location("model.py", 12, 5))
    y = b.emit("exp", f.args[0])
    b.ret(y)
    m = Module([f])
    assert "loc(" not in print_module(m)
    text = roundtrip(m, locs=True)
    assert '%0 = exp(%x) : tensor<2xf32> loc("model.py":12:5)' in text
    # without loc(...) the parser records where the op's text starts
    parsed = parse_module(print_module(m), "m.xir")
    assert parsed["f"].body.ops[0].loc == Location("m.xir", 2, 3)


def test_funcs_with_odd_names_and_no_results():
    f = Func("weird name", [])
    Builder.at_end(f).ret()
    text = roundtrip(Module([f]))
    assert text == 'func @"weird name"() -> () {\n  return\n}\n'


def test_comments_and_whitespace_are_ignored():
    text = "// header\nfunc @f(%x: tensor<f32>) -> (tensor<f32>) {   // trailing\n\n  %0 = exp( %x ) :tensor<f32>\n return %0\n}"
    f = parse_func(text)
    assert print_func(f) == "func @f(%x: tensor<f32>) -> (tensor<f32>) {\n  %0 = exp(%x) : tensor<f32>\n  return %0\n}"


# --------------------------------------------------------------------------- regions


@pytest.fixture
def region_op(monkeypatch):
    """A test-only op with regions (the registry has no cond/while yet); removed afterwards."""
    def rule(types, attrs):
        return [types[1]]

    od = OpDef("test_cond", 2, rule, lambda p, x: x)
    monkeypatch.setitem(opdef_mod._REGISTRY, "test_cond", od)
    return od


def _region_func() -> Func:
    t = TensorType((), float32)
    f = Func("r", [TensorType((), bool_), t], arg_names=["p", "x"])
    then = Block([t], ["a"])
    Builder(then).emit("exp", then.args[0])
    Builder(then).create("return", [then.ops[0].result])
    other = Block([t])
    neg = Builder(other).emit("neg", f.args[1])  # reads an enclosing value
    Builder(other).create("return", [neg])
    op = Builder.at_end(f).create("test_cond", [f.args[0], f.args[1]], regions=[then, other])
    Builder.at_end(f).ret(op.result)
    return f


def test_regions_print_nested_and_round_trip(region_op):
    f = _region_func()
    text = print_func(f)
    assert text == (
        "func @r(%p: tensor<bool>, %x: tensor<f32>) -> (tensor<f32>) {\n"
        "  %3 = test_cond(%p, %x) ({\n"
        "  ^bb0(%a: tensor<f32>):\n"
        "    %0 = exp(%a) : tensor<f32>\n"
        "    return %0\n"
        "  }, {\n"
        "  ^bb0(%1: tensor<f32>):\n"
        "    %2 = neg(%x) : tensor<f32>\n"
        "    return %2\n"
        "  }) : tensor<f32>\n"
        "  return %3\n"
        "}"
    )
    parsed = parse_func(text)
    assert print_func(parsed) == text
    assert parsed.body.ops[0].regions[0].args[0].name_hint == "a"
    verify_module(Module([parsed]))


def test_region_values_are_not_visible_after_the_region(region_op):
    text = print_func(_region_func()).replace("return %3", "return %0")
    with pytest.raises(IRParseError, match=r":11:10: value %0 is not visible here"):
        parse_func(text)


# --------------------------------------------------------------------------- attributes


@pytest.mark.parametrize("value, text", [
    (1, "1"), (-1, "-1"), (1.0, "1.0"), (1e-07, "1e-07"), (2.5e20, "2.5e+20"), (float("inf"), "inf"),
    (float("-inf"), "-inf"), (True, "true"), (False, "false"), ("a\"b\\c\n\x01é", '"a\\"b\\\\c\\n\\x01é"'),
    (b"\x00\xffA", 'b"\\x00\\xffA"'), (float32, "f32"), (bfloat16, "bf16"), (string, "str"),
    (TensorType((2, None, 3), int8), "tensor<2x?x3xi8>"), ((1, 2.0, (), ("x", False)), '[1, 2.0, [], ["x", false]]'),
])
def test_attribute_text_and_round_trip(value, text):
    assert print_attr(value) == text
    back = parse_attr(text)
    assert type(back) is type(value)
    assert print_attr(back) == text


def test_float_attrs_stay_floats_and_nan_keeps_its_sign():
    assert isinstance(parse_attr("3.0"), float) and isinstance(parse_attr("3"), int)
    assert math.isnan(parse_attr("nan"))
    neg = parse_attr(print_attr(-float("nan")))
    assert math.isnan(neg) and math.copysign(1.0, neg) < 0


def _random_array(dtype, shape):
    return np.asarray(_random_values(dtype, shape)).astype(dtype.np_dtype)


def _random_values(dtype, shape):
    if dtype is bool_:
        return RNG.random(shape) < 0.5
    if dtype is string:
        words = np.array(["", "a", 'q"\\', "\n\t", "ünï", "日本"], dtype=object)
        return words[RNG.integers(0, len(words), shape)]
    if dtype.is_integer:
        info = np.iinfo(dtype.np_dtype)
        return RNG.integers(info.min, info.max, shape, dtype=dtype.np_dtype, endpoint=True)
    with np.errstate(over="ignore"):  # big values overflow to inf in f16: also worth printing
        x = (RNG.standard_normal(shape) * 10.0 ** RNG.integers(-8, 8, shape)).astype(dtype.np_dtype)
    flat = x.reshape(-1)
    if flat.size >= 4:
        flat[:4] = np.array([np.nan, np.inf, -np.inf, -0.0]).astype(dtype.np_dtype)
    return x


ALL = [bool_, int8, uint8, int32, int64, float16, bfloat16, float32, float64, string]


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.short)
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (3, 7), (0, 2), (2, 2, 5)])
def test_dense_arrays_round_trip_exactly(dtype, shape):
    a = _random_array(dtype, shape)
    text = print_attr(a)
    assert text.endswith(f": {TensorType(shape, dtype)}")
    hexed = '"0x' in text
    assert hexed == (dtype is not string and a.size > 16)
    back = parse_attr(text)
    assert back.shape == a.shape
    if dtype is string:
        assert back.tolist() == a.tolist()
    else:
        assert back.dtype == a.dtype and back.tobytes() == a.tobytes()
    assert print_attr(back) == text


def test_dense_literal_is_readable_and_nan_payloads_fall_back_to_hex():
    assert print_attr(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)) == \
        "dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>"
    assert print_attr(np.array([0.1], ml_dtypes.bfloat16)) == "dense<[0.1]> : tensor<1xbf16>"
    odd_nan = np.array([0x7FC00001], np.uint32).view(np.float32)
    text = print_attr(odd_nan)
    assert text == 'dense<"0x0100C07F"> : tensor<1xf32>'
    assert parse_attr(text).tobytes() == odd_nan.tobytes()


def test_unprintable_attribute_names_the_op():
    f = Func("f", [TensorType((2,), float32)])
    b = Builder.at_end(f)
    op = b.create("cast", [f.args[0]], {"dtype": float64})
    op.attrs["dtype"] = {1, 2}
    with pytest.raises(VerificationError, match="attribute 'dtype' of op 'cast'"):
        print_op(op)


def test_parse_type():
    assert parse_type("tensor<?x3xbf16>") == TensorType((None, 3), bfloat16)
    with pytest.raises(IRParseError):
        parse_type("tensor<3xfloat32>")


# --------------------------------------------------------------------------- parse errors

GOOD = """func @f(%x: tensor<2xf32>) -> (tensor<2xf32>) {
  %0 = exp(%x) : tensor<2xf32>
  return %0
}
"""


@pytest.mark.parametrize("old, new, line, col, message", [
    ("exp(%x)", "exp(%y)", 2, 12, "undefined value %y"),
    ("exp(%x)", "epx(%x)", 2, 8, "unknown op 'epx'"),
    ("%0 = exp", "%x = exp", 2, 3, "value %x is defined twice"),
    ("%0 = exp(%x) : tensor<2xf32>", "%0 = exp(%x)", 2, 8, "names 1 result(s) but gives 0"),
    ("%0 = exp(%x) : tensor<2xf32>", "%0 = exp(%x) : tensor<2xf32>, tensor<2xf32>", 2, 18, "gives 2 result type"),
    ("%0 = exp(%x) : tensor<2xf32>", "%0 = exp(%x) {bad = 1} : tensor<2xf32>", 2, 8, "has no attribute bad"),
    ("tensor<2xf32>) -> ", "tensor<2xf33>) -> ", 1, 13, "unknown element type"),
    ("exp(%x)", "exp(%x %x)", 2, 15, "unexpected '%x'"),
    ("return %0\n}", "return %0\n", 3, 12, "unexpected end of input"),
    ("exp(%x)", "exp(%x#)", 2, 14, "unexpected character '#'"),
])
def test_parse_errors_point_at_line_and_column(old, new, line, col, message):
    assert old in GOOD
    text = GOOD.replace(old, new)
    with pytest.raises(IRParseError) as info:
        parse_module(text, "bad.xir")
    msg = str(info.value)
    first, src, caret = msg.splitlines()[:3]
    assert first.startswith(f"bad.xir:{line}:{col}: ")
    assert message in first
    assert src == text.splitlines()[line - 1] if line <= len(text.splitlines()) else True
    assert caret == " " * (col - 1) + "^"


@pytest.mark.parametrize("attr, message", [
    ("dense<[1, 2]> : tensor<3xi32>", "has 2 elements along dim 0"),
    ("dense<[[1], [2]]> : tensor<2xi32>", "more nesting"),
    ("dense<[1, 2]> : tensor<2x2xi32>", "less nesting"),
    ("dense<[1, 256]> : tensor<2xu8>", "does not fit in uint8"),
    ("dense<[1.5]> : tensor<1xi32>", "is not an integer"),
    ("dense<[1]> : tensor<1xbool>", "is not true/false"),
    ("dense<[1]> : tensor<1xstr>", "is not a string"),
    ("dense<[1.0]> : tensor<?xf32>", "needs a static type"),
    ('dense<"0x0000"> : tensor<1xf32>', "needs 4 bytes, got 2"),
    ('dense<"0x02"> : tensor<1xbool>', "bytes other than 0 and 1"),
    ("float32", "not an attribute value"),
])
def test_bad_arrays_and_attribute_values_are_parse_errors(attr, message):
    text = f"func @f() -> () {{\n  return\n}}\n\nfunc @g() -> () {{\n  %c = constant() {{value = {attr}}} : tensor<1xf32>\n  return\n}}\n"
    with pytest.raises(IRParseError) as info:
        parse_module(text, "arr.xir")
    first = str(info.value).splitlines()[0]
    assert re.match(r"arr\.xir:6:\d+: ", first), first
    assert message in first


def test_duplicate_func_and_parse_func_count():
    with pytest.raises(IRParseError, match=r":4:6: func @f is defined twice"):
        parse_module("func @f() -> () {\n  return\n}\nfunc @f() -> () {\n  return\n}")
    with pytest.raises(IRParseError, match="exactly one func"):
        parse_func("")


SPEC_EXAMPLE = """func @predict(%x: tensor<?x784xf32>, %w: tensor<784x10xf32>) -> (tensor<?x5xf32>, tensor<?x5xf32>) {
  %0 = matmul(%x, %w) {transpose_a = false, transpose_b = false} : tensor<?x10xf32>
  %1, %2 = split(%0) {axis = 1, sizes = [5, 5]} : tensor<?x5xf32>, tensor<?x5xf32>
  return %1, %2
}
"""


def test_multi_result_ops_as_in_the_spec():
    if not (has_opdef("matmul") and has_opdef("split")):
        pytest.skip("matmul/split not in the registry yet")
    m = parse_module(SPEC_EXAMPLE)
    verify_module(m)
    assert print_module(m) == SPEC_EXAMPLE
    split = m["predict"].body.ops[1]
    assert len(split.results) == 2 and split.attrs["sizes"] == (5, 5)
