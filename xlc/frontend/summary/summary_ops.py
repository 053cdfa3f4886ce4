"""``tf.summary.scalar / histogram / merge / merge_all``: ops whose value is a serialized Summary.

A summary op is a string scalar tensor, as in TF, but it is a host op (see
``lowering.HOST_OPS``): a ``Session.run`` that fetches it fetches the op's numeric
inputs from the one compiled call (alongside the train op, say), and this module
turns their values into Summary protobuf bytes.  So summaries never push a training
step off native code onto the interpreter.

Tags follow TF1: the summary's name under the current name scope, made unique
(``train/loss``, ``train/loss_1``), with characters TensorBoard rejects replaced by "_".
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from xlc.errors import InvalidArgumentError
from xlc.ir.types import string
from xlc.frontend.graph import GraphKeys, Operation, Tensor, _user_location, get_default_graph
from xlc.frontend.op_builder import convert_to_tensor
from xlc.frontend.lowering import register_host_op
from xlc.frontend.summary.protos import Summary, histogram_of, summary_tags
from xlc.frontend.tensor_shape import TensorShape

_INVALID_TAG_CHARS = re.compile(r"[^-/\w\.]")


def _clean_tag(name: str) -> str:
    """TF's rule: characters outside ``[A-Za-z0-9_./-]`` become "_", leading "/" are dropped."""
    cleaned = _INVALID_TAG_CHARS.sub("_", name).lstrip("/")
    return cleaned or "summary"


def _summary_op(op_type: str, name: str, inputs: Sequence[Tensor], collections: Sequence[str] | None,
                family: str | None = None) -> Tensor:
    g = get_default_graph()
    base = _clean_tag(name)
    if family:
        base = f"{_clean_tag(family)}/{base}"
    with g.name_scope(base) as scope:
        tag = scope[:-1]
        op = g.create_op(op_type, None, list(inputs), {"tag": tag}, [(string, TensorShape([]))], scope,
                         _user_location())
    out = op.outputs[0]
    g.add_to_collections(list(collections) if collections is not None else [GraphKeys.SUMMARIES], out)
    return out


def scalar(name: str, tensor: Any, collections: Sequence[str] | None = None, family: str | None = None) -> Tensor:
    """A Summary holding one ``simple_value``: ``tensor`` must be a real scalar."""
    t = convert_to_tensor(tensor)
    if t.shape.ndims not in (None, 0):
        raise ValueError(f"tf.summary.scalar('{name}'): the tensor must be a scalar, got shape {t.shape}")
    if not (t.dtype.is_floating or t.dtype.is_integer or t.dtype.is_bool):
        raise TypeError(f"tf.summary.scalar('{name}'): cannot summarize a tensor of dtype {t.dtype.name}")
    return _summary_op("ScalarSummary", name, [t], collections, family)


def histogram(name: str, values: Any, collections: Sequence[str] | None = None, family: str | None = None) -> Tensor:
    """A Summary holding a histogram of ``values`` (any shape) over TF's default buckets."""
    t = convert_to_tensor(values)
    if not (t.dtype.is_floating or t.dtype.is_integer or t.dtype.is_bool):
        raise TypeError(f"tf.summary.histogram('{name}'): cannot summarize a tensor of dtype {t.dtype.name}")
    return _summary_op("HistogramSummary", name, [t], collections, family)


def merge(inputs: Sequence[Any], collections: Sequence[str] | None = None, name: str | None = None) -> Tensor:
    """One Summary with the values of all ``inputs`` (summary tensors); duplicate tags are an error at run time."""
    tensors = [convert_to_tensor(x) for x in inputs]
    for t in tensors:
        if t.dtype is not string:
            raise TypeError(f"tf.summary.merge: {t.name} is not a summary (dtype {t.dtype.name})")
    g = get_default_graph()
    with g.name_scope(name or "Merge"):
        op = g.create_op("MergeSummary", None, tensors, {}, [(string, TensorShape([]))], "MergeSummary",
                         _user_location())
    out = op.outputs[0]
    for c in collections or []:
        g.add_to_collection(c, out)
    return out


def merge_all(key: str = GraphKeys.SUMMARIES, scope: str | None = None, name: str | None = None) -> Tensor | None:
    """``merge`` of every summary in collection ``key`` (optionally under ``scope``), or None if there are none."""
    found = get_default_graph().get_collection(key, scope)
    return merge(found, name=name) if found else None


# --- host evaluation ------------------------------------------------------------------------------
def _eval_scalar(op: Operation, values: list[Any]) -> list[bytes]:
    v = np.asarray(values[0])
    if v.size != 1:
        raise InvalidArgumentError(None, op, f"tags and values not the same shape: [] != {list(v.shape)} "
                                             f"(tag '{op.attrs['tag']}')")
    return [Summary([Summary.Value(tag=op.attrs["tag"], simple_value=float(v.reshape(())))]).SerializeToString()]


def _eval_histogram(op: Operation, values: list[Any]) -> list[bytes]:
    v = np.asarray(values[0]).astype(np.float64)
    if v.size and not np.all(np.isfinite(v)):
        raise InvalidArgumentError(None, op, f"Nan in summary histogram for: {op.attrs['tag']}")
    return [Summary([Summary.Value(tag=op.attrs["tag"], histo=histogram_of(v))]).SerializeToString()]


def _eval_merge(op: Operation, values: list[Any]) -> list[bytes]:
    seen: set[str] = set()
    for data in values:
        for tag in summary_tags(data):
            if tag in seen:
                raise InvalidArgumentError(None, op, f"Duplicate tag {tag} found in summary inputs")
            seen.add(tag)
    # a Summary is a repeated field: concatenated messages are the merged message
    return [b"".join(bytes(d) for d in values)]


register_host_op("ScalarSummary", _eval_scalar)
register_host_op("HistogramSummary", _eval_histogram)
register_host_op("MergeSummary", _eval_merge)


__all__ = ["histogram", "merge", "merge_all", "scalar"]
