"""Rebuilding IR through a value mapping: the one mechanism every pass uses.

The IR has no use-lists, so a pass never edits ops in place.  It walks the old Func in
program order and, for each op, either clones it (operands mapped to their new
values), replaces its results by values that already exist in the new Func, builds new
ops in their place, or erases it.  Because operands are mapped before a visitor sees an
op, a visitor looking at ``operand.defining_op`` sees the *rewritten* IR, so chains
(``neg(neg(neg(neg x)))``) simplify in one walk.

Contract kept by :func:`rewrite_func`: the new Func has the old one's name, argument
types, argument name hints and result types; the old Func is left untouched.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from xlc.ir.builder import Builder
from xlc.ir.core import Block, Func, Module, Op, Value
from xlc.ir.types import TensorType


class _Erase:
    """Sentinel type: a visitor returns :data:`ERASE` to drop an op (its results must be unused)."""

    def __repr__(self) -> str:
        return "ERASE"


ERASE = _Erase()

# A visitor sees the old op, its operands already mapped into the new IR, and the
# rewriter.  It returns None (clone the op), ERASE, or one new Value per old result.
Visitor = Callable[[Op, list[Value], "Rewriter"], "Sequence[Value] | _Erase | None"]


class Rewriter:
    """The state of one rebuild: the value mapping and the block being filled."""

    def __init__(self, visit: Visitor, drop: Callable[[Op], bool] | None = None) -> None:
        self.visit = visit
        self.drop = drop
        self.mapping: dict[Value, Value] = {}
        self._blocks: list[Block] = []

    @property
    def active_blocks(self) -> tuple[Block, ...]:
        """The new blocks being filled, outermost first; values defined in them are visible."""
        return tuple(self._blocks)

    @property
    def block(self) -> Block:
        """The block new ops are appended to."""
        return self._blocks[-1]

    def lookup(self, value: Value) -> Value:
        """The new value standing for an old one."""
        try:
            return self.mapping[value]
        except KeyError:
            raise ValueError(f"value {value!r} is used before it is defined (was it erased while still used?)") \
                from None

    def create(self, name: str, operands: Sequence[Value], attrs: Mapping[str, Any] | None = None,
               result_types: Sequence[TensorType] | None = None) -> Op:
        """Append a new op to the current block; result types are inferred unless given."""
        return Builder(self.block).create(name, operands, attrs, result_types)

    def constant(self, value: np.ndarray) -> Value:
        """Append a ``constant`` op holding ``value``; returns its result."""
        return self.create("constant", (), {"value": value}).result

    def clone(self, op: Op, operands: Sequence[Value]) -> Op:
        """Append a copy of ``op`` on new operands; nested regions are rewritten with the same visitor."""
        regions = [self.rewrite_block(r) for r in op.regions]
        new = Op(op.name, operands, op.attrs, op.result_types, regions, op.loc)
        for old_r, new_r in zip(op.results, new.results):
            new_r.name_hint = old_r.name_hint
        return self.block.append(new)

    def rewrite_block(self, old: Block) -> Block:
        """A new Block with ``old``'s argument types and hints, filled by visiting ``old``'s ops."""
        new = Block([a.type for a in old.args], [a.name_hint for a in old.args])
        for a, b in zip(old.args, new.args):
            self.mapping[a] = b
        self.fill(old, new)
        return new

    def fill(self, old: Block, new: Block) -> None:
        """Visit every op of ``old``, appending the rewritten ops to ``new``."""
        self._blocks.append(new)
        try:
            for op in old.ops:
                if self.drop is not None and self.drop(op):
                    continue  # before the operand lookup: a dropped op may read dropped values
                operands = [self.lookup(v) for v in op.operands]
                out = self.visit(op, operands, self)
                if out is None:
                    out = self.clone(op, operands).results
                elif out is ERASE:
                    continue
                self.replace(op, out)  # type: ignore[arg-type]
        finally:
            self._blocks.pop()

    def replace(self, op: Op, values: Sequence[Value]) -> None:
        """Map ``op``'s results to ``values``; each must have exactly the old result's type."""
        values = list(values)
        if len(values) != len(op.results):
            raise ValueError(f"'{op.name}' has {len(op.results)} results; a rewrite gave {len(values)}")
        for old_r, new_r in zip(op.results, values):
            if new_r.type != old_r.type:
                raise ValueError(f"a rewrite of '{op.name}' changed a result type from {old_r.type} to {new_r.type}")
            self.mapping[old_r] = new_r


def rewrite_func(func: Func, visit: Visitor, drop: Callable[[Op], bool] | None = None) -> Func:
    """A new Func built by visiting every op of ``func`` (see :class:`Rewriter`).

    Ops for which ``drop`` is true are skipped without a look at their operands; their
    results must be unused by the ops that stay.
    """
    rw = Rewriter(visit, drop)
    new = copy.copy(func)  # keeps any per-func attributes besides the body
    new.body = rw.rewrite_block(func.body)
    new.body.parent = new
    new.result_types = func.result_types
    return new


def map_funcs(module: Module, fn: Callable[[Func], Func]) -> Module:
    """A new Module whose funcs are ``fn`` of the old ones, in the same order."""
    new = copy.copy(module)  # keeps any module-level attributes besides the funcs
    new.funcs = {}
    for f in module:
        new.add(fn(f))
    return new


def const_value(value: Value) -> np.ndarray | None:
    """The array a value holds when a ``constant`` op defines it, else None."""
    op = value.defining_op
    if op is not None and op.name == "constant":
        return op.attrs["value"]
    return None
