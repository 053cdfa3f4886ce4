"""Data sets for examples and tests: MNIST IDX files and scikit-learn's bundled digits.

Pure numpy (scikit-learn only for the bundled digits); nothing here downloads.
"""

from __future__ import annotations

from xlc.datasets.dataset import DataSet, dense_to_one_hot
from xlc.datasets.digits import MissingDependencyError, affine_augment, load_digits, load_digits_split, shift_augment
from xlc.datasets.idx import read_idx, write_idx
from xlc.datasets.mnist import has_mnist, load_mnist, load_mnist_or_digits

__all__ = [
    "DataSet", "MissingDependencyError", "affine_augment", "dense_to_one_hot", "has_mnist", "load_digits", "load_digits_split",
    "load_mnist", "load_mnist_or_digits", "read_idx", "shift_augment", "write_idx",
]
