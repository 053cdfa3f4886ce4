"""The NN ops' numpy references against direct loops, PyTorch (when importable), and calculus.

* conv2d / pooling against naive per-element loops (and torch.nn.functional in NCHW);
* the backward ops against central finite differences of the forward references in float64
  (directional derivatives: <dy, f(x + e v) - f(x - e v)> / 2e == <backward(dy), v>);
* softmax and cross entropy: stable at logits of 1000, equal to the textbook formulas elsewhere.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import xlc.ops  # noqa: F401
from xlc.errors import ShapeError
from xlc.ir.opdef import get_opdef
from xlc.ir.types import TensorType, float32
from xlc.ops.conv import axis_geometry

RNG = np.random.default_rng(7)


def ref(name: str, *arrays: np.ndarray, **attrs: Any) -> np.ndarray:
    d = get_opdef(name)
    return d.evaluate(list(arrays), d.complete_attrs(attrs))[0]


def naive_conv(x: np.ndarray, w: np.ndarray, strides: tuple[int, int], padding: str,
               dilations: tuple[int, int]) -> np.ndarray:
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    gh = axis_geometry(h, kh, strides[0], dilations[0], padding)
    gw = axis_geometry(wd, kw, strides[1], dilations[1], padding)
    out = np.zeros((n, gh.out, gw.out, o))
    for b, i, j in itertools.product(range(n), range(gh.out), range(gw.out)):
        for p, q in itertools.product(range(kh), range(kw)):
            ih = i * strides[0] + p * dilations[0] - gh.pad_before
            iw = j * strides[1] + q * dilations[1] - gw.pad_before
            if 0 <= ih < h and 0 <= iw < wd:
                out[b, i, j] += x[b, ih, iw] @ w[p, q]
    return out


def naive_pool(x: np.ndarray, ksize: tuple[int, int], strides: tuple[int, int], padding: str,
               kind: str) -> np.ndarray:
    n, h, wd, c = x.shape
    gh = axis_geometry(h, ksize[0], strides[0], 1, padding)
    gw = axis_geometry(wd, ksize[1], strides[1], 1, padding)
    out = np.zeros((n, gh.out, gw.out, c))
    for i, j in itertools.product(range(gh.out), range(gw.out)):
        h0, w0 = i * strides[0] - gh.pad_before, j * strides[1] - gw.pad_before
        win = x[:, max(h0, 0):h0 + ksize[0], max(w0, 0):w0 + ksize[1], :]
        out[:, i, j] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


CONVS = [((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1)),
         ((2, 8, 8, 2), (2, 2, 2, 3), (1, 1), "SAME", (1, 1)),  # even kernel: the extra pad goes after
         ((1, 9, 7, 2), (3, 2, 2, 2), (2, 3), "SAME", (1, 1)),
         ((2, 9, 8, 2), (3, 3, 2, 3), (2, 2), "VALID", (1, 1)),
         ((1, 9, 9, 2), (2, 3, 2, 2), (1, 1), "SAME", (2, 2)),
         ((1, 5, 5, 1), (1, 1, 1, 2), (1, 1), "VALID", (1, 1))]


@pytest.mark.parametrize("xs,ws,strides,padding,dil", CONVS)
def test_conv2d_reference_against_loops(xs: tuple, ws: tuple, strides: tuple, padding: str, dil: tuple) -> None:
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    got = ref("conv2d", x, w, strides=strides, padding=padding, dilations=dil)
    np.testing.assert_allclose(got, naive_conv(x, w, strides, padding, dil), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,ws,strides,padding,dil", CONVS)
def test_conv2d_backward_references_are_the_gradients(xs: tuple, ws: tuple, strides: tuple, padding: str,
                                                      dil: tuple) -> None:
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    attrs = {"strides": strides, "padding": padding, "dilations": dil}
    y = ref("conv2d", x, w, **attrs)
    dy = RNG.standard_normal(y.shape)
    dx = ref("conv2d_backprop_input", w, dy, input_size=xs[1:3], **attrs)
    dw = ref("conv2d_backprop_filter", x, dy, filter_size=ws[:2], **attrs)
    eps = 1e-6
    vx, vw = RNG.standard_normal(xs), RNG.standard_normal(ws)
    fd_x = np.sum(dy * (ref("conv2d", x + eps * vx, w, **attrs) - ref("conv2d", x - eps * vx, w, **attrs))) / (2 * eps)
    fd_w = np.sum(dy * (ref("conv2d", x, w + eps * vw, **attrs) - ref("conv2d", x, w - eps * vw, **attrs))) / (2 * eps)
    np.testing.assert_allclose(np.sum(dx * vx), fd_x, rtol=1e-6)
    np.testing.assert_allclose(np.sum(dw * vw), fd_w, rtol=1e-6)


POOLS = [((2, 6, 6, 3), (2, 2), (2, 2), "SAME"), ((2, 7, 6, 2), (3, 3), (2, 2), "SAME"),
         ((1, 7, 6, 2), (3, 2), (1, 2), "VALID"), ((1, 5, 5, 1), (2, 2), (1, 1), "SAME")]


@pytest.mark.parametrize("xs,ksize,strides,padding", POOLS)
def test_pool_references_against_loops(xs: tuple, ksize: tuple, strides: tuple, padding: str) -> None:
    x = RNG.standard_normal(xs)
    for kind in ("max", "avg"):
        got = ref(f"{kind}_pool", x, ksize=ksize, strides=strides, padding=padding)
        np.testing.assert_allclose(got, naive_pool(x, ksize, strides, padding, kind), rtol=1e-12, err_msg=kind)


@pytest.mark.parametrize("xs,ksize,strides,padding", POOLS)
def test_pool_backward_references_are_the_gradients(xs: tuple, ksize: tuple, strides: tuple, padding: str) -> None:
    x = RNG.standard_normal(xs)
    attrs = {"ksize": ksize, "strides": strides, "padding": padding}
    dy = RNG.standard_normal(ref("max_pool", x, **attrs).shape)
    v = RNG.standard_normal(xs)
    eps = 1e-6
    for fwd, back in (("max_pool", ref("max_pool_grad", x, dy, **attrs)),
                      ("avg_pool", ref("avg_pool_grad", dy, input_size=xs[1:3], **attrs))):
        fd = np.sum(dy * (ref(fwd, x + eps * v, **attrs) - ref(fwd, x - eps * v, **attrs))) / (2 * eps)
        np.testing.assert_allclose(np.sum(back * v), fd, rtol=1e-6, err_msg=fwd)
    # max_pool_grad_grad is the adjoint of max_pool_grad in its gradient operand
    ddx = RNG.standard_normal(xs)
    np.testing.assert_allclose(np.sum(ref("max_pool_grad", x, dy, **attrs) * ddx),
                               np.sum(dy * ref("max_pool_grad_grad", x, ddx, **attrs)), rtol=1e-10)


def test_references_against_torch() -> None:
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    x, w = RNG.standard_normal((2, 9, 8, 3)), RNG.standard_normal((3, 3, 3, 5))
    tx, tw = torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(w).permute(3, 2, 0, 1)
    got = ref("conv2d", x, w, strides=(2, 1), padding="VALID", dilations=(1, 1))
    np.testing.assert_allclose(got, f.conv2d(tx, tw, stride=(2, 1)).permute(0, 2, 3, 1).numpy(), rtol=1e-10)
    got = ref("conv2d", x, w, strides=(1, 1), padding="SAME", dilations=(2, 1))
    want = f.conv2d(tx, tw, padding="same", dilation=(2, 1)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10)
    got = ref("max_pool", x, ksize=(3, 2), strides=(2, 2), padding="VALID")
    np.testing.assert_allclose(got, f.max_pool2d(tx, (3, 2), (2, 2)).permute(0, 2, 3, 1).numpy())
    got = ref("avg_pool", x, ksize=(2, 2), strides=(2, 2), padding="VALID")
    np.testing.assert_allclose(got, f.avg_pool2d(tx, 2, 2).permute(0, 2, 3, 1).numpy(), rtol=1e-12)
    z = RNG.standard_normal((4, 7)) * 30
    np.testing.assert_allclose(ref("log_softmax", z, axis=1), f.log_softmax(torch.tensor(z), 1).numpy(), rtol=1e-12)


def test_softmax_family_is_stable_and_exact() -> None:
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]], np.float32)
    sm = ref("softmax", z, axis=1)
    assert np.all(np.isfinite(sm))
    np.testing.assert_allclose(sm[0], [1.0, 0.0, 0.0])
    e = np.exp(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(sm[1], e / e.sum(), rtol=1e-6)
    lsm = ref("log_softmax", z, axis=1)
    np.testing.assert_allclose(lsm[0], [0.0, -1000.0, -2000.0])
    labels = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]], np.float32)
    np.testing.assert_allclose(ref("softmax_cross_entropy", labels, z), [1000.0, -(labels[1] * lsm[1]).sum()],
                               rtol=1e-6)


def test_type_rules_accept_unknown_batch_and_reject_bad_shapes() -> None:
    conv = get_opdef("conv2d")
    attrs = conv.complete_attrs({"padding": "SAME", "strides": (2, 2)})
    (t,) = conv.infer([TensorType((None, 28, 28, 1), float32), TensorType((5, 5, 1, 32), float32)], attrs)
    assert t.shape == (None, 14, 14, 32)
    with pytest.raises(ShapeError, match="in_channels"):
        conv.infer([TensorType((None, 28, 28, 3), float32), TensorType((5, 5, 1, 32), float32)], attrs)
    with pytest.raises(ShapeError, match="non-positive"):
        conv.infer([TensorType((1, 3, 3, 1), float32), TensorType((5, 5, 1, 2), float32)],
                   conv.complete_attrs({"padding": "VALID"}))
    with pytest.raises(ShapeError, match="padding"):
        conv.infer([TensorType((1, 3, 3, 1), float32), TensorType((1, 1, 1, 2), float32)],
                   conv.complete_attrs({"padding": "FULL"}))
    pool = get_opdef("max_pool")
    (p,) = pool.infer([TensorType((None, 7, 7, 4), float32)],
                      pool.complete_attrs({"ksize": (2, 2), "strides": (2, 2), "padding": "SAME"}))
    assert p.shape == (None, 4, 4, 4)
    xent = get_opdef("softmax_cross_entropy")
    with pytest.raises(ShapeError, match="same size"):
        xent.infer([TensorType((None, 3), float32), TensorType((None, 4), float32)], {})
