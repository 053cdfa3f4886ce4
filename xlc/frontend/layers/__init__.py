"""``xlc.layers``: TF 1.x's ``tf.layers`` (graph mode): layer classes and their function forms.

Each layer makes its variables with ``get_variable`` under a variable scope named like
TensorFlow's ("dense/kernel", "dense_1/kernel", "conv2d/bias"), on its first call.
"""

from __future__ import annotations

from xlc.frontend.layers.base import Layer
from xlc.frontend.layers.convolutional import (
    AveragePooling2D,
    Conv2D,
    MaxPooling2D,
    average_pooling2d,
    conv2d,
    max_pooling2d,
)
from xlc.frontend.layers.core import Dense, Dropout, Flatten, dense, dropout, flatten

# TF1's aliases
Convolution2D = Conv2D
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D

__all__ = [
    "AveragePooling2D", "AvgPool2D", "Conv2D", "Convolution2D", "Dense", "Dropout", "Flatten", "Layer",
    "MaxPool2D", "MaxPooling2D", "average_pooling2d", "conv2d", "dense", "dropout", "flatten", "max_pooling2d",
]
