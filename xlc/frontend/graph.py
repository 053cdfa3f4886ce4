"""The TF1 graph: :class:`Graph`, :class:`Operation`, :class:`Tensor`, scopes and collections.

Ops are built through :func:`xlc.frontend.op_builder.apply_op`.  An Operation names the IR op
it lowers to (``ir_op``) and its attributes, so lowering a graph to IR is a 1:1 translation (see
:mod:`xlc.frontend.lowering`).  A few frontend-only op types (``Placeholder``,
``VariableV2``, ``Assign``..., ``NoOp``) have no IR opdef; lowering handles them.

Operators on Tensors (``+``, ``*``, ``[]``...) are installed onto :class:`Tensor` by
the op modules at import time; this module does not know them.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

import xlc.ops  # noqa: F401  (defines the IR ops that apply_op looks up)
from xlc.ir.core import Location
from xlc.ir.types import DType, TensorType
from xlc.frontend.tensor_shape import TensorShape, as_shape
from xlc.frontend.config import canonical_device, merge_device
from xlc.frontend.context import executing_eagerly, graph_mode

_XLC_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1


class GraphKeys:
    """Standard collection names (TF1's tf.GraphKeys)."""

    GLOBAL_VARIABLES = "variables"
    VARIABLES = GLOBAL_VARIABLES
    LOCAL_VARIABLES = "local_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    MODEL_VARIABLES = "model_variables"
    SUMMARIES = "summaries"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    GLOBAL_STEP = "global_step"
    TRAIN_OP = "train_op"
    INIT_OP = "init_op"


def _user_location() -> Location | None:
    """The first stack frame outside the xlc package: where the user built the op."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_XLC_DIR):
        f = f.f_back  # type: ignore[assignment]
    return None if f is None else Location(f.f_code.co_filename, f.f_lineno)


class Tensor:
    """One output of an Operation: a symbolic value with a static dtype and shape.

    Hashable by identity (it is a dict key in feed_dicts); ``bool(t)`` raises, as TF,
    because a graph tensor has no truth value until it runs.
    """

    __array_priority__ = 100  # numpy defers `ndarray + Tensor` to Tensor.__radd__
    is_eager = False  # EagerTensor (xlc.frontend.eager) holds a value instead of an op

    def __init__(self, op: Operation, value_index: int, dtype: DType, shape: TensorShape) -> None:
        self._op = op
        self._value_index = value_index
        self._dtype = dtype
        self._shape = shape
        self._consumers: list[Operation] = []
        self._name = f"{op.name}:{value_index}"

    @property
    def op(self) -> Operation:
        return self._op

    @property
    def value_index(self) -> int:
        return self._value_index

    @property
    def name(self) -> str:
        return self._name

    @property
    def dtype(self) -> DType:
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        return self._shape

    def get_shape(self) -> TensorShape:
        return self._shape

    @property
    def type(self) -> TensorType:
        """The IR type; an error for a shape of unknown rank (the IR has no such type)."""
        if self._shape.ndims is None:
            raise ValueError(f"Tensor '{self._name}' has unknown rank, so it has no IR type yet")
        return TensorType(self._shape.to_ir_shape(), self._dtype)

    @property
    def graph(self) -> Graph:
        return self._op.graph

    @property
    def device(self) -> str:
        return self._op.device

    def set_shape(self, shape: Any) -> None:
        """Refine the static shape; ValueError if it contradicts what is known."""
        self._shape = self._shape.merge_with(as_shape(shape))
        self._op.graph._mutated()

    def consumers(self) -> list[Operation]:
        return list(self._consumers)

    def eval(self, feed_dict: Mapping[Any, Any] | None = None, session: Any = None) -> Any:
        """Run this tensor in ``session`` (default: the default session)."""
        return _session_for(self.graph, session, "evaluate tensor").run(self, feed_dict)

    def __repr__(self) -> str:
        return f"<tf.Tensor '{self._name}' shape={self._shape} dtype={self._dtype.name}>"

    def __str__(self) -> str:
        return f'Tensor("{self._name}", shape={self._shape}, dtype={self._dtype.name})'

    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> bool:  # TF1: identity comparison, not elementwise
        return self is other

    def __bool__(self) -> bool:
        raise TypeError(
            "Using a `tf.Tensor` as a Python `bool` is not allowed. Use `if t is not None:` instead of "
            "`if t:` to test if a tensor is defined, and use TensorFlow ops such as tf.cond to execute "
            "subgraphs conditioned on the value of a tensor."
        )

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("Tensor objects are only iterable when eager execution is enabled.")

    def __len__(self) -> int:
        raise TypeError(f"len is not well defined for symbolic Tensors ({self._name}). Use tf.shape(x).")


class Operation:
    """A node of the graph: a TF op type, the IR op it lowers to, inputs, attributes, outputs."""

    def __init__(self, graph: Graph, name: str, op_type: str, ir_op: str | None, inputs: Sequence[Tensor],
                 attrs: Mapping[str, Any], output_types: Sequence[tuple[DType, TensorShape]],
                 control_inputs: Sequence[Operation], device: str, loc: Location | None) -> None:
        self.graph = graph
        self.name = name
        self.type = op_type
        self.ir_op = ir_op
        self.inputs: tuple[Tensor, ...] = tuple(inputs)
        self.attrs: dict[str, Any] = dict(attrs)
        self.control_inputs: tuple[Operation, ...] = tuple(control_inputs)
        self.device = device
        self.loc = loc
        self.outputs: tuple[Tensor, ...] = tuple(Tensor(self, i, dt, sh) for i, (dt, sh) in enumerate(output_types))
        self._id = graph._next_id()

    @property
    def node_def(self) -> dict[str, Any]:
        return {"name": self.name, "op": self.type, "input": [t.name for t in self.inputs],
                "device": self.device, "attr": self.attrs}

    def values(self) -> tuple[Tensor, ...]:
        return self.outputs

    def get_attr(self, name: str) -> Any:
        if name not in self.attrs:
            raise ValueError(f"Operation '{self.name}' has no attr named '{name}'.")
        return self.attrs[name]

    def run(self, feed_dict: Mapping[Any, Any] | None = None, session: Any = None) -> None:
        _session_for(self.graph, session, "run operation").run(self, feed_dict)

    def __repr__(self) -> str:
        return f"<tf.Operation '{self.name}' type={self.type}>"

    def __str__(self) -> str:
        return repr(self)


class Graph:
    """A TF1 graph: ops in creation order (which is a topological order), names, scopes, collections."""

    def __init__(self) -> None:
        self._ops: list[Operation] = []
        self._by_name: dict[str, Operation] = {}
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""
        self._device_stack: list[Any] = []
        self._control_stack: list[list[Operation] | None] = []
        self._collections: dict[str, list[Any]] = {}
        self._finalized = False
        self._version = 0
        self._mutation_count = 0
        self._id_counter = 0
        self.seed: int | None = None
        self._seed_counter = 0
        self._variable_scope_store: Any = None  # owned by xlc.frontend.variables

    # --- ops -------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Bumped on every change that can alter what a run computes (for executable caches)."""
        return self._version

    @property
    def mutations(self) -> int:
        """Bumped when an existing op or tensor changes (set_shape), not when ops are added.

        Adding ops never changes what an existing subgraph computes (inputs and control
        inputs are fixed at creation), so executables stay valid until this moves.
        """
        return self._mutation_count

    def _mutated(self) -> None:
        self._mutation_count += 1
        self._version += 1

    def _next_id(self) -> int:
        self._id_counter += 1
        return self._id_counter

    def create_op(self, op_type: str, ir_op: str | None, inputs: Sequence[Tensor], attrs: Mapping[str, Any],
                  output_types: Sequence[tuple[DType, TensorShape]], name: str | None = None,
                  loc: Location | None = None) -> Operation:
        """Add an op whose output types are already known (the frontend-only ops use this)."""
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        for t in inputs:
            if t.graph is not self:
                raise ValueError(f"Tensor {t.name} must be from the same graph as the op '{name or op_type}' "
                                 "being created.")
        op = Operation(self, self._op_name(name or op_type), op_type, ir_op, inputs, attrs, output_types,
                       self._current_control_inputs(inputs), "", loc)
        op.device = self._current_device(op)
        self._ops.append(op)
        self._by_name[op.name] = op
        for t in inputs:
            t._consumers.append(op)
        self._version += 1
        return op

    def _op_name(self, name: str) -> str:
        """A fresh op name; a name ending in "/" is a scope used verbatim (TF's convention)."""
        if not name.endswith("/"):
            return self.unique_name(name)
        name = name[:-1]
        if name in self._by_name:
            raise ValueError(f"Duplicate node name in graph: '{name}'")
        self._names_in_use[name.lower()] = max(self._names_in_use.get(name.lower(), 0), 1)
        return name

    def _current_control_inputs(self, inputs: Sequence[Tensor]) -> list[Operation]:
        out: list[Operation] = []
        for frame in self._control_stack:
            if frame is None:  # control_dependencies(None) clears outer scopes
                out = []
                continue
            out.extend(op for op in frame if op not in out)
        direct = {t.op for t in inputs}  # TF drops control inputs already reached by data
        return [op for op in out if op not in direct]

    def _current_device(self, op: Operation) -> str:
        dev = ""
        for spec in self._device_stack:
            if spec is None:
                dev = ""
            elif callable(spec):
                dev = canonical_device(spec(op) or "")
            else:
                dev = merge_device(dev, spec)
        return dev

    def get_operations(self) -> list[Operation]:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        if not isinstance(name, str):
            raise TypeError(f"Operation names are strings, got {name!r}")
        if ":" in name:
            raise ValueError(f"Name '{name}' appears to refer to a Tensor, not a Operation.")
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph.") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        if not isinstance(name, str) or ":" not in name:
            raise ValueError(f"The name '{name}' looks like an (invalid) Operation name, not a Tensor. "
                             "Tensor names must be of the form \"<op_name>:<output_index>\".")
        op_name, _, index = name.rpartition(":")
        if op_name not in self._by_name:
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist. The operation, "
                           f"'{op_name}', does not exist in the graph.")
        op = self._by_name[op_name]
        try:
            return op.outputs[int(index)]
        except (ValueError, IndexError):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist. The operation, "
                           f"'{op_name}', exists but only has {len(op.outputs)} outputs.") from None

    def as_graph_element(self, obj: Any, allow_tensor: bool = True, allow_operation: bool = True) -> Any:
        """A Tensor or Operation of this graph from itself, a name, or something convertible."""
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        if isinstance(obj, (Tensor, Operation)):
            if obj.graph is not self:
                raise ValueError(f"{obj!r} is not an element of this graph.")
            return obj
        conv = _conversion_for(obj)
        if conv is not None:
            return self.as_graph_element(conv(obj, None, None))
        raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation.")

    def finalize(self) -> None:
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    # --- names -----------------------------------------------------------------------------
    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """``name`` under the current scope, suffixed ``_1``, ``_2``... if taken (case-insensitively)."""
        if self._name_stack:
            name = f"{self._name_stack}/{name}"
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = i + 1
        if i > 0:
            base = key
            while key in self._names_in_use:  # "a_1" may have been taken explicitly
                key = f"{base}_{i}"
                i += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{i - 1}"
        return name

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        """Prefix names of ops created inside; yields the scope string ending in "/" (or "")."""
        old = self._name_stack
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name[:-1]  # an absolute scope, reused as is
        else:
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield f"{new}/" if new else ""
        finally:
            self._name_stack = old

    # --- devices and control dependencies -------------------------------------------------
    @contextlib.contextmanager
    def device(self, spec: Any) -> Iterator[None]:
        self._device_stack.append(spec if spec is None or callable(spec) else canonical_device(spec))
        try:
            yield
        finally:
            self._device_stack.pop()

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: Sequence[Any] | None) -> Iterator[None]:
        if executing_eagerly():  # ops run in program order: nothing to order (TF's eager rule)
            yield
            return
        frame: list[Operation] | None = None
        if control_inputs is not None:
            frame = []
            for c in control_inputs:
                el = self.as_graph_element(c)
                frame.append(el.op if isinstance(el, Tensor) else el)
        self._control_stack.append(frame)
        try:
            yield
        finally:
            self._control_stack.pop()

    # --- collections -----------------------------------------------------------------------
    def add_to_collection(self, name: str, value: Any) -> None:
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names: Sequence[str] | str, value: Any) -> None:
        for n in [names] if isinstance(names, str) else set(names):
            self.add_to_collection(n, value)

    def get_collection(self, name: str, scope: str | None = None) -> list[Any]:
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        return [x for x in items if getattr(x, "name", "").startswith(scope)]

    def get_collection_ref(self, name: str) -> list[Any]:
        return self._collections.setdefault(name, [])

    def clear_collection(self, name: str) -> None:
        self._collections.pop(name, None)

    def get_all_collection_keys(self) -> list[str]:
        return list(self._collections)

    # --- seeds ------------------------------------------------------------------------------
    def _op_seed_counter(self) -> int:
        self._seed_counter += 1
        return self._seed_counter

    # --- default graph ---------------------------------------------------------------------
    @contextlib.contextmanager
    def as_default(self) -> Iterator[Graph]:
        """Make this the default graph; ops built inside go into it even when eager is enabled."""
        _graph_stack.append(self)
        try:
            with graph_mode():
                yield self
        finally:
            _graph_stack.remove(self) if _graph_stack[-1] is not self else _graph_stack.pop()


_default_graph = Graph()
_graph_stack: list[Graph] = []


def get_default_graph() -> Graph:
    return _graph_stack[-1] if _graph_stack else _default_graph


def reset_default_graph() -> None:
    """Replace the global default graph (not allowed inside a ``with g.as_default()``)."""
    global _default_graph
    if _graph_stack:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. If you need a cleared "
                             "graph, exit the nesting and create a new graph.")
    _default_graph = Graph()


def name_scope(name: str | None, default_name: str | None = None, values: Any = None) -> Any:
    """tf.name_scope(name): a context manager on the default graph."""
    return get_default_graph().name_scope(name if name is not None else default_name)


def device(spec: Any) -> Any:
    return get_default_graph().device(spec)


def control_dependencies(control_inputs: Sequence[Any] | None) -> Any:
    return get_default_graph().control_dependencies(control_inputs)


def add_to_collection(name: str, value: Any) -> None:
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names: Sequence[str] | str, value: Any) -> None:
    get_default_graph().add_to_collections(names, value)


def get_collection(name: str, scope: str | None = None) -> list[Any]:
    return get_default_graph().get_collection(name, scope)


def get_collection_ref(name: str) -> list[Any]:
    return get_default_graph().get_collection_ref(name)


def set_random_seed(seed: int | None) -> None:
    """Set the default graph's random seed (TF1's graph-level seed)."""
    get_default_graph().seed = None if seed is None else int(seed)


def get_seed(op_seed: int | None) -> tuple[int, int]:
    """The (seed, seed2) pair a random op records, by TF1's rules.

    graph seed and op seed set: (graph, op); only the graph seed: (graph, a per-graph
    counter); only the op seed: (DEFAULT_GRAPH_SEED, op); neither: random seeds drawn
    now, at graph-build time (so each new op differs, and each run of one op repeats the
    same numbers because the generator is counter-based).
    """
    g = get_default_graph()
    if g.seed is not None:
        seed, seed2 = g.seed, (g._op_seed_counter() if op_seed is None else int(op_seed))
    elif op_seed is not None:
        seed, seed2 = DEFAULT_GRAPH_SEED, int(op_seed)
    else:
        seed, seed2 = random.getrandbits(31), random.getrandbits(31)
    if seed == 0 and seed2 == 0:  # (0, 0) means "nondeterministic" in TF's kernels
        seed2 = _MAXINT32
    return seed, seed2


# --- sessions (the stack lives here so that Tensor.eval needs no import of session.py) ---
_session_stack: list[Any] = []


def get_default_session() -> Any:
    return _session_stack[-1] if _session_stack else None


def _session_for(graph: Graph, session: Any, what: str) -> Any:
    session = session if session is not None else get_default_session()
    if session is None:
        raise ValueError(f"Cannot {what} using the `eval()` or `run()` method: No default session is registered. "
                         "Use `with sess.as_default()` or pass an explicit session to `eval(session=sess)`")
    if session.graph is not graph:
        raise ValueError(f"Cannot use the given session to {what}: the tensor's graph is different from the "
                         "session's graph.")
    return session


# --- eager execution ---------------------------------------------------------------------------
class EagerHooks:
    """What :mod:`xlc.frontend.eager` plugs in here (it sits above this module).

    ``execute(op_type, ir_op, inputs, attrs, name)`` runs an op now and returns an object
    with ``.outputs``; ``constant(array)`` wraps a numpy value as an eager tensor.
    """

    execute: Callable[..., Any] | None = None
    constant: Callable[[np.ndarray], Tensor] | None = None


def register_eager_hooks(execute: Callable[..., Any], constant: Callable[[np.ndarray], Tensor]) -> None:
    EagerHooks.execute = execute
    EagerHooks.constant = constant


# --- converting Python values and building ops ----------------------------------------------
_conversion_registry: list[tuple[type, Callable[..., Tensor]]] = []


def register_tensor_conversion_function(base_type: type, fn: Callable[..., Tensor], priority: int = 100) -> None:
    """Teach convert_to_tensor a new type: ``fn(value, dtype, name) -> Tensor``."""
    _conversion_registry.append((base_type, fn))


def _conversion_for(value: Any) -> Callable[..., Tensor] | None:
    for base, fn in _conversion_registry:
        if isinstance(value, base):
            return fn
    return None


__all__ = [
    "Graph", "GraphKeys", "Operation", "Tensor", "add_to_collection", "add_to_collections",
    "control_dependencies", "device", "get_collection", "get_collection_ref",
    "get_default_graph", "get_default_session", "get_seed", "name_scope",
    "register_tensor_conversion_function", "reset_default_graph", "set_random_seed",
]
