"""The Layer base class of ``xlc.layers`` (TF 1.x ``tf.layers.Layer``, graph mode).

A layer owns variables made with :func:`get_variable` under a variable scope named
after it: ``dense``, then ``dense_1``, ... (uniquified per enclosing variable scope, as
TF1 does), or the ``name`` given.  The scope is fixed on the first call, when the layer
builds its variables from the input's static shape; later calls of the same layer
object reuse them, each call's ops under a fresh name scope.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from xlc.errors import DTypeError
from xlc.ir.types import DType, as_dtype
from xlc.frontend.graph import GraphKeys, Tensor, add_to_collection
from xlc.frontend.op_builder import convert_to_tensor
from xlc.frontend.tensor_shape import TensorShape
from xlc.frontend.variables import AUTO_REUSE, Variable, VariableScope, get_variable, variable_scope

__all__ = ["Layer", "check_channels_last", "normalize_padding", "pair"]


def _snake_case(name: str) -> str:
    """``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d`` (TF's default layer names)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def pair(value: Any, what: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair (kernel sizes, strides, pool sizes)."""
    if isinstance(value, int):
        return (value, value)
    try:
        items = tuple(int(v) for v in value)
    except TypeError:
        raise ValueError(f"The `{what}` argument must be an int or a tuple of 2 ints, got {value!r}") from None
    if len(items) != 2:
        raise ValueError(f"The `{what}` argument must be a tuple of 2 integers. Received: {value!r}")
    return items  # type: ignore[return-value]


def normalize_padding(padding: str) -> str:
    """'valid'/'same' in any case, as the ops' 'VALID'/'SAME'."""
    p = str(padding).upper()
    if p not in ("VALID", "SAME"):
        raise ValueError(f'The `padding` argument must be "valid" or "same", got {padding!r}')
    return p


def check_channels_last(data_format: str, layer: str) -> None:
    if data_format != "channels_last":
        raise ValueError(f"{layer}: data_format={data_format!r} is not supported; xlc's image ops are NHWC, "
                         "use data_format='channels_last'")


class Layer:
    """Base of the layers: variable bookkeeping, scoping and the call protocol.

    Subclasses implement ``build(input_shape)`` (making variables with
    :meth:`add_weight`) and ``call(inputs, **kwargs)``.
    """

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        reuse = kwargs.pop("_reuse", None)
        kwargs.pop("_scope", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        self.trainable = trainable
        self._given_name = name
        self._base_name = name or _snake_case(type(self).__name__)
        self._reuse = reuse
        self._dtype: DType | None = None if dtype is None else as_dtype(dtype)
        self._scope: VariableScope | None = None
        self._trainable_weights: list[Variable] = []
        self._non_trainable_weights: list[Variable] = []
        self.built = False

    # --- names and variables --------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The layer's scope name once called ("dense_1"), before that its base name."""
        return self._scope.name if self._scope is not None else self._base_name

    @property
    def scope_name(self) -> str:
        return self.name

    @property
    def dtype(self) -> DType | None:
        return self._dtype

    @property
    def trainable_variables(self) -> list[Variable]:
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_variables(self) -> list[Variable]:
        if self.trainable:
            return list(self._non_trainable_weights)
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    @property
    def variables(self) -> list[Variable]:
        """Every variable of the layer, trainable ones first."""
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    trainable_weights = trainable_variables
    non_trainable_weights = non_trainable_variables
    weights = variables

    def add_weight(self, name: str, shape: Any, dtype: Any = None, initializer: Any = None,
                   regularizer: Callable[[Any], Any] | None = None, trainable: bool = True) -> Variable:
        """``get_variable(name, ...)`` in the layer's scope; its regularization loss is collected."""
        dt = as_dtype(dtype) if dtype is not None else self._dtype
        v = get_variable(name, shape=shape, dtype=dt, initializer=initializer, trainable=trainable and self.trainable)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(v)
        if regularizer is not None:
            loss = regularizer(v)
            if loss is not None:
                add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
        return v

    # --- the call protocol ----------------------------------------------------------------------
    def build(self, input_shape: TensorShape) -> None:
        """Make the variables for inputs of ``input_shape``; layers without variables keep this."""
        self.built = True

    def call(self, inputs: Tensor, **kwargs: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.call")

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        raise NotImplementedError(f"{type(self).__name__}.compute_output_shape")

    def _input_dtype(self, x: Tensor) -> None:
        if self._dtype is None:
            if not x.dtype.is_floating:
                raise DTypeError(f"Layer {self.name} needs floating-point inputs, got {x.name} of dtype "
                                 f"{x.dtype.name}; cast it first (tf.cast(x, tf.float32))")
            self._dtype = x.dtype

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Tensor:
        x = convert_to_tensor(inputs, dtype=self._dtype)
        self._input_dtype(x)
        if self._scope is None:
            # first call: choose the scope (uniquified default name, or the user's name)
            opener = (variable_scope(self._given_name, reuse=self._reuse) if self._given_name is not None
                      else variable_scope(None, default_name=self._base_name, reuse=self._reuse))
            with opener as scope:
                self._scope = scope
                if not self.built:
                    self.build(x.shape)
                    self.built = True
                return self.call(x, *args, **kwargs)
        # later calls reuse the variables made on the first
        with variable_scope(self._scope, reuse=AUTO_REUSE):
            return self.call(x, *args, **kwargs)

    apply = __call__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
