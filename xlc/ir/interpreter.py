"""Run a Func on numpy arrays through each op's reference: the semantics every backend matches."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from xlc.errors import InvalidArgumentError
from xlc.ir.core import Func, Value
from xlc.ir.opdef import get_opdef


def interpret(func: Func, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Evaluate ``func`` on ``inputs`` with the numpy references; returns its results."""
    if len(inputs) != len(func.args):
        raise InvalidArgumentError(None, None, f"@{func.name} takes {len(func.args)} inputs, got {len(inputs)}")
    env: dict[Value, np.ndarray] = {}
    for arg, x in zip(func.args, inputs):
        x = np.asarray(x)
        if not arg.type.is_compatible_with(x.shape):
            raise InvalidArgumentError(None, None, f"input {arg.name_hint or arg.index} of @{func.name} has shape "
                                                   f"{x.shape}, expected {arg.type}")
        env[arg] = x.astype(arg.type.dtype.np_dtype, copy=False)
    for op in func.body.ops:
        if op.name == "return":
            return [env[v] for v in op.operands]
        outs = get_opdef(op.name).evaluate([env[v] for v in op.operands], op.attrs)
        for r, o in zip(op.results, outs):
            env[r] = o
    raise ValueError(f"func @{func.name} has no return")
