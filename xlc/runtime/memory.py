"""A pool for large result arrays, so that a repeated run does not fault in fresh pages.

A fresh 4 KiB page costs ~0.7 us on first touch: a new 64 MiB result costs ~10 ms, more than
computing it.  Results of at least ``MIN_BYTES`` are views of pooled blocks instead; each
array's base is a small lease object, and when the last view of the array dies the lease
gives its block back to the pool, still mapped, for the next run to reuse.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

MIN_BYTES = 1 << 18  # below this, malloc's own free lists already avoid fresh pages
MAX_FREE_PER_SIZE = 4  # blocks kept per size: beyond that, freed blocks go back to the OS
_ALIGN = 64


def aligned_bytes(nbytes: int) -> np.ndarray:
    """``nbytes`` of uninitialised memory whose address is a multiple of 64."""
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    off = (-raw.ctypes.data) % _ALIGN
    return raw[off:off + nbytes]


class _Lease:
    """The base object of a pooled array; returns the block when the array is gone."""

    __slots__ = ("__array_interface__", "_block", "_pool", "__weakref__")

    def __init__(self, pool: BufferPool, block: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self._pool = pool
        self._block = block
        self.__array_interface__ = {"shape": shape, "typestr": dtype.str, "descr": dtype.descr,
                                    "data": (block.ctypes.data, False), "version": 3}

    def __del__(self) -> None:
        self._pool._give_back(self._block)


class BufferPool:
    """Hands out arrays backed by reusable, page-aligned blocks (see the module docstring)."""

    def __init__(self) -> None:
        self._free: dict[int, list[np.ndarray]] = {}
        self._lock = threading.Lock()

    def empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        dt = np.dtype(dtype)
        nbytes = math.prod(shape) * dt.itemsize  # math.prod: np.prod costs microseconds per call
        if nbytes < MIN_BYTES or dt.hasobject:
            return np.empty(shape, dt)
        size = -(-nbytes // 65536) * 65536  # round up so that nearby sizes share blocks
        with self._lock:
            stack = self._free.get(size)
            block = stack.pop() if stack else None
        if block is None:
            block = aligned_bytes(size)
        return np.asarray(_Lease(self, block, tuple(shape), dt))

    def _give_back(self, block: np.ndarray) -> None:
        with self._lock:
            stack = self._free.setdefault(block.nbytes, [])
            if len(stack) < MAX_FREE_PER_SIZE:
                stack.append(block)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()


POOL = BufferPool()
