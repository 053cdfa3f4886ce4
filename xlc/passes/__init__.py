"""Passes over the IR and the pass manager that runs them by name.

Importing this package registers every pass: ``fold``, ``simplify``, ``cse``, ``dce``.
Run a pipeline with :func:`run_pipeline` (``run_pipeline(module, "fold,cse,dce")``) or a
:class:`PassManager`; :data:`DEFAULT_PIPELINE` is what compilation runs.
"""

from __future__ import annotations

import xlc.ops  # noqa: F401  (defines the ops the passes look up)
from xlc.passes.autodiff import autodiff, differentiate
from xlc.passes.cse import cse
from xlc.passes.dce import dce
from xlc.passes.fold import fold
from xlc.passes.manager import (
    DEFAULT_PIPELINE,
    PIPELINES,
    Pass,
    PassManager,
    PipelineError,
    UnknownPassError,
    all_passes,
    get_pass,
    parse_pipeline,
    register_pass,
    run_pipeline,
)
from xlc.passes.simplify import simplify

__all__ = [
    "autodiff",
    "differentiate",
    "DEFAULT_PIPELINE",
    "PIPELINES",
    "Pass",
    "PassManager",
    "PipelineError",
    "UnknownPassError",
    "all_passes",
    "cse",
    "dce",
    "fold",
    "get_pass",
    "parse_pipeline",
    "register_pass",
    "run_pipeline",
    "simplify",
]
