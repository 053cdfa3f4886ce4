"""``@xlc.function`` (alias ``xlc.jit``): a Python function traced once per input signature into
one IR Func, compiled whole, and called as native code afterwards.

A call is keyed by its arguments (:mod:`xlc.frontend.function_spec`): tensor arguments
(numpy arrays and scalars, eager tensors) by dtype and shape, or by the
``input_signature``'s TensorSpecs, whose ``None`` dims become ``?`` dims of the IR
function (so one trace serves every batch size); Python arguments by value.  A new key
traces: placeholders stand for the tensor arguments, the Python function runs once and
builds ops, and the ops the results need, plus every variable assignment the function
made, are lowered (:func:`xlc.frontend.lowering.lower_run`) to a Func whose arguments are
the tensor arguments and the variables it reads, and whose results are its outputs and
the new values of the variables it assigns.  The Func is compiled with Session variables
updated in place.  Each trace is logged on the ``xlc.function`` logger with its reason.

Where the function runs depends on the mode and the arguments:

* **Graph mode, graph Tensors among the arguments**: the Python function is called
  directly and its ops join the current graph (so a function composes with the rest of
  a TF1 graph); nothing is compiled separately.
* **Graph mode, values as arguments**: the trace goes into the default graph, under a
  name scope named after the function, because the variables it uses are that graph's
  (gradients and optimizers then work unchanged).  Variable values live in a Session:
  each call uses the default session (``with sess.as_default()`` or ``with Session()``),
  which must be the graph's; a function that touches no variable needs none.  Variables
  the function creates while tracing are initialised in that session on first use.
  Results are numpy arrays (0-d results as numpy scalars), as ``Session.run`` returns.
* **Eager mode**: the trace goes into a fresh graph (in :func:`graph_mode`); eager
  tensors the function closes over become constants, eager variables are captured
  (:meth:`FuncGraph.capture_variable`): calls pass their arrays and give each assigned one
  its new array; results are eager tensors.  Variables cannot be created in an eager trace.

As in TF1 graphs (and unlike TF2's automatic control dependencies), a read of a variable
sees an assignment only through a data or control edge (see :mod:`xlc.frontend.lowering`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import re
import weakref
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from xlc.frontend.context import executing_eagerly, graph_mode
from xlc.frontend.eager.tensor import EagerTensor
from xlc.frontend.function_concrete import ConcreteFunction, FuncGraph, op_name, recorders, record_traces
from xlc.frontend.function_spec import (
    GraphTensorArgument,
    TensorSpec,
    call_key,
    describe_key,
    describe_spec,
    leaf_paths,
    match_signature,
    substitute,
)
from xlc.frontend.graph import Graph, Operation, Tensor, get_default_graph
from xlc.frontend.op_builder import placeholder
from xlc.frontend.lowering import ASSIGN_TYPES, lower_run

logger = logging.getLogger("xlc.function")
RETRACE_WARNING = 5  # traces of one function (in one graph) after which a warning suggests an input_signature


# --- the decorator --------------------------------------------------------------------------------
class Function:
    """A Python function compiled per input signature (what ``@xlc.function`` returns).

    ``trace_count`` counts traces; ``get_concrete_function(*args)`` traces without running;
    ``get_ir`` / ``get_llvm_ir`` / ``get_asm`` give each stage's text for the signature
    of the given arguments (arrays or TensorSpecs).
    """

    def __init__(self, python_function: Callable[..., Any], input_signature: Sequence[Any] | None = None,
                 autograph: bool = False, name: str | None = None) -> None:
        # autograph is accepted for TF's signature: Python control flow runs once, at trace time.
        self.python_function = python_function
        self.input_signature = None if input_signature is None else list(input_signature)
        self.autograph = autograph
        self.name = name or getattr(python_function, "__name__", "function")
        self._func_name = re.sub(r"[^A-Za-z0-9_]", "_", self.name).strip("_") or "function"
        self._signature = _python_signature(python_function)
        self._n_params = _positional_count(self._signature)
        self._cache: dict[Any, ConcreteFunction] = {}
        self._last_key: dict[int, tuple[Any, list[str]]] = {}  # graph id -> the latest traced key, leaf names
        self._traces_per_graph: dict[int, int] = {}
        self._pinned: list[Any] = []
        self._bound: weakref.WeakKeyDictionary[Any, Function] | None = None
        self.trace_count = 0
        self._fast_keys = self.input_signature is None
        functools.update_wrapper(self, python_function)  # type: ignore[arg-type]

    # --- calls ------------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and self._fast_keys and len(args) == self._n_params:
            # the common call, arrays or eager tensors passed positionally: its key without the general walk
            arrays = []
            for a in args:
                t = type(a)
                if t is np.ndarray:
                    arrays.append(a)
                elif t is EagerTensor:
                    arrays.append(a._value)
                else:
                    break
            else:
                key = (None if executing_eagerly() else id(get_default_graph()),
                       (tuple, tuple([(a.dtype, a.shape) for a in arrays])), None)
                concrete = self._cache.get(key)
                if concrete is not None and (key[0] is None or concrete.graph is get_default_graph()):
                    return concrete(arrays)
        try:
            concrete, arrays = self._lookup(args, kwargs)
        except GraphTensorArgument:  # building a graph: the function's ops join it
            return self.python_function(*args, **kwargs)
        return concrete(arrays)

    def get_concrete_function(self, *args: Any, **kwargs: Any) -> ConcreteFunction:
        """The trace for these arguments (TensorSpecs stand for tensors of that dtype and shape)."""
        if self.input_signature is not None:  # the key depends on no shape: any conforming value will do
            args = _specs_to_arrays(args or tuple(self.input_signature))
        return self._lookup(args, kwargs)[0]

    def get_ir(self, *args: Any, optimized: bool = True, **kwargs: Any) -> str:
        """The IR of the signature of ``args``: after the default pipeline, or as traced."""
        return self.get_concrete_function(*args, **kwargs).get_ir(optimized)

    def get_llvm_ir(self, *args: Any, **kwargs: Any) -> str:
        return self.get_concrete_function(*args, **kwargs).get_llvm_ir()

    def get_asm(self, *args: Any, **kwargs: Any) -> str:
        return self.get_concrete_function(*args, **kwargs).get_asm()

    def experimental_get_tracing_count(self) -> int:
        """TF's name for :attr:`trace_count`."""
        return self.trace_count

    @property
    def concrete_functions(self) -> list[ConcreteFunction]:
        return list(self._cache.values())

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        """A decorated method: one Function per instance, ``self`` bound (and keyed by identity)."""
        if instance is None:
            return self
        if self._bound is None:
            self._bound = weakref.WeakKeyDictionary()
        try:
            bound = self._bound.get(instance)
        except TypeError:  # not weak-referenceable: a fresh Function (traces are not shared)
            bound = None
        if bound is None:
            method = functools.partial(self.python_function, instance)  # its signature lacks `self`
            bound = Function(method, self.input_signature, self.autograph, self.name)
            with contextlib.suppress(TypeError):
                self._bound[instance] = bound
        return bound

    def __repr__(self) -> str:
        return f"<xlc.function {self.name} ({self.trace_count} traces)>"

    # --- keys and traces ----------------------------------------------------------------------------
    def _lookup(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[ConcreteFunction, list[np.ndarray]]:
        if kwargs or len(args) != self._n_params:
            args, kwargs = self._bind(args, kwargs)
        graph = None if executing_eagerly() else get_default_graph()
        gid = None if graph is None else id(graph)
        arrays: list[np.ndarray] = []
        specs: list[TensorSpec] | None = None
        if self.input_signature is not None:
            if kwargs:
                raise TypeError(f"xlc.function '{self.name}' has an input_signature: pass its arguments "
                                "positionally")
            arrays, specs = match_signature(args, self.input_signature, f"xlc.function '{self.name}'")
            # unknown-rank specs take their rank from the call
            key: Any = (gid, tuple(a.ndim for a, s in zip(arrays, specs) if s.shape.ndims is None))
        else:
            pinned: list[Any] = []
            key = (gid, call_key(args, arrays, pinned), call_key(kwargs, arrays, pinned) if kwargs else None)
            if pinned:
                self._pinned.extend(pinned)
        concrete = self._cache.get(key)
        if concrete is None:
            concrete = self._trace(key, graph, args, kwargs, arrays, specs)
        elif graph is not None and concrete.graph is not graph:  # an id reused by a new graph
            concrete = self._trace(key, graph, args, kwargs, arrays, specs)
        return concrete, arrays

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Canonical arguments: positional where possible, defaults filled in (one key per call form)."""
        if self._signature is None:
            return args, kwargs
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.args, bound.kwargs

    def _leaf_names(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
        params = list(self._signature.parameters) if self._signature is not None else []
        names: list[str] = []
        for i, a in enumerate(args):
            leaf_paths(a, params[i] if i < len(params) and i < self._n_params else f"args_{i}", names)
        for k, v in kwargs.items():
            leaf_paths(v, k, names)
        return names

    def _trace(self, key: Any, graph: Graph | None, args: tuple[Any, ...], kwargs: dict[str, Any],
               arrays: list[np.ndarray], specs: list[TensorSpec] | None) -> ConcreteFunction:
        names = self._leaf_names(args, kwargs)
        if specs is None:
            specs = [a if isinstance(a, TensorSpec) else TensorSpec(a.shape, a.dtype, n)
                     for a, n in zip(arrays, names)]
        else:
            specs = [s if s.shape.ndims is not None else TensorSpec((None,) * a.ndim, s.dtype, s.name)
                     for s, a in zip(specs, arrays)]
        names = [s.name or n for s, n in zip(specs, names)]
        description = ", ".join(describe_spec(s) for s in specs) if self.input_signature is not None else \
            ", ".join(describe_key(k) for k in _arg_keys(key))
        self._log_trace(key, graph, names, description)
        self.trace_count += 1
        func_name = self._func_name if self.trace_count == 1 else f"{self._func_name}_{self.trace_count - 1}"
        if graph is None:
            g: Graph = FuncGraph(func_name)
            scope: Any = contextlib.nullcontext()
            with graph_mode(), g.as_default():
                concrete = self._build(g, scope, func_name, args, kwargs, specs, names, description)
        else:
            concrete = self._build(graph, graph.name_scope(self._func_name), func_name, args, kwargs, specs, names,
                                   description)
        self._cache[key] = concrete
        for traces in recorders:
            traces.append(concrete)
        return concrete

    def _build(self, g: Graph, scope: Any, func_name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
               specs: list[TensorSpec], names: list[str], description: str) -> ConcreteFunction:
        start = g._id_counter
        with scope:
            placeholders = [placeholder(s.dtype, s.shape, name=op_name(n)) for s, n in zip(specs, names)]
            leaves = iter(placeholders)
            call_args = substitute(args, leaves)
            call_kwargs = substitute(kwargs, leaves)
            out = self.python_function(*call_args, **call_kwargs)
        new_ops = [op for op in g.get_operations() if op._id > start]
        created = [op._variable for op in new_ops if op.type == "VariableV2" and hasattr(op, "_variable")]
        if created and isinstance(g, FuncGraph):
            raise ValueError(f"xlc.function '{self.name}' created variable '{created[0].op.name}' while tracing "
                             "under eager execution; create variables outside the function (eager variables "
                             "it uses are captured)")
        initializers = {v.initializer for v in created}
        # every assignment the function made runs, returned or not (a training step returns the loss)
        effects: list[Tensor | Operation] = [op for op in new_ops if op.type in ASSIGN_TYPES
                                              and op not in initializers]
        fetches: list[Tensor | Operation] = []
        rebuild = _flatten_outputs(out, fetches, self.name)
        tensors = [f for f in fetches if isinstance(f, Tensor)]
        targets = [f for f in fetches if isinstance(f, Operation)] + effects
        lowered = lower_run(g, list(dict.fromkeys(tensors)) + list(dict.fromkeys(targets)), placeholders,
                            name=func_name)
        for arg, n in zip(lowered.func.args, names):  # the Python parameter's name, not the scoped op's
            arg.name_hint = re.sub(r"[^A-Za-z0-9_.]", "_", n)
        slot = {t: i for i, t in enumerate(lowered.fetches)}
        out_slots = [slot[f] if isinstance(f, Tensor) else None for f in fetches]
        return ConcreteFunction(self.name, g, lowered, placeholders, rebuild, out_slots, created, description)

    def _log_trace(self, key: Any, graph: Graph | None, names: list[str], description: str) -> None:
        gid = id(graph)
        previous = self._last_key.get(gid)
        self._last_key[gid] = (key, names)
        n = self._traces_per_graph[gid] = self._traces_per_graph.get(gid, 0) + 1
        if previous is None:
            logger.info("tracing %s: first call, input signature (%s)", self.name, description)
        else:
            changed = _changes(previous[0], key, previous[1])
            logger.info("retracing %s: new input signature (%s)%s", self.name, description,
                        f"; {changed}" if changed else "")
        if n == RETRACE_WARNING:
            logger.warning("%s has been traced %d times; if tensor shapes vary (a batch size), give it an "
                           "input_signature with None dims (xlc.TensorSpec([None, ...], dtype)) to trace once",
                           self.name, n)


def _arg_keys(key: Any) -> list[Any]:
    """The per-argument keys of a call key (positional ones, then keyword ones)."""
    _, args_key, kwargs_key = key
    out = list(args_key[1])
    if kwargs_key is not None:
        out += [v for _, v in kwargs_key[1]]
    return out


def _changes(old: Any, new: Any, names: list[str]) -> str:
    """Which arguments differ between two call keys, e.g. ``x: float32[128,784] -> float32[64,784]``."""
    if len(old) != 3 or len(new) != 3:
        return ""
    a, b = _arg_keys(old), _arg_keys(new)
    if len(a) != len(b):
        return f"{len(a)} -> {len(b)} arguments"
    parts = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            parts.append(f"argument {i}: {describe_key(x)} -> {describe_key(y)}")
    return ", ".join(parts)


def _flatten_outputs(out: Any, fetches: list[Tensor | Operation], name: str) -> Callable[[Iterator[Any]], Any]:
    """Append the Tensors and Operations of ``out`` to ``fetches``; return a function rebuilding ``out``'s
    structure from the results (None for an Operation; Python values are returned as they are)."""
    if isinstance(out, (Tensor, Operation)):
        if isinstance(out, Tensor) and getattr(out, "is_eager", False):
            value = out
            return lambda it: value
        fetches.append(out)
        return next
    if isinstance(out, dict):
        keys = list(out)
        parts = [_flatten_outputs(out[k], fetches, name) for k in keys]
        cls = type(out)
        return lambda it: cls(zip(keys, [p(it) for p in parts]))
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        parts = [_flatten_outputs(v, fetches, name) for v in out]
        ntype = type(out)
        return lambda it: ntype(*[p(it) for p in parts])
    if isinstance(out, (list, tuple)):
        parts = [_flatten_outputs(v, fetches, name) for v in out]
        seq = type(out)
        return lambda it: seq([p(it) for p in parts])
    return lambda it: out


def _python_signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _positional_count(sig: inspect.Signature | None) -> int:
    """How many positional parameters a call must fill for its args to be canonical as given (-1: always bind)."""
    if sig is None:
        return -1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = list(sig.parameters.values())
    if any(p.kind not in kinds for p in params):
        return -1
    return len(params)


def _specs_to_arrays(x: Any) -> Any:
    """TensorSpecs in ``x`` replaced by zero arrays of their dtype and shape (unknown dims: 1; unknown
    rank: a scalar)."""
    if isinstance(x, TensorSpec):
        shape = () if x.shape.ndims is None else tuple(1 if d is None else d for d in x.shape.as_list())
        return np.zeros(shape, x.dtype.np_dtype)
    if isinstance(x, dict):
        return {k: _specs_to_arrays(v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[_specs_to_arrays(v) for v in x])
    if isinstance(x, (list, tuple)):
        return type(x)(_specs_to_arrays(v) for v in x)
    return x


def function(func: Callable[..., Any] | None = None, input_signature: Sequence[Any] | None = None,
             autograph: bool = False, experimental_compile: Any = None, jit_compile: Any = None,
             reduce_retracing: bool = False, name: str | None = None) -> Any:
    """Compile ``func`` per input signature: ``@xlc.function``, ``@xlc.function(input_signature=[...])``.

    ``experimental_compile`` / ``jit_compile`` are accepted for TF's signature: xlc always
    compiles the whole function.
    """
    if func is None:
        return lambda f: Function(f, input_signature, autograph, name)
    return Function(func, input_signature, autograph, name)


jit = function

__all__ = ["ConcreteFunction", "FuncGraph", "Function", "TensorSpec", "function", "jit", "record_traces"]
