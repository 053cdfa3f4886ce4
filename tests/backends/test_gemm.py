"""Numerics of the generated GEMM (xlc/backends/cpu/gemm.py) against numpy.

Each module-scoped fixture compiles one small llvmlite module around
``define_gemm`` with a tiny MCJIT helper (the real JIT lives elsewhere), then
calls the functions through ctypes on random data with awkward sizes, strides,
``ldc > N`` and both values of ``accumulate``.
"""

from __future__ import annotations

import ctypes
import threading

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np
import pytest

from xlc.backends.cpu.gemm import GemmBlocking, define_gemm, gemm_cols_name, gemm_name

llvm.initialize_native_target()
llvm.initialize_native_asmprinter()

_NP = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64, "i8": np.int8, "u8": np.uint8}
_CT = {
    "f32": ctypes.c_float,
    "f64": ctypes.c_double,
    "i32": ctypes.c_int32,
    "i64": ctypes.c_int64,
    "i8": ctypes.c_int8,
    "u8": ctypes.c_uint8,
}
_HOST_SIMD = 16 if "+avx512f" in llvm.get_host_cpu_features().flatten() else 8


class _Jit:
    """Compiles an llvmlite module at O3 for the host and hands out ctypes functions."""

    def __init__(self, module: ir.Module) -> None:
        target = llvm.Target.from_default_triple()
        self.tm = target.create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3
        )
        mod = llvm.parse_assembly(str(module))
        mod.verify()
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = False  # the GEMM is vectorised by hand
        pto.loop_unrolling = False
        pb = llvm.create_pass_builder(self.tm, pto)
        pb.getModulePassManager().run(mod, pb)
        mod.verify()
        engine_tm = target.create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3
        )
        self.engine = llvm.create_mcjit_compiler(mod, engine_tm)
        self.engine.finalize_object()

    def gemm(self, dtype: str, cols: bool = False) -> ctypes._CFuncPtr:
        p = ctypes.POINTER(_CT[dtype])
        i64 = ctypes.c_int64
        args = [i64, i64, i64, p, i64, i64, p, i64, i64, p, i64, ctypes.c_int32] + ([i64, i64] if cols else [])
        name = gemm_cols_name(dtype) if cols else gemm_name(dtype)
        return ctypes.CFUNCTYPE(None, *args)(self.engine.get_function_address(name))


def _build(simd: int, dtypes: tuple[str, ...], blocking: GemmBlocking | None = None) -> _Jit:
    module = ir.Module(name="gemm_test")
    module.triple = llvm.get_default_triple()
    for dt in dtypes:
        define_gemm(module, dt, simd, blocking)
    return _Jit(module)


@pytest.fixture(scope="module")
def host() -> _Jit:
    return _build(_HOST_SIMD, ("f32", "f64", "i32", "i64", "i8", "u8"))


@pytest.fixture(scope="module")
def tiny_blocks() -> _Jit:
    """Small cache blocks so odd sizes cross many KC / MC / NC boundaries quickly.

    MC and NC are not multiples of MR and NR: packed panels then overhang a block.
    """
    return _build(_HOST_SIMD, ("f32",), GemmBlocking(w=_HOST_SIMD, mr=6, nr=2 * _HOST_SIMD, kc=7, mc=10, nc=40))


@pytest.fixture(scope="module")
def avx2_width() -> _Jit:
    return _build(8, ("f32", "f64"))


def _rand(rng: np.random.Generator, shape: tuple[int, int], dtype: str) -> np.ndarray:
    if dtype in ("f32", "f64"):
        return rng.uniform(-1.0, 1.0, shape).astype(_NP[dtype])
    if dtype == "u8":
        return rng.integers(0, 256, shape).astype(np.uint8)
    if dtype == "i8":
        return rng.integers(-128, 128, shape).astype(np.int8)
    return rng.integers(-1000, 1000, shape).astype(_NP[dtype])


def _ptr(x: np.ndarray, dtype: str) -> ctypes._Pointer:
    return x.ctypes.data_as(ctypes.POINTER(_CT[dtype]))


def _call(fn, a: np.ndarray, b: np.ndarray, c: np.ndarray, accumulate: int, dtype: str, *cols: int) -> None:
    """Call with a, b as arbitrary strided views and c a row-major view (maybe ldc > N)."""
    (m, k), n = a.shape, b.shape[1]
    es = a.itemsize
    # numpy reports zero strides for empty arrays; any ldc >= N is then valid.
    ldc = c.strides[0] // es if c.size else max(n, 1)
    assert c.size == 0 or c.strides[1] == es
    fn(m, n, k, _ptr(a, dtype), a.strides[0] // es, a.strides[1] // es,
       _ptr(b, dtype), b.strides[0] // es, b.strides[1] // es,
       _ptr(c, dtype), ldc, accumulate, *cols)  # fmt: skip


def _reference(a: np.ndarray, b: np.ndarray, c0: np.ndarray, accumulate: int, dtype: str) -> np.ndarray:
    if dtype in ("f32", "f64"):
        prod = a.astype(np.float64) @ b.astype(np.float64)
        return prod + c0 if accumulate else prod
    # Integer matmul wraps: compute exactly in i64 and wrap to the dtype.
    prod = a.astype(np.int64) @ b.astype(np.int64) + (c0.astype(np.int64) if accumulate else 0)
    return prod.astype(_NP[dtype])


def _operand(rng: np.random.Generator, rows: int, cols: int, dtype: str, layout: str) -> np.ndarray:
    """A rows x cols view: "N" row-major, "T" a transposed row-major array, "S" strided both ways."""
    if layout == "T":
        return _rand(rng, (cols, rows), dtype).T
    if layout == "S":
        return _rand(rng, (2 * rows + 1, 3 * cols + 1), dtype)[1 : 2 * rows : 2, 0 : 3 * cols : 3]
    return _rand(rng, (rows, cols), dtype)


def _check(fn, dtype: str, m: int, n: int, k: int, *, accumulate: int = 0, trans_a: bool | str = False,
           trans_b: bool | str = False, ld_pad: int = 3, seed: int = 0) -> None:  # fmt: skip
    rng = np.random.default_rng(seed + 1000 * m + 100 * n + k)
    a = _operand(rng, m, k, dtype, trans_a if isinstance(trans_a, str) else "NT"[trans_a])
    b = _operand(rng, k, n, dtype, trans_b if isinstance(trans_b, str) else "NT"[trans_b])
    big = _rand(rng, (m, n + ld_pad), dtype)
    if not accumulate and dtype in ("f32", "f64"):
        big[:, :n] = np.nan  # with accumulate=0 the old C must never be read into the sum
    before = big.copy()
    c = big[:, :n]
    _call(fn, a, b, c, accumulate, dtype)
    want = _reference(a, b, before[:, :n], accumulate, dtype)
    if dtype in ("f32", "f64"):
        eps = np.finfo(_NP[dtype]).eps
        np.testing.assert_allclose(c, want, rtol=0, atol=4 * eps * max(k, 1) + 1e-30)
    else:
        np.testing.assert_array_equal(c, want)
    np.testing.assert_array_equal(big[:, n:], before[:, n:])  # padding columns untouched


SIZES = [(0, 5, 3), (4, 0, 3), (1, 1, 1), (7, 7, 7), (33, 33, 33), (97, 130, 33), (130, 97, 1), (6, 32, 5),
         (12, 64, 4), (13, 65, 9), (1, 200, 3), (200, 1, 50), (31, 17, 130)]  # fmt: skip


@pytest.mark.parametrize("dtype", ["f32", "f64", "i32"])
@pytest.mark.parametrize("m,n,k", SIZES)
def test_sizes(host: _Jit, dtype: str, m: int, n: int, k: int) -> None:
    _check(host.gemm(dtype), dtype, m, n, k)


@pytest.mark.parametrize("dtype", ["f32", "f64", "i32", "i64", "i8", "u8"])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("accumulate", [0, 1])
def test_strides_and_accumulate(host: _Jit, dtype: str, trans_a: bool, trans_b: bool, accumulate: int) -> None:
    for m, n, k in [(19, 45, 23), (6, 33, 1)]:
        _check(host.gemm(dtype), dtype, m, n, k, accumulate=accumulate, trans_a=trans_a, trans_b=trans_b)


@pytest.mark.parametrize("dtype", ["f32", "f64", "i32"])
@pytest.mark.parametrize("accumulate", [0, 1])
def test_k_zero(host: _Jit, dtype: str, accumulate: int) -> None:
    """K = 0: C becomes 0 (or is left alone with accumulate)."""
    rng = np.random.default_rng(7)
    a, b = np.empty((5, 0), _NP[dtype]), np.empty((0, 9), _NP[dtype])
    c = _rand(rng, (5, 9), dtype)
    before = c.copy()
    _call(host.gemm(dtype), a, b, c, accumulate, dtype)
    np.testing.assert_array_equal(c, before if accumulate else np.zeros_like(c))


@pytest.mark.parametrize("m,n,k", [(7, 7, 7), (29, 130, 33), (97, 65, 50), (13, 200, 15)])
@pytest.mark.parametrize("accumulate", [0, 1])
def test_many_cache_blocks(tiny_blocks: _Jit, m: int, n: int, k: int, accumulate: int) -> None:
    _check(tiny_blocks.gemm("f32"), "f32", m, n, k, accumulate=accumulate, trans_b=(m % 2 == 1))


@pytest.mark.parametrize("dtype", ["f32", "f64"])
@pytest.mark.parametrize("m,n,k", [(7, 7, 7), (33, 97, 130), (97, 33, 13)])
def test_avx2_tile(avx2_width: _Jit, dtype: str, m: int, n: int, k: int) -> None:
    """simd_width=8 gives another tile shape; the code must be right for it too."""
    _check(avx2_width.gemm(dtype), dtype, m, n, k, accumulate=1, trans_a=True)


@pytest.mark.parametrize("dtype", ["f32", "i32"])
def test_column_ranges_in_two_threads(host: _Jit, dtype: str) -> None:
    """Two threads computing disjoint column ranges give the whole product; outside is untouched."""
    rng = np.random.default_rng(3)
    m, n, k = 70, 101, 45
    a, b = _rand(rng, (m, k), dtype), _rand(rng, (k, n), dtype)
    c = _rand(rng, (m, n), dtype)
    before = c.copy()
    fn = host.gemm(dtype, cols=True)
    ranges = [(10, 47), (47, 90)]
    threads = [threading.Thread(target=_call, args=(fn, a, b, c, 0, dtype, j0, j1)) for j0, j1 in ranges]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = _reference(a, b, before, 0, dtype)
    tol = 1e-4 if dtype == "f32" else 0
    np.testing.assert_allclose(c[:, 10:90], want[:, 10:90], rtol=0, atol=tol)
    np.testing.assert_array_equal(c[:, :10], before[:, :10])
    np.testing.assert_array_equal(c[:, 90:], before[:, 90:])


def test_idempotent_and_errors() -> None:
    module = ir.Module(name="m")
    f1 = define_gemm(module, "f32", 16)
    f2 = define_gemm(module, "f32", 16)
    define_gemm(module, "f64", 16)  # a second dtype shares malloc/free declarations
    assert f1 is f2 and f1.name == "xlc_gemm_f32"
    assert str(module).count("declare i8* @malloc") + str(module).count('declare i8* @"malloc"') == 1
    with pytest.raises(ValueError, match="unsupported dtype"):
        define_gemm(module, "f16", 16)
    llvm.parse_assembly(str(module)).verify()


# Sizes around every vector and tile boundary (W = 16 f32 lanes, MR = 6, NR = 32 on AVX-512;
# W = 8, NR = 16 for f64): K = W-1, W, W+1 exercise the masked k steps of the packing, N <= W the
# narrow micro-kernel reading A in place, partial panels the element-wise packing paths.
EDGE_SIZES = [(1, 1, 1), (6, 32, 16), (5, 16, 17), (7, 17, 15), (12, 64, 33), (13, 47, 40), (7, 10, 100),
              (100, 3, 50), (31, 33, 8), (6, 31, 2), (19, 16, 64), (0, 10, 5), (10, 0, 5)]  # fmt: skip
LAYOUTS = [("N", "N"), ("T", "N"), ("N", "T"), ("T", "T"), ("S", "N"), ("N", "S"), ("S", "T"), ("T", "S")]


@pytest.mark.parametrize("dtype", ["f32", "f64"])
@pytest.mark.parametrize("layout_a,layout_b", LAYOUTS)
def test_packing_paths(host: _Jit, dtype: str, layout_a: str, layout_b: str) -> None:
    """Every operand layout (row-major, transposed, strided) at edge sizes, with and without accumulate."""
    for i, (m, n, k) in enumerate(EDGE_SIZES):
        _check(host.gemm(dtype), dtype, m, n, k, accumulate=i % 2, trans_a=layout_a, trans_b=layout_b)


@pytest.mark.parametrize("layout_a,layout_b", LAYOUTS[:4])
def test_packing_paths_many_blocks(tiny_blocks: _Jit, layout_a: str, layout_b: str) -> None:
    """KC < W (every k step masked), several row blocks (B packed in the first, reused by the others)."""
    for m, n, k in [(29, 130, 33), (25, 10, 20), (11, 45, 7)]:
        _check(tiny_blocks.gemm("f32"), "f32", m, n, k, accumulate=1, trans_a=layout_a, trans_b=layout_b)


@pytest.mark.parametrize("dtype", ["f32", "f64"])
@pytest.mark.parametrize("layout_a,layout_b", LAYOUTS[:4])
def test_packing_paths_avx2(avx2_width: _Jit, dtype: str, layout_a: str, layout_b: str) -> None:
    for m, n, k in [(7, 9, 9), (13, 8, 17), (20, 17, 40), (6, 50, 7)]:
        _check(avx2_width.gemm(dtype), dtype, m, n, k, trans_a=layout_a, trans_b=layout_b)


@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_transposed_large(host: _Jit, dtype: str) -> None:
    """Shapes of a training step's gradients: several KC blocks, full and partial panels."""
    for m, n, k, ta, tb in [(64, 300, 1030, False, True), (301, 70, 64, True, False), (130, 10, 600, True, False),
                            (128, 10, 512, False, False), (128, 520, 10, False, True)]:  # fmt: skip
        _check(host.gemm(dtype), dtype, m, n, k, trans_a=ta, trans_b=tb)


@pytest.mark.parametrize("m,n,k,ta,tb", [(300, 10, 64, False, False), (70, 10, 300, True, False),
                                         (64, 500, 80, False, True), (40, 33, 600, True, True),
                                         (3, 7, 5, False, True), (2, 200, 300, False, False)])  # fmt: skip
def test_matmul_op_threads(m: int, n: int, k: int, ta: bool, tb: bool) -> None:
    """The matmul kernel splits C over the threads by rows (N < M) or by columns; both give the product."""
    import xlc.ops  # noqa: F401
    from xlc.ir.builder import Builder
    from xlc.ir.core import Func
    from xlc.ir.types import TensorType, float32
    from xlc.runtime import compile_func

    rng = np.random.default_rng(m + n + k)
    sa, sb = ((k, m) if ta else (m, k)), ((n, k) if tb else (k, n))
    f = Func("mm", [TensorType(sa, float32), TensorType(sb, float32)])
    bld = Builder(f.body)
    bld.ret(*bld.create("matmul", list(f.args), {"transpose_a": ta, "transpose_b": tb}).results)
    x, y = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    got = compile_func(f).run([x, y])[0]
    want = (x.T if ta else x).astype(np.float64) @ (y.T if tb else y).astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * k)


@pytest.mark.parametrize("dtype", ["f32", "f64"])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_few_rows_times_transposed(host: _Jit, dtype: str, m: int) -> None:
    """1-4 rows of A times B^T take the dot-product path (k: full vectors, a masked tail, or both)."""
    for i, (n, k) in enumerate([(1, 1), (7, 15), (33, 16), (5, 17), (20, 64), (3, 100), (40, 130)]):
        _check(host.gemm(dtype), dtype, m, n, k, accumulate=i % 2, trans_b=True)
        _check(host.gemm(dtype, cols=False), dtype, m, n, k, trans_a="N", trans_b="T", ld_pad=0)


def test_few_rows_column_range(host: _Jit) -> None:
    """The dot-product path honours j0..j1 of the column-range entry point."""
    rng = np.random.default_rng(5)
    a, b = _rand(rng, (3, 37), "f32"), _rand(rng, (50, 37), "f32").T
    c = _rand(rng, (3, 50), "f32")
    before = c.copy()
    _call(host.gemm("f32", cols=True), a, b, c, 0, "f32", 11, 29)
    np.testing.assert_allclose(c[:, 11:29], (a @ b)[:, 11:29], rtol=0, atol=1e-5)
    np.testing.assert_array_equal(c[:, :11], before[:, :11])
    np.testing.assert_array_equal(c[:, 29:], before[:, 29:])
