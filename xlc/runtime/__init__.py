"""The runtime: compiles IR functions into executables and runs them.

``compile_func(func) -> Executable``; ``Executable.run(inputs) -> outputs``.
"""

from __future__ import annotations

from xlc.runtime.executable import CompileOptions, Executable, compile_func

__all__ = ["CompileOptions", "Executable", "compile_func"]
