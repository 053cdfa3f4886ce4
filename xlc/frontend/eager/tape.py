"""``GradientTape``: recording eager ops and differentiating them in reverse.

A tape records an op when one of its inputs is a tensor the tape watches (a watched
source, or an output of an op already recorded); the op's floating outputs then become
watched in turn.  ``gradient(target, sources)`` walks the records backwards and applies
each op's registered gradient rule (the same rules ``xlc.gradients`` and the IR autodiff
pass use) through :class:`EagerGradContext`, whose handles are EagerTensors and whose
``emit`` runs ops at once.  Those ops go through the normal eager dispatch, so a tape
recording around the gradient computation (an outer tape) records them: gradients of
gradients work.

Variables: reading a variable under a tape gives a fresh tensor that the tape watches
when the variable is trainable (``watch_accessed_variables``) or explicitly watched;
the gradient for a variable is the sum over its reads.

Custom gradients (:mod:`xlc.frontend.eager.custom_gradient`) are records whose backward
function is the user's.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import get_opdef
from xlc.ir.types import DType, TensorType
from xlc.ops.grad_api import NoGradientError, as_array
from xlc.frontend.op_builder import convert_to_tensor
from xlc.frontend.eager.execute import ACTIVE_TAPES, run_op
from xlc.frontend.eager.tensor import EagerTensor

# A record: (ir_op or None, attrs, inputs, outputs, backward or None).  backward(out_grads) ->
# in_grads replaces the op's rule (custom gradients).
Record = tuple[Any, Any, Sequence[EagerTensor], Sequence[EagerTensor], Any]


class EagerGradContext:
    """The GradContext of tapes: handles are EagerTensors, ops run now."""

    def emit(self, name: str, *operands: EagerTensor, **attrs: Any) -> EagerTensor:
        return run_op(name, operands, attrs)[0]

    def emit_multi(self, name: str, *operands: EagerTensor, **attrs: Any) -> list[EagerTensor]:
        return list(run_op(name, operands, attrs))

    def constant(self, value: Any, dtype: DType) -> EagerTensor:
        return EagerTensor(as_array(value, dtype), dtype)

    def type(self, h: EagerTensor) -> TensorType:
        return TensorType(h._value.shape, h._dtype)


_CTX = EagerGradContext()


class _GradOp:
    """A record seen through the GradOp protocol."""

    __slots__ = ("name", "attrs", "inputs", "outputs")

    def __init__(self, ir_op: str, attrs: Any, inputs: Sequence[EagerTensor], outputs: Sequence[EagerTensor]) -> None:
        self.name = ir_op
        self.attrs = get_opdef(ir_op).complete_attrs(attrs)
        self.inputs = inputs
        self.outputs = outputs


class GradientTape:
    """Records operations for automatic differentiation (``tf.GradientTape``).

    ``persistent=True`` allows several ``gradient`` calls; otherwise the tape's records
    are dropped after the first.  Tapes nest: an outer tape records the gradient
    computation of an inner one (higher-order derivatives).
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self._persistent = persistent
        self._watch_accessed_variables = watch_accessed_variables
        self._watched: dict[int, EagerTensor] = {}  # id -> tensor (kept alive so ids stay unique)
        self._records: list[Record] = []
        self._var_reads: dict[int, list[EagerTensor]] = {}  # id(variable) -> its read tensors
        self._variables: dict[int, Any] = {}  # id(variable) -> variable, in first-watch order
        self._watched_vars: set[int] = set()
        self._recording = False
        self._used = False

    # --- recording ------------------------------------------------------------------------
    def __enter__(self) -> GradientTape:
        self._push()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._pop()

    def _push(self) -> None:
        if self._recording:
            raise ValueError("Tape is already recording.")
        self._recording = True
        ACTIVE_TAPES.append(self)

    def _pop(self) -> None:
        self._recording = False
        if self in ACTIVE_TAPES:
            ACTIVE_TAPES.remove(self)

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Ops in this block are not recorded by this tape."""
        if not self._recording:
            raise ValueError("Cannot stop recording a tape that is not recording.")
        self._pop()
        try:
            yield
        finally:
            self._push()

    def reset(self) -> None:
        """Forget everything recorded (the tape keeps recording if it was)."""
        self._watched.clear()
        self._records.clear()
        self._var_reads.clear()
        self._variables.clear()
        self._watched_vars.clear()

    def watch(self, tensor: Any) -> None:
        """Differentiate with respect to ``tensor`` (a tensor, a variable, or a nested list of them)."""
        for t in _flatten(tensor):
            if hasattr(t, "_eager_read"):  # an eager variable
                self._watched_vars.add(id(t))
                self._variables.setdefault(id(t), t)
            else:
                t = convert_to_tensor(t)
                if not isinstance(t, EagerTensor):
                    raise ValueError(f"GradientTape.watch needs eager tensors or variables, got {t!r}")
                if t._dtype.is_floating:
                    self._watched[id(t)] = t

    def watched_variables(self) -> list[Any]:
        """The variables this tape watched (explicitly or by reading them), in first-access order."""
        return list(self._variables.values())

    def record(self, ir_op: Any, attrs: Any, inputs: Sequence[EagerTensor], outputs: Sequence[EagerTensor],
               backward: Callable[[list[Any]], list[Any]] | None = None) -> None:
        """Record an op that ran, if it reads a watched tensor (called by eager dispatch)."""
        watched = self._watched
        for t in inputs:
            if id(t) in watched:
                break
        else:
            return
        self._records.append((ir_op, attrs, inputs, outputs, backward))
        for t in outputs:
            if t._dtype.is_floating:
                watched[id(t)] = t

    def record_variable_read(self, variable: Any, tensor: EagerTensor) -> None:
        """``tensor`` is a read of ``variable``: watch it if the variable is watched or trainable."""
        vid = id(variable)
        if vid in self._watched_vars or (self._watch_accessed_variables and variable.trainable):
            self._variables.setdefault(vid, variable)
            self._var_reads.setdefault(vid, []).append(tensor)
            if tensor._dtype.is_floating:
                self._watched[id(tensor)] = tensor

    # --- differentiation --------------------------------------------------------------------
    def gradient(self, target: Any, sources: Any, output_gradients: Any = None) -> Any:
        """d(sum of target) / d(each source), in the structure of ``sources``; None where unconnected.

        ``output_gradients``: the gradients flowing into each target (default: ones).
        """
        if self._used and not self._persistent:
            raise RuntimeError("GradientTape.gradient can only be called once on non-persistent tapes.")
        was_recording = self._recording
        if was_recording:  # do not record our own backward pass on ourselves
            self._pop()
        try:
            flat_sources = _flatten(sources)
            source_tensors = [self._source_tensors(s) for s in flat_sources]
            targets = [convert_to_tensor(t) for t in _flatten(target)]
            seeds = [None] * len(targets) if output_gradients is None else _flatten(output_gradients)
            if len(seeds) != len(targets):
                raise ValueError(f"{len(seeds)} output_gradients for {len(targets)} targets")
            grads = backprop(self._records, targets, seeds, [t for ts in source_tensors for t in ts])
            flat = [_total([d for t in ts for d in grads.get(id(t), ())]) for ts in source_tensors]
        finally:
            if was_recording:
                self._push()
        self._used = True
        if not self._persistent:
            self.reset()
        return _restructure(sources, flat)

    def _source_tensors(self, s: Any) -> list[EagerTensor]:
        if hasattr(s, "_eager_read"):
            return list(self._var_reads.get(id(s), []))
        t = convert_to_tensor(s)
        if not isinstance(t, EagerTensor):
            raise ValueError(f"GradientTape.gradient needs eager tensors or variables as sources, got {s!r}")
        return [t]


def backprop(records: Sequence[Record], targets: Sequence[EagerTensor], seeds: Sequence[Any],
             sources: Sequence[EagerTensor]) -> dict[int, list[EagerTensor]]:
    """Gradients reaching each tensor (by id), from ``targets`` back through ``records``.

    Only records on a path from some source are visited.
    """
    reach: set[int] = {id(s) for s in sources}
    on_path: list[Record] = []
    for rec in records:
        if any(id(t) in reach for t in rec[2]):
            on_path.append(rec)
            reach.update(id(t) for t in rec[3])
    grads: dict[int, list[EagerTensor]] = {}
    for y, seed in zip(targets, seeds):
        if not y._dtype.is_floating:
            continue
        if seed is None:
            seed = EagerTensor(np.ones(y._value.shape, y._value.dtype), y._dtype)
        else:
            seed = convert_to_tensor(seed, dtype=y.dtype)
        grads.setdefault(id(y), []).append(seed)
    for ir_op, attrs, inputs, outputs, backward in reversed(on_path):
        out_grads = [_total(grads.get(id(t))) if t._dtype.is_floating else None for t in outputs]
        if all(d is None for d in out_grads):
            continue
        if backward is not None:
            in_grads = backward(out_grads)
        else:
            rule = get_opdef(ir_op).grad
            if rule is None:
                raise NoGradientError(f"No gradient defined for operation '{ir_op}'")
            in_grads = rule(_CTX, _GradOp(ir_op, attrs, inputs, outputs), out_grads)
        if len(in_grads) != len(inputs):
            raise ShapeError(f"the gradient of '{ir_op}' gave {len(in_grads)} gradients for {len(inputs)} inputs")
        for t, d in zip(inputs, in_grads):
            if d is not None and t._dtype.is_floating:
                grads.setdefault(id(t), []).append(convert_to_tensor(d))
    return grads


def _total(parts: list[EagerTensor] | None) -> EagerTensor | None:
    """The sum of the gradients reaching one tensor (summed once, then kept as one)."""
    if not parts:
        return None
    total = parts[0]
    for p in parts[1:]:
        total = run_op("add", [total, p])[0]
    if len(parts) > 1:
        parts[:] = [total]
    return total


def _flatten(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flatten(item)]
    if isinstance(x, dict):
        return [y for k in sorted(x) for y in _flatten(x[k])]
    return [x]


def _restructure(structure: Any, flat: list[Any]) -> Any:
    it = iter(flat)

    def build(s: Any) -> Any:
        if isinstance(s, list):
            return [build(v) for v in s]
        if isinstance(s, tuple):
            values = [build(v) for v in s]
            return type(s)(*values) if hasattr(s, "_fields") else tuple(values)
        if isinstance(s, dict):
            return {k: build(s[k]) for k in sorted(s)}
        return next(it)

    return build(structure)


@contextlib.contextmanager
def stop_recording() -> Iterator[None]:
    """No tape records the ops run in this block."""
    saved = list(ACTIVE_TAPES)
    ACTIVE_TAPES.clear()
    try:
        yield
    finally:
        ACTIVE_TAPES[:] = saved + [t for t in ACTIVE_TAPES if t not in saved]


def record_variable_read(variable: Any, tensor: EagerTensor) -> None:
    for tape in ACTIVE_TAPES:
        tape.record_variable_read(variable, tensor)


__all__ = ["EagerGradContext", "GradientTape", "backprop", "record_variable_read", "stop_recording"]
