"""``xlc.eager``: the same names as ``xlc.contrib.eager`` (TF 1.x's tfe API)."""

from __future__ import annotations

from xlc.contrib.eager import *  # noqa: F401,F403
from xlc.contrib.eager import __all__  # noqa: F401
