"""The six TF1 optimizers, each rule written with ordinary graph ops.

Each ``_apply_dense`` returns the op updating one variable (and its slots); the rules
are those of TF1's kernels (``ApplyGradientDescent``, ``ApplyMomentum``, ``ApplyAdagrad``,
``ApplyAdam``, ``ApplyRMSProp``/``ApplyCenteredRMSProp``, ``ApplyFtrl``), quoted in each
docstring.  Slot and variable names follow TF's (``w/Adam``, ``w/Adam_1``,
``beta1_power``), so checkpoints name the same things.
"""

from __future__ import annotations

from typing import Any

from xlc.frontend import math_ops
from xlc.frontend.array_ops import zeros_like
from xlc.frontend.graph import Operation, Tensor, control_dependencies
from xlc.frontend.op_builder import group
from xlc.frontend.train.optimizer import Optimizer
from xlc.frontend.variables import Variable


def _check_positive(name: str, value: Any, optimizer: str) -> None:
    if isinstance(value, (int, float)) and value <= 0:
        raise ValueError(f"{optimizer}: {name} must be positive, got {value}")


class GradientDescentOptimizer(Optimizer):
    """``var -= lr * grad``."""

    def __init__(self, learning_rate: Any, use_locking: bool = False, name: str = "GradientDescent") -> None:
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        lr = self._hyper("learning_rate", self._learning_rate, var.dtype)
        return var.assign_sub(lr * grad, name="ApplyGradientDescent", read_value=False)


class MomentumOptimizer(Optimizer):
    """``accum = momentum * accum + grad``; ``var -= lr * accum``
    (Nesterov: ``var -= lr * grad + lr * momentum * accum``).  Slot "momentum"."""

    def __init__(self, learning_rate: Any, momentum: Any, use_locking: bool = False, name: str = "Momentum",
                 use_nesterov: bool = False) -> None:
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._zeros_slot(v, "momentum")

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        lr = self._hyper("learning_rate", self._learning_rate, var.dtype)
        mu = self._hyper("momentum", self._momentum, var.dtype)
        accum = self.get_slot(var, "momentum")
        accum_t = accum.assign(accum * mu + grad)
        step = lr * grad + lr * mu * accum_t if self._use_nesterov else lr * accum_t
        return var.assign_sub(step, name="ApplyMomentum", read_value=False)


class AdagradOptimizer(Optimizer):
    """``accum += grad**2``; ``var -= lr * grad / sqrt(accum)``.  Slot "accumulator"."""

    def __init__(self, learning_rate: Any, initial_accumulator_value: float = 0.1, use_locking: bool = False,
                 name: str = "Adagrad") -> None:
        _check_positive("initial_accumulator_value", initial_accumulator_value, name)
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._slot(v, "accumulator", self._initial_accumulator_value)

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        lr = self._hyper("learning_rate", self._learning_rate, var.dtype)
        acc = self.get_slot(var, "accumulator")
        acc_t = acc.assign_add(math_ops.square(grad))
        return var.assign_sub(lr * grad * math_ops.rsqrt(acc_t), name="ApplyAdagrad", read_value=False)


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba), TF1's form::

        lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
        m = beta1 * m + (1 - beta1) * grad;  v = beta2 * v + (1 - beta2) * grad**2
        var -= lr_t * m / (sqrt(v) + epsilon)

    Slots "m" (``w/Adam``) and "v" (``w/Adam_1``); ``beta1_power``/``beta2_power`` start at
    beta1/beta2 and are multiplied by them after each step.
    """

    def __init__(self, learning_rate: Any = 0.001, beta1: Any = 0.9, beta2: Any = 0.999, epsilon: Any = 1e-8,
                 use_locking: bool = False, name: str = "Adam") -> None:
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon

    def _create_slots(self, var_list: list[Variable]) -> None:
        if not isinstance(self._beta1, (int, float)) or not isinstance(self._beta2, (int, float)):
            raise TypeError("AdamOptimizer: beta1 and beta2 must be Python numbers (they are the initial values "
                            "of the beta1_power and beta2_power variables)")
        first = min(var_list, key=lambda v: v.name)  # TF gives the powers the dtype of the first variable
        self._non_slot("beta1_power", self._beta1, first.dtype)
        self._non_slot("beta2_power", self._beta2, first.dtype)
        for v in var_list:
            self._zeros_slot(v, "m")
            self._zeros_slot(v, "v")

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        dt = var.dtype
        lr = self._hyper("learning_rate", self._lr, dt)
        b1 = self._hyper("beta1", self._beta1, dt)
        b2 = self._hyper("beta2", self._beta2, dt)
        eps = self._hyper("epsilon", self._epsilon, dt)
        b1p = _as(self._get_non_slot("beta1_power").value(), dt)
        b2p = _as(self._get_non_slot("beta2_power").value(), dt)
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        lr_t = lr * math_ops.sqrt(1 - b2p) / (1 - b1p)
        m_t = m.assign(b1 * m + (1 - b1) * grad)
        v_t = v.assign(b2 * v + (1 - b2) * math_ops.square(grad))
        return var.assign_sub(lr_t * m_t / (math_ops.sqrt(v_t) + eps), name="ApplyAdam", read_value=False)

    def _finish(self, update_ops: list[Any], name_scope: str) -> Operation:
        with control_dependencies(update_ops):
            b1p = self._get_non_slot("beta1_power")
            b2p = self._get_non_slot("beta2_power")
            up1 = b1p.assign(b1p * self._hyper("beta1", self._beta1, b1p.dtype))
            up2 = b2p.assign(b2p * self._hyper("beta2", self._beta2, b2p.dtype))
        return group(*update_ops, up1, up2, name=name_scope)


class RMSPropOptimizer(Optimizer):
    """RMSProp, TF1's form::

        ms = decay * ms + (1 - decay) * grad**2          (ms starts at ones)
        mg = decay * mg + (1 - decay) * grad             (centered only)
        mom = momentum * mom + lr * grad / sqrt(ms - mg**2 + epsilon)   (no mg**2 if not centered)
        var -= mom

    Slots "rms" (``w/RMSProp``), "mg" when centered, "momentum".
    """

    def __init__(self, learning_rate: Any, decay: Any = 0.9, momentum: Any = 0.0, epsilon: Any = 1e-10,
                 use_locking: bool = False, centered: bool = False, name: str = "RMSProp") -> None:
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon
        self._centered = centered

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._slot(v, "rms", 1)
            if self._centered:
                self._zeros_slot(v, "mg")
            self._zeros_slot(v, "momentum")

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        dt = var.dtype
        lr = self._hyper("learning_rate", self._learning_rate, dt)
        rho = self._hyper("decay", self._decay, dt)
        mu = self._hyper("momentum", self._momentum, dt)
        eps = self._hyper("epsilon", self._epsilon, dt)
        ms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        ms_t = ms.assign(rho * ms + (1 - rho) * math_ops.square(grad))
        denom = ms_t
        if self._centered:
            mg = self.get_slot(var, "mg")
            mg_t = mg.assign(rho * mg + (1 - rho) * grad)
            denom = ms_t - math_ops.square(mg_t)
        mom_t = mom.assign(mu * mom + lr * grad * math_ops.rsqrt(denom + eps))
        return var.assign_sub(mom_t, name="ApplyRMSProp", read_value=False)


class FtrlOptimizer(Optimizer):
    """FTRL-Proximal (McMahan et al.), TF1's ``ApplyFtrl``::

        accum_new = accum + grad**2
        linear += grad - (accum_new**(-p) - accum**(-p)) / lr * var        (p = learning_rate_power)
        quadratic = accum_new**(-p) / lr + 2 * l2
        var = (sign(linear) * l1 - linear) / quadratic  if |linear| > l1  else 0
        accum = accum_new

    Slots "accum" (``w/Ftrl``, starts at initial_accumulator_value) and "linear" (``w/Ftrl_1``).
    """

    def __init__(self, learning_rate: Any, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, use_locking: bool = False, name: str = "Ftrl",
                 accum_name: str | None = None, linear_name: str | None = None) -> None:
        super().__init__(use_locking, name)
        if initial_accumulator_value < 0.0:
            raise ValueError(f"initial_accumulator_value {initial_accumulator_value} needs to be >= 0.0")
        if learning_rate_power > 0.0:
            raise ValueError(f"learning_rate_power {learning_rate_power} needs to be <= 0.0")
        if l1_regularization_strength < 0.0 or l2_regularization_strength < 0.0:
            raise ValueError("l1_regularization_strength and l2_regularization_strength need to be >= 0.0, got "
                             f"{l1_regularization_strength} and {l2_regularization_strength}")
        self._learning_rate = learning_rate
        self._lr_power = learning_rate_power
        self._initial_accumulator_value = initial_accumulator_value
        self._l1 = l1_regularization_strength
        self._l2 = l2_regularization_strength

    def _create_slots(self, var_list: list[Variable]) -> None:
        for v in var_list:
            self._slot(v, "accum", self._initial_accumulator_value)
            self._zeros_slot(v, "linear")

    def _apply_dense(self, grad: Tensor, var: Variable) -> Any:
        dt = var.dtype
        lr = self._hyper("learning_rate", self._learning_rate, dt)
        l1 = self._hyper("l1_regularization_strength", self._l1, dt)
        l2 = self._hyper("l2_regularization_strength", self._l2, dt)
        accum, linear = self.get_slot(var, "accum"), self.get_slot(var, "linear")
        accum_new = accum + math_ops.square(grad)
        if self._lr_power == -0.5:  # the common case: sqrt is exact and cheaper than pow
            pow_new, pow_old = math_ops.sqrt(accum_new), math_ops.sqrt(accum.value())
        else:
            p = self._hyper("learning_rate_power", -self._lr_power, dt)
            pow_new, pow_old = math_ops.pow(accum_new, p), math_ops.pow(accum.value(), p)
        linear_t = linear.assign_add(grad - (pow_new - pow_old) / lr * var)
        quadratic = pow_new / lr + 2 * l2
        shrunk = (math_ops.sign(linear_t) * l1 - linear_t) / quadratic
        new_var = math_ops.where(math_ops.greater(math_ops.abs(linear_t), l1), shrunk, zeros_like(shrunk))
        return group(var.assign(new_var, name="ApplyFtrl"), accum.assign(accum_new))


def _as(t: Tensor, dtype: Any) -> Tensor:
    return t if t.dtype is dtype else math_ops.cast(t, dtype)


__all__ = ["AdagradOptimizer", "AdamOptimizer", "FtrlOptimizer", "GradientDescentOptimizer", "MomentumOptimizer",
           "RMSPropOptimizer"]
