"""Philox4x32-10 against Random123's known answers, the spec's formulas, and statistics."""

from __future__ import annotations

import numpy as np
import pytest

from ops_helpers import run_op
from xlc.errors import ShapeError
from xlc.ops import philox

KAT = [  # (counter, key, expected) from Random123's kat_vectors for philox4x32_10
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_known_answers(counter: list[int], key: list[int], expected: list[int]) -> None:
    out = philox.philox4x32(np.array([counter], np.uint32), np.array(key, np.uint32))
    assert out.dtype == np.uint32 and out.shape == (1, 4)
    assert out[0].tolist() == expected


def test_vectorised_rows_are_independent() -> None:
    counters = np.array([c for c, _, _ in KAT[:1]] * 3 + [KAT[2][0]], np.uint32)
    out = philox.philox4x32(counters, np.zeros(2, np.uint32))
    assert (out[:3] == np.array(KAT[0][2], np.uint32)).all()
    single = philox.philox4x32(counters[3:], np.zeros(2, np.uint32))
    assert (out[3] == single[0]).all()


def test_element_counters_layout() -> None:
    c = philox.element_counters(3, draw=5, word3=1, start=2**32 - 1)
    assert c.tolist() == [[2**32 - 1, 0, 5, 1], [0, 1, 5, 1], [1, 1, 5, 1]]


def test_key_from_seeds_wraps() -> None:
    assert philox.key_from_seeds(-1, 2**32 + 7).tolist() == [2**32 - 1, 7]


def test_uniform_matches_spec_formula_by_hand() -> None:
    key = philox.key_from_seeds(0, 0)
    x0, x1 = KAT[0][2][:2]  # element 0 with key (0, 0) uses counter 0
    u = ((x0 << 32 | x1) >> 11) * 2.0**-53
    got = run_op("random_uniform", shape=(3,), seed=0, seed2=0, dtype="float64", minval=-1.0, maxval=3.0)
    assert got[0] == -1.0 + u * 4.0
    assert philox.uniform_stream(1, key)[0] == u


def test_normal_matches_spec_formula_by_hand() -> None:
    x0, x1, x2, x3 = KAT[0][2]
    u1 = (((x0 << 32 | x1) >> 11) + 1) * 2.0**-53
    u2 = ((x2 << 32 | x3) >> 11) * 2.0**-53
    z = np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
    got = run_op("random_normal", shape=(2, 2), seed=0, seed2=0, dtype="float64", mean=1.5, stddev=2.0)
    assert got[0, 0] == 1.5 + 2.0 * z


def test_uniform_ints_by_hand_and_range() -> None:
    x0, x1 = KAT[0][2][:2]
    got = run_op("random_uniform", shape=(1000,), seed=0, seed2=0, dtype="int64", minval=-5, maxval=12)
    assert got[0] == -5 + (x0 << 32 | x1) % 17
    assert got.min() >= -5 and got.max() < 12 and len(np.unique(got)) == 17
    wide = run_op("random_uniform", shape=(64,), seed=1, seed2=2, dtype="int64", minval=-2**63, maxval=2**63 - 1)
    assert wide.dtype == np.int64 and (wide < 0).any() and (wide > 0).any()


def test_uniform_int_needs_minval_below_maxval() -> None:
    with pytest.raises(ShapeError, match="Need minval < maxval"):
        run_op("random_uniform", shape=(2,), seed=0, seed2=0, dtype="int32", minval=3, maxval=3)


def test_uniform_floats_statistics() -> None:
    u = run_op("random_uniform", shape=(100_000,), seed=7, seed2=3, minval=2.0, maxval=5.0)
    assert u.dtype == np.float32 and u.min() >= 2.0 and u.max() <= 5.0
    assert abs(u.mean() - 3.5) < 0.02 and abs(u.std() - 3 / np.sqrt(12)) < 0.02


def test_normal_statistics() -> None:
    z = run_op("random_normal", shape=(100, 1000), seed=42, seed2=0, mean=3.0, stddev=0.5)
    assert z.dtype == np.float32
    assert abs(z.mean() - 3.0) < 0.01 and abs(z.std() - 0.5) < 0.01


def test_truncated_normal_bound_and_statistics() -> None:
    z = run_op("truncated_normal", shape=(100_000,), seed=9, seed2=9, dtype="float64", mean=-1.0, stddev=2.0)
    assert z.min() > -1.0 - 4.0 and z.max() < -1.0 + 4.0
    # a standard normal truncated to (-2, 2) has std ~0.8796
    assert abs(z.mean() + 1.0) < 0.02 and abs(z.std() / 2.0 - 0.8796) < 0.01


def test_truncated_normal_redraws_with_next_draw_counter() -> None:
    key = philox.key_from_seeds(5, 6)
    first = philox.normal_stream(2000, key)
    trunc = philox.truncated_normal_stream(2000, key)
    inside = np.abs(first) < 2
    assert (trunc[inside] == first[inside]).all()
    i = int(np.flatnonzero(~inside)[0])
    c = np.array([[i, 0, 1, 0]], np.uint32)
    second = philox.normal_f64(philox.philox4x32(c, key))[0]
    if abs(second) < 2:
        assert trunc[i] == second


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    a = run_op("random_normal", shape=(4, 5), seed=1, seed2=2)
    b = run_op("random_normal", shape=(4, 5), seed=1, seed2=2)
    c = run_op("random_normal", shape=(4, 5), seed=1, seed2=3)
    assert (a == b).all() and not (a == c).any()
    # element i depends on i only: a prefix of a longer draw
    flat = run_op("random_normal", shape=(30,), seed=1, seed2=2)
    assert (flat[:20] == a.ravel()).all()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_random_dtypes(dtype: str) -> None:
    x = run_op("random_uniform", shape=(3, 4), seed=3, seed2=4, dtype=dtype)
    assert x.shape == (3, 4) and (np.asarray(x, np.float64) >= 0).all()


def test_shuffle_is_a_permutation_of_rows() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    y = run_op("random_shuffle", x, seed=11, seed2=12)
    assert sorted(map(tuple, y.tolist())) == sorted(map(tuple, x.tolist()))
    assert not (y == x).all()
    assert (run_op("random_shuffle", x, seed=11, seed2=12) == y).all()


def test_shuffle_follows_fisher_yates_spec() -> None:
    n, key = 6, philox.key_from_seeds(11, 12)
    perm = list(range(n))
    for k in range(n - 1, 0, -1):
        w = philox.philox4x32(np.array([[k, 0, 0, 1]], np.uint32), key)[0]
        j = (int(w[0]) << 32 | int(w[1])) % (k + 1)
        perm[k], perm[j] = perm[j], perm[k]
    assert philox.shuffle_permutation(n, key).tolist() == perm
    x = np.arange(n, dtype=np.int32) * 10 + 1
    assert run_op("random_shuffle", x, seed=11, seed2=12).tolist() == [int(x[p]) for p in perm]


def test_shuffle_uniformity_of_first_position() -> None:
    counts = np.bincount([philox.shuffle_permutation(4, philox.key_from_seeds(s, 0))[0] for s in range(4000)],
                         minlength=4)
    assert (np.abs(counts - 1000) < 150).all()
