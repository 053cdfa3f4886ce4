"""``tf.Session``: runs fetches of a graph by compiling the subgraph they need, once per signature.

A signature is (fetches, the feed_dict's keys in order).  Its first run resolves
names, flattens the fetch structure, lowers the pruned subgraph to one IR Func
(:mod:`xlc.frontend.lowering`), compiles it and keeps a :class:`_Plan`; later runs of
the signature convert the feeds, call the executable and rebuild the fetch structure,
nothing else.  Plans are rebuilt when an existing op or tensor changes
(``Graph.mutations``); adding ops keeps them, because a new op cannot change what an
existing subgraph computes (TF1 code often builds ops between runs).

Variable values live here, as numpy arrays keyed by their ``VariableV2`` op; each run
passes the values it reads and stores the values it assigns.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from xlc.errors import FailedPreconditionError, InvalidArgumentError
from xlc.ir.interpreter import interpret
from xlc.ir.types import TensorType
from xlc.runtime import compile_func
from xlc.frontend.config import ConfigProto, full_device_name
from xlc.frontend.graph import Graph, Operation, Tensor, _graph_stack, _session_stack, get_default_graph
from xlc.frontend.lowering import HOST_OPS, LoweredRun, lower_run


def _scalar_or_array(x: Any) -> Any:
    """TF returns 0-d results as numpy scalars (bytes for strings)."""
    return x[()] if getattr(x, "ndim", 1) == 0 else x


class _Feed:
    """How one fed tensor's value is converted and checked."""

    __slots__ = ("tensor", "np_dtype", "shape", "rank")

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor
        self.np_dtype = tensor.dtype.np_dtype
        self.rank = tensor.shape.ndims
        self.shape = None if self.rank is None else tensor.shape.to_ir_shape()

    def convert(self, value: Any) -> np.ndarray:
        if isinstance(value, (Tensor, Operation)):
            raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed values include "
                            "Python scalars, strings, lists, numpy ndarrays, or TensorHandles.")
        try:
            arr = np.asarray(value, dtype=self.np_dtype)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(None, self.tensor.op, f"Cannot feed value {value!r} to Tensor "
                                                             f"'{self.tensor.name}' of dtype "
                                                             f"{self.tensor.dtype.name}: {e}") from None
        shape = self.shape
        if shape is not None and arr.shape != shape:
            if arr.ndim != len(shape) or any(d is not None and d != a for d, a in zip(shape, arr.shape)):
                dims = ", ".join("?" if d is None else str(d) for d in shape)
                shown = f"({dims},)" if len(shape) == 1 else f"({dims})"
                raise InvalidArgumentError(None, self.tensor.op, f"Cannot feed value of shape {arr.shape} for "
                                                                 f"Tensor '{self.tensor.name}', which has shape "
                                                                 f"'{shown}'")
        return arr


class _Plan:
    """Everything one signature needs per run, precomputed."""

    def __init__(self, session: Session, version: int, feeds: list[_Feed], leaves: list[Tensor | Operation],
                 rebuild: Callable[[Iterator[Any]], Any]) -> None:
        self.version = version
        self.feeds = feeds
        self.leaves = leaves
        self.rebuild = rebuild
        self.dynamic_rank = any(f.rank is None for f in feeds)
        self.compiled: dict[tuple[int, ...], _Compiled] = {}
        self.single = self.compiled_for(session, None) if not self.dynamic_rank else None

    def compiled_for(self, session: Session, arrays: Sequence[np.ndarray] | None) -> _Compiled:
        ranks = () if arrays is None else tuple(a.ndim for f, a in zip(self.feeds, arrays) if f.rank is None)
        c = self.compiled.get(ranks)
        if c is None:
            types = {} if arrays is None else {f.tensor: TensorType((None,) * a.ndim, f.tensor.dtype)
                                               for f, a in zip(self.feeds, arrays) if f.rank is None}
            c = self.compiled[ranks] = _Compiled(session, self, types)
        return c


class _Compiled:
    """One lowered and compiled Func of a plan, and where its results go."""

    def __init__(self, session: Session, plan: _Plan, feed_types: Mapping[Tensor, TensorType]) -> None:
        graph = session.graph
        lowered: LoweredRun = lower_run(graph, plan.leaves, [f.tensor for f in plan.feeds], feed_types)
        session._log_placement([f.tensor.op for f in plan.feeds if f.tensor.op.type == "Placeholder"] + lowered.ops)
        self.lowered = lowered
        if lowered.uses_strings:
            func = lowered.func
            self.call: Callable[[list[np.ndarray]], list[np.ndarray]] = lambda xs: interpret(func, xs)
        else:
            # a variable both read and assigned is updated in place: its array is donated
            reads = {op: len(lowered.feeds) + i for i, op in enumerate(lowered.var_reads)}
            aliases = {len(lowered.fetches) + j: reads[op] for j, op in enumerate(lowered.var_writes) if op in reads}
            self.call = compile_func(lowered.func, aliases=aliases).run
        self.var_reads = lowered.var_reads
        self.var_writes = lowered.var_writes
        self.n_fetch = len(lowered.fetches)
        self.copy_slots = lowered.aliased_results
        # where each leaf's result comes from: an index into the results, or None for an Operation
        slot = {t: i for i, t in enumerate(lowered.fetches)}
        self.leaf_slots = [slot[x] if isinstance(x, Tensor) else None for x in plan.leaves]


class Session:
    """A TF1 session over ``graph`` (default: the default graph).

    Use it as a context manager (it becomes the default session, its graph the default
    graph) or call ``close()``.
    """

    def __init__(self, target: str = "", graph: Graph | None = None, config: ConfigProto | None = None) -> None:
        self._graph = graph if graph is not None else get_default_graph()
        self._config = config if config is not None else ConfigProto()
        self._values: dict[Operation, np.ndarray] = {}
        self._plans: dict[Any, _Plan] = {}
        self._plans_version = self._graph._mutation_count
        self._logged: set[Operation] = set()
        self._closed = False
        self._context: list[Any] = []

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def graph_def(self) -> Any:
        return self._graph

    @property
    def sess_str(self) -> str:
        return ""

    # --- running ----------------------------------------------------------------------------------
    def run(self, fetches: Any, feed_dict: Mapping[Any, Any] | None = None, options: Any = None,
            run_metadata: Any = None) -> Any:
        """Evaluate ``fetches`` (a tensor, op, variable, name, or a nested list/tuple/dict of them)."""
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        try:
            key = (fetches, tuple(feed_dict) if feed_dict else ())
            plan = self._plans.get(key)
        except TypeError:  # a list or dict of fetches: key on its structure
            key = (_structure_key(fetches), tuple(feed_dict) if feed_dict else ())
            try:
                plan = self._plans.get(key)
            except TypeError:  # an invalid fetch: let the plan builder say which
                plan = self._make_plan(fetches, feed_dict)
        if plan is None or plan.version != self._graph._mutation_count:
            if self._plans_version != self._graph._mutation_count:
                self._plans.clear()  # every plan is stale: do not keep their executables alive
                self._plans_version = self._graph._mutation_count
            plan = self._plans[key] = self._make_plan(fetches, feed_dict)
        if feed_dict:
            arrays = [f.convert(v) for f, v in zip(plan.feeds, feed_dict.values())]
        else:
            arrays = []
        c = plan.single if plan.single is not None else plan.compiled_for(self, arrays)
        if c.var_reads:
            values = self._values
            try:
                for op in c.var_reads:
                    arrays.append(values[op])
            except KeyError:
                raise FailedPreconditionError(None, op, f"Attempting to use uninitialized value {op.name}\n\t "
                                                        f"[[{op.name}/read]]") from None
        outs = c.call(arrays)
        if c.var_writes:
            n = c.n_fetch
            for i, op in enumerate(c.var_writes):
                self._values[op] = outs[n + i]
        for i in c.copy_slots:  # never hand out an array the session keeps or the user fed
            outs[i] = np.array(outs[i], copy=True)
        return plan.rebuild(iter([None if s is None else _scalar_or_array(outs[s]) for s in c.leaf_slots]))

    def _make_plan(self, fetches: Any, feed_dict: Mapping[Any, Any] | None) -> _Plan:
        g = self._graph
        leaves: list[Tensor | Operation] = []
        rebuild = _flatten(fetches, g, leaves)
        feeds: list[_Feed] = []
        for k in feed_dict or ():
            try:
                el = g.as_graph_element(k)
            except (KeyError, ValueError) as e:
                raise type(e)(f"Cannot interpret feed_dict key as Tensor: {e}") from None
            except TypeError:
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: Can not convert a "
                                f"{type(k).__name__} into a Tensor.") from None
            if not isinstance(el, Tensor):
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: {el!r} is an Operation")
            feeds.append(_Feed(el))
        return _Plan(self, g._mutation_count, feeds, leaves, rebuild)

    def make_callable(self, fetches: Any, feed_list: Sequence[Any] | None = None) -> Callable[..., Any]:
        """A function running ``fetches`` with positional feed values for ``feed_list``."""
        feed_list = list(feed_list or ())

        def call(*values: Any) -> Any:
            return self.run(fetches, dict(zip(feed_list, values)))

        return call

    def _log_placement(self, ops: Sequence[Operation]) -> None:
        if not self._config.log_device_placement:
            return
        for op in ops:
            if op not in self._logged:
                self._logged.add(op)
                print(f"{op.name}: ({op.type}): {full_device_name(op.device)}", file=sys.stderr)

    def _load_variable(self, var: Any, value: Any) -> None:
        arr = np.array(value, dtype=var.dtype.np_dtype)
        if not var.shape.is_compatible_with(arr.shape):
            raise ValueError(f"Cannot load a value of shape {arr.shape} into variable '{var.op.name}' of shape "
                             f"{var.shape}")
        self._values[var.op] = arr

    # --- variable values (checkpoints read and write them here) -------------------------------------
    def variable_values(self, variables: Sequence[Any]) -> list[np.ndarray]:
        """Copies of the current values of ``variables``; FailedPreconditionError names an uninitialized one."""
        out = []
        for v in variables:
            if v.op not in self._values:
                raise FailedPreconditionError(None, v.op, f"Attempting to use uninitialized value {v.op.name}")
            out.append(np.array(self._values[v.op], copy=True))
        return out

    def set_variable_values(self, pairs: Sequence[tuple[Any, np.ndarray]]) -> None:
        """Set several variables at once: all values are checked before any is stored (all or nothing).

        A value must have the variable's exact dtype and a shape compatible with its
        static shape; otherwise InvalidArgumentError names the variable and both.
        """
        checked = []
        for v, value in pairs:
            arr = np.asarray(value)
            if arr.dtype != v.dtype.np_dtype:
                raise InvalidArgumentError(None, v.op, f"Cannot assign a value of dtype {arr.dtype} to variable "
                                                       f"'{v.op.name}' of dtype {v.dtype.name}")
            if not v.shape.is_compatible_with(arr.shape):
                raise InvalidArgumentError(None, v.op, f"Cannot assign a value of shape {list(arr.shape)} to "
                                                       f"variable '{v.op.name}' of shape {v.shape}")
            checked.append((v.op, np.array(arr, copy=True, order="C")))
        for op, arr in checked:
            self._values[op] = arr

    # --- lifetime and defaults ------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        self._values.clear()
        self._plans.clear()

    @contextlib.contextmanager
    def as_default(self) -> Iterator[Session]:
        _session_stack.append(self)
        try:
            yield self
        finally:
            _session_stack.remove(self)

    def __enter__(self) -> Session:
        _session_stack.append(self)
        _graph_stack.append(self._graph)
        return self

    def __exit__(self, *exc: Any) -> None:
        _graph_stack.remove(self._graph) if _graph_stack[-1] is not self._graph else _graph_stack.pop()
        _session_stack.remove(self)
        self.close()

    def list_devices(self) -> list[str]:
        return [full_device_name("")]


class InteractiveSession(Session):
    """A Session that makes itself the default session until closed (for shells and notebooks)."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: ConfigProto | None = None) -> None:
        super().__init__(target, graph, config)
        _session_stack.append(self)

    def close(self) -> None:
        if self in _session_stack:
            _session_stack.remove(self)
        super().close()


# --- fetch structures -------------------------------------------------------------------------------
def _structure_key(fetches: Any) -> Any:
    """A hashable key equal for equal fetch structures (leaves compare by identity or name)."""
    if isinstance(fetches, dict):
        return (type(fetches), tuple((k, _structure_key(v)) for k, v in fetches.items()))
    if isinstance(fetches, (list, tuple)):
        return (type(fetches), tuple(_structure_key(v) for v in fetches))
    return fetches


def _flatten(fetches: Any, graph: Graph, leaves: list[Tensor | Operation]) -> Callable[[Iterator[Any]], Any]:
    """Append the leaves of ``fetches`` to ``leaves``; return a function that rebuilds the structure
    from an iterator over the leaves' results."""
    if fetches is None:
        raise TypeError(f"Fetch argument None has invalid type {type(None)}")
    if isinstance(fetches, dict):
        keys = list(fetches)
        parts = [_flatten(fetches[k], graph, leaves) for k in keys]
        cls = type(fetches)
        return lambda it: cls(zip(keys, [p(it) for p in parts]))
    if isinstance(fetches, tuple) and hasattr(fetches, "_fields"):  # namedtuple
        parts = [_flatten(v, graph, leaves) for v in fetches]
        ntype = type(fetches)
        return lambda it: ntype(*[p(it) for p in parts])
    if isinstance(fetches, (list, tuple)):
        parts = [_flatten(v, graph, leaves) for v in fetches]
        seq = type(fetches)
        return lambda it: seq([p(it) for p in parts])
    try:
        el = graph.as_graph_element(fetches)
    except TypeError:
        raise TypeError(f"Fetch argument {fetches!r} has invalid type {type(fetches)}, must be a string or "
                        "Tensor. (Can not convert a " + type(fetches).__name__ + " into a Tensor or "
                        "Operation.)") from None
    except ValueError as e:
        raise ValueError(f"Fetch argument {fetches!r} cannot be interpreted as a Tensor. ({e})") from None
    host = HOST_OPS.get(el.op.type if isinstance(el, Tensor) else el.type)
    if host is not None:  # computed here from its inputs' values, which the compiled run returns
        op = el.op if isinstance(el, Tensor) else el
        parts = [_flatten(t, graph, leaves) for t in op.inputs]
        index = el.value_index if isinstance(el, Tensor) else None
        return lambda it: _run_host(host, op, [p(it) for p in parts], index)
    leaves.append(el)
    return next


def _run_host(fn: Callable[[Operation, list[Any]], list[Any]], op: Operation, values: list[Any],
              index: int | None) -> Any:
    outs = fn(op, values)
    return None if index is None else outs[index]


__all__ = ["InteractiveSession", "Session"]
