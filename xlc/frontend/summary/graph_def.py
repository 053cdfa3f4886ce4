"""A Graph as TF's GraphDef protobuf, for TensorBoard's graph tab.

Each Operation becomes a NodeDef: its scoped name (TensorBoard groups nodes by the
"/" in names), its TF op type, its inputs (``op`` for output 0, ``op:i`` otherwise,
``^op`` for control inputs), its device, and the attributes that have a plain proto
form (dtypes, ints, floats, bools, strings, shapes, lists of ints).  Const values are
left out (they can be large and TensorBoard does not need them); every node gets
``_output_shapes``, which TensorBoard uses to label edges with shapes.

Field numbers: GraphDef{node=1, versions=4}, NodeDef{name=1, op=2, input=3, device=4,
attr=5 (map entries: key=1, value=2)}, AttrValue{list=1, s=2, i=3, f=4, b=5, type=6,
shape=7}, AttrValue.ListValue{i=3 packed, shape=7}, TensorShapeProto{dim=2 (size=1),
unknown_rank=3}, VersionDef{producer=1}.
"""

from __future__ import annotations

from typing import Any

from xlc.ir.types import DType
from xlc.frontend.graph import Graph, Operation
from xlc.frontend.summary import protobuf as pb
from xlc.frontend.tensor_shape import TensorShape

# TF's DataType enum
_DATA_TYPES = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int8": 6, "string": 7, "int64": 9,
               "bool": 10, "bfloat16": 14, "float16": 19}
GRAPH_DEF_PRODUCER = 27  # the GraphDef version of TF 1.15: TensorBoard accepts it


def data_type(dtype: DType) -> int:
    return _DATA_TYPES.get(dtype.name, 0)


def shape_proto(shape: TensorShape) -> bytes:
    """TensorShapeProto: unknown rank, or one dim message per dim (size -1 when unknown)."""
    if shape.ndims is None:
        return pb.int_field(3, 1)
    return b"".join(pb.bytes_field(2, pb.int_field(1, -1 if d is None else d), always=True)
                    for d in shape.to_ir_shape())


def _attr_value(value: Any) -> bytes | None:
    """An AttrValue for a plain attribute value, or None for values with no simple proto form."""
    if isinstance(value, DType):
        return pb.int_field(6, data_type(value), always=True)
    if isinstance(value, TensorShape):
        return pb.bytes_field(7, shape_proto(value), always=True)
    if isinstance(value, bool):
        return pb.int_field(5, int(value), always=True)
    if isinstance(value, int):
        return pb.int_field(3, value, always=True)
    if isinstance(value, float):
        return pb.float_field(4, value, always=True)
    if isinstance(value, str):
        return pb.bytes_field(2, value, always=True)
    if isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return pb.bytes_field(1, pb.packed_varints(3, value), always=True)
    return None


def _attr_entry(key: str, value: bytes) -> bytes:
    return pb.bytes_field(5, pb.bytes_field(1, key) + pb.bytes_field(2, value, always=True), always=True)


def _input_name(t: Any) -> str:
    return t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}"


def node_def(op: Operation) -> bytes:
    out = pb.bytes_field(1, op.name) + pb.bytes_field(2, op.type)
    for t in op.inputs:
        out += pb.bytes_field(3, _input_name(t), always=True)
    for c in op.control_inputs:
        out += pb.bytes_field(3, "^" + c.name, always=True)
    out += pb.bytes_field(4, op.device)
    attrs: dict[str, bytes] = {}
    for key, value in op.attrs.items():
        encoded = _attr_value(value)
        if encoded is not None:
            attrs[key] = encoded
    if op.outputs and "dtype" not in attrs and "T" not in attrs:
        # TF's Const names its type "dtype", most other ops "T"
        attrs["dtype" if op.type == "Const" else "T"] = _attr_value(op.outputs[0].dtype) or b""
    if op.outputs:
        shapes = b"".join(pb.bytes_field(7, shape_proto(t.shape), always=True) for t in op.outputs)
        attrs["_output_shapes"] = pb.bytes_field(1, shapes, always=True)
    for key in sorted(attrs):  # a deterministic order: equal graphs give equal bytes
        out += _attr_entry(key, attrs[key])
    return out


def graph_def(graph: Graph) -> bytes:
    """The serialized GraphDef of every op in ``graph`` (creation order, which is topological)."""
    nodes = b"".join(pb.bytes_field(1, node_def(op), always=True) for op in graph.get_operations())
    return nodes + pb.bytes_field(4, pb.int_field(1, GRAPH_DEF_PRODUCER), always=True)


__all__ = ["data_type", "graph_def", "node_def", "shape_proto"]
