"""GFLOP/s of the generated GEMM (xlc/backends/cpu/gemm.py) against numpy's matmul.

Run single-threaded OpenBLAS, with the CPU-type overrides removed, e.g.::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 PYTHONPATH=. \\
        python benchmarks/bench_gemm.py [--dtypes f32,f64] [--rounds 7] [--threads 2]

Prints compile times (IR build, optimisation, machine code) and a table of
median GFLOP/s per size with the ratio xlc / numpy. The two sides alternate
round by round because the clock drifts (3.9-4.4 GHz on the reference machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import ctypes
import statistics
import threading
import time

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np

from xlc.backends.cpu.gemm import choose_blocking, define_gemm, gemm_cols_name, gemm_name

SIZES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (1000, 777, 513)]
# Shapes of training steps, with the layout they come in ("NT": B transposed, "TN": A transposed):
# a conv layer's weight gradient / input gradient as matmuls, and an MLP 784-512-512-10 at batch 128.
TRAIN = ("64x3136x1024:NT,3136x1024x64:TN,64x3136x1024:NN,1024x1024x1024:NN,1024x1024x1024:TN,"
         "1024x1024x1024:NT,128x512x784:NN,128x512x512:NT,512x512x128:TN,784x512x128:TN,"
         "128x10x512:NN,128x512x10:NT,512x10x128:TN")
_NP = {"f32": np.float32, "f64": np.float64}
_CT = {"f32": ctypes.c_float, "f64": ctypes.c_double}


def _target_machine(opt: int = 3) -> llvm.TargetMachine:
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=opt
    )


def compile_gemm(
    dtypes: list[str], simd: int, hand_vectorised_pipeline: bool, kc: int = 0, mc: int = 0
) -> tuple[object, dict[str, float]]:
    """Build, optimise and JIT a module with the GEMMs; return (engine, phase times in s).

    ``hand_vectorised_pipeline`` turns LLVM's loop vectoriser and unroller off, as
    a JIT would for this module (the kernel is vectorised and unrolled already).
    ``kc``/``mc`` override the default cache blocking when non-zero (for tuning).
    """
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    module = ir.Module(name="bench_gemm")
    module.triple = llvm.get_default_triple()
    for dt in dtypes:
        blk = choose_blocking(dt, simd) if dt in _NP else None
        if blk is not None and (kc or mc):
            blk = dataclasses.replace(blk, kc=kc or blk.kc, mc=mc or blk.mc)
        define_gemm(module, dt, simd, blk)
    text = str(module)
    times["build IR"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mod = llvm.parse_assembly(text)
    mod.verify()
    times["parse"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    if hand_vectorised_pipeline:
        pto.loop_vectorization = False
        pto.loop_unrolling = False
    pb = llvm.create_pass_builder(_target_machine(), pto)
    pb.getModulePassManager().run(mod, pb)
    times["optimise"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine = llvm.create_mcjit_compiler(mod, _target_machine())
    engine.finalize_object()
    times["codegen"] = time.perf_counter() - t0
    return engine, times


def _fn(engine, dtype: str, cols: bool):
    p = ctypes.POINTER(_CT[dtype])
    i64 = ctypes.c_int64
    args = [i64, i64, i64, p, i64, i64, p, i64, i64, p, i64, ctypes.c_int32] + ([i64, i64] if cols else [])
    name = gemm_cols_name(dtype) if cols else gemm_name(dtype)
    return ctypes.CFUNCTYPE(None, *args)(engine.get_function_address(name))


def _runner(engine, dtype: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, threads: int):
    """A no-argument callable computing c = a @ b with ``threads`` column ranges (a, b any strided views)."""
    (m, k), n = a.shape, b.shape[1]
    p = ctypes.POINTER(_CT[dtype])
    pa, pb, pc = (x.ctypes.data_as(p) for x in (a, b, c))
    es = a.itemsize
    sa0, sa1, sb0, sb1 = a.strides[0] // es, a.strides[1] // es, b.strides[0] // es, b.strides[1] // es
    if threads == 1:
        fn = _fn(engine, dtype, cols=False)
        return lambda: fn(m, n, k, pa, sa0, sa1, pb, sb0, sb1, pc, n, 0)
    fn = _fn(engine, dtype, cols=True)
    # Column ranges on multiples of 64 keep every thread's tiles full.
    bounds = [min(n, (n * t // threads + 63) // 64 * 64) for t in range(threads + 1)]
    bounds[-1] = n

    def run() -> None:
        ts = [
            threading.Thread(target=fn, args=(m, n, k, pa, sa0, sa1, pb, sb0, sb1, pc, n, 0, bounds[t], bounds[t + 1]))
            for t in range(threads)
        ]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    return run


def bench(
    engine, dtype: str, rounds: int, threads: int, sizes: list[tuple[int, int, int, str]]
) -> list[tuple[str, float, float]]:
    rows = []
    rng = np.random.default_rng(0)
    for m, n, k, layout in sizes:
        # "T" stores the operand transposed (column-major view), as a matmul with transpose_a/b sees it
        a = rng.standard_normal((k, m) if layout[0] == "T" else (m, k)).astype(_NP[dtype])
        b = rng.standard_normal((n, k) if layout[1] == "T" else (k, n)).astype(_NP[dtype])
        a, b = (a.T if layout[0] == "T" else a), (b.T if layout[1] == "T" else b)
        c_x = np.empty((m, n), _NP[dtype])
        c_n = np.empty((m, n), _NP[dtype])
        ours = _runner(engine, dtype, a, b, c_x, threads)
        theirs = lambda: np.matmul(a, b, out=c_n)  # noqa: E731
        ours(), theirs()  # warm caches, pages and malloc's heap
        tol = 1e-3 * np.sqrt(k) if dtype == "f32" else 1e-9 * np.sqrt(k)
        assert np.allclose(c_x, c_n, rtol=0, atol=tol), f"{dtype} {m}x{n}x{k}: wrong result"
        t_ours, t_theirs = [], []
        reps = max(1, int(2e9 / (2 * m * n * k)))  # ~10 ms or more per sample
        for _ in range(rounds):
            for fn, out in ((ours, t_ours), (theirs, t_theirs)):
                t0 = time.perf_counter()
                for _ in range(reps):
                    fn()
                out.append((time.perf_counter() - t0) / reps)
        flops = 2.0 * m * n * k
        rows.append((f"{m}x{n}x{k} {layout}", flops / statistics.median(t_ours) / 1e9, flops / statistics.median(t_theirs) / 1e9))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtypes", default="f32,f64")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="xlc threads (column ranges); numpy stays as set")
    ap.add_argument("--sizes", default="", help="MxNxK[:layout],...: e.g. 1024x1024x1024,64x3136x1024:NT; "
                    "'train' for the shapes of training steps (default: the standard set)")
    ap.add_argument("--layouts", default="NN", help="layouts for sizes without one, e.g. NN,TN,NT "
                    "(T: that operand stored transposed)")
    ap.add_argument("--kc", type=int, default=0, help="override KC (tuning)")
    ap.add_argument("--mc", type=int, default=0, help="override MC (tuning)")
    ap.add_argument("--no-compile-times", action="store_true")
    args = ap.parse_args()
    spec = TRAIN if args.sizes == "train" else args.sizes
    plain = [s for s in spec.split(",")] if spec else ["x".join(map(str, s)) for s in SIZES]
    sizes = []
    for s in plain:
        dims, _, layout = s.partition(":")
        m, n, k = (int(x) for x in dims.split("x"))
        sizes += [(m, n, k, lay) for lay in ([layout] if layout else args.layouts.split(","))]
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    simd = 16 if "+avx512f" in llvm.get_host_cpu_features().flatten() else 8
    dtypes = args.dtypes.split(",")
    print(f"host {llvm.get_host_cpu_name()}, simd_width {simd}, numpy {np.__version__}")
    for dt in dtypes if not args.no_compile_times else []:
        for hand in (True, False):
            _, times = compile_gemm([dt], simd, hand)
            label = "vectoriser+unroller off" if hand else "default O3 pipeline"
            total = sum(times.values())
            phases = ", ".join(f"{k} {v * 1e3:.0f}" for k, v in times.items())
            print(f"compile {dt} ({label}): {total * 1e3:.0f} ms  [{phases} ms]")
    engine, _ = compile_gemm(dtypes, simd, True, args.kc, args.mc)
    for dt in dtypes:
        print(f"\n{dt}, xlc threads={args.threads}, kc={args.kc or 'default'} mc={args.mc or 'default'}, "
              f"median of {args.rounds} rounds")  # fmt: skip
        print(f"{'M x N x K layout':>19} {'xlc GFLOP/s':>12} {'numpy GFLOP/s':>14} {'ratio':>7}")
        for size, ours, theirs in bench(engine, dt, args.rounds, args.threads, sizes):
            print(f"{size:>19} {ours:12.1f} {theirs:14.1f} {ours / theirs:7.3f}")


if __name__ == "__main__":
    main()
