"""Executables: a compiled Func and the call into it.

(Bootstrap version: runs the numpy references until the CPU backend lands.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from xlc.ir.core import Func
from xlc.ir.interpreter import interpret


@dataclass(frozen=True)
class CompileOptions:
    """How to compile: the pass pipeline and the backend."""

    pipeline: str = "default"
    backend: str = "cpu"


class Executable:
    """A compiled Func: ``run(inputs)`` returns its results as numpy arrays."""

    def __init__(self, func: Func, options: CompileOptions) -> None:
        self.func = func
        self.options = options

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return interpret(self.func, inputs)


def compile_func(func: Func, options: CompileOptions | None = None) -> Executable:
    return Executable(func, options or CompileOptions())
