"""Property: on random programs mixing constants and arguments, every pipeline keeps the outputs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from passes_util import check_pass, make_func, t
from xlc.ir.opdef import has_opdef

UNARY = ["neg", "abs", "exp", "tanh", "floor", "relu", "identity"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum"]
SPECIAL = [0.0, -0.0, 1.0, 2.5, -1.0]  # values that trigger (or nearly trigger) identities


@st.composite
def programs(draw):
    steps = draw(st.lists(st.tuples(st.sampled_from(UNARY + BINARY + ["const"]), st.integers(0, 99),
                                    st.integers(0, 99), st.sampled_from(SPECIAL), st.booleans()),
                          min_size=1, max_size=12))
    return steps


def _build(steps):
    def body(b, x, y):
        vals = [x, y]
        for name, i, j, c, splat in steps:
            a, other = vals[i % len(vals)], vals[j % len(vals)]
            if name == "const":
                arr = np.full((3,), c, np.float32) if splat else np.array([c, 1.0, -0.0], np.float32)
                vals.append(b.emit("constant", value=arr))
            elif name in BINARY:
                vals.append(b.emit(name, a, other))
            elif name == "identity" and not has_opdef("identity"):
                continue
            else:
                vals.append(b.emit(name, a))
        return vals[-1], vals[len(vals) // 2]

    return make_func([t((None, 3)), t((3,))], body)


@settings(max_examples=40, deadline=None)
@given(programs(), st.sampled_from(["default", "simplify,dce", "cse,fold", "dce,cse,simplify,fold,dce"]))
def test_pipelines_keep_outputs(steps, pipeline):
    check_pass(_build(steps), pipeline, seed=len(steps))
