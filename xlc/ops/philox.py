"""Philox4x32-10, the counter-based generator behind every random op (spec: docs/ops.md).

Everything here is vectorised numpy on uint64 so that a 32x32 -> 64-bit product is
exact; the CPU and GPU backends emit the same arithmetic in LLVM and must produce the
same bits, so the helpers below follow the spec to the letter and are the reference the
backends are tested against.

Words: ``philox4x32`` returns an (N, 4) uint32 array ``(x0, x1, x2, x3)`` per counter.
"""

from __future__ import annotations

import numpy as np

M0 = 0xD2511F53  # multiplies counter word 0
M1 = 0xCD9E8D57  # multiplies counter word 2
W0 = 0x9E3779B9  # added to key word 0 after each round
W1 = 0xBB67AE85  # added to key word 1 after each round
ROUNDS = 10
MAX_TRUNCATED_DRAWS = 64  # truncated_normal gives up after this many draws and clamps
TRUNCATION_BOUND = 2.0

_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_SHIFT11 = np.uint64(11)
_TWO_M53 = 2.0**-53


def key_from_seeds(seed: int, seed2: int) -> np.ndarray:
    """The key ``(seed mod 2^32, seed2 mod 2^32)`` as a (2,) uint32 array."""
    return np.array([int(seed) % 2**32, int(seed2) % 2**32], dtype=np.uint32)


def philox4x32(counters: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Ten Philox rounds over each row of ``counters`` ((N, 4) uint32) with ``key`` ((2,) uint32).

    Returns an (N, 4) uint32 array.
    """
    c = np.asarray(counters, dtype=np.uint32).astype(np.uint64).reshape(-1, 4)
    c0, c1, c2, c3 = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    k0, k1 = (int(k) for k in np.asarray(key, dtype=np.uint32).reshape(2))
    m0, m1 = np.uint64(M0), np.uint64(M1)
    for _ in range(ROUNDS):
        p1 = m1 * c2  # < 2^64: exact in uint64
        p0 = m0 * c0
        c0, c1, c2, c3 = (
            (p1 >> _SHIFT32) ^ c1 ^ np.uint64(k0),
            p1 & _MASK32,
            (p0 >> _SHIFT32) ^ c3 ^ np.uint64(k1),
            p0 & _MASK32,
        )
        k0 = (k0 + W0) & 0xFFFFFFFF
        k1 = (k1 + W1) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def element_counters(n: int, draw: int = 0, word3: int = 0, start: int = 0) -> np.ndarray:
    """Counters ``(i mod 2^32, i >> 32, draw, word3)`` for flat indices ``i`` in [start, start + n)."""
    i = np.arange(start, start + n, dtype=np.uint64)
    out = np.empty((n, 4), dtype=np.uint32)
    out[:, 0] = (i & _MASK32).astype(np.uint32)
    out[:, 1] = (i >> _SHIFT32).astype(np.uint32)
    out[:, 2] = draw
    out[:, 3] = word3
    return out


def join64(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """``hi << 32 | lo`` as uint64."""
    return (hi.astype(np.uint64) << _SHIFT32) | lo.astype(np.uint64)


def uniform_f64(words: np.ndarray) -> np.ndarray:
    """Uniform float64 in [0, 1) from words (x0, x1): ``((x0 << 32 | x1) >> 11) * 2^-53``."""
    return (join64(words[:, 0], words[:, 1]) >> _SHIFT11).astype(np.float64) * _TWO_M53


def uniform_ints(words: np.ndarray, minval: int, maxval: int) -> np.ndarray:
    """``minval + ((x0 << 32 | x1) mod (maxval - minval))`` in int64 (wrapping, as two's complement).

    Needs ``minval < maxval``; the span may be up to 2^64 - 1.
    """
    span = np.uint64(int(maxval) - int(minval))
    offset = join64(words[:, 0], words[:, 1]) % span
    # uint64 addition wraps exactly like int64 addition does in two's complement
    return (np.uint64(int(minval) % 2**64) + offset).view(np.int64)


def normal_f64(words: np.ndarray) -> np.ndarray:
    """Standard normal float64 by Box-Muller from all four words (one z per counter)."""
    u1 = ((join64(words[:, 0], words[:, 1]) >> _SHIFT11).astype(np.float64) + 1.0) * _TWO_M53  # (0, 1]
    u2 = (join64(words[:, 2], words[:, 3]) >> _SHIFT11).astype(np.float64) * _TWO_M53  # [0, 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def uniform_stream(n: int, key: np.ndarray) -> np.ndarray:
    """n uniform float64 in [0, 1) for flat indices 0..n-1 (draw 0)."""
    return uniform_f64(philox4x32(element_counters(n), key))


def normal_stream(n: int, key: np.ndarray) -> np.ndarray:
    """n standard normals for flat indices 0..n-1 (draw 0)."""
    return normal_f64(philox4x32(element_counters(n), key))


def truncated_normal_stream(n: int, key: np.ndarray) -> np.ndarray:
    """n standard normals with |z| < 2: element i redraws with counter word c2 = 1, 2, ...

    The 64th draw of an element that never landed inside is clamped to +-2.
    """
    z = normal_stream(n, key)
    todo = np.flatnonzero(np.abs(z) >= TRUNCATION_BOUND)
    for draw in range(1, MAX_TRUNCATED_DRAWS):
        if todo.size == 0:
            break
        counters = element_counters(todo.size, draw=draw)
        idx = todo.astype(np.uint64)
        counters[:, 0] = (idx & _MASK32).astype(np.uint32)
        counters[:, 1] = (idx >> _SHIFT32).astype(np.uint32)
        fresh = normal_f64(philox4x32(counters, key))
        z[todo] = fresh
        todo = todo[np.abs(fresh) >= TRUNCATION_BOUND]
    if todo.size:
        z[todo] = np.clip(z[todo], -TRUNCATION_BOUND, TRUNCATION_BOUND)
    return z


def shuffle_permutation(n: int, key: np.ndarray) -> np.ndarray:
    """The row order random_shuffle produces for n rows: Fisher-Yates from k = n-1 down to 1.

    Step k uses counter ``(k mod 2^32, k >> 32, 0, 1)`` and swaps rows k and
    ``j = (x0 << 32 | x1) mod (k + 1)``.  Returns an int64 permutation of range(n).
    """
    perm = np.arange(n, dtype=np.int64)
    if n < 2:
        return perm
    words = philox4x32(element_counters(n, word3=1), key)  # row k holds step k's words
    k = np.arange(n, dtype=np.uint64)  # row 0 is computed but unused: step 0 never runs
    js = (join64(words[:, 0], words[:, 1]) % (k + np.uint64(1))).astype(np.int64)
    # the swaps depend on each other, so this loop is sequential by nature
    for step in range(n - 1, 0, -1):
        j = js[step]
        perm[step], perm[j] = perm[j], perm[step]
    return perm
