"""Lowering a TF1 graph (the part one ``Session.run`` needs) to one IR Func.

The Func's arguments are the fed tensors (their declared static shapes, ``?`` for
unknown dims, so that a new batch size reuses the executable), then the start values
of the variables the run reads.  Its results are the fetched tensors, then the final
values of the variables the run assigns.  Ops with an IR op map 1:1 (same attributes,
the op's source line as location); the frontend-only ops are lowered here:

* ``Placeholder``: its feed (unfed: InvalidArgumentError naming it);
  ``PlaceholderWithDefault``: its feed, else its input;
* ``VariableV2``'s output read by an op X: the value left by the *latest* (by creation
  order) ``Assign``/``AssignAdd``/``AssignSub`` of that variable that X depends on
  through data or control edges, else the variable's value at the start of the run.
  So reads never race with assigns: without an ordering edge a read sees the old
  value (TF1 leaves this case unspecified).  A fetch of ``v:0`` itself sees the start
  value;
* ``Assign`` is its value; ``AssignAdd``/``AssignSub`` are ``add``/``sub`` of the value
  read (by the rule above) and the delta.  When several assigns of one variable run,
  the variable ends with the value of the latest-created one;
* ``NoOp`` lowers to nothing (it only orders and groups via control edges).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from xlc.errors import InvalidArgumentError
from xlc.ir.builder import Builder
from xlc.ir.core import Func, Module, Value
from xlc.ir.types import DType, TensorType, string
from xlc.frontend.graph import Graph, Operation, Tensor

ASSIGN_TYPES = frozenset({"Assign", "AssignAdd", "AssignSub"})
_ASSIGN_IR = {"AssignAdd": "add", "AssignSub": "sub"}
_TF_DTYPE_NAMES = {"float32": "float", "float64": "double", "float16": "half"}


# Host ops: op types evaluated in Python from values the compiled run returns (summaries,
# which build protobuf bytes).  The session fetches such an op's inputs instead of the op
# and calls ``fn(op, input_values) -> output_values``; they never enter the IR.
HostFn = Callable[[Operation, list[Any]], list[Any]]
HOST_OPS: dict[str, HostFn] = {}


def register_host_op(op_type: str, fn: HostFn) -> None:
    """Evaluate ops of ``op_type`` on the host with ``fn`` (see HOST_OPS)."""
    HOST_OPS[op_type] = fn


@dataclass
class LoweredRun:
    """One run's Func and how its arguments and results map back to the graph."""

    func: Func
    feeds: list[Tensor]  # the first len(feeds) args, in this order
    var_reads: list[Operation]  # VariableV2 ops whose start values are the next args
    fetches: list[Tensor]  # the first len(fetches) results
    var_writes: list[Operation]  # VariableV2 ops whose final values are the last results
    ops: list[Operation]  # the pruned ops in execution order
    uses_strings: bool  # some value is a string tensor: run on the host interpreter
    aliased_results: list[int] = field(default_factory=list)  # fetch results that are args or var writes


def tf_dtype_name(dtype: DType) -> str:
    """The dtype as TF's C++ messages spell it (float32 is "float")."""
    return _TF_DTYPE_NAMES.get(dtype.name, dtype.name)


def _tf_shape(t: Tensor) -> str:
    if t.shape.ndims is None:
        return ""
    return " and shape [" + ",".join("?" if d is None else str(d) for d in t.shape.to_ir_shape()) + "]"


def _arg_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", name.rsplit(":", 1)[0])


def prune(fetch_ops: Sequence[Operation], fed: set[Tensor]) -> list[Operation]:
    """The ops the fetches need (data and control edges, stopping at fed tensors), in creation order."""
    seen: set[Operation] = set()
    stack = list(fetch_ops)
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        stack.extend(t.op for t in op.inputs if t not in fed)
        stack.extend(op.control_inputs)
    return sorted(seen, key=lambda o: o._id)


def lower_run(graph: Graph, fetches: Sequence[Tensor | Operation], feeds: Sequence[Tensor],
              feed_types: Mapping[Tensor, TensorType] | None = None, name: str = "run") -> LoweredRun:
    """Lower what ``fetches`` need, given ``feeds``, into one Func (see the module doc for the rules).

    ``feed_types`` overrides the argument type of a feed (the session gives one for
    placeholders of unknown rank, from the fed value's rank).
    """
    feed_types = feed_types or {}
    fed = set(feeds)
    fetch_tensors = [f for f in fetches if isinstance(f, Tensor)]
    # a fed tensor that is fetched is its feed: its op need not run
    targets = [f for f in fetches if isinstance(f, Operation)] + [t.op for t in fetch_tensors if t not in fed]
    ops = prune(targets, fed)

    # assigns each op depends on (strictly upstream), to order reads after assigns
    upstream: dict[Operation, frozenset[Operation]] = {}
    for op in ops:
        acc: set[Operation] = set()
        for src in [t.op for t in op.inputs if t not in fed] + list(op.control_inputs):
            acc |= upstream.get(src, frozenset())
            if src.type in ASSIGN_TYPES:
                acc.add(src)
        upstream[op] = frozenset(acc)

    arg_types: list[TensorType] = []
    for t in feeds:
        if t in feed_types:
            arg_types.append(feed_types[t])
        elif t.shape.ndims is None:
            raise InvalidArgumentError(None, t.op, f"Tensor '{t.name}' has unknown rank; it needs a fed value")
        else:
            arg_types.append(t.type)
    var_reads = [op for op in ops if op.type == "VariableV2" and _reads_start_value(op, ops, upstream, fed,
                                                                                     fetch_tensors)]
    for v in var_reads:
        if v.outputs[0].shape.ndims is None:
            raise InvalidArgumentError(None, v, f"variable '{v.name}' has unknown rank")
        arg_types.append(v.outputs[0].type)
    func = Func(name, arg_types, arg_names=[_arg_name(t.name) for t in feeds] + [_arg_name(v.name) for v in var_reads])
    b = Builder.at_end(func)
    env: dict[Tensor, Value] = {t: a for t, a in zip(feeds, func.args)}
    start: dict[Operation, Value] = {v: a for v, a in zip(var_reads, func.args[len(feeds):])}
    assigned: dict[Operation, list[Operation]] = {}  # variable op -> its assigns, in creation order

    def read(var_op: Operation, reader: Operation | None) -> Value:
        after = [a for a in upstream.get(reader, frozenset()) if a.inputs[0].op is var_op] if reader else []
        if after:
            return env[max(after, key=lambda a: a._id).outputs[0]]
        return start[var_op]

    def operand(t: Tensor, reader: Operation) -> Value:
        if t.op.type == "VariableV2" and t not in fed:
            return read(t.op, reader)
        return env[t]

    for op in ops:
        if all(t in fed for t in op.outputs) and op.outputs:
            continue  # a fed op computes nothing
        kind = op.type
        if kind == "Placeholder":
            raise InvalidArgumentError(
                None, op, f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                          f"{tf_dtype_name(op.outputs[0].dtype)}{_tf_shape(op.outputs[0])}")
        if kind == "PlaceholderWithDefault":
            env[op.outputs[0]] = operand(op.inputs[0], op)
        elif kind in ("VariableV2", "NoOp"):
            pass  # variable reads resolve per reader; NoOp only orders
        elif kind in ASSIGN_TYPES:
            var_op = op.inputs[0].op
            value = operand(op.inputs[1], op)
            if kind != "Assign":
                value = b.create(_ASSIGN_IR[kind], [read(var_op, op), value], loc=op.loc).result
            env[op.outputs[0]] = value
            assigned.setdefault(var_op, []).append(op)
        elif kind in HOST_OPS:
            raise InvalidArgumentError(None, op, f"op '{op.name}' of type {kind} runs on the host: fetch it "
                                                 "directly, not as an input or control dependency of another op")
        elif op.ir_op is None:
            raise InvalidArgumentError(None, op, f"op '{op.name}' of type {kind} cannot be lowered to IR")
        else:
            ir = b.create(op.ir_op, [operand(t, op) for t in op.inputs], op.attrs, loc=op.loc)
            for t, v in zip(op.outputs, ir.results):
                env[t] = v

    results = [start[t.op] if t.op.type == "VariableV2" and t not in fed else env[t] for t in fetch_tensors]
    var_writes = list(assigned)
    finals = [env[assigned[v][-1].outputs[0]] for v in var_writes]
    b.ret(*results, *finals)
    args = set(func.args)
    aliased = [i for i, r in enumerate(results) if r in args or any(r is f for f in finals)]
    uses_strings = any(t.dtype is string for t in func.arg_types) or any(
        r.dtype is string for o in func.body.ops for r in o.results) or any(
        v.dtype is string for v in results)
    return LoweredRun(func, list(feeds), var_reads, fetch_tensors, var_writes, ops, uses_strings, aliased)


def _reads_start_value(var_op: Operation, ops: Sequence[Operation], upstream: Mapping[Operation, frozenset],
                       fed: set[Tensor], fetch_tensors: Sequence[Tensor]) -> bool:
    """Whether some op (or a fetch) sees ``var_op``'s value from before the run."""
    t = var_op.outputs[0]
    if t in fed:
        return False
    if t in fetch_tensors:
        return True
    for op in t.consumers():
        if op not in upstream or (op.type == "Assign" and op.inputs[1] is not t):
            continue  # not in this run, or overwrites without reading
        if not any(a.inputs[0].op is var_op for a in upstream[op]):
            return True
    return False


def graph_to_module(graph: Graph, name: str = "main") -> Module:
    """The whole graph as one Func ``@name``: args are the placeholders and the variables read;
    results are the tensors no op consumes, then the assigned variables' new values."""
    ops = graph.get_operations()
    placeholders = [op.outputs[0] for op in ops if op.type == "Placeholder"]
    skip = ASSIGN_TYPES | {"Placeholder", "VariableV2"} | set(HOST_OPS)
    sinks: list[Tensor | Operation] = [t for op in ops if op.type not in skip for t in op.outputs
                                       if not [c for c in t.consumers() if c.type not in HOST_OPS]]
    # assigns (their new values are the variables' results) and NoOps run as op fetches
    sinks += [op for op in ops if (not op.outputs or op.type in ASSIGN_TYPES) and op.type not in HOST_OPS]
    for t in placeholders:
        if t.shape.ndims is None:
            raise InvalidArgumentError(None, t.op, f"placeholder '{t.op.name}' has unknown rank; give it a shape "
                                                   "to lower the whole graph")
    return Module([lower_run(graph, sinks, placeholders, name=name).func])
