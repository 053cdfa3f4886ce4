"""Variables: ``tf.Variable``, ``tf.get_variable`` with ``tf.variable_scope``, and their initializers.

A Variable is a ``VariableV2`` op (its output tensor ``v:0`` reads the variable's value)
plus ``v/Assign``, its initializer.  Values live in the Session, not in the graph;
lowering turns each read into a function argument and each assignment into a result
(see :mod:`xlc.frontend.lowering` for the read/assign ordering rule).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

from xlc.ir.types import DType, as_dtype, float32
from xlc.frontend import initializers as init_ops
from xlc.frontend.context import executing_eagerly
from xlc.frontend.graph import (
    Graph,
    GraphKeys,
    Operation,
    Tensor,
    _session_for,
    _user_location,
    get_default_graph,
    register_tensor_conversion_function,
)
from xlc.frontend.op_builder import apply_op, convert_to_tensor, group
from xlc.frontend.tensor_shape import TensorShape, as_shape

AUTO_REUSE = "AUTO_REUSE"


class Variable:
    """A TF1 variable.  Operators and tensor functions see its current value.

    Made while executing eagerly, a Variable is the eager variable class registered by
    :mod:`xlc.frontend.eager.variables` (it holds its value; assignments happen at once).
    """

    _eager_class: type | None = None  # set by xlc.frontend.eager.variables

    def __new__(cls, *args: Any, **kwargs: Any) -> Variable:
        if cls is Variable and Variable._eager_class is not None and executing_eagerly():
            return object.__new__(Variable._eager_class)
        return object.__new__(cls)

    def __init__(self, initial_value: Any = None, trainable: bool = True, collections: Sequence[str] | None = None,
                 validate_shape: bool = True, caching_device: Any = None, name: str | None = None,
                 variable_def: Any = None, dtype: Any = None, expected_shape: Any = None,
                 import_scope: Any = None, constraint: Any = None, use_resource: Any = None) -> None:
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        g = get_default_graph()
        dt = None if dtype is None else as_dtype(dtype)
        with g.name_scope(name or "Variable") as scope:
            value = initial_value
            if callable(initial_value):
                with g.name_scope("Initializer"):
                    value = initial_value()
            with g.name_scope(scope):  # the initial value lives under "v/initial_value"
                self._initial_value = convert_to_tensor(value, dtype=dt, name="initial_value")
            shape = self._initial_value.shape if validate_shape else TensorShape(None)
            self._dtype: DType = self._initial_value.dtype
            self._op = g.create_op("VariableV2", None, [], {"dtype": self._dtype, "shape": shape},
                                   [(self._dtype, shape)], scope, _user_location())
            self._variable = self._op.outputs[0]
            with g.name_scope(scope):
                self._initializer_op = _assign_op("Assign", self._variable, self._initial_value, "Assign").op
        self._trainable = trainable
        self._op._variable = self  # lowering and sessions map the op back to its Variable
        collections = list(collections) if collections is not None else [GraphKeys.GLOBAL_VARIABLES]
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        g.add_to_collections(collections, self)

    # --- identity -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._variable.name

    @property
    def op(self) -> Operation:
        return self._op

    @property
    def graph(self) -> Graph:
        return self._op.graph

    @property
    def dtype(self) -> DType:
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        return self._variable.shape

    def get_shape(self) -> TensorShape:
        return self._variable.shape

    @property
    def device(self) -> str:
        return self._op.device

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def initializer(self) -> Operation:
        return self._initializer_op

    @property
    def initial_value(self) -> Tensor:
        return self._initial_value

    # --- values -----------------------------------------------------------------------------------
    def value(self) -> Tensor:
        """The tensor reading this variable (its ``v:0``)."""
        return self._variable

    def read_value(self) -> Tensor:
        """A new op reading the variable: unlike value(), it obeys the enclosing control dependencies."""
        return apply_op("Identity", "identity", [self._variable], name="read").outputs[0]

    def initialized_value(self) -> Tensor:
        """The value to initialize another variable from: this variable's initial value tensor."""
        return self._initial_value

    def _as_graph_element(self) -> Tensor:
        return self._variable

    def eval(self, session: Any = None) -> Any:
        return self._variable.eval(session=session)

    def assign(self, value: Any, use_locking: bool = False, name: str | None = None, read_value: bool = True) -> Any:
        """An op setting the variable; its output is the new value."""
        t = _assign_op("Assign", self._variable, value, name or "Assign")
        return t if read_value else t.op

    def assign_add(self, delta: Any, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True) -> Any:
        t = _assign_op("AssignAdd", self._variable, delta, name or "AssignAdd")
        return t if read_value else t.op

    def assign_sub(self, delta: Any, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True) -> Any:
        t = _assign_op("AssignSub", self._variable, delta, name or "AssignSub")
        return t if read_value else t.op

    def load(self, value: Any, session: Any = None) -> None:
        """Set the value from numpy, through ``session`` (default: the default session)."""
        from_session = session if session is not None else _default_session(self)
        from_session._load_variable(self, value)

    def __repr__(self) -> str:
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self._dtype.name}_ref>"

    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> bool:
        return self is other

    def __bool__(self) -> bool:
        return self._variable.__bool__()


def _default_session(v: Variable) -> Any:
    return _session_for(v.graph, None, "load a variable")


def _assign_op(op_type: str, ref: Tensor, value: Any, name: str) -> Tensor:
    """Assign/AssignAdd/AssignSub of ``ref``'s variable; checks dtype and shape at build time."""
    value = convert_to_tensor(value, dtype=ref.dtype)
    if not ref.shape.is_compatible_with(value.shape):
        raise ValueError(f"Dimensions must be equal: cannot {op_type.lower()} a value of shape {value.shape} to "
                         f"variable '{ref.op.name}' of shape {ref.shape}")
    shape = ref.shape if ref.shape.is_fully_defined() or op_type != "Assign" else ref.shape.merge_with(value.shape)
    op = ref.graph.create_op(op_type, None, [ref, value], {}, [(ref.dtype, shape)], name, _user_location())
    return op.outputs[0]


def _forwarder(method: str) -> Callable[..., Any]:
    def forward(self: Variable, *args: Any) -> Any:
        return getattr(self._variable, method)(*args)

    forward.__name__ = method
    return forward


# Tensor's operators are installed by the op modules; a Variable forwards to its value tensor
# at call time, so the order in which modules are imported does not matter.
for _m in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
           "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__",
           "__rmatmul__", "__neg__", "__abs__", "__invert__", "__getitem__", "__lt__", "__le__", "__gt__",
           "__ge__", "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__div__", "__rdiv__"):
    setattr(Variable, _m, _forwarder(_m))

Variable.__array_priority__ = 100  # type: ignore[attr-defined]


def _convert_variable(v: Variable, dtype: Any, name: str | None) -> Tensor:
    return v.value()


register_tensor_conversion_function(Variable, _convert_variable)


# --- collections and initializers ------------------------------------------------------------------
def global_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def trainable_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def variables_initializer(var_list: Sequence[Variable], name: str = "init") -> Operation:
    """One op running the initializers of ``var_list``."""
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Operation:
    return variables_initializer(global_variables(), name="init")


def local_variables_initializer() -> Operation:
    return variables_initializer(local_variables(), name="init")


initialize_all_variables = global_variables_initializer
initialize_variables = variables_initializer


# --- variable scopes and get_variable ------------------------------------------------------------
class VariableScope:
    """A scope for get_variable: its name prefix, reuse mode, default initializer and dtype."""

    def __init__(self, reuse: Any, name: str = "", initializer: Any = None, dtype: Any = float32) -> None:
        self.name = name
        self.reuse = reuse
        self.initializer = initializer
        self.dtype = as_dtype(dtype)
        self.original_name_scope = ""

    def reuse_variables(self) -> None:
        self.reuse = True


class _ScopeStore:
    """Per-graph: the variable-scope stack, the variables get_variable made, scope name counts."""

    def __init__(self) -> None:
        self.stack: list[VariableScope] = [VariableScope(False)]
        self.vars: dict[str, Variable] = {}
        self.counts: dict[str, int] = {}


def _store(g: Graph) -> _ScopeStore:
    if g._variable_scope_store is None:
        g._variable_scope_store = _ScopeStore()
    return g._variable_scope_store


def get_variable_scope() -> VariableScope:
    return _store(get_default_graph()).stack[-1]


@contextlib.contextmanager
def variable_scope(name_or_scope: Any, default_name: str | None = None, values: Any = None, initializer: Any = None,
                   regularizer: Any = None, caching_device: Any = None, partitioner: Any = None,
                   custom_getter: Any = None, reuse: Any = None, dtype: Any = None,
                   use_resource: Any = None, constraint: Any = None, auxiliary_name_scope: bool = True
                   ) -> Iterator[VariableScope]:
    """Prefix get_variable names; ``reuse=True`` (inherited by inner scopes) or AUTO_REUSE shares them.

    Also opens a name scope of the same name for the ops built inside (uniquified, so
    reentering a scope to reuse variables puts new ops under "scope_1/").
    """
    g = get_default_graph()
    store = _store(g)
    parent = store.stack[-1]
    if isinstance(name_or_scope, VariableScope):
        full = name_or_scope.name
        base = full.rsplit("/", 1)[-1]
    elif name_or_scope is not None:
        base = str(name_or_scope)
        full = f"{parent.name}/{base}" if parent.name else base
    else:
        if default_name is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        base = default_name
        prefix = f"{parent.name}/{default_name}" if parent.name else default_name
        n = store.counts.get(prefix, 0)
        store.counts[prefix] = n + 1
        full = prefix if n == 0 else f"{prefix}_{n}"
        base = full.rsplit("/", 1)[-1]
    if reuse is None or reuse is False:
        new_reuse = parent.reuse if parent.reuse else (reuse or False)
    else:
        new_reuse = reuse
    if isinstance(name_or_scope, VariableScope) and reuse is None:
        new_reuse = name_or_scope.reuse or parent.reuse
    scope = VariableScope(new_reuse, full,
                          initializer if initializer is not None else (
                              name_or_scope.initializer if isinstance(name_or_scope, VariableScope)
                              else parent.initializer),
                          dtype if dtype is not None else parent.dtype)
    store.stack.append(scope)
    try:
        if auxiliary_name_scope:
            with g.name_scope(base) as ns:
                scope.original_name_scope = ns
                yield scope
        else:
            yield scope
    finally:
        store.stack.pop()


def get_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None, regularizer: Any = None,
                 trainable: bool = True, collections: Sequence[str] | None = None, caching_device: Any = None,
                 partitioner: Any = None, validate_shape: bool = True, use_resource: Any = None,
                 custom_getter: Any = None, constraint: Any = None) -> Variable:
    """The variable ``scope/name``: created on first use, shared under a reusing scope.

    ValueError if it exists and the scope does not reuse, or if the scope reuses (True)
    and it does not exist, or if a shared variable's shape or dtype differs.
    """
    g = get_default_graph()
    store = _store(g)
    scope = store.stack[-1]
    full = f"{scope.name}/{name}" if scope.name else name
    if full in store.vars:
        if scope.reuse is False:
            raise ValueError(f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
                             "reuse=tf.AUTO_REUSE in VarScope?")
        v = store.vars[full]
        if shape is not None and not v.shape.is_compatible_with(as_shape(shape)):
            raise ValueError(f"Trying to share variable {full}, but specified shape {as_shape(shape)} and found "
                             f"shape {v.shape}.")
        if dtype is not None and as_dtype(dtype) is not v.dtype:
            raise ValueError(f"Trying to share variable {full}, but specified dtype {as_dtype(dtype).name} and "
                             f"found dtype {v.dtype.name}.")
        return v
    if scope.reuse is True:
        raise ValueError(f"Variable {full} does not exist, or was not created with tf.get_variable(). Did you mean "
                         "to set reuse=tf.AUTO_REUSE in VarScope?")
    dt = as_dtype(dtype) if dtype is not None else scope.dtype
    init = initializer if initializer is not None else scope.initializer
    if init is None:
        init = init_ops.GlorotUniform() if dt.is_floating else init_ops.Zeros()
    if isinstance(init, type):
        init = init()
    if callable(init) and not isinstance(init, (Tensor, Variable)):
        if shape is None:
            raise ValueError(f"Shape of a new variable ({full}) must be fully defined, but instead was None.")
        init_shape = as_shape(shape)

        def initial_value() -> Tensor:
            return init(init_shape, dt)
    else:
        initial_value = init  # a value or tensor; its shape is the variable's
        dtype_for = dt if dtype is not None else None
        initial_value = convert_to_tensor(init, dtype=dtype_for) if not isinstance(init, Variable) else init.value()
        if shape is not None and not initial_value.shape.is_compatible_with(as_shape(shape)):
            raise ValueError(f"The initializer passed to get_variable({full}) has shape {initial_value.shape}, "
                             f"not the requested {as_shape(shape)}.")
    with g.name_scope(None):  # get_variable names ignore name scopes: the var scope decides
        v = Variable(initial_value, trainable=trainable, collections=collections, validate_shape=validate_shape,
                     name=full + "/", dtype=dt if callable(initial_value) else None)
    store.vars[full] = v
    return v


__all__ = [
    "AUTO_REUSE", "Variable", "VariableScope", "all_variables", "get_variable", "get_variable_scope",
    "global_variables", "global_variables_initializer", "initialize_all_variables", "initialize_variables",
    "local_variables", "local_variables_initializer", "trainable_variables", "variable_scope",
    "variables_initializer",
]
