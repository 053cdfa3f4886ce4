"""The verifier: each kind of broken invariant, and how the failure reads."""

from __future__ import annotations

import numpy as np
import pytest

from xlc.errors import VerificationError
from xlc.ir import opdef as opdef_mod
from xlc.ir.builder import Builder
from xlc.ir.core import Block, Func, Location, Module, Op
from xlc.ir.opdef import OpDef
from xlc.ir.parser import parse_module
from xlc.ir.types import TensorType, bool_, float32, float64, int32
from xlc.ir.verifier import check_attr_kind, verify_func, verify_module

F2 = TensorType((None, 2), float32)


def chain() -> tuple[Func, list[Op]]:
    """@f(x, y): five ops in a row, each op's result named v<i>; verifies."""
    f = Func("f", [F2, TensorType((2,), float32)], arg_names=["x", "y"])
    b = Builder(f.body, Location("model.py", 7, 3))
    ops = []
    v = f.args[0]
    for i, name in enumerate(["exp", "tanh", "neg", "sqrt"]):
        ops.append(b.create(name, [v]))
        v = ops[-1].result
        v.name_hint = f"v{i}"
    ops.append(b.create("add", [v, f.args[1]]))
    b.ret(ops[-1].result)
    return f, ops


def fails(func: Func, *fragments: str) -> str:
    with pytest.raises(VerificationError) as info:
        verify_func(func)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, msg
    return msg


def test_valid_ir_passes(data_dir):
    verify_module(parse_module((data_dir / "mlp.xir").read_text()))
    f, _ = chain()
    verify_func(f)


def test_message_shows_op_two_lines_around_and_location():
    f, ops = chain()
    bad = ops[2]
    object.__setattr__(bad.results[0], "type", TensorType((None, 3), float32))
    msg = fails(f, "result #0 of op 'neg' has type tensor<?x3xf32>, its type rule gives tensor<?x2xf32>")
    lines = msg.splitlines()
    assert lines[0].startswith("verification failed in @f: ")
    assert lines[1] == "  at model.py:7:3"
    assert lines[2:] == [
        "      %v0 = exp(%x) : tensor<?x2xf32>",
        "      %v1 = tanh(%v0) : tensor<?x2xf32>",
        "  >   %v2 = neg(%v1) : tensor<?x3xf32>",
        "      %v3 = sqrt(%v2) : tensor<?x2xf32>",
        "      %0 = add(%v3, %y) : tensor<?x2xf32>",
    ]


def test_use_before_definition():
    f, ops = chain()
    f.body.ops[1], f.body.ops[2] = f.body.ops[2], f.body.ops[1]
    fails(f, "operand #0 (%v1) of op 'neg' is used before its definition")


def test_operand_from_another_func():
    f, ops = chain()
    g, _ = chain()
    ops[1].operands = (g.args[0],)
    fails(f, "operand #0", "of op 'tanh' is not defined in @f")


def test_value_defined_twice():
    f, ops = chain()
    f.body.ops.insert(2, ops[1])  # the same op (and so its result) appears twice
    fails(f, "value %v1 is defined more than once")


def test_unknown_op():
    f, ops = chain()
    op = Op("frobnicate", [f.args[0]], {}, [F2])
    op.parent = f.body
    f.body.ops.insert(1, op)
    fails(f, "unknown op 'frobnicate'")


def test_missing_unknown_and_wrong_kind_attributes():
    f = Func("c", [F2], arg_names=["x"])
    b = Builder.at_end(f)
    cast = b.create("cast", [f.args[0]], {"dtype": float64})
    b.ret(cast.result)
    verify_func(f)
    cast.attrs["extra"] = 1
    fails(f, "op 'cast' has no attribute 'extra'")
    del cast.attrs["extra"]
    del cast.attrs["dtype"]
    fails(f, "op 'cast' lacks attribute 'dtype' (required)")
    cast.attrs["dtype"] = "float64"
    fails(f, "attribute 'dtype' of op 'cast' must be a dtype, got 'float64'")


def test_attribute_kinds():
    assert check_attr_kind("float", 3) is None  # ints are accepted where floats are expected
    assert check_attr_kind("float", 2.5) is None
    assert check_attr_kind("float", True) == "a float"
    assert check_attr_kind("int", 2.0) == "an int"
    assert check_attr_kind("int", False) == "an int"
    assert check_attr_kind("ints", (1, 2)) is None and check_attr_kind("ints", (1, 2.0)) == "a list of ints"
    assert check_attr_kind("floats", (1, 2.0)) is None
    assert check_attr_kind("shape", (-1, 3)) is None and check_attr_kind("shape", (-2,)) is not None
    assert check_attr_kind("array", np.ones(2)) is None and check_attr_kind("array", (1.0,)) is not None
    assert check_attr_kind("bool", 1) == "a bool"
    assert check_attr_kind("str", "x") is None
    assert check_attr_kind("any", object()) is None


def test_type_rule_rejects_operands():
    f, ops = chain()
    i = Func("i", [TensorType((2,), float32), TensorType((2,), int32)])
    op = Op("add", i.args, {}, [TensorType((2,), float32)])
    i.body.append(op)
    Builder.at_end(i).ret(op.result)
    fails(i, "op 'add' rejects its operands", "one dtype")


def test_wrong_result_count():
    f, ops = chain()
    op = Op("exp", [f.args[0]], {}, [F2, F2])
    op.parent = f.body
    f.body.ops.insert(0, op)
    fails(f, "op 'exp' has 2 result(s), its type rule gives 1")


def test_return_types_must_match_func():
    f, _ = chain()
    f.result_types = (TensorType((2,), float32),)
    fails(f, "'return' gives (tensor<?x2xf32>) but the func's result types are (tensor<2xf32>)")


def test_func_must_end_with_return():
    f, _ = chain()
    f.body.ops.pop()
    fails(f, "must end with 'return'")


def test_return_in_the_middle():
    f, ops = chain()
    early = Op("return", [ops[0].result], {}, [])
    early.parent = f.body
    f.body.ops.insert(1, early)
    fails(f, "terminator 'return' is not the last op of its block")


def test_module_checks_every_func_and_names():
    f, ops = chain()
    g, _ = chain()
    g.name = "g"
    m = Module([f, g])
    verify_module(m)
    object.__setattr__(ops[0].results[0], "type", F2.with_dtype(float64))
    with pytest.raises(VerificationError, match="in @f: result #0 of op 'exp'"):
        verify_module(m)
    m2 = Module([g])
    m2.funcs["other"] = m2.funcs.pop("g")
    with pytest.raises(VerificationError, match="files func @g under the name @other"):
        verify_module(m2)


@pytest.fixture
def region_op(monkeypatch):
    """A test-only op with one region whose result is its second operand's type."""
    od = OpDef("test_cond", 2, lambda types, attrs: [types[1]], lambda p, x: x)
    monkeypatch.setitem(opdef_mod._REGISTRY, "test_cond", od)
    return od


def test_region_values_do_not_escape_and_outer_values_are_visible(region_op):
    t = TensorType((), float32)
    f = Func("r", [TensorType((), bool_), t], arg_names=["p", "x"])
    body = Block([t], ["a"])
    inner = Builder(body).emit("add", body.args[0], f.args[1])  # outer %x is visible inside
    Builder(body).create("return", [inner])
    cond = Builder.at_end(f).create("test_cond", [f.args[0], f.args[1]], regions=[body])
    ret = Builder.at_end(f).ret(cond.result)
    verify_func(f)
    ret.operands = (inner,)
    fails(f, "is used before its definition or outside the region that defines it")
