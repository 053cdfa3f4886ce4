"""Kernels compiled once per process and linked into every JIT module by symbol address.

The GEMM is large (hundreds of lines of LLVM IR) and takes ~150 ms to optimise and emit; a
module that calls it only declares it, and the JIT resolves the symbol to this library's copy.
Ahead-of-time objects define it themselves (see ``self_contained`` in the code generator), so
an exported library has no dependency on this process.
"""

from __future__ import annotations

import threading

import llvmlite.binding as llvm
from llvmlite import ir

from xlc.backends.cpu.gemm import define_gemm, gemm_cols_name, gemm_name
from xlc.backends.cpu.target import JitModule, host_info

_LOCK = threading.Lock()
_LOADED: dict[str, JitModule] = {}


def gemm_simd_width(dtype: str) -> int:
    """The GEMM generator's ``simd_width``: float32 lanes per vector register (for every dtype)."""
    return max(1, host_info().simd_bytes // 4)


def ensure_gemm(dtype: str) -> None:
    """Compile the GEMM for ``dtype`` (once) and register its symbols with the JIT linker."""
    with _LOCK:
        if dtype in _LOADED:
            return
        module = ir.Module(name=f"xlc.runtime.gemm_{dtype}")
        module.triple = host_info().triple
        define_gemm(module, dtype, gemm_simd_width(dtype))
        jit = JitModule(str(module))
        for name in (gemm_name(dtype), gemm_cols_name(dtype)):
            llvm.add_symbol(name, jit.address(name))
        _LOADED[dtype] = jit
