"""``xlc.nn``: TF 1.x's neural-network functions.

Softmax, cross entropy, convolution, pooling and dropout are IR ops (xlc/ops/nn.py,
xlc/ops/conv.py) with stable fused lowerings; the rest (elu, leaky_relu, bias_add,
l2_loss, sigmoid cross entropy, moments, batch_normalization, ...) are compositions of
elementwise ops and reductions, which the backend fuses and which get their gradients
from the elementwise rules.  Every composition is written in a form that never
overflows (softplus and the sigmoid cross entropy use ``log1p(exp(-|x|))``).

Arguments follow TF 1.x: 4-element ``strides``/``ksize`` lists ``[1, h, w, 1]`` for NHWC
(``[1, 1, h, w]`` for NCHW, which is transposed to NHWC around the op), padding
"SAME"/"VALID", filters HWIO.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xlc.errors import InvalidArgumentError, ShapeError
from xlc.frontend import array_ops, math_ops
from xlc.frontend.gradients import stop_gradient
from xlc.frontend.graph import Tensor, get_seed
from xlc.frontend.op_builder import apply_op, convert_to_tensor
from xlc.frontend.tensor_util import normalize_axes, normalize_axis, pick, rank_of, static_ints, static_scalar

__all__ = [
    "relu", "relu6", "elu", "selu", "leaky_relu", "sigmoid", "tanh", "softplus", "softsign",
    "softmax", "log_softmax", "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
    "sparse_softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits", "l2_loss", "l2_normalize", "bias_add", "xw_plus_b", "relu_layer",
    "conv2d", "conv2d_backprop_input", "conv2d_backprop_filter", "max_pool", "avg_pool", "dropout",
    "moments", "batch_normalization", "in_top_k",
]


def _t(x: Any, what: str = "") -> Tensor:
    return convert_to_tensor(x)


def _float(x: Any, what: str) -> Tensor:
    t = convert_to_tensor(x)
    if not t.dtype.is_floating:
        raise TypeError(f"{what}: '{t.name}' must be a floating point tensor, got {t.dtype.name}")
    return t


# ---- activations ---------------------------------------------------------------------------
def relu(features: Any, name: str | None = None) -> Tensor:
    """max(features, 0)."""
    return apply_op("Relu", "relu", [convert_to_tensor(features)], name=name).outputs[0]


def relu6(features: Any, name: str | None = None) -> Tensor:
    """min(max(features, 0), 6)."""
    x = convert_to_tensor(features)
    return math_ops.minimum(relu(x), 6, name=name or "Relu6")


def elu(features: Any, name: str | None = None) -> Tensor:
    """x for x > 0, exp(x) - 1 otherwise (expm1 of min(x, 0): no inf in either branch's gradient)."""
    x = _float(features, "elu")
    neg = math_ops.expm1(math_ops.minimum(x, 0))
    return math_ops.where(math_ops.greater(x, 0), x, neg, name=name or "Elu")


def selu(features: Any, name: str | None = None) -> Tensor:
    """scale * elu(x, alpha) with SELU's constants."""
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    x = _float(features, "selu")
    neg = math_ops.multiply(math_ops.expm1(math_ops.minimum(x, 0)), alpha)
    return math_ops.multiply(math_ops.where(math_ops.greater(x, 0), x, neg), scale, name=name or "Selu")


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> Tensor:
    """x for x > 0, alpha * x otherwise."""
    x = _float(features, "leaky_relu")
    return math_ops.where(math_ops.greater(x, 0), x, math_ops.multiply(x, alpha), name=name or "LeakyRelu")


def softplus(features: Any, name: str | None = None) -> Tensor:
    """log(1 + exp(features)), as max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|."""
    x = convert_to_tensor(features)
    tail = math_ops.log1p(math_ops.exp(math_ops.negative(math_ops.abs(x))))
    return math_ops.add(relu(x), tail, name=name or "Softplus")


def softsign(features: Any, name: str | None = None) -> Tensor:
    """x / (1 + |x|)."""
    x = _float(features, "softsign")
    return math_ops.divide(x, math_ops.add(math_ops.abs(x), 1), name=name or "Softsign")


sigmoid = math_ops.sigmoid
tanh = math_ops.tanh


# ---- softmax and cross entropy -------------------------------------------------------------
def _softmax(op_type: str, ir_op: str, logits: Any, axis: Any, name: str | None, dim: Any) -> Tensor:
    x = _float(logits, ir_op)
    a = pick(f"tf.nn.{ir_op}", -1, axis=axis, dim=dim)
    r = rank_of(x)
    if r is None:
        raise ShapeError(f"tf.nn.{ir_op}: the rank of '{x.name}' must be known")
    a = normalize_axis(a, r, f"tf.nn.{ir_op}: axis")
    return apply_op(op_type, ir_op, [x], {"axis": a}, name=name).outputs[0]


def softmax(logits: Any, axis: Any = None, name: str | None = None, dim: Any = None) -> Tensor:
    """exp(logits) / sum(exp(logits)) along ``axis`` (default last), computed after subtracting the max."""
    return _softmax("Softmax", "softmax", logits, axis, name, dim)


def log_softmax(logits: Any, axis: Any = None, name: str | None = None, dim: Any = None) -> Tensor:
    """logits - log(sum(exp(logits))) along ``axis``, stable for large logits."""
    return _softmax("LogSoftmax", "log_softmax", logits, axis, name, dim)


def _to_last(x: Tensor, axis: int, rank: int) -> Tensor:
    if axis == rank - 1:
        return x
    perm = [a for a in range(rank) if a != axis] + [axis]
    return array_ops.transpose(x, perm)


def softmax_cross_entropy_with_logits_v2(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                         dim: Any = None, name: str | None = None, axis: Any = None) -> Tensor:
    """-sum(labels * log_softmax(logits)) along ``axis``; gradients flow into labels and logits."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits: pass labels= and logits= by name")
    z = _float(logits, "softmax_cross_entropy_with_logits")
    y = convert_to_tensor(labels, dtype=z.dtype)
    r = rank_of(z)
    if r is None:
        raise ShapeError(f"softmax_cross_entropy_with_logits: the rank of '{z.name}' must be known")
    a = normalize_axis(pick("softmax_cross_entropy_with_logits", -1, axis=axis, dim=dim), r,
                       "softmax_cross_entropy_with_logits: axis")
    return apply_op("SoftmaxCrossEntropyWithLogits", "softmax_cross_entropy", [_to_last(y, a, r), _to_last(z, a, r)],
                    name=name).outputs[0]


def softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                      dim: Any = None, name: str | None = None, axis: Any = None) -> Tensor:
    """As the v2 function, but no gradient flows into ``labels`` (TF 1.x's deprecated version)."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits: pass labels= and logits= by name")
    z = _float(logits, "softmax_cross_entropy_with_logits")
    return softmax_cross_entropy_with_logits_v2(labels=stop_gradient(convert_to_tensor(labels, dtype=z.dtype)),
                                                logits=z, dim=dim, name=name, axis=axis)


def sparse_softmax_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                             name: str | None = None) -> Tensor:
    """Cross entropy against integer class ``labels`` (shape = logits' without the last dim).

    A label outside [0, num_classes) gives a loss of 0 for its row (TF's CPU kernel raises).
    """
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits: pass labels= and logits= by name")
    z = _float(logits, "sparse_softmax_cross_entropy_with_logits")
    lab = convert_to_tensor(labels)
    if not lab.dtype.is_integer:
        raise TypeError(f"sparse_softmax_cross_entropy_with_logits: labels '{lab.name}' must be int32 or int64, "
                        f"got {lab.dtype.name}")
    zs, ls = z.shape.as_list() if z.shape.rank is not None else None, lab.shape
    if zs is None or zs[-1] is None:
        raise ShapeError("sparse_softmax_cross_entropy_with_logits: the number of classes (the last dim of "
                         f"'{z.name}') must be known statically")
    if ls.rank is not None and ls.rank != len(zs) - 1:
        raise ShapeError(f"Rank mismatch: Rank of labels (received {ls.rank}) should equal rank of logits minus 1 "
                         f"(received {len(zs)}).")
    onehot = array_ops.one_hot(lab, zs[-1], dtype=z.dtype)
    return apply_op("SparseSoftmaxCrossEntropyWithLogits", "softmax_cross_entropy", [onehot, z],
                    name=name).outputs[0]


def sigmoid_cross_entropy_with_logits(_sentinel: Any = None, labels: Any = None, logits: Any = None,
                                      name: str | None = None) -> Tensor:
    """Elementwise logistic loss: max(x, 0) - x * z + log1p(exp(-|x|)) (never overflows)."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits: pass labels= and logits= by name")
    x = _float(logits, "sigmoid_cross_entropy_with_logits")
    z = convert_to_tensor(labels, dtype=x.dtype)
    tail = math_ops.log1p(math_ops.exp(math_ops.negative(math_ops.abs(x))))
    return math_ops.add(math_ops.subtract(relu(x), math_ops.multiply(x, z)), tail,
                        name=name or "logistic_loss")


def weighted_cross_entropy_with_logits(targets: Any = None, logits: Any = None, pos_weight: Any = 1.0,
                                       name: str | None = None, labels: Any = None) -> Tensor:
    """The sigmoid cross entropy with the positive term weighted: stable form as TF's."""
    x = _float(logits, "weighted_cross_entropy_with_logits")
    z = convert_to_tensor(pick("weighted_cross_entropy_with_logits", None, targets=targets, labels=labels),
                          dtype=x.dtype)
    lw = math_ops.add(math_ops.multiply(math_ops.subtract(pos_weight, 1), z), 1)
    tail = math_ops.add(math_ops.log1p(math_ops.exp(math_ops.negative(math_ops.abs(x)))), relu(math_ops.negative(x)))
    return math_ops.add(math_ops.multiply(math_ops.subtract(1.0, z), x), math_ops.multiply(lw, tail),
                        name=name or "logistic_loss")


# ---- small compositions --------------------------------------------------------------------
def l2_loss(t: Any, name: str | None = None) -> Tensor:
    """sum(t ** 2) / 2."""
    x = _float(t, "l2_loss")
    return math_ops.multiply(math_ops.reduce_sum(math_ops.square(x)), 0.5, name=name or "L2Loss")


def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: str | None = None, dim: Any = None) -> Tensor:
    """x / sqrt(max(sum(x ** 2, axis), epsilon))."""
    t = _float(x, "l2_normalize")
    a = pick("l2_normalize", None, axis=axis, dim=dim)
    ss = math_ops.reduce_sum(math_ops.square(t), axis=a, keepdims=True)
    return math_ops.multiply(t, math_ops.rsqrt(math_ops.maximum(ss, epsilon)), name=name or "l2_normalize")


def bias_add(value: Any, bias: Any, data_format: str | None = None, name: str | None = None) -> Tensor:
    """value + bias along the channel dim (last for NHWC, dim 1 for NCHW)."""
    x = _t(value)
    b = convert_to_tensor(bias, dtype=x.dtype)
    if b.shape.rank is not None and b.shape.rank != 1:
        raise ShapeError(f"bias_add: bias '{b.name}' must be 1-D, got shape {b.shape}")
    c_axis = -1
    if data_format in ("NCHW", "NCDHW", "NCW"):
        r = rank_of(x)
        if r is None:
            raise ShapeError("bias_add: NCHW needs the rank of value known")
        b = array_ops.reshape(b, [-1] + [1] * (r - 2))
        c_axis = 1
    xs, bs = x.shape.as_list() if x.shape.rank else None, b.shape.as_list() if b.shape.rank else None
    if xs and bs and xs[c_axis] is not None and bs[0] is not None and xs[c_axis] != bs[0]:
        raise ShapeError(f"bias_add: bias '{b.name}' has {bs[0]} elements but value '{x.name}' has {xs[c_axis]} "
                         f"channels (shape {x.shape})")
    return math_ops.add(x, b, name=name or "BiasAdd")


def xw_plus_b(x: Any, weights: Any, biases: Any, name: str | None = None) -> Tensor:
    """matmul(x, weights) + biases."""
    return bias_add(math_ops.matmul(x, weights), biases, name=name or "xw_plus_b")


def relu_layer(x: Any, weights: Any, biases: Any, name: str | None = None) -> Tensor:
    """relu(matmul(x, weights) + biases)."""
    return relu(xw_plus_b(x, weights, biases), name=name or "relu_layer")


def in_top_k(predictions: Any, targets: Any, k: int, name: str | None = None) -> Tensor:
    """Whether each target's prediction is among the k largest of its row (fewer than k are larger)."""
    p = _float(predictions, "in_top_k")
    t = convert_to_tensor(targets)
    depth = p.shape.as_list()[-1] if p.shape.rank is not None else None
    if depth is None:
        raise ShapeError("in_top_k: the number of classes must be known statically")
    mine = math_ops.reduce_sum(math_ops.multiply(p, array_ops.one_hot(t, depth, dtype=p.dtype)), axis=1,
                               keepdims=True)
    larger = math_ops.reduce_sum(math_ops.cast(math_ops.greater(p, mine), "int32"), axis=1)
    return math_ops.less(larger, int(k), name=name or "in_top_k")


# ---- convolution and pooling ---------------------------------------------------------------
def _spatial(values: Any, what: str, data_format: str) -> tuple[int, int]:
    """(h, w) of a TF 4-element strides/ksize/dilations list (or a single int / 2 ints)."""
    v = [int(x) for x in (np.atleast_1d(np.asarray(values)).tolist())]
    if len(v) == 1:
        return v[0], v[0]
    if len(v) == 2:
        return v[0], v[1]
    if len(v) != 4:
        raise ShapeError(f"{what} must have 1, 2 or 4 elements, got {v}")
    n, c = (0, 1) if data_format == "NCHW" else (0, 3)
    if v[n] != 1 or v[c] != 1:
        raise InvalidArgumentError(None, None, f"{what} in the batch and depth dimensions must be 1, got {v}")
    return (v[2], v[3]) if data_format == "NCHW" else (v[1], v[2])


def _padding(padding: Any) -> str:
    p = padding.upper() if isinstance(padding, str) else padding
    if p not in ("SAME", "VALID"):
        raise ShapeError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
    return str(p)


def _format(data_format: str | None) -> str:
    f = data_format or "NHWC"
    if f not in ("NHWC", "NCHW"):
        raise ShapeError(f"data_format must be 'NHWC' or 'NCHW', got {data_format!r}")
    return f


def _in(x: Tensor, fmt: str) -> Tensor:
    return array_ops.transpose(x, [0, 2, 3, 1]) if fmt == "NCHW" else x


def _out(y: Tensor, fmt: str) -> Tensor:
    return array_ops.transpose(y, [0, 3, 1, 2]) if fmt == "NCHW" else y


def conv2d(input: Any, filter: Any = None, strides: Any = None, padding: Any = None,  # noqa: A002
           use_cudnn_on_gpu: bool = True, data_format: str = "NHWC", dilations: Any = (1, 1, 1, 1),
           name: str | None = None, filters: Any = None) -> Tensor:
    """2-D cross-correlation of NHWC ``input`` with HWIO ``filter`` (TF's Conv2D)."""
    fmt = _format(data_format)
    x = _float(input, "conv2d")
    w = convert_to_tensor(pick("conv2d", None, filter=filter, filters=filters), dtype=x.dtype)
    if strides is None or padding is None:
        raise ValueError("conv2d: strides and padding are required")
    attrs = {"strides": _spatial(strides, "conv2d strides", fmt), "padding": _padding(padding),
             "dilations": _spatial(dilations, "conv2d dilations", fmt)}
    y = apply_op("Conv2D", "conv2d", [_in(x, fmt), w], attrs, name=None if fmt == "NCHW" else name).outputs[0]
    return _out(y, fmt)


def conv2d_backprop_input(input_sizes: Any, filter: Any, out_backprop: Any, strides: Any, padding: Any,  # noqa: A002
                          use_cudnn_on_gpu: bool = True, data_format: str = "NHWC", dilations: Any = (1, 1, 1, 1),
                          name: str | None = None) -> Tensor:
    """The gradient of conv2d with respect to its input; ``input_sizes`` static [N, H, W, C]."""
    fmt = _format(data_format)
    sizes = static_ints(input_sizes, "conv2d_backprop_input: input_sizes")
    hw = (sizes[2], sizes[3]) if fmt == "NCHW" else (sizes[1], sizes[2])
    w, dy = _t(filter), _in(_t(out_backprop), fmt)
    attrs = {"input_size": hw, "strides": _spatial(strides, "strides", fmt), "padding": _padding(padding),
             "dilations": _spatial(dilations, "dilations", fmt)}
    return _out(apply_op("Conv2DBackpropInput", "conv2d_backprop_input", [w, dy], attrs, name=name).outputs[0], fmt)


def conv2d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any, padding: Any,  # noqa: A002
                           use_cudnn_on_gpu: bool = True, data_format: str = "NHWC",
                           dilations: Any = (1, 1, 1, 1), name: str | None = None) -> Tensor:
    """The gradient of conv2d with respect to its filter; ``filter_sizes`` static [KH, KW, C, O]."""
    fmt = _format(data_format)
    sizes = static_ints(filter_sizes, "conv2d_backprop_filter: filter_sizes")
    x, dy = _in(_t(input), fmt), _in(_t(out_backprop), fmt)
    attrs = {"filter_size": (sizes[0], sizes[1]), "strides": _spatial(strides, "strides", fmt),
             "padding": _padding(padding), "dilations": _spatial(dilations, "dilations", fmt)}
    return apply_op("Conv2DBackpropFilter", "conv2d_backprop_filter", [x, dy], attrs, name=name).outputs[0]


def _pool(op_type: str, ir_op: str, value: Any, ksize: Any, strides: Any, padding: Any, data_format: Any,
          name: str | None) -> Tensor:
    fmt = _format(data_format)
    x = _float(value, f"tf.nn.{ir_op}")
    attrs = {"ksize": _spatial(ksize, f"{ir_op} ksize", fmt), "strides": _spatial(strides, f"{ir_op} strides", fmt),
             "padding": _padding(padding)}
    return _out(apply_op(op_type, ir_op, [_in(x, fmt)], attrs, name=None if fmt == "NCHW" else name).outputs[0], fmt)


def max_pool(value: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> Tensor:  # noqa: A002
    """Maxima over ksize windows (padding never wins)."""
    return _pool("MaxPool", "max_pool", value if input is None else input, ksize, strides, padding, data_format, name)


def avg_pool(value: Any, ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC",
             name: str | None = None, input: Any = None) -> Tensor:  # noqa: A002
    """Means over ksize windows, counting only real (unpadded) elements."""
    return _pool("AvgPool", "avg_pool", value if input is None else input, ksize, strides, padding, data_format, name)


# ---- dropout and normalisation -------------------------------------------------------------
def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: Any = None, name: str | None = None,
            rate: Any = None) -> Tensor:
    """x / keep_prob where a uniform draw is below keep_prob, else 0 (``rate`` = 1 - keep_prob).

    ``keep_prob`` may be a tensor (a placeholder fed 0.5 in training and 1.0 in evaluation).
    Seeds follow TF1's rules (graph seed, op seed).  With ``noise_shape``, one draw serves
    every element that the noise shape broadcasts over.
    """
    t = _float(x, "dropout")
    if (keep_prob is None) == (rate is None):
        raise ValueError("dropout: give exactly one of keep_prob and rate")
    keep = convert_to_tensor(keep_prob, dtype=t.dtype) if keep_prob is not None else \
        math_ops.subtract(1.0, convert_to_tensor(rate, dtype=t.dtype))
    if not isinstance(keep_prob if keep_prob is not None else rate, Tensor):
        k = float(static_scalar(keep, "dropout: keep_prob"))
        if not 0.0 < k <= 1.0:
            raise ValueError(f"dropout: keep_prob must be a scalar tensor or a float in (0, 1], got {k}")
    if keep.shape.ndims != 0:  # a placeholder of unknown shape: it must hold a scalar
        keep = array_ops.reshape(keep, [])
        keep.set_shape([])  # reshape of an unknown-rank tensor does not infer it
    s1, s2 = get_seed(None if seed is None else int(seed))
    seeds = {"seed": int(s1), "seed2": int(s2)}
    if noise_shape is None:
        return apply_op("Dropout", "dropout", [t, keep], seeds, name=name).outputs[0]
    # a mask of noise_shape (broadcast over x), drawn as ones through the same op
    shape = [int(d) for d in np.asarray(noise_shape).ravel()]
    ones = array_ops.ones(shape, dtype=t.dtype)
    mask = apply_op("Dropout", "dropout", [ones, keep], seeds).outputs[0]
    return math_ops.multiply(t, mask, name=name or "dropout")


def moments(x: Any, axes: Any, shift: Any = None, name: str | None = None, keep_dims: Any = None,
            keepdims: Any = None) -> tuple[Tensor, Tensor]:
    """(mean, variance) of x over ``axes``; the variance is the mean squared deviation."""
    t = _float(x, "moments")
    keep = bool(pick("moments", False, keep_dims=keep_dims, keepdims=keepdims))
    r = rank_of(t)
    ax = list(normalize_axes(axes, r, "moments: axes"))
    mean = math_ops.reduce_mean(t, axis=ax, keepdims=True)
    # as TF: the variance's gradient does not flow through the mean (it is zero there anyway)
    var = math_ops.reduce_mean(math_ops.squared_difference(t, stop_gradient(mean)), axis=ax, keepdims=True)
    if not keep:
        mean, var = array_ops.squeeze(mean, ax), array_ops.squeeze(var, ax)
    return (array_ops.identity(mean, name="mean" if name is None else f"{name}_mean"),
            array_ops.identity(var, name="variance" if name is None else f"{name}_variance"))


def batch_normalization(x: Any, mean: Any, variance: Any, offset: Any, scale: Any, variance_epsilon: float,
                        name: str | None = None) -> Tensor:
    """(x - mean) * scale / sqrt(variance + eps) + offset (offset and scale may be None)."""
    t = _float(x, "batch_normalization")
    inv = math_ops.rsqrt(math_ops.add(convert_to_tensor(variance, dtype=t.dtype), float(variance_epsilon)))
    if scale is not None:
        inv = math_ops.multiply(inv, convert_to_tensor(scale, dtype=t.dtype))
    shift = math_ops.multiply(convert_to_tensor(mean, dtype=t.dtype), inv)
    shift = math_ops.subtract(convert_to_tensor(offset, dtype=t.dtype), shift) if offset is not None else \
        math_ops.negative(shift)
    return math_ops.add(math_ops.multiply(t, inv), shift, name=name or "batchnorm")

