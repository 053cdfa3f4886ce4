"""``read_data_sets(train_dir, one_hot=...)``: TF 1.x's MNIST tutorial helper, without downloads.

It reads the four MNIST IDX files (gzipped or not) from ``train_dir`` when they are
there.  Otherwise it falls back to scikit-learn's bundled 8x8 digits upsampled to 28x28
(see :mod:`xlc.datasets.digits`) and prints a note saying so: xlc never downloads.  The
result has TF's shape: ``.train``, ``.validation``, ``.test``, each a DataSet with
``images`` (``[n, 784]`` floats in [0, 1]), ``labels``, ``num_examples`` and ``next_batch``.
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np

from xlc.datasets import DataSet, has_mnist, load_digits_split, load_mnist
from xlc.datasets.digits import NUM_TRAIN
from xlc.ir.types import DType, as_dtype

__all__ = ["DataSet", "Datasets", "load_mnist_datasets", "read_data_sets"]

# How many of MNIST's 60,000 training images TF holds out for validation by default.
_MNIST_TRAIN = 60000


class Datasets(NamedTuple):
    train: DataSet
    validation: DataSet
    test: DataSet


def _np_dtype(dtype: Any) -> np.dtype:
    dt = dtype.np_dtype if isinstance(dtype, DType) else np.dtype(dtype) if not isinstance(dtype, str) \
        else as_dtype(dtype).np_dtype
    if dt not in (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.uint8)):
        raise TypeError(f"read_data_sets: invalid image dtype {dt}, expected uint8, float32 or float64")
    return np.dtype(dt)


def read_data_sets(train_dir: str, fake_data: bool = False, one_hot: bool = False, dtype: Any = np.float32,
                   reshape: bool = True, validation_size: int = 5000, seed: int | None = None,
                   source_url: str | None = None) -> Datasets:
    """MNIST from ``train_dir``, else the bundled digits (with a note on stdout).

    ``validation_size`` images are split off the front of the training set (for the
    bundled digits, the same fraction of them as for MNIST: 5000 of 60000 becomes 125 of
    1500).  ``dtype`` uint8 keeps pixel values 0..255; float types scale them to [0, 1].
    ``source_url`` is accepted for compatibility and never used.
    """
    if fake_data:
        raise ValueError("read_data_sets: fake_data is not supported")
    np_dtype = _np_dtype(dtype)
    if has_mnist(train_dir):
        train_x, train_y, test_x, test_y = load_mnist(train_dir)
        print(f"Extracting MNIST from {train_dir}")
        n_val = validation_size
    else:
        print(f"Note: no MNIST IDX files in {train_dir!r}; xlc never downloads, so using the bundled "
              f"scikit-learn digits instead ({NUM_TRAIN} train / 297 test, upsampled to 28x28). Put "
              "train-images-idx3-ubyte.gz and the other three MNIST files there to use MNIST.",
              file=sys.stdout)
        train_x, train_y, test_x, test_y = load_digits_split()
        n_val = int(round(validation_size * len(train_x) / _MNIST_TRAIN))
    if not (0 <= validation_size and 0 <= n_val <= len(train_x)):
        raise ValueError(f"Validation size should be between 0 and {len(train_x)}. Received: {validation_size}.")
    if np_dtype == np.uint8:
        train_x = np.round(train_x * 255).astype(np.uint8)
        test_x = np.round(test_x * 255).astype(np.uint8)

    def make(images: np.ndarray, labels: np.ndarray, offset: int) -> DataSet:
        return DataSet(images, labels, one_hot=one_hot, reshape=reshape, dtype=np_dtype,
                       seed=None if seed is None else seed + offset)

    return Datasets(train=make(train_x[n_val:], train_y[n_val:], 0),
                    validation=make(train_x[:n_val], train_y[:n_val], 1),
                    test=make(test_x, test_y, 2))


def load_mnist_datasets(train_dir: str = "MNIST-data") -> Datasets:
    """TF's ``load_mnist``: read_data_sets with its defaults."""
    return read_data_sets(train_dir)
