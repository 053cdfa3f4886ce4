"""Dense, Flatten and Dropout layers and their function forms (``tf.layers.dense`` ...)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from xlc.errors import ShapeError
from xlc.frontend import array_ops, math_ops, nn_ops
from xlc.frontend import initializers as init_ops
from xlc.frontend.graph import GraphKeys, Tensor, add_to_collection
from xlc.frontend.layers.base import Layer
from xlc.frontend.tensor_shape import TensorShape

__all__ = ["Dense", "Dropout", "Flatten", "dense", "dropout", "flatten"]


class Dense(Layer):
    """``outputs = activation(inputs @ kernel + bias)``; kernel ``[in, units]``, bias ``[units]``.

    Inputs of rank > 2 are multiplied along their last axis.  The last input dim must be
    static (it sizes the kernel).
    """

    def __init__(self, units: int, activation: Callable[[Tensor], Tensor] | None = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(trainable=trainable, name=name, **kwargs)
        if int(units) <= 0:
            raise ValueError(f"Dense: units must be positive, got {units}")
        self.units = int(units)
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer if bias_initializer is not None else init_ops.Zeros()
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel: Any = None
        self.bias: Any = None

    def build(self, input_shape: TensorShape) -> None:
        if input_shape.ndims is None or input_shape.ndims < 2:
            raise ShapeError(f"Input 0 of layer {self.name} should have rank >= 2, got shape {input_shape}")
        last = input_shape.as_list()[-1]
        if last is None:
            raise ShapeError(f"The last dimension of the inputs to `Dense` ({self.name}) should be defined. "
                             f"Found `None` in shape {input_shape}.")
        self.kernel = self.add_weight("kernel", [last, self.units], initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.units], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        dims = inputs.shape.as_list()
        if len(dims) == 2:
            out = math_ops.matmul(inputs, self.kernel)
        else:
            # rank > 2: fold the leading dims into one, multiply, unfold (one unknown dim at most)
            if sum(d is None for d in dims[:-1]) > 1:
                raise ShapeError(f"Dense ({self.name}) on rank-{len(dims)} inputs needs at most one unknown "
                                 f"leading dim, got shape {inputs.shape}")
            flat = array_ops.reshape(inputs, [-1, dims[-1]])
            out = array_ops.reshape(math_ops.matmul(flat, self.kernel),
                                    [-1 if d is None else d for d in dims[:-1]] + [self.units])
        if self.use_bias:
            out = math_ops.add(out, self.bias, name="BiasAdd")
        if self.activation is not None:
            out = self.activation(out)
        if self.activity_regularizer is not None:
            self._activity_loss(out)
        return out

    def _activity_loss(self, out: Tensor) -> None:
        loss = self.activity_regularizer(out)
        if loss is not None:
            add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        return TensorShape(TensorShape(input_shape).as_list()[:-1] + [self.units])


class Flatten(Layer):
    """``[batch, d1, d2, ...]`` -> ``[batch, d1 * d2 * ...]``; the non-batch dims must be static."""

    def __init__(self, data_format: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def _input_dtype(self, x: Tensor) -> None:
        pass  # flattening any dtype is fine

    def call(self, inputs: Tensor) -> Tensor:
        dims = inputs.shape.as_list()
        if len(dims) < 1:
            raise ShapeError(f"Flatten ({self.name}) needs inputs of rank >= 1, got a scalar")
        rest = dims[1:]
        if any(d is None for d in rest):
            raise ShapeError(f"Flatten ({self.name}) needs static non-batch dims, got shape {inputs.shape}")
        batch = -1 if dims[0] is None else dims[0]
        return array_ops.reshape(inputs, [batch, int(np.prod(rest, dtype=np.int64))])

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        dims = TensorShape(input_shape).as_list()
        return TensorShape([dims[0], int(np.prod(dims[1:], dtype=np.int64))])


def _check_training(training: Any, where: str) -> bool:
    if isinstance(training, (bool, np.bool_)):
        return bool(training)
    if isinstance(training, Tensor):
        raise TypeError(f"{where}: `training` is the tensor {training.name}, but xlc only takes a Python bool "
                        "here: switching on a boolean tensor needs tf.cond, which xlc does not have yet. Build "
                        "the training and inference graphs separately (training=True / False, sharing "
                        "variables), or use tf.nn.dropout(x, keep_prob) with keep_prob fed through a "
                        "placeholder.")
    raise TypeError(f"{where}: `training` must be a Python bool, got {training!r}")


class Dropout(Layer):
    """With ``training=True``, zero each input with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)``; with ``training=False`` (the default), the identity."""

    def __init__(self, rate: float = 0.5, noise_shape: Any = None, seed: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed

    def call(self, inputs: Tensor, training: Any = False) -> Tensor:
        if not _check_training(training, f"Dropout ({self.name})") or self.rate == 0.0:
            return array_ops.identity(inputs)
        return nn_ops.dropout(inputs, 1.0 - self.rate, noise_shape=self.noise_shape, seed=self.seed)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        return TensorShape(input_shape)


def dense(inputs: Any, units: int, activation: Callable[[Tensor], Tensor] | None = None, use_bias: bool = True,
          kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
          bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
          bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
          reuse: Any = None) -> Tensor:
    """``tf.layers.dense``: a Dense layer applied once (``reuse`` shares a named layer's variables)."""
    layer = Dense(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                  bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                  bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                  trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)


def flatten(inputs: Any, name: str | None = None, data_format: str = "channels_last") -> Tensor:
    """``tf.layers.flatten``."""
    return Flatten(name=name)(inputs)


def dropout(inputs: Any, rate: float = 0.5, noise_shape: Any = None, seed: int | None = None,
            training: Any = False, name: str | None = None) -> Tensor:
    """``tf.layers.dropout``: ``training`` must be a Python bool (see Dropout)."""
    return Dropout(rate, noise_shape=noise_shape, seed=seed, name=name)(inputs, training=training)
