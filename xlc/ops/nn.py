"""Softmax family: ``softmax``, ``log_softmax`` (any axis) and ``softmax_cross_entropy``; ``dropout``.

These are ops (not compositions) so that backends can lower them as one stable pass over
each row: the row maximum is subtracted before ``exp``, so logits of 1000 neither overflow
nor lose the answer.  ``softmax_cross_entropy(labels, logits)`` reduces over the last axis
and returns only the loss; its gradient is built from ``softmax``/``log_softmax``.

``dropout(x, keep_prob) {seed, seed2}`` keeps element i where the Philox uniform of flat
index i (docs/ops.md, draw 0) is below keep_prob, and scales it by 1 / keep_prob.  It is an op
(not random_uniform + mul) because x's shape, hence the mask's, may be known only at run
time; its gradient is the same op on the incoming gradient (same seeds: the same mask).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import RANDOM, Attr, OpDef, register
from xlc.ir.types import FLOAT_DTYPES, TensorType
from xlc.ops import philox
from xlc.ops.rules import check_dtype, input_shapes, merge_dim, normalize_axis, same_dtype

Types = Sequence[TensorType]
Attrs = Mapping[str, Any]


def _softmax_rule(op: str) -> Any:
    def rule(types: Types, attrs: Attrs) -> list[TensorType]:
        t = types[0]
        check_dtype(op, t, FLOAT_DTYPES)
        if t.rank == 0:
            raise ShapeError(f"'{op}' needs a tensor of rank >= 1{input_shapes(op, types)}")
        normalize_axis(op, int(attrs["axis"]), t.rank)
        return [t]

    return rule


def _widened(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype.itemsize < 4 else x


def _log_softmax_ref(x: np.ndarray, axis: int = -1) -> np.ndarray:
    y = _widened(x)
    shifted = y - np.max(y, axis=axis, keepdims=True)
    return (shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))).astype(x.dtype)


def _softmax_ref(x: np.ndarray, axis: int = -1) -> np.ndarray:
    y = _widened(x)
    e = np.exp(y - np.max(y, axis=axis, keepdims=True))
    return (e / np.sum(e, axis=axis, keepdims=True)).astype(x.dtype)


def _xent_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    op = "softmax_cross_entropy"
    labels, logits = types
    dt = same_dtype(op, types)
    check_dtype(op, logits, FLOAT_DTYPES)
    if logits.rank == 0 or labels.rank != logits.rank:
        raise ShapeError(f"labels and logits must have the same rank >= 1{input_shapes(op, types)}")
    shape = []
    for a, (p, q) in enumerate(zip(labels.shape, logits.shape)):
        try:
            shape.append(merge_dim(p, q))
        except ValueError:
            raise ShapeError(f"logits and labels must be same size: logits_size={list(logits.shape)} "
                             f"labels_size={list(labels.shape)}{input_shapes(op, types)}") from None
    return [TensorType(tuple(shape[:-1]), dt)]


def _xent_ref(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    lsm = _log_softmax_ref(_widened(logits), axis=-1)
    return (-np.sum(_widened(labels) * lsm, axis=-1)).astype(logits.dtype)


register(OpDef("softmax", 1, _softmax_rule("softmax"), _softmax_ref, attrs={"axis": Attr("int", -1)},
               doc="exp(x - max) / sum(exp(x - max)) along axis"))
register(OpDef("log_softmax", 1, _softmax_rule("log_softmax"), _log_softmax_ref, attrs={"axis": Attr("int", -1)},
               doc="x - max - log(sum(exp(x - max))) along axis"))
register(OpDef("softmax_cross_entropy", 2, _xent_rule, _xent_ref,
               doc="(labels, logits) -> -sum(labels * log_softmax(logits), -1); rank drops by one"))


def _dropout_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    op = "dropout"
    x, keep = types
    same_dtype(op, types)
    check_dtype(op, x, FLOAT_DTYPES)
    if keep.rank != 0:
        raise ShapeError(f"keep_prob must be a scalar{input_shapes(op, types)}")
    return [x]


def _dropout_ref(x: np.ndarray, keep_prob: np.ndarray, seed: int, seed2: int) -> np.ndarray:
    u = philox.uniform_stream(x.size, philox.key_from_seeds(seed, seed2)).reshape(x.shape)
    keep = np.asarray(keep_prob, dtype=x.dtype)
    with np.errstate(all="ignore"):
        scaled = (_widened(x) / _widened(keep)).astype(x.dtype)
    return np.where(u < np.float64(keep), scaled, np.zeros((), x.dtype))


register(OpDef("dropout", 2, _dropout_rule, _dropout_ref, attrs={"seed": Attr("int"), "seed2": Attr("int")},
               traits=frozenset({RANDOM}),
               doc="(x, keep_prob) -> x / keep_prob where uniform(flat index) < keep_prob, else 0"))
