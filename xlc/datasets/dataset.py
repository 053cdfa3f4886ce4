"""DataSet: images and labels in memory, served in shuffled mini-batches (TF1's tutorial class).

``images`` are float32 ``[n, 784]`` in [0, 1] (or ``[n, 28, 28, 1]`` with ``reshape=False``),
``labels`` int64 class ids ``[n]`` or float32 one-hot rows ``[n, 10]``.  ``next_batch``
walks a random permutation of the examples; at the end of an epoch it finishes the
batch from the start of the next permutation, so every batch is full and every example
is seen once per epoch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DataSet", "dense_to_one_hot"]


def dense_to_one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Class ids ``[n]`` as float32 one-hot rows ``[n, num_classes]``."""
    labels = np.asarray(labels, np.int64).ravel()
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got values in [{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.size, num_classes), np.float32)
    out[np.arange(labels.size), labels] = 1.0
    return out


class DataSet:
    """Examples served in mini-batches.

    ``images``: ``[n, h, w]``, ``[n, h, w, 1]`` or ``[n, h*w]``.  With a float ``dtype``, uint8
    values are scaled to [0, 1] and float values kept; ``dtype=np.uint8`` keeps uint8 bytes.  ``reshape=True`` flattens to ``[n, h*w]`` (TF1's
    default), else the images become ``[n, h, w, 1]``.  ``seed`` fixes the batch order.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, one_hot: bool = False, reshape: bool = True,
                 num_classes: int = 10, seed: int | None = None, dtype: object = np.float32) -> None:
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"images.shape: {images.shape} labels.shape: {labels.shape}: "
                             "they must hold the same number of examples")
        out_dtype = np.dtype(dtype)  # type: ignore[call-overload]
        if out_dtype == np.uint8:
            if images.dtype != np.uint8:
                raise TypeError(f"DataSet: dtype uint8 needs uint8 images, got {images.dtype}")
        elif images.dtype == np.uint8:
            images = images.astype(out_dtype) / out_dtype.type(255)  # bytes become [0, 1]
        else:
            images = images.astype(out_dtype)
        n = images.shape[0]
        if reshape:
            images = images.reshape(n, int(np.prod(images.shape[1:], dtype=np.int64)))
        elif images.ndim == 3:
            images = images[..., None]
        if one_hot and labels.ndim == 1:
            labels = dense_to_one_hot(labels, num_classes)
        elif not one_hot and labels.ndim == 2:
            labels = labels.argmax(axis=1)
        self._images = np.ascontiguousarray(images)
        self._labels = np.ascontiguousarray(labels)
        self._num_examples = n
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(n)
        self._index_in_epoch = 0
        self._epochs_completed = 0
        self._started = False

    @property
    def images(self) -> np.ndarray:
        return self._images

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._num_examples

    @property
    def epochs_completed(self) -> int:
        return self._epochs_completed

    def next_batch(self, batch_size: int, fake_data: bool = False, shuffle: bool = True
                   ) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` examples as ``(images, labels)``."""
        if fake_data:
            raise ValueError("fake_data is not supported: xlc's DataSet always serves real examples")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if self._num_examples == 0:
            raise ValueError("next_batch on an empty DataSet")
        picked: list[np.ndarray] = []
        needed = batch_size
        if not self._started:
            self._new_epoch(shuffle)
            self._started = True
        while needed > 0:
            if self._index_in_epoch >= self._num_examples:
                self._epochs_completed += 1
                self._new_epoch(shuffle)
            take = min(needed, self._num_examples - self._index_in_epoch)
            picked.append(self._order[self._index_in_epoch:self._index_in_epoch + take])
            self._index_in_epoch += take
            needed -= take
        idx = np.concatenate(picked)
        return self._images[idx], self._labels[idx]

    def _new_epoch(self, shuffle: bool) -> None:
        self._order = self._rng.permutation(self._num_examples) if shuffle else np.arange(self._num_examples)
        self._index_in_epoch = 0
