"""Linear algebra: ``matmul`` with optional transposes and broadcast batch dims (BatchMatMulV2)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import Attr, OpDef, register
from xlc.ir.types import NUMERIC_DTYPES, TensorType, as_dtype
from xlc.ops.rules import check_dtype, check_rank, fmt_shape, input_shapes, same_dtype

Types = Sequence[TensorType]


def _batch_broadcast(a: Sequence[int | None], b: Sequence[int | None], types: Types) -> tuple[int | None, ...]:
    """numpy broadcasting of the batch dims, with matmul's own error sentence."""
    rank = max(len(a), len(b))
    pa = (1,) * (rank - len(a)) + tuple(a)
    pb = (1,) * (rank - len(b)) + tuple(b)
    out: list[int | None] = []
    for x, y in zip(pa, pb):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None or y is None:
            # ? against n > 1 is n (checked at run time); ? against ? stays unknown
            out.append(x if y is None else y)
        elif x == y:
            out.append(x)
        else:
            raise ShapeError(f"In[0] and In[1] must have compatible batch dimensions: {fmt_shape(a)} vs. "
                             f"{fmt_shape(b)}{input_shapes('matmul', types)}")
    return tuple(out)


def _matmul_rule(types: Types, attrs: Mapping[str, Any]) -> list[TensorType]:
    a, b = types
    dt = same_dtype("matmul", types)
    check_dtype("matmul", a, NUMERIC_DTYPES)
    check_rank("matmul", a, 2, types, at_least=True)
    check_rank("matmul", b, 2, types, at_least=True)
    m, ka = (a.shape[-1], a.shape[-2]) if attrs["transpose_a"] else (a.shape[-2], a.shape[-1])
    kb, n = (b.shape[-1], b.shape[-2]) if attrs["transpose_b"] else (b.shape[-2], b.shape[-1])
    if ka is not None and kb is not None and ka != kb:
        raise ShapeError(f"Dimensions must be equal, but are {ka} and {kb}{input_shapes('matmul', types)}")
    batch = _batch_broadcast(a.shape[:-2], b.shape[:-2], types)
    return [TensorType(batch + (m, n), dt)]


def _matmul_ref(a: np.ndarray, b: np.ndarray, transpose_a: bool = False, transpose_b: bool = False) -> np.ndarray:
    dtype = a.dtype
    if as_dtype(a.dtype).is_floating and a.dtype.itemsize < 4:
        # 16-bit floats multiply and accumulate in float32, then round once
        a, b = a.astype(np.float32), b.astype(np.float32)
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(a, b).astype(dtype, copy=False)


register(OpDef("matmul", 2, _matmul_rule, _matmul_ref,
               attrs={"transpose_a": Attr("bool", False), "transpose_b": Attr("bool", False)},
               doc="a @ b over the last two dims; rank >= 2; batch dims broadcast"))
