"""The pieces of an ``@xlc.function`` trace (:mod:`xlc.frontend.function`): the graph an eager
trace builds (:class:`FuncGraph`, which captures eager variables), one compiled trace
(:class:`ConcreteFunction`: the IR, the executable, where variable values come from and go),
and the recording of traces for ``xlc dump``.

Variable values: a trace in graph mode reads and writes the default Session's store, in
place (as ``Session.run`` does); an eager trace reads its captured EagerVariables' arrays
and gives each assigned variable a new array (EagerVariable's invariant: an array, once
read into an eager tensor, never changes).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Callable, Iterator

import numpy as np

from xlc.backends.cpu import lower as lower_to_llvm
from xlc.backends.cpu.target import emit_assembly, optimized_ir
from xlc.errors import FailedPreconditionError
from xlc.ir.core import Func
from xlc.ir.interpreter import interpret
from xlc.ir.printer import print_func
from xlc.runtime import compile_func
from xlc.frontend.eager.tensor import EagerTensor
from xlc.frontend.graph import Graph, Operation, Tensor, get_default_session
from xlc.frontend.lowering import LoweredRun


class FuncGraph(Graph):
    """The graph an eager-mode trace builds; eager variables used in it are captured here.

    ``capture_variable(var)`` gives the graph-side handle of an eager variable: the output
    of a ``VariableV2`` op of this graph, the same for every use, recorded in ``captures``
    so that calls pass ``var``'s array and store the new one it is assigned.  (EagerVariable
    asks for it when it is read or assigned in graph mode under a FuncGraph.)
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.captures: dict[Operation, Any] = {}  # VariableV2 op -> the eager variable
        self._capture_ops: dict[int, Operation] = {}

    def capture_variable(self, var: Any) -> Tensor:
        op = self._capture_ops.get(id(var))
        if op is None:
            shape = var.shape
            op = self.create_op("VariableV2", None, [], {"dtype": var.dtype, "shape": shape},
                                [(var.dtype, shape)], op_name(getattr(var, "name", "Variable")))
            self._capture_ops[id(var)] = op
            self.captures[op] = var
        return op.outputs[0]


def op_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/]", "_", name.rsplit(":", 1)[0]).strip("/") or "x"


def _result(x: np.ndarray) -> Any:
    """Graph mode returns what Session.run returns: arrays, numpy scalars for 0-d values."""
    return x[()] if x.ndim == 0 else x


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
        self._single = out_slots[0] if rebuild is next and len(out_slots) == 1 else None
        self._created = created  # graph Variables the trace created: initialised on first use
        self._var_reads = lowered.var_reads
        self._var_writes = lowered.var_writes
        self._n_out = len(lowered.fetches)
        self._copy_slots = lowered.aliased_results
        self._captures = graph.captures if isinstance(graph, FuncGraph) else None
        if self._captures is not None:  # eager: results are eager tensors of the func's result dtypes
            dtypes = [v.dtype for v in lowered.func.outputs]
            self._wrap_at: Callable[[list[np.ndarray], int], Any] = lambda outs, i: EagerTensor(outs[i], dtypes[i])
        else:
            self._wrap_at = lambda outs, i: _result(outs[i])
        reads = {op: len(placeholders) + i for i, op in enumerate(lowered.var_reads)}
        # Session variables are updated in place; eager ones are not (EagerTensors read earlier share
        # the variable's array, and keep their values), so an eager variable gets a new array per call.
        if self._captures is not None:
            reads = {}
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
        wrap = self._wrap_at
        if self._single is not None:  # the function returns one tensor
            return wrap(outs, self._single)
        return self._rebuild(iter([None if s is None else wrap(outs, s) for s in self._out_slots]))

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
            captures[op]._array = outs[n + i]  # replaced, never written: EagerVariable's invariant
        return self._finish(outs)


def _variable_array(var: Any) -> np.ndarray:
    """An eager variable's value (EagerVariable keeps it in ``_array``)."""
    return var._array


# --- recording traces for `xlc dump` --------------------------------------------------------------
recorders: list[list[ConcreteFunction]] = []  # open record_traces() blocks


@contextlib.contextmanager
def record_traces() -> Iterator[list[ConcreteFunction]]:
    """Collect every ConcreteFunction traced inside the block (``xlc dump`` prints them)."""
    traces: list[ConcreteFunction] = []
    recorders.append(traces)
    try:
        yield traces
    finally:
        recorders.remove(traces)


__all__ = ["ConcreteFunction", "FuncGraph", "op_name", "record_traces", "recorders"]
