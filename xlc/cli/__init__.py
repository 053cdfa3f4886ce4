"""The ``xlc`` command line (``xlc.cli.main:main``)."""

from __future__ import annotations
