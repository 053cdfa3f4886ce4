"""Helpers shared by op definitions: broadcasting, axis handling, dtype checks."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from xlc.errors import ShapeError
from xlc.ir.types import DType, TensorType

Shape = tuple["int | None", ...]


def fmt_shape(shape: Sequence[int | None]) -> str:
    """TF's way of printing a shape: [2,?,3]."""
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def broadcast_shapes(op: str, *shapes: Sequence[int | None]) -> tuple[int | None, ...]:
    """numpy broadcasting over dims that may be None (unknown until run time).

    An unknown dim against n > 1 gives n (checked again when the shape is known);
    against 1 or unknown it stays unknown.
    """
    rank = max((len(s) for s in shapes), default=0)
    out: list[int | None] = []
    for axis in range(rank):
        dims = [s[len(s) - rank + axis] for s in shapes if len(s) - rank + axis >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ShapeError(
                f"Incompatible shapes for '{op}': " + " vs. ".join(fmt_shape(s) for s in shapes)
            )
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def same_dtype(op: str, types: Sequence[TensorType]) -> DType:
    """The common dtype of the operands; a TF-style error if they differ."""
    dt = types[0].dtype
    for t in types[1:]:
        if t.dtype is not dt:
            raise ShapeError(
                f"'{op}' needs operands of one dtype, got {', '.join(x.dtype.name for x in types)}"
            )
    return dt


def check_dtype(op: str, t: TensorType, allowed: Iterable[DType], what: str = "operand") -> None:
    allowed = tuple(allowed)
    if t.dtype not in allowed:
        raise ShapeError(
            f"'{op}' does not accept {what} of dtype {t.dtype.name} (accepted: {', '.join(d.name for d in allowed)})"
        )


def normalize_axis(op: str, axis: int, rank: int) -> int:
    """An axis in [-rank, rank) mapped to [0, rank)."""
    if not -rank <= axis < max(rank, 1) or (rank == 0 and axis not in (0, -1)):
        raise ShapeError(f"'{op}': axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank if rank else 0


def normalize_axes(op: str, axes: Any, rank: int) -> tuple[int, ...]:
    """Axes (None meaning all) as sorted, unique, non-negative ints."""
    if axes is None:
        return tuple(range(rank))
    if isinstance(axes, int):
        axes = (axes,)
    out = sorted({normalize_axis(op, int(a), rank) for a in axes})
    return tuple(out)


def input_shapes(op: str, types: Sequence[TensorType]) -> str:
    """The tail TF puts on shape errors: `` for 'op' with input shapes: [2,3], [4,5].``"""
    return f" for '{op}' with input shapes: " + ", ".join(fmt_shape(t.shape) for t in types) + "."


def merge_dim(a: int | None, b: int | None) -> int | None:
    """Two dims that must be equal: the known one of them, or None; raises ValueError if they differ.

    Callers turn the ValueError into a ShapeError that names their op and shapes.
    """
    if a is None:
        return b
    if b is None or a == b:
        return a
    raise ValueError(f"{a} != {b}")


def known_product(shape: Sequence[int | None]) -> int | None:
    """The product of the dims, or None if one of them is unknown."""
    n = 1
    for d in shape:
        if d is None:
            return None
        n *= d
    return n


def check_rank(op: str, t: TensorType, rank: int, types: Sequence[TensorType], at_least: bool = False) -> None:
    """TF's 'Shape must be rank 2 but is rank 1 for ...' check."""
    if t.rank < rank if at_least else t.rank != rank:
        rel = ">= " if at_least else ""
        raise ShapeError(f"Shape must be rank {rel}{rank} but is rank {t.rank}" + input_shapes(op, types))
