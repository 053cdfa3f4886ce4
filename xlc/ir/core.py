"""The IR's node classes: Value, Op, Block, Func, Module.

Invariants (checked by :mod:`xlc.ir.verifier`):

* every Value is defined exactly once, either as a Block argument or as an Op result,
  and is used only after its definition in the same Block or a nested one (SSA);
* an Op is generic: ``name`` selects its :class:`~xlc.ir.opdef.OpDef`, ``attrs`` holds
  plain Python values (int, float, bool, str, DType, TensorType, tuples of those, numpy
  arrays), ``regions`` holds nested Blocks (for ``cond``/``while``);
* a Func's body ends with a ``return`` op whose operand types are the Func's result types.

There are no use-lists: passes rewrite by building new ops through a value mapping,
which keeps every transformation a plain function over the IR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from xlc.ir.types import DType, TensorType


@dataclass(frozen=True)
class Location:
    """Where an op came from: the user's file and line, or a line of an IR file."""

    file: str
    line: int
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f":{self.col}" if self.col else "")


class Value:
    """An SSA value: the result of an Op or an argument of a Block."""

    __slots__ = ("type", "owner", "index", "name_hint")

    def __init__(self, type: TensorType, owner: Op | Block | None, index: int, name_hint: str | None = None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name_hint = name_hint

    @property
    def dtype(self) -> DType:
        return self.type.dtype

    @property
    def shape(self) -> tuple[int | None, ...]:
        return self.type.shape

    @property
    def defining_op(self) -> Op | None:
        return self.owner if isinstance(self.owner, Op) else None

    def __repr__(self) -> str:
        hint = f" {self.name_hint}" if self.name_hint else ""
        return f"<Value{hint} : {self.type}>"


class Op:
    """One operation: ``results = name(operands) {attrs} (regions)``."""

    __slots__ = ("name", "operands", "attrs", "results", "regions", "loc", "parent")

    def __init__(
        self,
        name: str,
        operands: Sequence[Value],
        attrs: Mapping[str, Any] | None,
        result_types: Sequence[TensorType],
        regions: Sequence[Block] = (),
        loc: Location | None = None,
    ) -> None:
        self.name = name
        self.operands: tuple[Value, ...] = tuple(operands)
        self.attrs: dict[str, Any] = {k: normalize_attr(v) for k, v in (attrs or {}).items()}
        self.results: tuple[Value, ...] = tuple(Value(t, self, i) for i, t in enumerate(result_types))
        self.regions: tuple[Block, ...] = tuple(regions)
        for r in self.regions:
            r.parent = self
        self.loc = loc
        self.parent: Block | None = None

    @property
    def result(self) -> Value:
        """The single result; an error for ops with another number of results."""
        if len(self.results) != 1:
            raise ValueError(f"op '{self.name}' has {len(self.results)} results, not one")
        return self.results[0]

    @property
    def result_types(self) -> tuple[TensorType, ...]:
        return tuple(r.type for r in self.results)

    def __repr__(self) -> str:
        return f"<Op {self.name} {self.attrs} -> {', '.join(str(t) for t in self.result_types)}>"


class Block:
    """A list of ops with typed arguments."""

    __slots__ = ("args", "ops", "parent")

    def __init__(self, arg_types: Sequence[TensorType] = (), arg_names: Sequence[str | None] | None = None):
        names = list(arg_names) if arg_names is not None else [None] * len(arg_types)
        self.args: list[Value] = [Value(t, self, i, n) for i, (t, n) in enumerate(zip(arg_types, names))]
        self.ops: list[Op] = []
        self.parent: Op | Func | None = None

    def append(self, op: Op) -> Op:
        op.parent = self
        self.ops.append(op)
        return op

    @property
    def terminator(self) -> Op | None:
        return self.ops[-1] if self.ops else None

    def walk(self) -> Iterator[Op]:
        """Every op in this block and in nested regions, in program order."""
        for op in self.ops:
            yield op
            for r in op.regions:
                yield from r.walk()


class Func:
    """A function: typed arguments, a body Block ending in ``return``, result types."""

    def __init__(
        self,
        name: str,
        arg_types: Sequence[TensorType],
        result_types: Sequence[TensorType] = (),
        arg_names: Sequence[str | None] | None = None,
    ) -> None:
        self.name = name
        self.body = Block(arg_types, arg_names)
        self.body.parent = self
        self.result_types: tuple[TensorType, ...] = tuple(result_types)

    @property
    def args(self) -> list[Value]:
        return self.body.args

    @property
    def arg_types(self) -> tuple[TensorType, ...]:
        return tuple(a.type for a in self.body.args)

    @property
    def return_op(self) -> Op:
        t = self.body.terminator
        if t is None or t.name != "return":
            raise ValueError(f"func @{self.name} does not end with 'return'")
        return t

    @property
    def outputs(self) -> tuple[Value, ...]:
        return self.return_op.operands

    def walk(self) -> Iterator[Op]:
        return self.body.walk()


class Module:
    """An ordered collection of Funcs, looked up by name."""

    def __init__(self, funcs: Sequence[Func] = ()) -> None:
        self.funcs: dict[str, Func] = {}
        for f in funcs:
            self.add(f)

    def add(self, func: Func) -> Func:
        if func.name in self.funcs:
            raise ValueError(f"module already has a func named @{func.name}")
        self.funcs[func.name] = func
        return func

    def __getitem__(self, name: str) -> Func:
        return self.funcs[name]

    def __iter__(self) -> Iterator[Func]:
        return iter(self.funcs.values())


def normalize_attr(v: Any) -> Any:
    """Attribute values are immutable: lists become tuples, numpy scalars Python scalars."""
    if isinstance(v, (list, tuple)):
        return tuple(normalize_attr(x) for x in v)
    if isinstance(v, np.ndarray):
        v = v.copy()
        v.setflags(write=False)
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def attr_key(v: Any) -> Any:
    """A hashable key equal for equal attribute values (arrays compare by dtype, shape, bytes)."""
    if isinstance(v, np.ndarray):
        return ("ndarray", str(v.dtype), v.shape, v.tobytes() if v.dtype != object else tuple(v.ravel().tolist()))
    if isinstance(v, tuple):
        return tuple(attr_key(x) for x in v)
    if isinstance(v, float):
        return ("float", repr(v))  # nan == nan, and 0.0 != -0.0
    return (type(v).__name__, v)
