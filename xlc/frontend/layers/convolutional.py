"""Conv2D and 2-D pooling layers and their function forms (NHWC, TF 1.x ``tf.layers``)."""

from __future__ import annotations

from typing import Any, Callable

from xlc.errors import ShapeError
from xlc.frontend import math_ops, nn_ops
from xlc.frontend import initializers as init_ops
from xlc.frontend.graph import Tensor
from xlc.frontend.layers.base import Layer, check_channels_last, normalize_padding, pair
from xlc.frontend.tensor_shape import TensorShape

__all__ = ["AveragePooling2D", "Conv2D", "MaxPooling2D", "average_pooling2d", "conv2d", "max_pooling2d"]


def _out_dim(size: int | None, window: int, stride: int, padding: str, dilation: int = 1) -> int | None:
    if size is None:
        return None
    if padding == "SAME":
        return -(-size // stride)
    return (size - (window - 1) * dilation - 1) // stride + 1


class Conv2D(Layer):
    """2-D convolution over NHWC inputs: kernel ``[kh, kw, in_channels, filters]``, bias ``[filters]``."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = (1, 1),
                 activation: Callable[[Tensor], Tensor] | None = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = None, kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, trainable: bool = True, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(trainable=trainable, name=name, **kwargs)
        check_channels_last(data_format, "Conv2D")
        if int(filters) <= 0:
            raise ValueError(f"Conv2D: filters must be positive, got {filters}")
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.padding = normalize_padding(padding)
        self.dilation_rate = pair(dilation_rate, "dilation_rate")
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer if bias_initializer is not None else init_ops.Zeros()
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel: Any = None
        self.bias: Any = None

    def build(self, input_shape: TensorShape) -> None:
        if input_shape.ndims != 4:
            raise ShapeError(f"Input 0 of layer {self.name} should have rank 4 (NHWC), got shape {input_shape}")
        channels = input_shape.as_list()[-1]
        if channels is None:
            raise ShapeError(f"The channel dimension of the inputs to Conv2D ({self.name}) should be defined. "
                             f"Found `None` in shape {input_shape}.")
        shape = [*self.kernel_size, channels, self.filters]
        self.kernel = self.add_weight("kernel", shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", [self.filters], initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        sh, sw = self.strides
        kwargs: dict[str, Any] = {}
        if self.dilation_rate != (1, 1):
            kwargs["dilations"] = [1, *self.dilation_rate, 1]
        out = nn_ops.conv2d(inputs, self.kernel, strides=[1, sh, sw, 1], padding=self.padding, **kwargs)
        if self.use_bias:
            out = math_ops.add(out, self.bias, name="BiasAdd")
        if self.activation is not None:
            out = self.activation(out)
        return out

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        n, h, w, _ = TensorShape(input_shape).as_list()
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        return TensorShape([n, _out_dim(h, kh, sh, self.padding, dh), _out_dim(w, kw, sw, self.padding, dw),
                            self.filters])


class _Pooling2D(Layer):
    """Shared by the pooling layers: a window, strides and padding over NHWC inputs."""

    _op_name = ""

    def __init__(self, pool_size: Any, strides: Any, padding: str = "valid", data_format: str = "channels_last",
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        check_channels_last(data_format, type(self).__name__)
        self.pool_size = pair(pool_size, "pool_size")
        self.strides = pair(strides, "strides")
        self.padding = normalize_padding(padding)

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.shape.ndims != 4:
            raise ShapeError(f"Input 0 of layer {self.name} should have rank 4 (NHWC), got shape {inputs.shape}")
        pool = getattr(nn_ops, self._op_name)
        return pool(inputs, ksize=[1, *self.pool_size, 1], strides=[1, *self.strides, 1], padding=self.padding)

    def compute_output_shape(self, input_shape: Any) -> TensorShape:
        n, h, w, c = TensorShape(input_shape).as_list()
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        return TensorShape([n, _out_dim(h, ph, sh, self.padding), _out_dim(w, pw, sw, self.padding), c])


class MaxPooling2D(_Pooling2D):
    """The maximum over each window."""

    _op_name = "max_pool"


class AveragePooling2D(_Pooling2D):
    """The mean over each window (SAME padding: over the window's in-bounds elements, as TF)."""

    _op_name = "avg_pool"


def conv2d(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
           data_format: str = "channels_last", dilation_rate: Any = (1, 1),
           activation: Callable[[Tensor], Tensor] | None = None, use_bias: bool = True, kernel_initializer: Any = None,
           bias_initializer: Any = None, kernel_regularizer: Any = None, bias_regularizer: Any = None,
           activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
           trainable: bool = True, name: str | None = None, reuse: Any = None) -> Tensor:
    """``tf.layers.conv2d``: a Conv2D layer applied once."""
    layer = Conv2D(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   trainable=trainable, name=name, _reuse=reuse)
    return layer(inputs)


def max_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """``tf.layers.max_pooling2d``."""
    return MaxPooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)


def average_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None) -> Tensor:
    """``tf.layers.average_pooling2d``."""
    return AveragePooling2D(pool_size, strides, padding=padding, data_format=data_format, name=name)(inputs)
