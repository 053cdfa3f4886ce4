"""MNIST from its four IDX files, or the bundled digits shaped like it.

:func:`load_mnist` reads ``train-images-idx3-ubyte[.gz]`` and friends from a directory;
:func:`load_mnist_or_digits` falls back to the bundled digits (xlc.datasets.digits) when
the directory holds none of them.  Nothing here ever downloads.
"""

from __future__ import annotations

import numpy as np

from xlc.errors import DataLossError, NotFoundError
from xlc.datasets import digits
from xlc.datasets.idx import MNIST_FILES, find_idx_file, read_idx

__all__ = ["has_mnist", "load_mnist", "load_mnist_or_digits"]


def has_mnist(directory: str | None) -> bool:
    """Whether ``directory`` holds at least one of the four MNIST IDX files."""
    return directory is not None and any(find_idx_file(directory, n) is not None for n in MNIST_FILES.values())


def load_mnist(directory: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_images, train_labels, test_images, test_labels)`` from the IDX files in ``directory``.

    Images are float32 ``[n, 28, 28]`` in [0, 1]; labels int64.  NotFoundError names any
    missing file; DataLossError reports a bad file or images and labels that disagree.
    """
    paths = {role: find_idx_file(directory, name) for role, name in MNIST_FILES.items()}
    missing = [MNIST_FILES[r] + "[.gz]" for r, p in paths.items() if p is None]
    if missing:
        raise NotFoundError(None, None, f"MNIST files missing from {directory}: {', '.join(missing)}")
    arrays = {role: read_idx(p) for role, p in paths.items() if p is not None}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DataLossError(None, None, f"MNIST {split} files in {directory} disagree: images "
                                            f"{list(images.shape)}, labels {list(labels.shape)}")
    return tuple(  # type: ignore[return-value]
        arrays[k].astype(np.float32) / 255.0 if k.endswith("images") else arrays[k].astype(np.int64)
        for k in ("train_images", "train_labels", "test_images", "test_labels"))


def load_mnist_or_digits(directory: str | None, augment: int = 0, seed: int = 0
                         ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], str]:
    """The MNIST arrays from ``directory`` if it holds them, else the bundled digits.

    Returns the four arrays (as :func:`load_mnist`) and a description of the source.
    ``augment`` shifted copies of each training digit are added for the bundled digits only.
    """
    if has_mnist(directory):
        assert directory is not None
        return load_mnist(directory), f"MNIST IDX files in {directory}"
    data = digits.load_digits_split(augment=augment, seed=seed)
    return data, "bundled scikit-learn digits, upsampled to 28x28"
