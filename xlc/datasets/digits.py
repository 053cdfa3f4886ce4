"""scikit-learn's bundled 8x8 handwritten digits, shaped like MNIST: 28x28 floats in [0, 1].

The 1,797 digits ship inside scikit-learn (no download).  Each 8x8 image (values 0..16)
is upsampled bilinearly to 20x20 and centred in a 28x28 frame with a 4-pixel margin,
which is how MNIST frames its digits (a 20x20 box in 28x28), so MNIST code and models
apply unchanged.  The split is fixed: the first 1,500 digits train, the last 297 test.
The corpus is ordered roughly by writer, so the test digits come mostly from writers
the model never saw, a fairer test than a random split.
"""

from __future__ import annotations

import numpy as np

from xlc.errors import XlcError

__all__ = ["MissingDependencyError", "NUM_TRAIN", "affine_augment", "affine_warp", "load_digits", "load_digits_split", "shift_augment",
           "upsample_bilinear"]

NUM_TRAIN = 1500


class MissingDependencyError(XlcError, ImportError):
    """An optional dependency (here scikit-learn, for the bundled digits) is not installed."""


def upsample_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Resize a batch of square images ``[n, h, h]`` to ``[n, size, size]`` bilinearly.

    Pixel centres are aligned (output pixel i samples input position (i + 0.5) * h / size
    - 0.5, clamped to the border), the convention of most image libraries.  Bilinear
    resizing is separable, so it is one interpolation matrix applied on each side.
    """
    h = images.shape[-1]
    pos = np.clip((np.arange(size) + 0.5) * h / size - 0.5, 0, h - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, h - 1)
    frac = pos - lo
    m = np.zeros((size, h))
    m[np.arange(size), lo] += 1 - frac
    m[np.arange(size), hi] += frac
    return np.einsum("ij,njk,lk->nil", m, images.astype(np.float64), m)


def load_digits(size: int = 28, margin: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits: float32 images ``[1797, size, size]`` in [0, 1] and int64 labels 0..9.

    The digit occupies the central ``size - 2 * margin`` pixels.  Raises
    MissingDependencyError if scikit-learn is not installed.
    """
    try:
        from sklearn import datasets as sk_datasets  # optional dependency: only this loader needs it
    except ImportError:
        raise MissingDependencyError(
            "the bundled digits come from scikit-learn, which is not installed: "
            'pip install "xlc[demo]" (or pip install scikit-learn)') from None
    bunch = sk_datasets.load_digits()
    inner = size - 2 * margin
    if inner < 1:
        raise ValueError(f"load_digits: margin {margin} leaves no room in a {size}x{size} image")
    small = np.asarray(bunch.images, np.float64) / 16.0
    out = np.zeros((small.shape[0], size, size), np.float32)
    out[:, margin:margin + inner, margin:margin + inner] = np.clip(upsample_bilinear(small, inner), 0.0, 1.0)
    return out, np.asarray(bunch.target, np.int64)


def shift_augment(images: np.ndarray, labels: np.ndarray, copies: int, max_shift: int = 2,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The originals followed by ``copies`` shifted versions of each (shifts up to ``max_shift``
    pixels along each axis, zero fill), and the matching labels.  Deterministic in ``seed``."""
    if copies <= 0:
        return images, labels
    rng = np.random.default_rng(seed)
    n, h, w = images.shape
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    out = [images]
    for _ in range(copies):
        dy = rng.integers(-max_shift, max_shift + 1, n)
        dx = rng.integers(-max_shift, max_shift + 1, n)
        # a window of the padded image offset by (dy, dx) is the image moved by (-dy, -dx)
        rows = (np.arange(h)[None, :] + max_shift + dy[:, None])[:, :, None]
        cols = (np.arange(w)[None, :] + max_shift + dx[:, None])[:, None, :]
        out.append(padded[np.arange(n)[:, None, None], rows, cols])
    return np.concatenate(out), np.tile(labels, copies + 1)


def affine_warp(images: np.ndarray, theta: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Each image ``[n, h, w]`` rotated by ``theta[i]`` radians about its centre, scaled by
    ``scale[i]`` and moved by ``shift[i] = (dy, dx)`` pixels; bilinear, zero outside.  float64."""
    n, h, w = images.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
    theta, scale = theta[:, None, None], scale[:, None, None]
    # inverse map: the output pixel at p samples the input at R(-theta) (p - shift) / scale
    py, px = yy[None] - shift[:, 0, None, None], xx[None] - shift[:, 1, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    sy = (cos * py - sin * px) / scale + cy
    sx = (sin * py + cos * px) / scale + cx
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    fy, fx = sy - y0, sx - x0
    flat = images.reshape(n, h * w).astype(np.float64)
    rows = np.arange(n)[:, None, None]
    out = np.zeros((n, h, w), np.float64)
    for oy, ox, weight in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)),
                           (1, 1, fy * fx)):
        yi, xi = y0 + oy, x0 + ox
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        idx = np.clip(yi, 0, h - 1) * w + np.clip(xi, 0, w - 1)
        out += np.where(inside, weight * flat[rows, idx], 0.0)
    return out


def affine_augment(images: np.ndarray, labels: np.ndarray, copies: int, max_shift: float = 2.0,
                   max_degrees: float = 12.0, max_scale: float = 0.1, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The originals followed by ``copies`` randomly moved versions of each, and their labels.

    Each copy is rotated by up to ``max_degrees`` about the image centre, scaled by a factor
    within ``1 +- max_scale`` and shifted by up to ``max_shift`` pixels per axis, resampled
    bilinearly (zero outside the image).  New writers slant, size and place digits
    differently; these copies teach a CNN that such changes keep the class.
    Deterministic in ``seed``.
    """
    if copies <= 0:
        return images, labels
    rng = np.random.default_rng(seed)
    n = images.shape[0]
    out = [images]
    for _ in range(copies):
        theta = np.deg2rad(rng.uniform(-max_degrees, max_degrees, n))
        scale = rng.uniform(1 - max_scale, 1 + max_scale, n)
        shift = rng.uniform(-max_shift, max_shift, (n, 2))
        out.append(np.clip(affine_warp(images, theta, scale, shift), 0.0, 1.0).astype(images.dtype))
    return np.concatenate(out), np.tile(labels, copies + 1)


def load_digits_split(augment: int = 0, size: int = 28, seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_images, train_labels, test_images, test_labels)``: images float32 ``[n, size, size]``.

    1,500 training digits (plus ``augment`` randomly rotated, scaled and shifted copies of
    each: :func:`affine_augment`) and 297 test digits, always the same ones.  The test set
    is never augmented.
    """
    images, labels = load_digits(size)
    tx, ty = affine_augment(images[:NUM_TRAIN], labels[:NUM_TRAIN], augment, seed=seed)
    return tx, ty, images[NUM_TRAIN:], labels[NUM_TRAIN:]
