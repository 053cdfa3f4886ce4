"""Ops every function needs: ``return`` and ``constant``."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import NO_FOLD, SIDE_EFFECT, TERMINATOR, Attr, OpDef, register
from xlc.ir.types import TensorType, as_dtype


def _return_rule(types: Sequence[TensorType], attrs: Any) -> list[TensorType]:
    return []


def _return_ref(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    return ()


register(OpDef("return", None, _return_rule, _return_ref, traits=frozenset({TERMINATOR, SIDE_EFFECT, NO_FOLD}),
               doc="ends a func; its operands are the func's results"))


def _constant_rule(types: Sequence[TensorType], attrs: Any) -> list[TensorType]:
    value = attrs["value"]
    if not isinstance(value, np.ndarray):
        raise ShapeError(f"'constant' needs a numpy array value, got {type(value).__name__}")
    return [TensorType(value.shape, as_dtype(value.dtype))]


def _constant_ref(value: np.ndarray) -> np.ndarray:
    return value


register(OpDef("constant", 0, _constant_rule, _constant_ref, attrs={"value": Attr("array")},
               doc="a tensor known at compile time (string tensors pass through the host)"))
