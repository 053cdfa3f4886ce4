"""The one owner of LLVM's CPU target: initialisation, optimisation, JIT, assembly, objects.

JIT and object output differ only in the last step, so what runs in process is what an
AOT build would contain.  Each JIT engine gets its own TargetMachine (MCJIT takes ownership
of it; sharing one between engines crashes when the first engine is collected).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import tempfile
from dataclasses import dataclass

import llvmlite
import llvmlite.binding as llvm

from xlc.config import SETTINGS
from xlc.errors import CompileError

# Bump when the optimisation pipeline or code model changes: cached objects depend on them.
PIPELINE_VERSION = "1"


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


class ObjectCache:
    """Compiled object files on disk, keyed by a hash of the LLVM IR and everything else that
    shapes the machine code (target, CPU features, LLVM version, pipeline).

    Files are written atomically (a temporary file, then a rename) and carry a digest of their
    contents, so a crash never leaves a half file that loads.
    """

    def __init__(self, directory: str | None) -> None:
        self.directory = os.path.join(directory, "objects") if directory else None

    def key(self, llvm_ir: str) -> str:
        info = host_info()
        h = hashlib.sha256()
        for part in (PIPELINE_VERSION, llvmlite.__version__, info.triple, info.cpu, info.features, llvm_ir):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()

    def load(self, key: str) -> bytes | None:
        if self.directory is None:
            return None
        try:
            with open(os.path.join(self.directory, key + ".o"), "rb") as f:
                data = f.read()
        except OSError:
            return None
        digest, body = data[:32], data[32:]
        return body if hashlib.sha256(body).digest() == digest else None

    def store(self, key: str, obj: bytes) -> None:
        if self.directory is None:
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(hashlib.sha256(obj).digest() + obj)
            os.replace(tmp, os.path.join(self.directory, key + ".o"))
        except OSError:  # a read-only or full disk only costs the next process a compile
            pass


CACHE = ObjectCache(SETTINGS.cache_dir)


class JitModule:
    """Native code for one LLVM module, loaded in this process; keeps the engine alive.

    The module is optimised and emitted as an object file once (or found in the object
    cache), then loaded into an MCJIT engine: the same bytes an AOT build would link.
    """

    def __init__(self, llvm_ir: str, cache: ObjectCache | None = None) -> None:
        cache = CACHE if cache is None else cache
        key = cache.key(llvm_ir)
        obj = cache.load(key)
        self.from_cache = obj is not None
        if obj is None:
            tm = target_machine()
            obj = tm.emit_object(parse_and_optimize(llvm_ir, tm))
            cache.store(key, obj)
        _initialize()
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target_machine())
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self.engine.finalize_object()

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
