"""2-D convolution and pooling (NHWC activations, HWIO filters) and their backward ops.

Ops: ``conv2d``, ``conv2d_backprop_input``, ``conv2d_backprop_filter``, ``max_pool``,
``max_pool_grad``, ``max_pool_grad_grad``, ``avg_pool``, ``avg_pool_grad``.

Attributes are static and per spatial axis: ``strides = (sh, sw)``, ``dilations = (dh, dw)``,
``ksize = (kh, kw)``, ``padding`` "SAME" or "VALID" (TF's rules: SAME gives ceil(in / stride)
outputs and puts the odd padding element at the bottom/right).  The backward ops that cannot
see the forward input carry its spatial size as ``input_size = (H, W)`` (with SAME and a
stride > 1 several input sizes give one output size).  The batch dim may be unknown; the CPU
lowering needs the spatial and channel dims static.

Pooling semantics are TF's: max_pool ignores padding (it is -inf), avg_pool divides by the
number of real (unpadded) elements in each window; max_pool_grad routes each output's
gradient to the first maximum of its window in row-major window order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from xlc.errors import ShapeError
from xlc.ir.opdef import Attr, OpDef, register
from xlc.ir.types import FLOAT_DTYPES, TensorType
from xlc.ops.rules import check_dtype, check_rank, input_shapes, merge_dim, same_dtype

Types = Sequence[TensorType]
Attrs = Mapping[str, Any]


@dataclass(frozen=True)
class AxisGeometry:
    """One spatial axis of a window op: input size, taps, stride, dilation, padding before/after."""

    size: int
    taps: int
    stride: int
    dilation: int
    pad_before: int
    out: int

    @property
    def span(self) -> int:
        """Extent of the dilated window."""
        return (self.taps - 1) * self.dilation + 1


def axis_geometry(size: int, taps: int, stride: int, dilation: int, padding: str) -> AxisGeometry:
    """TF's output size and padding for one axis (raises ValueError for bad values)."""
    if stride < 1 or dilation < 1 or taps < 1:
        raise ValueError(f"strides, dilations and window sizes must be >= 1 (got {stride}, {dilation}, {taps})")
    span = (taps - 1) * dilation + 1
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + span - size, 0)
        return AxisGeometry(size, taps, stride, dilation, total // 2, out)
    if padding == "VALID":
        out = max(0, (size - span) // stride + 1) if size >= span else 0
        return AxisGeometry(size, taps, stride, dilation, 0, out)
    raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")


def _pair(op: str, name: str, value: Any) -> tuple[int, int]:
    v = tuple(int(x) for x in value)
    if len(v) != 2:
        raise ShapeError(f"'{op}': attribute {name} needs 2 values (height, width), got {list(v)}")
    return v[0], v[1]


def _out_dim(op: str, types: Types, size: int | None, taps: int | None, stride: int, dilation: int,
             padding: str) -> int | None:
    if size is None or taps is None:
        # the output size is unknown too, but the attributes can still be checked
        axis_geometry(1, 1, stride, dilation, padding)
        return None
    try:
        g = axis_geometry(size, taps, stride, dilation, padding)
    except ValueError as e:
        raise ShapeError(f"{e}{input_shapes(op, types)}") from None
    if g.out == 0:
        raise ShapeError(f"Computed output size would be non-positive: input {size}, window {g.span}"
                         f"{input_shapes(op, types)}")
    return g.out


def _check_float(op: str, types: Types) -> Any:
    dt = same_dtype(op, types)
    for t in types:
        check_dtype(op, t, FLOAT_DTYPES)
        check_rank(op, t, 4, types)
    return dt


def _merge(op: str, types: Types, a: int | None, b: int | None, what: str) -> int | None:
    try:
        return merge_dim(a, b)
    except ValueError:
        raise ShapeError(f"{what} must match: {a} vs. {b}{input_shapes(op, types)}") from None


# ---- type rules ---------------------------------------------------------------------------
def _conv_out(op: str, types: Types, x: Sequence[int | None], kh: int | None, kw: int | None,
              attrs: Attrs) -> tuple[int | None, int | None]:
    sh, sw = _pair(op, "strides", attrs["strides"])
    dh, dw = _pair(op, "dilations", attrs["dilations"])
    pad = str(attrs["padding"])
    return (_out_dim(op, types, x[1], kh, sh, dh, pad), _out_dim(op, types, x[2], kw, sw, dw, pad))


def _conv2d_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    op = "conv2d"
    dt = _check_float(op, types)
    x, w = types[0].shape, types[1].shape
    _merge(op, types, x[3], w[2], "input depth and filter in_channels")
    oh, ow = _conv_out(op, types, x, w[0], w[1], attrs)
    return [TensorType((x[0], oh, ow, w[3]), dt)]


def _conv2d_backprop_input_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    op = "conv2d_backprop_input"
    dt = _check_float(op, types)
    w, dy = types[0].shape, types[1].shape
    h, wd = _pair(op, "input_size", attrs["input_size"])
    oh, ow = _conv_out(op, types, (None, h, wd, w[2]), w[0], w[1], attrs)
    _merge(op, types, oh, dy[1], "out_backprop height and the conv's output height")
    _merge(op, types, ow, dy[2], "out_backprop width and the conv's output width")
    _merge(op, types, w[3], dy[3], "filter out_channels and out_backprop depth")
    return [TensorType((dy[0], h, wd, w[2]), dt)]


def _conv2d_backprop_filter_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    op = "conv2d_backprop_filter"
    dt = _check_float(op, types)
    x, dy = types[0].shape, types[1].shape
    kh, kw = _pair(op, "filter_size", attrs["filter_size"])
    oh, ow = _conv_out(op, types, x, kh, kw, attrs)
    _merge(op, types, x[0], dy[0], "input and out_backprop batch")
    _merge(op, types, oh, dy[1], "out_backprop height and the conv's output height")
    _merge(op, types, ow, dy[2], "out_backprop width and the conv's output width")
    return [TensorType((kh, kw, x[3], dy[3]), dt)]


def _pool_out(op: str, types: Types, x: Sequence[int | None], attrs: Attrs) -> tuple[int | None, int | None]:
    kh, kw = _pair(op, "ksize", attrs["ksize"])
    sh, sw = _pair(op, "strides", attrs["strides"])
    pad = str(attrs["padding"])
    return _out_dim(op, types, x[1], kh, sh, 1, pad), _out_dim(op, types, x[2], kw, sw, 1, pad)


def _pool_rule(op: str) -> Any:
    def rule(types: Types, attrs: Attrs) -> list[TensorType]:
        dt = _check_float(op, types)
        x = types[0].shape
        oh, ow = _pool_out(op, types, x, attrs)
        return [TensorType((x[0], oh, ow, x[3]), dt)]

    return rule


def _max_pool_grad_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    """max_pool_grad(x, dy) -> dx (x's type)."""
    op = "max_pool_grad"
    _check_float(op, types)
    x, dy = types[0].shape, types[1].shape
    oh, ow = _pool_out(op, types, x, attrs)
    for a, (want, got) in enumerate(zip((x[0], oh, ow, x[3]), dy)):
        _merge(op, types, want, got, f"dim {a} of the gradient and of max_pool's output")
    return [types[0]]


def _max_pool_grad_grad_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    """max_pool_grad_grad(x, ddx) -> ddy (max_pool's output type)."""
    op = "max_pool_grad_grad"
    dt = _check_float(op, types)
    x = types[0].shape
    for a in range(4):
        _merge(op, types, x[a], types[1].shape[a], f"dim {a} of x and of the gradient")
    oh, ow = _pool_out(op, types, x, attrs)
    return [TensorType((x[0], oh, ow, x[3]), dt)]


def _avg_pool_grad_rule(types: Types, attrs: Attrs) -> list[TensorType]:
    op = "avg_pool_grad"
    dt = _check_float(op, types)
    dy = types[0].shape
    h, w = _pair(op, "input_size", attrs["input_size"])
    oh, ow = _pool_out(op, types, (None, h, w, None), attrs)
    _merge(op, types, oh, dy[1], "gradient height and avg_pool's output height")
    _merge(op, types, ow, dy[2], "gradient width and avg_pool's output width")
    return [TensorType((dy[0], h, w, dy[3]), dt)]


# ---- numpy references ---------------------------------------------------------------------
def geometries(h: int, w: int, kh: int, kw: int, attrs: Attrs) -> tuple[AxisGeometry, AxisGeometry]:
    """Both axes' geometry of a conv (``dilations``) or pool (no dilations) from its attributes."""
    sh, sw = (int(s) for s in attrs["strides"])
    dh, dw = (int(d) for d in attrs.get("dilations", (1, 1)))
    pad = str(attrs["padding"])
    return axis_geometry(h, kh, sh, dh, pad), axis_geometry(w, kw, sw, dw, pad)


def _padded(x: np.ndarray, gh: AxisGeometry, gw: AxisGeometry, fill: float) -> np.ndarray:
    """x padded so that every tap of every output reads inside it."""
    need_h = (gh.out - 1) * gh.stride + gh.span
    need_w = (gw.out - 1) * gw.stride + gw.span
    ph = (gh.pad_before, max(need_h - gh.size - gh.pad_before, 0))
    pw = (gw.pad_before, max(need_w - gw.size - gw.pad_before, 0))
    return np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=fill)


def _tap(gh: AxisGeometry, gw: AxisGeometry, i: int, j: int) -> tuple[slice, slice, slice, slice]:
    """The slice of the padded input that tap (i, j) reads for all outputs."""
    h0, w0 = i * gh.dilation, j * gw.dilation
    return (slice(None), slice(h0, h0 + (gh.out - 1) * gh.stride + 1, gh.stride),
            slice(w0, w0 + (gw.out - 1) * gw.stride + 1, gw.stride), slice(None))


def _crop(xp: np.ndarray, gh: AxisGeometry, gw: AxisGeometry) -> np.ndarray:
    return xp[:, gh.pad_before:gh.pad_before + gh.size, gw.pad_before:gw.pad_before + gw.size, :]


def _acc(x: np.ndarray) -> np.ndarray:
    """16-bit floats accumulate in float32."""
    return x.astype(np.float32) if x.dtype.itemsize < 4 else x


def _conv2d_ref(x: np.ndarray, w: np.ndarray, strides: Any, padding: str, dilations: Any) -> np.ndarray:
    attrs = {"strides": strides, "padding": padding, "dilations": dilations}
    gh, gw = geometries(x.shape[1], x.shape[2], w.shape[0], w.shape[1], attrs)
    xp, wa = _padded(_acc(x), gh, gw, 0.0), _acc(w)
    out = np.zeros((x.shape[0], gh.out, gw.out, w.shape[3]), wa.dtype)
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            out += xp[_tap(gh, gw, i, j)] @ wa[i, j]
    return out.astype(x.dtype)


def _conv2d_backprop_input_ref(w: np.ndarray, dy: np.ndarray, input_size: Any, strides: Any, padding: str,
                               dilations: Any) -> np.ndarray:
    attrs = {"strides": strides, "padding": padding, "dilations": dilations}
    h, wd = (int(s) for s in input_size)
    gh, gw = geometries(h, wd, w.shape[0], w.shape[1], attrs)
    wa, dya = _acc(w), _acc(dy)
    dxp = _padded(np.zeros((dy.shape[0], h, wd, w.shape[2]), wa.dtype), gh, gw, 0.0)
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            dxp[_tap(gh, gw, i, j)] += dya @ wa[i, j].T
    return _crop(dxp, gh, gw).astype(w.dtype)


def _conv2d_backprop_filter_ref(x: np.ndarray, dy: np.ndarray, filter_size: Any, strides: Any, padding: str,
                                dilations: Any) -> np.ndarray:
    attrs = {"strides": strides, "padding": padding, "dilations": dilations}
    kh, kw = (int(s) for s in filter_size)
    gh, gw = geometries(x.shape[1], x.shape[2], kh, kw, attrs)
    xp, dya = _padded(_acc(x), gh, gw, 0.0), _acc(dy)
    dw = np.zeros((kh, kw, x.shape[3], dy.shape[3]), xp.dtype)
    for i in range(kh):
        for j in range(kw):
            dw[i, j] = np.einsum("nhwc,nhwo->co", xp[_tap(gh, gw, i, j)], dya)
    return dw.astype(x.dtype)


def _pool_geometry(x: np.ndarray, ksize: Any, strides: Any, padding: str) -> tuple[AxisGeometry, AxisGeometry]:
    kh, kw = (int(k) for k in ksize)
    return geometries(x.shape[1], x.shape[2], kh, kw, {"strides": strides, "padding": padding})


def _max_pool_argmax(x: np.ndarray, ksize: Any, strides: Any, padding: str) -> tuple[np.ndarray, np.ndarray]:
    """The window maxima and, per output, the index of the first maximal tap."""
    gh, gw = _pool_geometry(x, ksize, strides, padding)
    xp = _padded(_acc(x), gh, gw, -np.inf)
    best = np.full((x.shape[0], gh.out, gw.out, x.shape[3]), -np.inf, xp.dtype)
    arg = np.zeros(best.shape, np.int64)
    for t in range(gh.taps * gw.taps):
        v = xp[_tap(gh, gw, t // gw.taps, t % gw.taps)]
        better = v > best
        best = np.where(better, v, best)
        arg = np.where(better, t, arg)
    return best, arg


def _max_pool_ref(x: np.ndarray, ksize: Any, strides: Any, padding: str) -> np.ndarray:
    return _max_pool_argmax(x, ksize, strides, padding)[0].astype(x.dtype)


def _max_pool_grad_ref(x: np.ndarray, dy: np.ndarray, ksize: Any, strides: Any, padding: str) -> np.ndarray:
    gh, gw = _pool_geometry(x, ksize, strides, padding)
    _, arg = _max_pool_argmax(x, ksize, strides, padding)
    dxp = _padded(np.zeros(x.shape, _acc(dy).dtype), gh, gw, 0.0)
    for t in range(gh.taps * gw.taps):
        # for one tap, distinct outputs read distinct inputs, so += on the strided view is exact
        dxp[_tap(gh, gw, t // gw.taps, t % gw.taps)] += np.where(arg == t, _acc(dy), 0)
    return _crop(dxp, gh, gw).astype(x.dtype)


def _max_pool_grad_grad_ref(x: np.ndarray, ddx: np.ndarray, ksize: Any, strides: Any, padding: str) -> np.ndarray:
    gh, gw = _pool_geometry(x, ksize, strides, padding)
    _, arg = _max_pool_argmax(x, ksize, strides, padding)
    ddxp = _padded(_acc(ddx), gh, gw, 0.0)
    out = np.zeros(arg.shape, ddxp.dtype)
    for t in range(gh.taps * gw.taps):
        out = np.where(arg == t, ddxp[_tap(gh, gw, t // gw.taps, t % gw.taps)], out)
    return out.astype(x.dtype)


def _pool_counts(gh: AxisGeometry, gw: AxisGeometry) -> np.ndarray:
    """Per output position, the number of real input elements in its window: [OH, OW, 1]."""
    def per_axis(g: AxisGeometry) -> np.ndarray:
        start = np.arange(g.out) * g.stride - g.pad_before
        return np.minimum(start + g.taps, g.size) - np.maximum(start, 0)

    return (per_axis(gh)[:, None] * per_axis(gw)[None, :])[:, :, None]


def _avg_pool_ref(x: np.ndarray, ksize: Any, strides: Any, padding: str) -> np.ndarray:
    gh, gw = _pool_geometry(x, ksize, strides, padding)
    xp = _padded(_acc(x), gh, gw, 0.0)
    total = sum(xp[_tap(gh, gw, i, j)] for i in range(gh.taps) for j in range(gw.taps))
    return (total / _pool_counts(gh, gw).astype(xp.dtype)).astype(x.dtype)


def _avg_pool_grad_ref(dy: np.ndarray, input_size: Any, ksize: Any, strides: Any, padding: str) -> np.ndarray:
    h, w = (int(s) for s in input_size)
    kh, kw = (int(k) for k in ksize)
    gh, gw = geometries(h, w, kh, kw, {"strides": strides, "padding": padding})
    share = _acc(dy) / _pool_counts(gh, gw).astype(_acc(dy).dtype)
    dxp = _padded(np.zeros((dy.shape[0], h, w, dy.shape[3]), share.dtype), gh, gw, 0.0)
    for i in range(kh):
        for j in range(kw):
            dxp[_tap(gh, gw, i, j)] += share
    return _crop(dxp, gh, gw).astype(dy.dtype)


# ---- registration -------------------------------------------------------------------------
_CONV_ATTRS = {"strides": Attr("ints", (1, 1)), "padding": Attr("str"), "dilations": Attr("ints", (1, 1))}
_POOL_ATTRS = {"ksize": Attr("ints"), "strides": Attr("ints"), "padding": Attr("str")}

register(OpDef("conv2d", 2, _conv2d_rule, _conv2d_ref, attrs=_CONV_ATTRS,
               doc="x [N,H,W,C] (*) filter [KH,KW,C,O] -> [N,OH,OW,O]; cross-correlation, as TF"))
register(OpDef("conv2d_backprop_input", 2, _conv2d_backprop_input_rule, _conv2d_backprop_input_ref,
               attrs={"input_size": Attr("ints"), **_CONV_ATTRS},
               doc="(filter, dy) -> dx: the gradient of conv2d with respect to its input"))
register(OpDef("conv2d_backprop_filter", 2, _conv2d_backprop_filter_rule, _conv2d_backprop_filter_ref,
               attrs={"filter_size": Attr("ints"), **_CONV_ATTRS},
               doc="(x, dy) -> dfilter: the gradient of conv2d with respect to its filter"))
register(OpDef("max_pool", 1, _pool_rule("max_pool"), _max_pool_ref, attrs=_POOL_ATTRS,
               doc="window maxima; padding never wins"))
register(OpDef("max_pool_grad", 2, _max_pool_grad_rule, _max_pool_grad_ref, attrs=_POOL_ATTRS,
               doc="(x, dy) -> dx: each dy goes to the first maximum of its window"))
register(OpDef("max_pool_grad_grad", 2, _max_pool_grad_grad_rule, _max_pool_grad_grad_ref, attrs=_POOL_ATTRS,
               doc="(x, ddx) -> ddy: ddx read at each window's first maximum"))
register(OpDef("avg_pool", 1, _pool_rule("avg_pool"), _avg_pool_ref, attrs=_POOL_ATTRS,
               doc="window means over the real (unpadded) elements"))
register(OpDef("avg_pool_grad", 1, _avg_pool_grad_rule, _avg_pool_grad_ref,
               attrs={"input_size": Attr("ints"), **_POOL_ATTRS},
               doc="dy -> dx: each dy shared equally among its window's real elements"))
