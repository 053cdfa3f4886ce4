"""The CPU backend: IR Func -> LLVM IR -> x86-64 machine code (JIT in process, or an object file).

Lowerings live in tables keyed by op name: per-element lowerings (``ELEM``), which fuse,
and whole-op kernels (``KERNELS``: matmul, random_shuffle), which read and write buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlc.backends.cpu import (
    lower_conv,
    lower_elementwise,
    lower_grad_ops,
    lower_linalg,
    lower_nn,
    lower_random,
    lower_reduce,
    lower_reduce_stream,
    lower_shape,
    lower_structural,
)
from xlc.backends.cpu.codegen import ENTRY, Layout, check_lowerings, generate, number_values
from xlc.backends.cpu.emitter import ERR_GATHER_INDEX, ERR_INT_DIV_ZERO
from xlc.backends.cpu.target import JitModule, emit_assembly, host_info, optimized_ir
from xlc.backends.cpu.target import emit_object as _emit_object
from xlc.ir.core import Func

ELEM = {
    **lower_elementwise.ELEM,
    **lower_structural.ELEM,
    **lower_shape.ELEM,
    **lower_reduce.ELEM,
    **lower_random.ELEM,
    **lower_grad_ops.ELEM,
    **lower_nn.ELEM,
}
KERNELS = {**lower_linalg.KERNELS, **lower_random.KERNELS, **lower_grad_ops.KERNELS,
           **lower_nn.KERNELS, **lower_conv.KERNELS}
STORES = {**lower_reduce_stream.STORES}


def lower(func: Func, self_contained: bool = True, aliases: dict[int, int] | None = None,
          array_data_offset: int | None = None) -> tuple[str, Layout]:
    """Unoptimised LLVM IR text of ``func``'s entry function, and its argument layout.

    ``self_contained=False`` (the in-process JIT) links shared kernels such as the GEMM from
    the process-wide runtime library instead of compiling them into every module.
    """
    check_lowerings(func, ELEM, KERNELS)
    module, layout = generate(func, ELEM, KERNELS, self_contained, aliases, array_data_offset, STORES)
    info = host_info()
    module.triple = info.triple
    return str(module), layout


def emit_llvm_ir(func: Func, optimize: bool = True) -> str:
    text, _ = lower(func)
    return optimized_ir(text) if optimize else text


def emit_asm(func: Func) -> str:
    return emit_assembly(lower(func)[0])


def emit_object(func: Func) -> bytes:
    return _emit_object(lower(func)[0])


@dataclass
class NativeFunc:
    """A func compiled into this process: its entry's address, its layout, the engine."""

    jit: JitModule
    layout: Layout
    address: int


def compile_native(func: Func, aliases: dict[int, int] | None = None,
                   array_data_offset: int | None = None) -> NativeFunc:
    """JIT-compile ``func``; ``aliases`` and ``array_data_offset`` as in :func:`generate`."""
    text, layout = lower(func, self_contained=False, aliases=aliases, array_data_offset=array_data_offset)
    jit = JitModule(text)
    return NativeFunc(jit, layout, jit.address(ENTRY))


__all__ = [
    "ELEM", "KERNELS", "ENTRY", "ERR_GATHER_INDEX", "ERR_INT_DIV_ZERO", "Layout", "NativeFunc",
    "compile_native", "emit_asm", "emit_llvm_ir", "emit_object", "lower", "number_values",
]
