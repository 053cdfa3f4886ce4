"""The pass registry, pipeline strings and the pass manager."""

from __future__ import annotations

import numpy as np
import pytest

from passes_util import const, make_func, ops_of, t
from xlc.errors import VerificationError, XlcError
from xlc.ir.core import Module, Op
from xlc.ir.interpreter import interpret
from xlc.passes import (
    DEFAULT_PIPELINE,
    PassManager,
    PipelineError,
    UnknownPassError,
    all_passes,
    get_pass,
    parse_pipeline,
    register_pass,
    run_pipeline,
)
from xlc.passes.rewrite import map_funcs, rewrite_func


def _module() -> Module:
    def body(b, x):
        c = b.emit("add", const(b, [1.0, 2.0]), const(b, [3.0, 4.0]))
        y = b.emit("mul", x, c)
        b.emit("exp", y)  # dead
        return b.emit("add", b.emit("mul", x, c), y)

    return make_func([t((None, 2))], body)


def test_builtin_passes_are_registered_with_descriptions():
    names = {p.name for p in all_passes()}
    assert {"fold", "cse", "dce", "simplify"} <= names
    assert all(p.description for p in all_passes())


def test_unknown_pass_names_it_and_lists_the_known_ones():
    with pytest.raises(UnknownPassError) as e:
        run_pipeline(_module(), "fold,frobnicate,dce")
    msg = str(e.value)
    assert "'frobnicate'" in msg and "cse" in msg and "fold" in msg and "dce" in msg
    assert isinstance(e.value, XlcError)


def test_pipeline_runs_in_order_and_keeps_the_input():
    m = _module()
    before = ops_of(m)
    out = run_pipeline(m, "fold,cse,dce")
    assert ops_of(m) == before  # the input is not modified
    assert ops_of(out) == ["constant", "mul", "add", "return"]
    x = np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32)
    np.testing.assert_array_equal(interpret(m["f"], [x])[0], interpret(out["f"], [x])[0])


def test_empty_and_named_pipelines():
    m = _module()
    assert ops_of(run_pipeline(m, "")) == ops_of(m)
    assert ops_of(run_pipeline(m, "none")) == ops_of(m)
    assert [p.name for p, _ in parse_pipeline("default")] == DEFAULT_PIPELINE.split(",")
    assert PassManager(["fold", "dce"]).pass_names == ["fold", "dce"]


def test_pass_options_parse_and_are_checked():
    steps = parse_pipeline("fold{max-elements=3}, simplify{signed-zeros=false},dce")
    assert [(p.name, o) for p, o in steps] == [("fold", {"max_elements": 3}), ("simplify", {"signed_zeros": False}),
                                              ("dce", {})]
    with pytest.raises(PipelineError, match="no option 'bogus'.*max-elements"):
        parse_pipeline("fold{bogus=1}")
    with pytest.raises(PipelineError, match="integer"):
        parse_pipeline("fold{max-elements=lots}")
    with pytest.raises(PipelineError, match="true or false"):
        parse_pipeline("simplify{signed-zeros=3}")
    with pytest.raises(PipelineError, match="unbalanced"):
        parse_pipeline("fold{max-elements=3")
    assert get_pass("fold").options == {"max-elements": 1 << 20}


def test_fold_size_option_takes_effect():
    m = _module()
    assert "add" in ops_of(run_pipeline(m, "fold{max-elements=1}"))
    assert ops_of(run_pipeline(m, "fold{max-elements=2}")).count("add") == 1


def test_register_pass_checks_names():
    with pytest.raises(ValueError, match="kebab"):
        register_pass("Bad_Name", lambda m: m)
    with pytest.raises(ValueError, match="twice"):
        register_pass("fold", lambda m: m)


def _break_types(module: Module) -> Module:
    """A deliberately wrong pass: gives the first 'mul' a wrong result type."""

    def visit(op, operands, rw):
        if op.name == "mul":
            return rw.block.append(Op("mul", operands, op.attrs, [t((5, 2))])).results
        return None

    return map_funcs(module, lambda f: rewrite_func(f, visit))


def _drop_first_result_type(module: Module) -> Module:
    """A deliberately wrong pass: the func claims a result type its return does not give."""
    out = map_funcs(module, lambda f: f)
    for f in out:
        f.result_types = (t((7,)),)
    return out


register_pass("test-break-results", _drop_first_result_type, "test only: breaks the IR")


def test_verify_each_names_the_pass_that_broke_the_ir():
    with pytest.raises(VerificationError, match="after pass 'test-break-results'"):
        run_pipeline(_module(), "fold,test-break-results,dce", verify_each=True)
    run_pipeline(_module(), "fold,test-break-results")  # not checked without verify_each


def test_rewriter_refuses_type_changes():
    with pytest.raises(ValueError, match="changed a result type"):
        _break_types(_module())
