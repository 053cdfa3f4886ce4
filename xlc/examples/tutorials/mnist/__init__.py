"""``input_data.read_data_sets``, as the TF 1.x MNIST tutorials use it."""

from __future__ import annotations

from xlc.examples.tutorials.mnist import input_data

__all__ = ["input_data"]
