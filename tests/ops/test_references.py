"""Each op's numpy reference against a direct numpy expression, on random data."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from ops_helpers import rand, run_op
from xlc.errors import InvalidArgumentError, ShapeError

FLOATS = [np.float32, np.float64]
NUMERIC = [np.float32, np.float64, np.int32, np.int64]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# --- reductions -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("axes,keepdims", [((0,), False), ((1, 2), True), ((0, 1, 2), False), ((), False)])
def test_sum_max_min_prod(rng, dtype, axes, keepdims) -> None:
    x = rand(rng, (3, 4, 5), dtype)
    for name, fn in [("reduce_sum", np.sum), ("reduce_max", np.max), ("reduce_min", np.min)]:
        got = run_op(name, x, axes=axes, keepdims=keepdims)
        np.testing.assert_allclose(got, fn(x, axis=axes, keepdims=keepdims).astype(dtype), rtol=1e-5)
    small = rand(rng, (3, 2, 2), dtype)
    np.testing.assert_allclose(run_op("reduce_prod", small, axes=axes, keepdims=keepdims),
                               np.prod(small, axis=axes, keepdims=keepdims).astype(dtype), rtol=1e-5)


def test_reduce_mean_floats_and_truncating_ints(rng) -> None:
    x = rand(rng, (4, 6), np.float32)
    np.testing.assert_allclose(run_op("reduce_mean", x, axes=(1,)), x.mean(axis=1), rtol=1e-6)
    i = np.array([[-7, 0, 1], [7, 1, 1], [-1, -1, 0]], np.int32)
    assert run_op("reduce_mean", i, axes=(1,)).tolist() == [-2, 3, 0]  # -6/3, 9/3, -2/3 -> 0 (toward zero)
    r = rand(rng, (5, 7), np.int64)
    assert (run_op("reduce_mean", r, axes=(0,)) == np.trunc(r.sum(0) / 5).astype(np.int64)).all()


def test_reductions_of_empty_sets() -> None:
    e = np.ones((0, 3), np.float32)
    assert (run_op("reduce_max", e, axes=(0,)) == -np.inf).all()
    assert (run_op("reduce_min", np.ones((2, 0), np.int32), axes=(1,)) == np.iinfo(np.int32).max).all()
    assert (run_op("reduce_sum", e, axes=(0,)) == 0).all()


def test_reduce_16_bit_floats_accumulate_in_float32(rng) -> None:
    x = rand(rng, (1000,), np.float16)
    got = run_op("reduce_sum", x, axes=(0,))
    assert got.dtype == np.float16 and got == np.float16(x.astype(np.float32).sum())
    b = rand(rng, (64,), np.float32).astype(ml_dtypes.bfloat16)
    assert run_op("reduce_max", b, axes=(0,)) == b.astype(np.float32).max()


def test_reduce_any_all(rng) -> None:
    x = rng.random((4, 5)) < 0.4
    assert (run_op("reduce_any", x, axes=(1,)) == x.any(1)).all()
    assert (run_op("reduce_all", x, axes=(0,), keepdims=True) == x.all(0, keepdims=True)).all()


@pytest.mark.parametrize("dtype", NUMERIC)
def test_argmax_argmin(rng, dtype) -> None:
    x = rand(rng, (6, 7), dtype)
    assert (run_op("argmax", x, axis=1) == np.argmax(x, 1)).all()
    got = run_op("argmin", x, axis=0, output_type="int32")
    assert got.dtype == np.int32 and (got == np.argmin(x, 0)).all()
    ties = np.array([[1, 3, 3, 0], [2, 2, 2, 2]], dtype)
    assert run_op("argmax", ties, axis=1).tolist() == [1, 0]
    assert run_op("argmin", ties, axis=1).tolist() == [3, 0]


# --- matmul -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 3, 4), (4, 6)), ((2, 1, 3, 4), (5, 4, 2)), ((4, 3), (2, 3, 4))])
def test_matmul(rng, dtype, sa, sb) -> None:
    a, b = rand(rng, sa, dtype), rand(rng, sb, dtype)
    np.testing.assert_allclose(run_op("matmul", a, b), a @ b, rtol=1e-5)


@pytest.mark.parametrize("ta,tb", [(True, False), (False, True), (True, True)])
def test_matmul_transposes(rng, ta, tb) -> None:
    a = rand(rng, (2, 4, 3) if ta else (2, 3, 4), np.float64)
    b = rand(rng, (5, 4) if tb else (4, 5), np.float64)
    want = (np.swapaxes(a, -1, -2) if ta else a) @ (b.T if tb else b)
    np.testing.assert_allclose(run_op("matmul", a, b, transpose_a=ta, transpose_b=tb), want, rtol=1e-12)


def test_matmul_float16(rng) -> None:
    a, b = rand(rng, (8, 16), np.float16), rand(rng, (16, 4), np.float16)
    got = run_op("matmul", a, b)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16))


# --- shapes -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_identity_reshape_transpose(rng, dtype) -> None:
    x = rand(rng, (4, 6, 2), dtype)
    assert (run_op("identity", x) == x).all()
    assert (run_op("reshape", x, shape=(-1, 3)) == x.reshape(-1, 3)).all()
    assert (run_op("reshape", x, shape=(2, 2, 2, 6)) == x.reshape(2, 2, 2, 6)).all()
    got = run_op("transpose", x, perm=(2, 0, 1))
    assert (got == x.transpose(2, 0, 1)).all() and got.flags.c_contiguous


def test_expand_dims_squeeze(rng) -> None:
    x = rand(rng, (3, 1, 4, 1), np.float32)
    assert (run_op("expand_dims", x, axis=4) == x[..., None]).all()
    assert (run_op("expand_dims", x, axis=-1) == x[..., None]).all()
    assert (run_op("squeeze", x) == x.reshape(3, 4)).all()
    assert (run_op("squeeze", x, axes=(3,)) == x[..., 0]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_concat_stack_unstack_split(rng, dtype) -> None:
    a, b, c = rand(rng, (2, 3), dtype), rand(rng, (2, 5), dtype), rand(rng, (2, 3), dtype)
    assert (run_op("concat", a, b, axis=1) == np.concatenate([a, b], 1)).all()
    assert (run_op("concat", a, c, axis=0) == np.concatenate([a, c], 0)).all()
    assert (run_op("stack", a, c, axis=1) == np.stack([a, c], 1)).all()
    parts = run_op("unstack", b, axis=1, num=5)
    assert len(parts) == 5 and all((p == b[:, i]).all() for i, p in enumerate(parts))
    s = run_op("split", b, axis=1, sizes=(1, -1, 2))
    assert [p.shape for p in s] == [(2, 1), (2, 2), (2, 2)]
    assert (np.concatenate(s, 1) == b).all() and (s[1] == b[:, 1:3]).all()


def test_tile_broadcast_to(rng) -> None:
    x = rand(rng, (2, 1, 3), np.float64)
    assert (run_op("tile", x, multiples=(2, 3, 1)) == np.tile(x, (2, 3, 1))).all()
    assert (run_op("broadcast_to", x, shape=(4, 2, 5, 3)) == np.broadcast_to(x, (4, 2, 5, 3))).all()


def test_shape_size_rank(rng) -> None:
    x = rand(rng, (2, 5, 3), np.float32)
    got = run_op("shape", x)
    assert got.dtype == np.int32 and got.tolist() == [2, 5, 3]
    assert run_op("shape", x, out_type="int64").dtype == np.int64
    assert run_op("size", x) == 30 and run_op("rank", x) == 3


# --- indexing ---------------------------------------------------------------------------

def test_slice(rng) -> None:
    x = rand(rng, (5, 6, 3), np.float32)
    assert (run_op("slice", x, begin=(1, 2, 0), size=(3, -1, 2)) == x[1:4, 2:, 0:2]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_gather(rng, dtype) -> None:
    p = rand(rng, (5, 4, 3), dtype)
    i = rng.integers(0, 4, size=(2, 3)).astype(np.int32)
    assert (run_op("gather", p, i, axis=1) == np.take(p, i, axis=1)).all()
    assert (run_op("gather", p, np.array(4, np.int64)) == p[4]).all()


def test_gather_out_of_range_messages(rng) -> None:
    p = rand(rng, (3, 2), np.float32)
    with pytest.raises(InvalidArgumentError) as e:
        run_op("gather", p, np.array([0, 7, 9], np.int32))
    assert str(e.value) == "indices[1] = 7 is not in [0, 3)"
    with pytest.raises(InvalidArgumentError, match=r"^indices = 7 is not in \[0, 3\)$"):
        run_op("gather", p, np.array(7, np.int64))
    with pytest.raises(InvalidArgumentError, match=r"^indices\[1,0\] = -1 is not in \[0, 2\)$"):
        run_op("gather", p, np.array([[0], [-1]], np.int32), axis=1)


@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_pad(rng, mode, dtype) -> None:
    x = rand(rng, (3, 4), dtype)
    got = run_op("pad", x, paddings=(1, 2, 3, 0), mode=mode, constant_value=5.0)
    if mode == "CONSTANT":
        want = np.pad(x, ((1, 2), (3, 0)), constant_values=5)
    else:
        want = np.pad(x, ((1, 2), (3, 0)), mode=mode.lower())
    assert (got == want).all()
    # REFLECT leaves the edge out, SYMMETRIC repeats it (TF's definitions)
    if mode == "REFLECT":
        assert got[0, 3] == x[1, 0]
    if mode == "SYMMETRIC":
        assert got[0, 3] == x[0, 0]


def test_pad_reflect_too_wide_fails_at_run_time_too(rng) -> None:
    with pytest.raises(ShapeError, match="less than the dimension size"):
        run_op("pad", rand(rng, (2, 2), np.float32), paddings=(2, 0, 0, 0), mode="REFLECT")


def test_one_hot(rng) -> None:
    i = np.array([[0, 3, 5], [-1, 2, 1]], np.int64)
    got = run_op("one_hot", i, depth=4, on_value=2.5, off_value=-1.0)
    want = np.where(i[..., None] == np.arange(4), 2.5, -1.0).astype(np.float32)
    assert (got == want).all() and got.dtype == np.float32
    assert (got[0, 2] == -1).all() and (got[1, 0] == -1).all()  # out of range rows are off
    ax0 = run_op("one_hot", i, depth=4, axis=0, dtype="int32")
    assert ax0.shape == (4, 2, 3) and (ax0 == np.moveaxis(want == 2.5, -1, 0)).all()
    assert run_op("one_hot", i, depth=4, axis=1).shape == (2, 4, 3)


# --- creation ---------------------------------------------------------------------------

def test_fill_range_lin_space() -> None:
    v = np.array(3.25, np.float32)
    assert (run_op("fill", v, shape=(2, 3)) == np.full((2, 3), 3.25, np.float32)).all()
    assert run_op("range", start=3, limit=-4, delta=-2, dtype="int32").tolist() == [3, 1, -1, -3]
    assert run_op("range", start=0, limit=5, dtype="int64").tolist() == list(range(5))
    f = run_op("range", start=0.5, limit=2.0, delta=0.25, dtype="float32")
    np.testing.assert_array_equal(f, np.arange(0.5, 2.0, 0.25, dtype=np.float32))
    lin = run_op("lin_space", start=-1.0, stop=2.0, num=7)
    np.testing.assert_array_equal(lin, np.linspace(-1.0, 2.0, 7).astype(np.float32))
    assert run_op("lin_space", start=4.0, stop=9.0, num=1).tolist() == [4.0]


ALL_DTYPES = [np.float16, ml_dtypes.bfloat16, np.float32, np.float64, np.int8, np.uint8, np.int32, np.int64, np.bool_]


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_data_movement_ops_keep_every_dtype(rng, dtype) -> None:
    x = rand(rng, (3, 2, 4), np.float32).astype(dtype) if dtype != np.bool_ else rand(rng, (3, 2, 4), np.bool_)
    cases = [
        ("identity", (x,), {}, x),
        ("reshape", (x,), {"shape": (6, -1)}, x.reshape(6, 4)),
        ("transpose", (x,), {"perm": (1, 2, 0)}, x.transpose(1, 2, 0)),
        ("concat", (x, x[:1]), {"axis": 0}, np.concatenate([x, x[:1]])),
        ("stack", (x, x), {"axis": 3}, np.stack([x, x], 3)),
        ("tile", (x,), {"multiples": (1, 2, 1)}, np.tile(x, (1, 2, 1))),
        ("slice", (x,), {"begin": (1, 0, 1), "size": (2, 1, -1)}, x[1:3, 0:1, 1:]),
        ("gather", (x, np.array([2, 0, 2], np.int64)), {"axis": 2}, x[:, :, [2, 0, 2]]),
        ("broadcast_to", (x[:, :1],), {"shape": (2, 3, 5, 4)}, np.broadcast_to(x[:, :1], (2, 3, 5, 4))),
        ("pad", (x,), {"paddings": (0, 1, 1, 0, 0, 0), "mode": "SYMMETRIC"},
         np.pad(x, ((0, 1), (1, 0), (0, 0)), mode="symmetric")),
        ("strided_slice", (x,), {"begin": (-1, 0, 0), "end": (0, 0, 0), "strides": (-2, 1, 1), "begin_mask": 0,
                                 "end_mask": 7}, x[-1::-2]),
    ]
    for name, args, attrs, want in cases:
        got = run_op(name, *args, **attrs)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert (got == want).all(), name
    if dtype is not np.bool_:
        s = run_op("reduce_sum", x, axes=(1,))
        assert s.dtype == x.dtype and s.shape == (3, 4)
        assert (run_op("argmax", x, axis=2) == np.argmax(x.astype(np.float64), 2)).all()
