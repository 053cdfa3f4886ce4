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
the new values of the variables it assigns.  The Func is compiled with the variables
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
  (:meth:`FuncGraph.capture_variable`) and read and written in place; results are eager
  tensors.

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

from xlc.backends.cpu import lower as lower_to_llvm
from xlc.backends.cpu.target import emit_assembly, optimized_ir
from xlc.errors import FailedPreconditionError
from xlc.ir.core import Func
from xlc.ir.interpreter import interpret
from xlc.ir.printer import print_func
from xlc.runtime import compile_func
from xlc.frontend.context import executing_eagerly, graph_mode
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
from xlc.frontend.graph import (
    EagerHooks,
    Graph,
    Operation,
    Tensor,
    get_default_graph,
    get_default_session,
    placeholder,
)
from xlc.frontend.lowering import ASSIGN_TYPES, LoweredRun, lower_run

logger = logging.getLogger("xlc.function")
RETRACE_WARNING = 5  # traces of one function (in one graph) after which a warning suggests an input_signature


class FuncGraph(Graph):
    """The graph an eager-mode trace builds; eager variables used in it are captured here.

    ``capture_variable(var)`` gives the graph-side handle of an eager variable: a
    ``VariableV2`` op of this graph, the same for every use, recorded in ``captures`` so
    that calls read and write ``var``'s value (``var.numpy()`` / ``var._set_value``).
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.captures: dict[Operation, Any] = {}  # VariableV2 op -> the eager variable
        self._capture_ops: dict[int, Operation] = {}

    def capture_variable(self, var: Any) -> Operation:
        op = self._capture_ops.get(id(var))
        if op is None:
            shape = var.shape
            op = self.create_op("VariableV2", None, [], {"dtype": var.dtype, "shape": shape},
                                [(var.dtype, shape)], _op_name(getattr(var, "name", "Variable")))
            self._capture_ops[id(var)] = op
            self.captures[op] = var
        return op


def _op_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/]", "_", name.rsplit(":", 1)[0]).strip("/") or "x"


def _result(x: np.ndarray) -> Any:
    """Graph mode returns what Session.run returns: arrays, numpy scalars for 0-d values."""
    return x[()] if x.ndim == 0 else x


def _eager_result(x: np.ndarray) -> Any:
    return EagerHooks.constant(x) if EagerHooks.constant is not None else x


class ConcreteFunction:
    """One trace of a Function: its IR Func, its executable, and how calls map onto both.

    ``func`` is the IR the trace lowered to (frontend IR); ``optimized_func`` the IR after
    the default pipeline, as compiled.  Calling it runs the compiled code on the arrays of
    the tensor arguments (in :func:`~xlc.frontend.function_spec.call_key`'s leaf order).
    """

    def __init__(self, name: str, graph: Graph, lowered: LoweredRun, placeholders: list[Tensor],
                 rebuild: Callable[[Iterator[Any]], Any], out_slots: list[int | None], created: list[Any],
                 description: str) -> None:
        self.name = name
        self.graph = graph
        self.lowered = lowered
        self.placeholders = placeholders
        self.description = description
        self._rebuild = rebuild
        self._out_slots = out_slots
        self._created = created  # graph Variables the trace created: initialised on first use
        self._var_reads = lowered.var_reads
        self._var_writes = lowered.var_writes
        self._n_out = len(lowered.fetches)
        self._copy_slots = lowered.aliased_results
        self._captures = graph.captures if isinstance(graph, FuncGraph) else None
        self._wrap = _eager_result if self._captures is not None else _result
        reads = {op: len(placeholders) + i for i, op in enumerate(lowered.var_reads)}
        self.aliases = {self._n_out + j: reads[op] for j, op in enumerate(lowered.var_writes) if op in reads}
        if lowered.uses_strings:
            self.executable = None
            func = lowered.func
            self._call: Callable[[list[np.ndarray]], list[np.ndarray]] = lambda xs: interpret(func, xs)
        else:
            self.executable = compile_func(lowered.func, aliases=self.aliases)
            self._call = self.executable.run

    @property
    def func(self) -> Func:
        return self.lowered.func

    @property
    def optimized_func(self) -> Func:
        return self.executable.func if self.executable is not None else self.lowered.func

    @property
    def variables(self) -> list[Any]:
        """The variables the function reads or assigns (graph Variables, or captured eager ones)."""
        ops = list(dict.fromkeys(self._var_reads + self._var_writes))
        if self._captures is not None:
            return [self._captures[op] for op in ops]
        return [getattr(op, "_variable", op) for op in ops]

    # --- text of each stage ------------------------------------------------------------------------
    def get_ir(self, optimized: bool = True) -> str:
        """The IR text: after the default pipeline (what is compiled), or as traced."""
        return print_func(self.optimized_func if optimized else self.func)

    def get_llvm_ir(self) -> str:
        """The optimised LLVM IR of the compiled function (variables updated in place)."""
        return optimized_ir(lower_to_llvm(self.optimized_func, aliases=self.aliases)[0])

    def get_asm(self) -> str:
        """The x86-64 assembly of the compiled function."""
        return emit_assembly(lower_to_llvm(self.optimized_func, aliases=self.aliases)[0])

    # --- calls ------------------------------------------------------------------------------------
    def __call__(self, arrays: list[np.ndarray]) -> Any:
        if self._var_reads or self._var_writes:
            if self._captures is not None:
                return self._call_eager_vars(arrays)
            return self._call_session_vars(arrays)
        outs = self._call(arrays)
        return self._finish(outs)

    def _finish(self, outs: list[np.ndarray]) -> Any:
        for i in self._copy_slots:  # never hand out an array a variable keeps or the caller passed
            outs[i] = np.array(outs[i], copy=True)
        wrap = self._wrap
        return self._rebuild(iter([None if s is None else wrap(outs[s]) for s in self._out_slots]))

    def _call_session_vars(self, arrays: list[np.ndarray]) -> Any:
        session = get_default_session()
        if session is None or session.graph is not self.graph:
            why = "no default session is registered" if session is None else "the default session runs another graph"
            raise ValueError(f"Cannot call xlc.function '{self.name}': {why}. Its variables live in a Session: "
                             "call it inside `with sess.as_default():` (or `with tf.Session() as sess:`) for the "
                             "session that initialised them.")
        values = session._values  # the session's variable store: VariableV2 op -> array (updated in place)
        try:
            reads = [values[op] for op in self._var_reads]
        except KeyError:
            reads = self._initialize(session)
        outs = self._call(arrays + reads)
        n = self._n_out
        for i, op in enumerate(self._var_writes):
            values[op] = outs[n + i]
        return self._finish(outs)

    def _initialize(self, session: Any) -> list[np.ndarray]:
        """Run the initializers of the variables this trace created that ``session`` lacks; then
        the reads, or FailedPreconditionError naming a variable that is still uninitialised."""
        values = session._values
        pending = [v.initializer for v in self._created if v.op not in values]
        if pending:
            session.run(pending)
        for op in self._var_reads:
            if op not in values:
                raise FailedPreconditionError(None, op, f"Attempting to use uninitialized value {op.name} (read "
                                                        f"by xlc.function '{self.name}'); run "
                                                        "tf.global_variables_initializer() first")
        return [values[op] for op in self._var_reads]

    def _call_eager_vars(self, arrays: list[np.ndarray]) -> Any:
        captures = self._captures
        assert captures is not None
        reads = [_variable_array(captures[op]) for op in self._var_reads]
        outs = self._call(arrays + reads)
        n = self._n_out
        for i, op in enumerate(self._var_writes):
            var = captures[op]
            if _variable_array(var) is not outs[n + i]:  # updated in place unless it could not be
                var._set_value(outs[n + i])
        return self._finish(outs)


def _variable_array(var: Any) -> np.ndarray:
    """An eager variable's array, passed to compiled code (which may update it in place)."""
    arr = getattr(var, "_value", None)
    return arr if isinstance(arr, np.ndarray) else np.asarray(var.numpy())


# --- recording traces for `xlc dump` --------------------------------------------------------------
_recorders: list[list[ConcreteFunction]] = []


@contextlib.contextmanager
def record_traces() -> Iterator[list[ConcreteFunction]]:
    """Collect every ConcreteFunction traced inside the block (``xlc dump`` prints them)."""
    traces: list[ConcreteFunction] = []
    _recorders.append(traces)
    try:
        yield traces
    finally:
        _recorders.remove(traces)
