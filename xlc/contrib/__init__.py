"""``xlc.contrib``: TF 1.x's ``tf.contrib`` names that xlc provides (``contrib.eager``)."""

from __future__ import annotations

from xlc.contrib import eager

__all__ = ["eager"]
