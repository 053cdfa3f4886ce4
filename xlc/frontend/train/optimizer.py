"""``tf.train.Optimizer``: the base class of the TF1 optimizers.

An optimizer builds, with ordinary graph ops, the update of every variable from its
gradient, plus slot variables (per-variable state such as Adam's moments) and non-slot
variables (shared state such as Adam's ``beta1_power``).  Updates are ``Variable.assign``
ops grouped into one op, so a ``Session.run`` of the train op lowers forward pass,
gradients and every update into one IR Func: one native call per step.

Ordering inside one step follows the lowering's rule (a read sees the start-of-run
value unless it depends on an assign of that variable): every update reads the
variables' start values, and the shared state is advanced by ``_finish`` after
(control-dependent on) all the updates, as in TF.

Subclasses implement ``_create_slots``, ``_prepare`` and ``_apply_dense`` (and may
override ``_finish``); see :mod:`xlc.frontend.train.optimizers`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from xlc.ir.types import DType, as_dtype
from xlc.frontend import math_ops
from xlc.frontend.array_ops import zeros_like
from xlc.frontend.graph import GraphKeys, Operation, Tensor, get_default_graph
from xlc.frontend.op_builder import convert_to_tensor, group
from xlc.frontend.context import executing_eagerly
from xlc.frontend.eager.tape import GradientTape
from xlc.frontend.gradients import gradients
from xlc.frontend.variables import Variable, trainable_variables


def _var_key(var: Variable) -> str:
    return var.op.name


class Optimizer:
    """Base class: ``minimize = compute_gradients + apply_gradients``; slots by (variable, slot name)."""

    # TF's gate_gradients values, accepted for signature compatibility (a run is one
    # compiled function, so there is no gating to do)
    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking: bool, name: str) -> None:
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots: dict[str, dict[str, Variable]] = {}  # slot name -> variable op name -> slot variable
        self._non_slots: dict[tuple[str, Any], Variable] = {}  # (name, graph) -> variable
        self._hyper_cache: dict[tuple[str, DType], Tensor] = {}

    def get_name(self) -> str:
        return self._name

    # --- the TF1 API ------------------------------------------------------------------------
    def minimize(self, loss: Any, global_step: Any = None, var_list: Sequence[Variable] | None = None,
                 gate_gradients: int = GATE_OP, aggregation_method: Any = None,
                 colocate_gradients_with_ops: bool = False, name: str | None = None,
                 grad_loss: Any = None) -> Operation:
        """An op that computes the gradients of ``loss`` and applies them (and increments ``global_step``)."""
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, grad_loss=grad_loss)
        if executing_eagerly() and var_list is None:
            grads_and_vars = [(g, v) for g, v in grads_and_vars if g is not None]
        if not any(g is not None for g, _ in grads_and_vars):
            raise ValueError(f"No gradients provided for any variable, check your graph for ops that do not "
                             f"support gradients, between variables {[v.name for _, v in grads_and_vars]} "
                             f"and loss {loss!r}.")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss: Any, var_list: Sequence[Variable] | None = None,
                          gate_gradients: int = GATE_OP, aggregation_method: Any = None,
                          colocate_gradients_with_ops: bool = False, grad_loss: Any = None
                          ) -> list[tuple[Tensor | None, Variable]]:
        """``[(gradient of loss w.r.t. v, v)]`` for ``var_list`` (default: the trainable variables).

        A gradient is None where the loss does not depend on the variable.  Executing eagerly,
        ``loss`` is a function of no arguments, run under a GradientTape (var_list default:
        the trainable variables it reads).
        """
        if executing_eagerly():
            return _eager_gradients(loss, var_list, grad_loss)
        loss = convert_to_tensor(loss)
        if not loss.dtype.is_floating:
            raise ValueError(f"Invalid type {loss.dtype.name} for {loss.name}, expected a floating type: "
                             "the loss must be a floating-point tensor")
        if var_list is None:
            var_list = trainable_variables()
        else:
            var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"Argument is not a tf.Variable: {v!r}")
        grad_ys = None if grad_loss is None else [grad_loss]
        grads = gradients([loss], [v.value() for v in var_list], grad_ys=grad_ys)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars: Sequence[tuple[Any, Variable]], global_step: Any = None,
                        name: str | None = None) -> Operation:
        """An op applying each gradient to its variable; then ``global_step += 1`` if given.

        Pairs whose gradient is None are skipped; ValueError if every gradient is None.
        The op is added to the TRAIN_OP collection.
        """
        pairs = list(grads_and_vars)
        if not pairs:
            raise ValueError("No variables provided.")
        converted: list[tuple[Tensor, Variable]] = []
        seen: set[str] = set()
        for g, v in pairs:
            if not isinstance(v, Variable):
                raise TypeError(f"Argument is not a tf.Variable: {v!r}")
            if _var_key(v) in seen:
                raise ValueError(f"Variable {v.name} appears more than once in grads_and_vars")
            seen.add(_var_key(v))
            if g is None:
                continue
            g = convert_to_tensor(g)
            if g.dtype is not v.dtype:
                raise TypeError(f"Gradient for variable {v.name} has dtype {g.dtype.name}, the variable "
                                f"{v.dtype.name}")
            if not g.shape.is_compatible_with(v.shape):
                raise ValueError(f"Gradient for variable {v.name} has shape {g.shape}, the variable {v.shape}")
            converted.append((g, v))
        if not converted:
            raise ValueError(f"No gradients provided for any variable: {[str(v.name) for _, v in pairs]}.")
        var_list = [v for _, v in converted]
        graph = get_default_graph()
        self._hyper_cache: dict[tuple[str, DType], Tensor] = {}  # hyperparameter tensors of this apply
        with graph.control_dependencies(None):
            self._create_slots(var_list)
        with graph.name_scope(name or self._name) as scope:
            self._prepare()
            updates: list[Any] = []
            for g, v in converted:
                with graph.name_scope("update_" + v.op.name):
                    updates.append(self._apply_dense(g, v))
            if global_step is None:
                apply_op = self._finish(updates, scope[:-1] + "/")
            else:
                with graph.control_dependencies([self._finish(updates, "update")]):
                    apply_op = _as_op(_assign_add(global_step, scope[:-1] + "/"))
        if executing_eagerly():  # the updates are done; there is no op to return (TF returns None)
            return None  # type: ignore[return-value]
        graph.get_collection_ref(GraphKeys.TRAIN_OP).append(apply_op)
        return apply_op

    # --- slots ------------------------------------------------------------------------------
    def get_slot(self, var: Variable, name: str) -> Variable | None:
        """The slot variable ``name`` of ``var`` (e.g. Adam's "m"), or None."""
        return self._slots.get(name, {}).get(_var_key(var))

    def get_slot_names(self) -> list[str]:
        return sorted(self._slots)

    def variables(self) -> list[Variable]:
        """Every slot and non-slot variable this optimizer created, in creation order."""
        made = [v for slot in self._slots.values() for v in slot.values()] + list(self._non_slots.values())
        return sorted(made, key=lambda v: v.op._id)

    def _slot(self, var: Variable, slot_name: str, initial: Any) -> Variable:
        """Get or make ``var``'s slot: a non-trainable variable named ``<var>/<optimizer name>``.

        ``initial`` is a number (the slot is filled with it, in the variable's dtype and shape).
        Slots ignore the enclosing name scope (their names follow the variable, as TF's).
        """
        slots = self._slots.setdefault(slot_name, {})
        key = _var_key(var)
        if key not in slots:
            graph = var.graph
            with graph.name_scope(None), graph.control_dependencies(None), graph.device(var.device or None):
                if var.shape.is_fully_defined():
                    value: Any = np.full(var.shape.as_list(), initial, dtype=var.dtype.np_dtype)
                else:
                    value = zeros_like(var.initialized_value()) + convert_to_tensor(initial, var.dtype)
                slots[key] = Variable(value, trainable=False, name=f"{key}/{self._name}", dtype=var.dtype)
        return slots[key]

    def _zeros_slot(self, var: Variable, slot_name: str) -> Variable:
        return self._slot(var, slot_name, 0)

    def _non_slot(self, name: str, initial: Any, dtype: DType) -> Variable:
        """A scalar variable shared by all updates (e.g. ``beta1_power``), made once per graph."""
        graph = get_default_graph()
        key = (name, graph)
        if key not in self._non_slots:
            with graph.name_scope(None), graph.control_dependencies(None):
                self._non_slots[key] = Variable(np.asarray(initial, dtype=dtype.np_dtype), trainable=False,
                                                name=name, dtype=dtype)
        return self._non_slots[key]

    def _get_non_slot(self, name: str) -> Variable:
        return self._non_slots[(name, get_default_graph())]

    # --- hooks for subclasses ---------------------------------------------------------------
    def _create_slots(self, var_list: list[Variable]) -> None:
        """Make the slot and non-slot variables the updates need (outside any control dependency)."""

    def _prepare(self) -> None:
        """Called once per apply_gradients, before the updates are built."""

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement _apply_dense")

    def _finish(self, update_ops: list[Any], name_scope: str) -> Operation:
        """Group the updates into one op named ``name_scope`` (subclasses add shared-state updates)."""
        return group(*update_ops, name=name_scope)

    # --- helpers ----------------------------------------------------------------------------
    def _hyper(self, name: str, value: Any, dtype: DType) -> Tensor:
        """A hyperparameter (number, tensor, placeholder or callable) as a tensor of ``dtype``.

        Tensors of another dtype are cast (as TF does for a float32 learning rate and a
        float64 variable).  Made once per (name, dtype) and apply_gradients.
        """
        key = (name, dtype)
        cache = self._hyper_cache
        if key not in cache:
            if callable(value) and not isinstance(value, (Tensor, Variable)):
                value = value()
            if isinstance(value, (Tensor, Variable)):
                t = convert_to_tensor(value)
                if not t.dtype.is_floating:
                    raise TypeError(f"Hyperparameter {name} of {self._name} must be a floating tensor, "
                                    f"got {t.dtype.name}")
                cache[key] = t if t.dtype is dtype else math_ops.cast(t, dtype)
            else:
                cache[key] = convert_to_tensor(np.asarray(value, dtype=as_dtype(dtype).np_dtype), name=name)
        return cache[key]


def _as_op(x: Any) -> Operation:
    return x.op if isinstance(x, Tensor) and not x.is_eager else x


def _eager_gradients(loss: Any, var_list: Sequence[Variable] | None, grad_loss: Any
                     ) -> list[tuple[Tensor | None, Variable]]:
    if not callable(loss):
        raise RuntimeError("`loss` passed to Optimizer.compute_gradients should be a function when eager "
                           "execution is enabled.")
    with GradientTape() as tape:
        if var_list is not None:
            tape.watch(list(var_list))
        value = loss()
    variables = list(var_list) if var_list is not None else tape.watched_variables()
    if not variables:
        raise ValueError("No variables to optimize.")
    grads = tape.gradient(value, variables, output_gradients=None if grad_loss is None else [grad_loss])
    return list(zip(grads, variables))


def _assign_add(global_step: Any, name: str) -> Any:
    """``global_step += 1`` (a Variable, or the ``VariableV2`` output tensor of one)."""
    step = global_step
    if isinstance(step, Tensor) and getattr(step.op, "_variable", None) is not None:
        step = step.op._variable
    if not isinstance(step, Variable):
        raise TypeError(f"global_step must be a Variable, got {global_step!r}")
    return step.assign_add(np.asarray(1, dtype=step.dtype.np_dtype), name=name)


__all__ = ["Optimizer"]
