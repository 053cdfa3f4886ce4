"""Common-subexpression elimination: equal ops computed once.

Two ops are equal when they have the same name, the same (rewritten) operands, equal
attributes (compared with :func:`xlc.ir.core.attr_key`, so arrays compare by bytes,
``nan`` equals ``nan`` and ``0.0`` differs from ``-0.0``) and the same result types.
Operands of COMMUTATIVE ops compare as a multiset: ``add(a, b)`` equals ``add(b, a)``
(IEEE addition and multiplication are commutative bit for bit, and the result type does
not depend on the order under broadcasting).

Never merged: SIDE_EFFECT and TERMINATOR ops, and ops with regions.  RANDOM ops merge
only when all their attributes are equal, seeds included: the counter-based generator
makes equal seeds give equal numbers.  An op inside a nested region may reuse a value
from an enclosing block, never the other way round.
"""

from __future__ import annotations

from typing import Any, Hashable

from xlc.ir.core import Func, Module, Op, Value, attr_key
from xlc.ir.opdef import COMMUTATIVE, SIDE_EFFECT, TERMINATOR, get_opdef
from xlc.passes.manager import register_pass
from xlc.passes.rewrite import Rewriter, map_funcs, rewrite_func


def op_key(op: Op, operands: list[Value]) -> Hashable | None:
    """The identity of a pure op's computation, or None for ops that must stay distinct."""
    if op.regions or not op.results:
        return None
    opdef = get_opdef(op.name)
    if opdef.has(SIDE_EFFECT) or opdef.has(TERMINATOR):
        return None
    # Values hash by identity; ids give commutative operands a canonical order.
    ops: tuple[Any, ...] = tuple(sorted(operands, key=id)) if opdef.has(COMMUTATIVE) else tuple(operands)
    attrs = tuple(sorted((k, attr_key(v)) for k, v in op.attrs.items()))
    return (op.name, ops, attrs, op.result_types)


def cse_func(func: Func) -> Func:
    """``func`` with every repeated pure computation replaced by its first occurrence."""
    # Candidates per key, latest last; a candidate is usable only while the block that
    # defines it is still being filled (it encloses the current op).
    table: dict[Hashable, list[tuple[Value, ...]]] = {}

    def visit(op: Op, operands: list[Value], rw: Rewriter) -> tuple[Value, ...] | None:
        key = op_key(op, operands)
        if key is None:
            return None
        active = rw.active_blocks
        for results in reversed(table.get(key, ())):
            owner = results[0].defining_op
            if owner is not None and any(owner.parent is b for b in active):
                return results
        new = rw.clone(op, operands)
        table.setdefault(key, []).append(new.results)
        return new.results

    return rewrite_func(func, visit)


def cse(module: Module) -> Module:
    """The ``cse`` pass (see the module docstring)."""
    return map_funcs(module, cse_func)


register_pass("cse", cse, "merge ops that compute the same thing (same op, operands and attributes)")
