"""The one owner of LLVM's CPU target: initialisation, optimisation, JIT, assembly, objects.

JIT and object output differ only in the last step, so what runs in process is what an
AOT build would contain.  Each JIT engine gets its own TargetMachine (MCJIT takes ownership
of it; sharing one between engines crashes when the first engine is collected).
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass

import llvmlite.binding as llvm

from xlc.errors import CompileError


@functools.cache
def _initialize() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


@dataclass(frozen=True)
class HostInfo:
    """What the generated code is specialised for; part of every cache key."""

    triple: str
    cpu: str
    features: str

    @property
    def has_avx512(self) -> bool:
        return "+avx512f" in self.features.split(",")

    @property
    def simd_bytes(self) -> int:
        """Width of the widest vector register the code may use."""
        return 64 if self.has_avx512 else 32 if "+avx2" in self.features.split(",") else 16


@functools.cache
def host_info() -> HostInfo:
    _initialize()
    return HostInfo(llvm.get_process_triple(), llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())


def target_machine(opt: int = 3, reloc: str = "default") -> llvm.TargetMachine:
    """A fresh TargetMachine for the host (callers must not share it between engines)."""
    info = host_info()
    target = llvm.Target.from_triple(info.triple)
    return target.create_target_machine(cpu=info.cpu, features=info.features, opt=opt, reloc=reloc,
                                        codemodel="jitdefault" if reloc == "default" else "default")


def parse_and_optimize(llvm_ir: str, tm: llvm.TargetMachine, speed_level: int = 3) -> llvm.ModuleRef:
    """Parse textual LLVM IR, verify it, run the O3 pipeline (with SLP vectorisation on), verify again."""
    _initialize()
    try:
        mod = llvm.parse_assembly(llvm_ir)
        mod.verify()
    except RuntimeError as e:  # a code generator bug, not a user error; keep the first lines only
        raise CompileError("generated LLVM IR does not verify: " + str(e).strip().splitlines()[0]) from None
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    pto = llvm.create_pipeline_tuning_options(speed_level=speed_level)
    pto.slp_vectorization = True
    pto.loop_vectorization = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    mod.verify()
    return mod


class JitModule:
    """Native code for one LLVM module, loaded in this process; keeps the engine alive."""

    def __init__(self, llvm_ir: str) -> None:
        tm = target_machine()
        self.module = parse_and_optimize(llvm_ir, tm)
        self.engine = llvm.create_mcjit_compiler(self.module, tm)
        self.engine.finalize_object()
        self.engine.run_static_constructors()

    def address(self, name: str) -> int:
        addr = self.engine.get_function_address(name)
        if not addr:
            raise CompileError(f"compiled module has no function '{name}'")
        return addr

    def cfunc(self, name: str, restype: object, *argtypes: object) -> ctypes._CFuncPtr:  # type: ignore[name-defined]
        return ctypes.CFUNCTYPE(restype, *argtypes)(self.address(name))


def emit_assembly(llvm_ir: str) -> str:
    tm = target_machine()
    return tm.emit_assembly(parse_and_optimize(llvm_ir, tm))


def emit_object(llvm_ir: str) -> bytes:
    tm = target_machine(reloc="pic")
    return tm.emit_object(parse_and_optimize(llvm_ir, tm))


def optimized_ir(llvm_ir: str) -> str:
    return str(parse_and_optimize(llvm_ir, target_machine()))
