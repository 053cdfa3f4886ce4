"""Constant folding: ops whose operands are all constants become constants.

The value comes from the op's numpy reference (``OpDef.evaluate``), which is the
semantics every backend matches, so folding never changes a result.  Left alone:

* ops with the traits SIDE_EFFECT, RANDOM, NO_FOLD or TERMINATOR, and ops with regions;
* results with more than ``max_elements`` elements (they would bloat the IR and the
  binary; a run-time computation is cheaper than a huge embedded literal);
* results whose type is not fully static (a constant's type always is, and a rewrite
  must keep the type);
* ops whose reference raises (a gather out of range, say): the error must surface at
  run time, where the user's inputs and names are known.

Ops that read only their operand's *type* fold whatever defines the operand: ``shape``
and ``size`` when the type is static, ``rank`` always.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from xlc.ir.core import Func, Module, Op, Value
from xlc.ir.opdef import NO_FOLD, RANDOM, SIDE_EFFECT, TERMINATOR, get_opdef, has_opdef
from xlc.passes.manager import register_pass
from xlc.passes.rewrite import Rewriter, const_value, map_funcs, rewrite_func

DEFAULT_MAX_ELEMENTS = 1 << 20

_NEVER = (SIDE_EFFECT, RANDOM, NO_FOLD, TERMINATOR)

# Ops whose result depends on the operand's type only, never on its values; True when
# they need every dim known (``rank`` needs only the rank, which is always known).
_SHAPE_ONLY = {"shape": True, "size": True, "rank": False}


def _stand_in(value: Value, needs_dims: bool) -> np.ndarray | None:
    """A zero-cost array of the value's shape and dtype (unknown dims as 0), for shape-only ops."""
    t = value.type
    if needs_dims and not t.is_static:
        return None
    shape = tuple(0 if d is None else d for d in t.shape)
    return np.broadcast_to(np.zeros((), t.dtype.np_dtype), shape)


def _evaluate(op: Op, arrays: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    """The op's results from its reference, or None when it raises (left for run time)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return get_opdef(op.name).evaluate(arrays, op.attrs)
    except Exception:  # noqa: BLE001 - any failure of a reference means "do not fold"
        return None


def foldable(op: Op, max_elements: int = DEFAULT_MAX_ELEMENTS) -> bool:
    """Whether ``op`` may be folded at all (traits, regions, result sizes), whatever its operands."""
    if op.name == "constant" or op.regions or not has_opdef(op.name):
        return False
    opdef = get_opdef(op.name)
    if any(opdef.has(t) for t in _NEVER):
        return False
    for r in op.results:
        n = r.type.num_elements
        if n is None or n > max_elements:
            return False
    return True


def fold_op(op: Op, operands: Sequence[Value], rw: Rewriter, max_elements: int = DEFAULT_MAX_ELEMENTS) \
        -> list[Value] | None:
    """Constants replacing ``op``'s results (appended through ``rw``), or None to keep ``op``."""
    if not foldable(op, max_elements):
        return None
    if op.name in _SHAPE_ONLY:
        arrays = [_stand_in(v, _SHAPE_ONLY[op.name]) for v in operands]
    else:
        arrays = [const_value(v) for v in operands]
    if any(a is None for a in arrays):
        return None
    outs = _evaluate(op, arrays)  # type: ignore[arg-type]
    if outs is None or len(outs) != len(op.results):
        return None
    values = []
    for r, arr in zip(op.results, outs):
        if arr.shape != r.type.shape:
            return None  # a reference disagreeing with the type rule: leave it to be noticed at run time
        values.append(np.array(arr, dtype=r.type.dtype.np_dtype, order="C"))  # own, contiguous memory
    return [rw.constant(v) for v in values]


def fold_func(func: Func, *, max_elements: int = DEFAULT_MAX_ELEMENTS) -> Func:
    """``func`` with every foldable op on constants replaced by constants."""

    def visit(op: Op, operands: list[Value], rw: Rewriter) -> list[Value] | None:
        return fold_op(op, operands, rw, max_elements)

    return rewrite_func(func, visit)


def fold(module: Module, *, max_elements: int = DEFAULT_MAX_ELEMENTS) -> Module:
    """The ``fold`` pass: constant folding through the op references (see the module docstring)."""
    return map_funcs(module, lambda f: fold_func(f, max_elements=max_elements))


register_pass("fold", fold, "fold ops on constants into constants, through the op references")

__all__ = ["DEFAULT_MAX_ELEMENTS", "fold", "fold_func", "fold_op", "foldable"]
