"""The registry matches docs/ops.md: every documented op and attribute exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import xlc.ops  # noqa: F401  (defines the ops)
from xlc.ir.opdef import REQUIRED, get_opdef, has_opdef

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ops.md").read_text()


def documented_ops() -> list[str]:
    """The op names in the first column of the doc's tables."""
    names = []
    for line in DOC.splitlines():
        if line.startswith("| ") and not line.startswith("| op "):
            names += [n.strip() for n in line.split("|")[1].split(",")]
    return sorted({n for n in names if re.fullmatch(r"[a-z_0-9]+", n)})


def test_every_documented_op_is_defined() -> None:
    ops = documented_ops()
    assert len(ops) > 40
    assert [n for n in ops if not has_opdef(n)] == []


# the attributes docs/ops.md promises, for the ops this registry's non-elementwise modules define
ATTRS = {
    "reduce_sum": {"axes", "keepdims"}, "reduce_any": {"axes", "keepdims"},
    "argmax": {"axis", "output_type"}, "matmul": {"transpose_a", "transpose_b"},
    "reshape": {"shape"}, "transpose": {"perm"}, "expand_dims": {"axis"}, "squeeze": {"axes"},
    "concat": {"axis"}, "stack": {"axis"}, "unstack": {"axis", "num"}, "split": {"axis", "sizes"},
    "slice": {"begin", "size"},
    "strided_slice": {"begin", "end", "strides", "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                      "shrink_axis_mask"},
    "gather": {"axis"}, "tile": {"multiples"}, "pad": {"paddings", "mode", "constant_value"},
    "one_hot": {"depth", "on_value", "off_value", "axis", "dtype"}, "broadcast_to": {"shape"},
    "shape": {"out_type"}, "size": {"out_type"}, "rank": set(), "identity": set(),
    "fill": {"shape"}, "range": {"start", "limit", "delta", "dtype"}, "lin_space": {"start", "stop", "num", "dtype"},
    "random_uniform": {"shape", "dtype", "seed", "seed2", "minval", "maxval"},
    "random_normal": {"shape", "dtype", "seed", "seed2", "mean", "stddev"},
    "truncated_normal": {"shape", "dtype", "seed", "seed2", "mean", "stddev"},
    "random_shuffle": {"seed", "seed2"},
}


@pytest.mark.parametrize("name", sorted(ATTRS))
def test_attributes_match_the_docs(name: str) -> None:
    opdef = get_opdef(name)
    assert set(opdef.attrs) == ATTRS[name]
    assert opdef.grad is not None  # a rule, or the no_gradient marker (xlc/ops/gradients.py)


def test_documented_defaults() -> None:
    assert get_opdef("argmax").attrs["output_type"].default.name == "int64"
    assert get_opdef("gather").attrs["axis"].default == 0
    assert get_opdef("pad").attrs["mode"].default == "CONSTANT"
    assert get_opdef("one_hot").attrs["axis"].default == -1
    assert get_opdef("random_uniform").attrs["seed"].default is REQUIRED
