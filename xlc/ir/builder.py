"""Building IR: an insertion point that infers result types through the op registry."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from xlc.ir.core import Block, Func, Location, Op, Value
from xlc.ir.opdef import get_opdef
from xlc.ir.types import TensorType


class Builder:
    """Appends ops to a Block.

    ``create`` fills default attributes and infers result types from the op's type rule
    unless ``result_types`` is given (the parser gives them, the verifier re-checks).
    """

    def __init__(self, block: Block, loc: Location | None = None) -> None:
        self.block = block
        self.loc = loc

    @classmethod
    def at_end(cls, func: Func) -> Builder:
        return cls(func.body)

    def create(
        self,
        name: str,
        operands: Sequence[Value] = (),
        attrs: Mapping[str, Any] | None = None,
        result_types: Sequence[TensorType] | None = None,
        regions: Sequence[Block] = (),
        loc: Location | None = None,
    ) -> Op:
        opdef = get_opdef(name)
        full = opdef.complete_attrs(attrs or {})
        if result_types is None:
            result_types = opdef.infer([v.type for v in operands], full)
        op = Op(name, operands, full, result_types, regions, loc or self.loc)
        return self.block.append(op)

    def emit(self, name: str, *operands: Value, **attrs: Any) -> Value:
        """Create a single-result op and return its result."""
        return self.create(name, operands, attrs).result

    def ret(self, *values: Value) -> Op:
        """End the block with ``return``; sets the enclosing Func's result types."""
        op = self.create("return", values)
        parent = self.block.parent
        if isinstance(parent, Func):
            parent.result_types = tuple(v.type for v in values)
        return op
